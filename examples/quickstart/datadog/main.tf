# A sub-stack with its own state: same env files, same layout.
terraform {
  backend "local" {}
}

variable "env" {
  type = string
}

output "monitor_prefix" {
  value = "datadog-${var.env}"
}
