#!/usr/bin/env bash
# Ansible-level integration: every target under tests/integration/targets and every module's
# EXAMPLES block, run through ansible-playbook (AnsiballZ, FQCN, check mode via the
# controller) on lab1. The EXAMPLES are extracted to tests/output/examples/ first.
set -euo pipefail
repo=$(cd "$(dirname "$0")/../.." && pwd)
python3 "$repo/tests/integration/extract_examples.py" "$repo/plugins/modules" "$repo/tests/output/examples"
targets=$(python3 -c 'import json, os, sys; print(json.dumps(sorted(os.listdir(sys.argv[1]))))' \
  "$repo/tests/integration/targets")
exec ansible-playbook -i "$repo/inventories/lab" "$repo/tests/integration/targets.yml" \
  -e "{\"helix_targets\": $targets}" "$@"
