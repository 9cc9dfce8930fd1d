# A stack that needs no provider download: variables, locals, a local module and outputs only.
terraform {
  backend "local" {}
}

variable "env" {
  type = string
}

variable "instance_count" {
  type = number
}

module "naming" {
  source  = "./modules/naming"
  project = "quickstart"
  env     = var.env
}

output "name" {
  value = module.naming.name
}

output "instance_count" {
  value = var.instance_count
}
