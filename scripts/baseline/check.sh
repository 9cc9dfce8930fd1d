#!/usr/bin/env bash
# The find+bash completeness check tfw check is measured against: check 1 only (every stack has
# every env's tfvars and tfbackend). Usage: check.sh "dev stg prd qa"
envs=$1
status=0
while IFS= read -r dir; do
  for env in $envs; do
    for ext in tfvars tfbackend; do
      if [ ! -f "$dir/$env.$ext" ]; then
        echo "$dir/$env.$ext: missing"
        status=1
      fi
    done
  done
done < <(find . -name .git -prune -o -name .terraform -prune -o -name '*.tf' -printf '%h\n' | sort -u)
exit $status
