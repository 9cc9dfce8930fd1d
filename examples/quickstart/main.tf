# A stack that needs no provider download: variables, locals and outputs only.
terraform {
  backend "local" {}
}

variable "env" {
  type = string
}

variable "instance_count" {
  type = number
}

locals {
  name = "quickstart-${var.env}"
}

output "name" {
  value = local.name
}

output "instance_count" {
  value = var.instance_count
}
