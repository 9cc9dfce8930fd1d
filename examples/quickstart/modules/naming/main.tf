# A local module: init installs it, so a new module call is something init depends on.
variable "project" {
  type = string
}

variable "env" {
  type = string
}

output "name" {
  value = "${var.project}-${var.env}"
}
