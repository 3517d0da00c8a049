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
# A key handed to zfs_dataset, and a tenant's key the encryption_keys role makes and keeps in
# Vault, must not show in -vvv output, nor in any file on the node.
key=$(python3 -c 'print("7e57" * 16)')
bao kv metadata delete secret/helix-zfs/tenants/leak-tenant >/dev/null
rc=0
ansible-playbook -vvv -i "$repo/inventories/lab" "$repo/tests/integration/key_leak.yml" >"$out/key_leak.log" 2>&1 || rc=$?
vault_key=$(bao kv get -field=key secret/helix-zfs/tenants/leak-tenant 2>/dev/null || true)
for k in "$key" "$vault_key"; do
  node_hits=$(bash "$repo/lab/helix-lab" ssh lab1 "grep -rlsa $k /tmp /var /root /run /etc | grep -v ^/root/helix-tests/;
    journalctl --no-pager 2>/dev/null | grep -c $k | grep -v '^0$'; true")
  if [ "$rc" != 0 ] || [ ${#k} != 64 ] || grep -q "$k" "$out/key_leak.log" || [ -n "$node_hits" ]; then
    echo "key leak check failed (rc=$rc, key length ${#k}, node files: ${node_hits:-none}); see $out/key_leak.log" >&2
    grep -c "$k" "$out/key_leak.log" >&2 || true
    exit 1
  fi
done
bash "$repo/lab/helix-lab" ssh lab1 "zpool destroy -f htleak"
echo "key leak check: neither key (zfs_dataset's, the Vault tenant's) is in the -vvv output ($(wc -l <"$out/key_leak.log") lines) or the node's files"
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
