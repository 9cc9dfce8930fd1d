#!/usr/bin/env bash
# The wrapper tfw replaces, kept as the benchmark baseline: init on every call, then the command.
set -euo pipefail
env=$1
command=$2
shift 2
if [ "${TF_SKIP_INIT:-}" != "true" ]; then
  terraform init -reconfigure -backend-config="$env.tfbackend"
fi
case $command in
  plan | apply | destroy | refresh | import | console) terraform "$command" -var-file="$env.tfvars" "$@" ;;
  *) terraform "$command" "$@" ;;
esac
