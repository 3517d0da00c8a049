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
# A key handed to zfs_dataset must not show in -vvv output, nor in any file on the node.
key=$(python3 -c 'print("7e57" * 16)')
rc=0
ansible-playbook -vvv -i "$repo/inventories/lab" "$repo/tests/integration/key_leak.yml" >"$out/key_leak.log" 2>&1 || rc=$?
node_hits=$(bash "$repo/lab/helix-lab" ssh lab1 "zpool destroy -f htleak; grep -rlsa $key /tmp /var /root /run /etc | grep -v ^/root/helix-tests/;
  journalctl --no-pager 2>/dev/null | grep -c $key | grep -v '^0$'; true")
if [ "$rc" != 0 ] || grep -q "$key" "$out/key_leak.log" || [ -n "$node_hits" ]; then
  echo "key leak check failed (rc=$rc, node files: ${node_hits:-none}); see $out/key_leak.log" >&2
  grep -c "$key" "$out/key_leak.log" >&2 || true
  exit 1
fi
echo "key leak check: the key is in neither the -vvv output ($(wc -l <"$out/key_leak.log") lines) nor the node's files"
for snippet in "$out"/readme/*.yml; do
  [ -e "$snippet" ] || continue
  echo "--- README snippet $(basename "$snippet")"
  rc=0
  ansible-playbook -i "$repo/inventories/lab" --limit lab1 "$snippet" || rc=$?
  # README snippets build a pool named tank on the test disks: drop it either way.
  bash "$repo/lab/helix-lab" ssh lab1 "zpool destroy -f tank 2>/dev/null; for i in \$(seq 1 16); do
    d=/dev/disk/by-id/virtio-helix-d\$i; zpool labelclear -f \$d; wipefs -qa \$d; done >/dev/null 2>&1; true"
  [ "$rc" = 0 ] || exit "$rc"
done
