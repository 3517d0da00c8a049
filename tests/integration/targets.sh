#!/usr/bin/env bash
# Ansible-level integration, through ansible-playbook on lab1 (AnsiballZ, FQCN, check mode via
# the controller): every target under tests/integration/targets, every module's EXAMPLES
# block, and every YAML snippet of the README (each a playbook, limited to lab1).
set -euo pipefail
repo=$(cd "$(dirname "$0")/../.." && pwd)
out=$repo/tests/output
python3 "$repo/tests/integration/extract_examples.py" "$repo/plugins/modules" "$out/examples" \
  "$repo/README.md" "$out/readme"
targets=$(python3 -c 'import json, os, sys; print(json.dumps(sorted(os.listdir(sys.argv[1]))))' \
  "$repo/tests/integration/targets")
ansible-playbook -i "$repo/inventories/lab" "$repo/tests/integration/targets.yml" \
  -e "{\"helix_targets\": $targets}" "$@"
for snippet in "$out"/readme/*.yml; do
  [ -e "$snippet" ] || continue
  echo "--- README snippet $(basename "$snippet")"
  rc=0
  ansible-playbook -i "$repo/inventories/lab" --limit lab1 "$snippet" || rc=$?
  # README snippets build a pool named tank on the test disks: drop it either way.
  bash "$repo/lab/helix-lab" ssh lab1 "zpool destroy -f tank 2>/dev/null; true"
  [ "$rc" = 0 ] || exit "$rc"
done
