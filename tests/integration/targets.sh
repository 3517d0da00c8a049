#!/usr/bin/env bash
# Ansible-level integration, through ansible-playbook, on both lab hosts at once: lab1 runs every
# target under tests/integration/targets, the key leak check and zfs_replicate's EXAMPLES (which
# send to a pool on lab2's d17), while lab2 runs every other module's EXAMPLES block and every
# YAML snippet of the README (each a playbook).
set -euo pipefail
repo=$(cd "$(dirname "$0")/../.." && pwd)
out=$repo/tests/output
lab=$repo/lab/helix-lab
play() { ansible-playbook -i "$repo/inventories/lab" "$@"; }
python3 "$repo/tests/integration/extract_examples.py" "$repo/plugins/modules" "$out/examples" \
  "$repo/README.md" "$out/readme"

key_leak() {
  # A key handed to zfs_dataset, and a tenant's key the encryption_keys role makes and keeps in
  # Vault, must not show in -vvv output, nor in any file on the node.
  local key vault_key node_hits k rc=0
  key=$(python3 -c 'print("7e57" * 16)')
  bao kv metadata delete secret/helix-zfs/tenants/leak-tenant >/dev/null
  play -vvv "$repo/tests/integration/key_leak.yml" >"$out/key_leak.log" 2>&1 || rc=$?
  vault_key=$(bao kv get -field=key secret/helix-zfs/tenants/leak-tenant 2>/dev/null || true)
  for k in "$key" "$vault_key"; do
    node_hits=$(bash "$lab" ssh lab1 "grep -rlsa $k /tmp /var /root /run /etc | grep -v ^/root/helix-tests/;
      journalctl --no-pager 2>/dev/null | grep -c $k | grep -v '^0$'; true")
    if [ "$rc" != 0 ] || [ ${#k} != 64 ] || grep -q "$k" "$out/key_leak.log" || [ -n "$node_hits" ]; then
      echo "key leak check failed (rc=$rc, key length ${#k}, node files: ${node_hits:-none}); see $out/key_leak.log" >&2
      grep -c "$k" "$out/key_leak.log" >&2 || true
      return 1
    fi
  done
  bash "$lab" ssh lab1 "zpool destroy -f htleak"
  echo "key leak check: neither key (zfs_dataset's, the Vault tenant's) is in the -vvv output ($(wc -l <"$out/key_leak.log") lines) or the node's files"
}

lab1_part() {
  local targets
  targets=$(python3 -c 'import json, os, sys; print(json.dumps(sorted(os.listdir(sys.argv[1]))))' \
    "$repo/tests/integration/targets")
  play "$repo/tests/integration/targets.yml" -e "{\"helix_targets\": $targets}" && key_leak &&
    play --limit lab1 "$repo/tests/integration/module_examples.yml"
}

lab2_part() {
  play --limit lab2 "$repo/tests/integration/module_examples.yml" || return
  local snippet rc
  for snippet in "$out"/readme/*.yml; do
    [ -e "$snippet" ] || continue
    echo "--- README snippet $(basename "$snippet")"
    rc=0
    play --limit lab2 "$snippet" || rc=$?
    # README snippets build a pool named tank on the test disks: drop it either way.
    bash "$lab" ssh lab2 "zpool destroy -f tank 2>/dev/null; for i in \$(seq 1 16); do
      d=/dev/disk/by-id/virtio-helix-d\$i; zpool labelclear -f \$d; wipefs -qa \$d; done >/dev/null 2>&1; true"
    [ "$rc" = 0 ] || return "$rc"
  done
}

t0=$SECONDS
lab1_part >"$out/targets-lab1.log" 2>&1 &
p1=$!
rc=0
lab2_part || rc=$?
echo "--- lab2 (EXAMPLES, README snippets): $((SECONDS - t0)) s, rc=$rc"
wait "$p1" || rc=$?
echo "--- lab1 (targets, key leak check, zfs_replicate's EXAMPLES): $((SECONDS - t0)) s, log $out/targets-lab1.log:"
if [ "$rc" = 0 ]; then grep -A2 "PLAY RECAP" "$out/targets-lab1.log"; else cat "$out/targets-lab1.log"; fi
exit "$rc"
