#!/usr/bin/env bash
# The fleet playbooks on the lab's two hosts, through ansible-playbook, state checked on the hosts:
#   1. migrate_node: a later phase before the canary is refused and changes nothing;
#   2. the canary migrates lab1:fa/app to lab2 while a writer appends to it; after the cut-over
#      every write acknowledged before the read-only switch is on the target, and the source is
#      read-only and marked; a second run changes nothing; then phase_1 (lab2 -> lab1) runs;
#   2b. the controller (ansible-playbook) is killed after cut-over steps 1 and 4 (crash.sh does every
#      step), each rerun resuming it; at the end exactly one copy is writable and the data is whole;
#   2c. the encryption_keys role on both nodes, which share a tenant: one new key per rotation,
#      --limit leaves it pending until a full run, a dataset with a foreign key fails the run;
#   3. promote_replica: db fails over lab1 -> lab2 and back while an observer on lab1 samples
#      both copies' readonly; no sample may show two writable copies; a second run changes nothing;
#   4. scrub.yml scrubs a pool with a corrupted mirror side (check mode scrubs nothing, the
#      throttle is put back, a second run skips it); faulty_disks.yml then replaces that disk
#      by the spare, keeping it attached while the spare resilvers, and a rerun detaches it
#      (check mode first, a third run changes nothing);
#   5. failure: lab2's VM is killed during a full send; the source stays writable, unchanged;
#   6. with lab2 down, promoting dbx to lab1 is refused until fenced, then done.
# lab2 is rebooted at the end (a fresh VM: its pools are gone). Needs the lab up (2 hosts).
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
cd "$repo"
out=$repo/tests/output/fleet
rm -rf "$out" && mkdir -p "$out"
inv=(-i inventories/lab -i tests/fleet/inventory.yml)
lab() { bash lab/helix-lab ssh "$@"; }
fail() { echo "fleet: FAILED: $*" >&2; exit 1; }
step() { echo; echo "--- fleet: [${SECONDS} s] $*"; }
play() {  # play LOG ARGS...: run a playbook, log kept in $out; returns its rc
  local log=$out/$1.log; shift
  local rc=0
  # JSON results: one message is one line, never wrapped, so the checks below can grep it.
  ANSIBLE_CALLBACK_RESULT_FORMAT=json ansible-playbook "${inv[@]}" "$@" >"$log" 2>&1 || rc=$?
  tail -n 12 "$log" | sed 's/^/    /'
  return "$rc"
}
recap_changed() {  # the changed= count of HOST in a playbook log's recap
  awk -v h="$2" '$1 == h && /changed=/ {for (i = 1; i <= NF; i++) if ($i ~ /^changed=/) {split($i, a, "="); print a[2]}}' "$out/$1.log" | tail -n 1
}
prop() { lab "$1" "zfs get -H -o value $2 $3"; }
# shellcheck source=tests/cutover_kills.sh
. tests/cutover_kills.sh
want() {  # want HOST PROPERTY DATASET VALUE WHY
  local v; v=$(prop "$1" "$2" "$3")
  [ "$v" = "$4" ] || fail "$5 ($1:$3 $2=$v, expected $4)"
}

step "file-backed pools fa (lab1) and fb (lab2), the datasets"
lab lab1 "zpool destroy -f fa 2>/dev/null; rm -f /var/tmp/fa.img; truncate -s 2G /var/tmp/fa.img
  zpool create -f -O mountpoint=/fa fa /var/tmp/fa.img
  zfs create fa/app && head -c 160M /dev/urandom > /fa/app/blob
  zfs create -o readonly=off -o helix:role=primary fa/db && head -c 8M /dev/urandom > /fa/db/blob
  zfs snapshot fa/db@base
  zfs create fa/big && head -c 400M /dev/urandom > /fa/big/blob && sha256sum /fa/big/blob > /root/big.sum"
lab lab2 "zpool destroy -f fb 2>/dev/null; rm -f /var/tmp/fb.img; truncate -s 2G /var/tmp/fb.img
  zpool create -f -O mountpoint=/fb fb /var/tmp/fb.img
  zfs create fb/web && head -c 4M /dev/urandom > /fb/web/blob
  zfs create -o helix:role=primary fb/dbx && head -c 4M /dev/urandom > /fb/dbx/blob && zfs snapshot fb/dbx@base"
# The replica sets' replicas: read-only, role replica, as zfs_replicate makes them.
ansible "${inv[@]}" lab1 -m helix.zfs.zfs_replicate -a '{"source": "fa/db", "target": "fb/db", "target_host": "lab2",
  "receive_properties": {"canmount": "noauto", "readonly": "on", "helix:role": "replica"}}' >"$out/setup.log" 2>&1 \
  || fail "setting up db's replica: see $out/setup.log"
ansible "${inv[@]}" lab2 -m helix.zfs.zfs_replicate -a '{"source": "fb/dbx", "target": "fa/dbx", "target_host": "lab1",
  "receive_properties": {"canmount": "noauto", "readonly": "on", "helix:role": "replica"}}' >>"$out/setup.log" 2>&1 \
  || fail "setting up dbx's replica: see $out/setup.log"

step "1. phase_1 before the canary is refused"
if play gate playbooks/migrate_node.yml -e helix_phase=phase_1; then fail "phase_1 ran before the canary"; fi
grep -q "runs only after the canary phase" "$out/gate.log" || fail "phase_1 failed, but not at the canary gate"
[ "$(recap_changed gate lab2)" = 0 ] || fail "the refused phase changed something"
lab lab1 "! zfs list fa/web >/dev/null 2>&1" || fail "fa/web exists after a refused phase"

step "2. the canary: lab1:fa/app -> lab2:fb/app, with live writes"
lab lab1 "rm -f /root/writer.ok; nohup sh -c 'i=0; while echo \$i >> /fa/app/seq && sync /fa/app/seq; do
  echo \$i >> /root/writer.ok; i=\$((i + 1)); sleep 0.2; done' >/dev/null 2>&1 & echo \$! > /root/writer.pid"
play canary playbooks/migrate_node.yml -e helix_phase=phase_canary || fail "the canary migration failed"
sleep 2
lab lab1 "! kill -0 \$(cat /root/writer.pid) 2>/dev/null" || fail "the writer still writes to the source"
acked=$(lab lab1 "wc -l < /root/writer.ok")
[ "$acked" -gt 5 ] || fail "the writer acknowledged only $acked writes: the test did not overlap the migration"
want lab1 readonly fa/app on "the source is not read-only after the cut-over"
want lab1 helix:role fa/app migrated "the source is not marked migrated"
want lab1 helix:migrated_to fa/app lab2:fb/app "the source does not say where it went"
want lab2 readonly fb/app off "the target is not the writable primary"
want lab2 helix:role fb/app primary "the target is not the writable primary"
want lab2 mounted fb/app yes "the target is not mounted"
# Every acknowledged write is on the target, in order, and the data is the same.
lab lab2 "head -n $acked /fb/app/seq" | diff - <(seq 0 $((acked - 1))) >/dev/null || fail "acknowledged writes are missing on the target"
[ "$(lab lab1 'sha256sum < /fa/app/blob')" = "$(lab lab2 'sha256sum < /fb/app/blob')" ] || fail "the data differs"
[ "$(lab lab1 'sha256sum < /fa/app/seq')" = "$(lab lab2 'sha256sum < /fb/app/seq')" ] || fail "the write log differs"
lab lab1 "zfs get -H -o value helix:git_sha fa/app@helix-migrate-\$(zfs get -H -o value helix:run_id fa/app)" | grep -qx fleet-test \
  || fail "no guard-rail snapshot tagged with the git SHA"
echo "    $acked writes acknowledged during the migration, all on the target"
play canary-again playbooks/migrate_node.yml -e helix_phase=phase_canary || fail "the canary's second run failed"
[ "$(recap_changed canary-again lab1)" = 0 ] || fail "the canary's second run changed something"
play phase1 playbooks/migrate_node.yml -e helix_phase=phase_1 || fail "phase_1 failed after the canary"
want lab1 helix:role fa/web primary "phase_1 did not migrate fb/web"
want lab2 readonly fb/web on "phase_1 did not migrate fb/web"

step "2b. the controller killed after cut-over steps 1 and 4: each rerun resumes, one writable copy at the end"
lab lab1 "zfs create fa/kill && zfs create -o readonly=off fa/kill/c && head -c 4M /dev/urandom > /fa/kill/c/blob
  sha256sum < /fa/kill/c/blob > /root/kill.sum"
kill_migrate=(-e helix_phase=phase_canary -e '{"helix_migrate": {"target_host": "lab2", "datasets": [{"source": "fa/kill", "target": "fb/kill"}]}}')
writable() {  # how many of fa/kill (lab1) and fb/kill (lab2) are writable
  echo $(( $(prop lab1 readonly fa/kill | grep -cx off || true) + $(prop lab2 readonly fb/kill 2>/dev/null | grep -cx off || true) ))
}
# Killed after steps 1 and 4 only: crash.sh kills promote_replica and rebalance after every step
# of the same cut-over (tasks/cutover.yml); here, migrate_node's resume from a read-only source and
# from a marked source whose target is not yet writable.
cutover_kill_steps="1 4" cutover_kills kill writable playbooks/migrate_node.yml "${kill_migrate[@]}"
grep -q "Resuming the cut-over of fa/kill" "$out/kill-4.log" || fail "run 4 did not resume the cut-over"
play kill-rerun playbooks/migrate_node.yml "${kill_migrate[@]}" || fail "the rerun after the last kill failed"
[ "$(writable)" = 1 ] || fail "not exactly one writable copy after the reruns"
want lab1 helix:role fa/kill migrated "fa/kill is not marked migrated after the reruns"
want lab2 helix:role fb/kill primary "fb/kill is not the primary after the reruns"
want lab2 readonly fb/kill/c off "fb/kill/c does not follow its writable top"
lab lab2 "zfs mount -a; sha256sum < /fb/kill/c/blob" | diff -q - <(lab lab1 "cat /root/kill.sum") >/dev/null \
  || fail "fb/kill/c's data differs from the source's"

step "2c. tenant fk-b on both nodes: one key per rotation, --limit leaves it pending, a foreign key is found"
# Before issue 16 (A2), fk-b at another place in each node's list split the role's include, so
# each node made and stored its own new key and one node no longer opened with Vault's.
key() { python3 -c 'import secrets; print(secrets.token_hex(32))'; }
vault_key() { bao kv get -field="$2" "secret/helix-zfs/tenants/$1" 2>/dev/null || true; }
opens() {  # opens HOST DATASET KEY: whether KEY opens DATASET
  lab "$1" "read -r k; printf %s \"\$k\" | zfs load-key -n $2 >/dev/null 2>&1" <<<"$3"
}
k0=$(key); ka=$(key)
for t in fk-a fk-b; do bao kv metadata delete "secret/helix-zfs/tenants/$t" >/dev/null; done
bao kv put secret/helix-zfs/tenants/fk-b key="$k0" >/dev/null
bao kv put secret/helix-zfs/tenants/fk-a key="$ka" >/dev/null
for h in lab1:fa lab2:fb; do
  lab "${h%:*}" "zfs create -o canmount=off ${h#*:}/keys && read -r k && printf %s \"\$k\" | zfs create -o encryption=on \
    -o keyformat=hex -o keylocation=prompt ${h#*:}/keys/fk-b" <<<"$k0"
done
# fk-a on lab1 was given another key by hand: the run must find it.
lab lab1 "read -r k; printf %s \"\$k\" | zfs create -o encryption=on -o keyformat=hex -o keylocation=prompt fa/keys/fk-a" <<<"$(key)"
if play keys-rotate tests/fleet/keys.yml -e '{"encryption_keys_rotate": ["fk-b"]}'; then
  fail "the run did not fail on fk-a, whose key is not Vault's"
fi
grep -q "fk-a did not open with the key Vault holds" "$out/keys-rotate.log" \
  || fail "the failure does not name fk-a's foreign key"
k1=$(vault_key fk-b key)
{ [ "$k1" != "$k0" ] && [ -z "$(vault_key fk-b pending)" ]; } || fail "fk-b's rotation was not promoted"
{ opens lab1 fa/keys/fk-b "$k1" && opens lab2 fb/keys/fk-b "$k1"; } || fail "a node does not open fk-b with Vault's new key"
lab lab1 "zfs destroy fa/keys/fk-a"  # made again from Vault's key by the next run
play keys-limit tests/fleet/keys.yml -e '{"encryption_keys_rotate": ["fk-b"]}' --limit lab1 || fail "the --limit rotation failed"
k2=$(vault_key fk-b pending)
{ [ "$(vault_key fk-b key)" = "$k1" ] && [ -n "$k2" ]; } || fail "with --limit, the new key did not stay pending"
grep -q "stays pending in Vault" "$out/keys-limit.log" || fail "the run does not say the rotation waits"
{ opens lab1 fa/keys/fk-b "$k2" && opens lab2 fb/keys/fk-b "$k1" && opens lab1 fa/keys/fk-a "$ka"; } \
  || fail "after the --limit run, lab1 should open with the pending key and lab2 with the key"
play keys-finish tests/fleet/keys.yml || fail "the run that finishes the rotation failed"
{ [ "$(vault_key fk-b key)" = "$k2" ] && [ -z "$(vault_key fk-b pending)" ]; } || fail "the full run did not promote the pending key"
{ opens lab1 fa/keys/fk-b "$k2" && opens lab2 fb/keys/fk-b "$k2"; } || fail "a node does not open fk-b with Vault's key"
lab lab1 "zfs destroy -r fa/keys"; lab lab2 "zfs destroy -r fb/keys"

step "3. promote_replica: db lab1 -> lab2 and back, observed"
observe() {  # on lab1, sample both copies' readonly until told to stop
  lab lab1 "rm -f /root/observer.log /root/observer.stop; nohup sh -c 'while [ ! -e /root/observer.stop ]; do
    a=\$(zfs get -H -o value readonly fa/db); b=\$(ssh -o ControlMaster=auto -o ControlPath=/tmp/cm-obs -o ControlPersist=60 \
    lab2 zfs get -H -o value readonly fb/db); echo \"\$a \$b\" >> /root/observer.log; done' >/dev/null 2>&1 &"
}
observed() {  # stop the observer; fail if it ever saw two writable copies
  lab lab1 "touch /root/observer.stop; sleep 3"
  local n both
  n=$(lab lab1 "wc -l < /root/observer.log")
  both=$(lab lab1 "grep -c '^off off\$' /root/observer.log || true")
  echo "    observer: $n samples, $both with two writable copies"
  [ "$n" -gt 10 ] || fail "the observer took only $n samples"
  [ "$both" = 0 ] || fail "two writable copies were seen"
}
observe
play promote playbooks/promote_replica.yml -e helix_promote=db -e helix_promote_to=lab2 || fail "promoting db on lab2 failed"
observed
want lab2 readonly fb/db off "fb/db is not the primary"
want lab2 helix:role fb/db primary "fb/db is not the primary"
want lab1 readonly fa/db on "fa/db was not demoted"
want lab1 helix:role fa/db replica "fa/db was not demoted"
grep -q "After the promotion, writable copies on: lab2\"" "$out/promote.log" || fail "the playbook did not check its invariant after the promotion"
play promote-again playbooks/promote_replica.yml -e helix_promote=db -e helix_promote_to=lab2 || fail "the second promotion run failed"
[ "$(recap_changed promote-again localhost)" = 0 ] || fail "promoting the primary again changed something"
want lab2 mounted fb/db yes "the new primary is not mounted"
lab lab2 "echo after-failover > /fb/db/new"
observe
play promote-back playbooks/promote_replica.yml -e helix_promote=db -e helix_promote_to=lab1 || fail "promoting db back on lab1 failed"
observed
want lab1 readonly fa/db off "db did not go back to lab1"
want lab2 readonly fb/db on "db did not go back to lab1"
want lab1 mounted fa/db yes "the new primary is not mounted"
lab lab1 "grep -qx after-failover /fa/db/new" || fail "a write made on lab2 did not reach lab1"

step "4. rolling scrub and faulty disks: lab1's mirror fs, one side corrupted, a spare"
lab lab1 "zpool destroy -f fs 2>/dev/null; cd /var/tmp && rm -f fs?.img && truncate -s 256M fs1.img fs2.img fs3.img
  zpool create -f -O mountpoint=/fs fs mirror /var/tmp/fs1.img /var/tmp/fs2.img spare /var/tmp/fs3.img
  head -c 64M /dev/urandom > /fs/blob && zpool sync fs
  dd if=/dev/urandom of=/var/tmp/fs1.img bs=1M seek=8 count=48 conv=notrunc status=none
  cat /sys/module/zfs/parameters/zfs_vdev_scrub_max_active > /root/scrub_max_active"
scrub=(-e helix_scrub_hosts=lab1 -e '{"helix_scrub_pools": ["fs"]}')
play scrub-check playbooks/scrub.yml --check "${scrub[@]}" || fail "scrub.yml --check failed"
lab lab1 "zpool status fs | grep -q 'scrub'" && fail "check mode scrubbed"
play scrub playbooks/scrub.yml "${scrub[@]}" || fail "the rolling scrub failed"
lab lab1 "zpool status fs | grep -q 'scrub repaired'" || fail "fs was not scrubbed"
[ "$(lab lab1 'cat /sys/module/zfs/parameters/zfs_vdev_scrub_max_active')" = "$(lab lab1 'cat /root/scrub_max_active')" ] \
  || fail "the scrub throttle was not put back"
grep -q "zfs_vdev_scrub_max_active" "$out/scrub.log" || fail "the scrub was not throttled"
play scrub-again playbooks/scrub.yml "${scrub[@]}" || fail "the second scrub run failed"
[ "$(recap_changed scrub-again lab1)" = 0 ] || fail "a pool scrubbed minutes ago was scrubbed again"
faulty=(-e helix_faulty_disk_hosts=lab1 -e helix_faulty_disk_errors=1)
play faulty-check playbooks/faulty_disks.yml --check "${faulty[@]}" || fail "faulty_disks.yml --check failed"
grep -q "/var/tmp/fs1.img: .* replace by spare /var/tmp/fs3.img, kept attached" "$out/faulty-check.log" \
  || fail "the plan does not name the faulty disk and its spare"
lab lab1 "zpool status fs | grep fs1.img | grep -q ONLINE" || fail "check mode took the disk offline"
play faulty playbooks/faulty_disks.yml "${faulty[@]}" || fail "faulty_disks.yml failed"
# Issue 16 (A8): the faulty disk stays attached (ZFS reads from it) while the spare resilvers.
lab lab1 "zpool status fs | grep fs1.img | grep -q ONLINE && zpool status fs | grep fs3.img | grep -q INUSE" \
  || fail "fs1 is not attached with the spare in use: $(lab lab1 'zpool status fs')"
lab lab1 "zpool wait -t resilver fs"
play faulty-detach playbooks/faulty_disks.yml "${faulty[@]}" || fail "the faulty_disks run after the resilver failed"
lab lab1 "! zpool status fs | grep -q fs1.img && zpool status -x fs | grep -q healthy" \
  || fail "fs1 was not detached once the spare had resilvered: $(lab lab1 'zpool status fs')"
play faulty-again playbooks/faulty_disks.yml "${faulty[@]}" || fail "the third faulty_disks run failed"
[ "$(recap_changed faulty-again lab1)" = 0 ] || fail "the third faulty_disks run changed something"
lab lab1 "zpool destroy -f fs; rm -f /var/tmp/fs?.img /root/scrub_max_active"

step "monitoring: the collector on a degraded pool, its alerts (tests/integration/monitoring_lab.sh)"
bash tests/integration/monitoring_lab.sh >"$out/monitoring.log" 2>&1 || { tail -n 30 "$out/monitoring.log"; fail "the monitoring lab test failed"; }
tail -n 1 "$out/monitoring.log"

step "5. lab2 dies during a full send: the source stays writable and whole"
play migrate-fail playbooks/migrate_node.yml -e helix_phase=phase_canary \
  -e '{"helix_migrate": {"target_host": "lab2", "datasets": [{"source": "fa/big", "target": "fb/big"}]}}' &
player=$!
for _ in $(seq 1 120); do  # the full send is under way once lab2 receives into fb/big
  lab lab2 "pgrep -f '[z]fs receive .*fb/big' >/dev/null" 2>/dev/null && break
  sleep 1
done
lab lab2 "pgrep -f '[z]fs receive .*fb/big' >/dev/null" || fail "the full send never started"
sleep 3
kill -9 "$(cat "${HELIX_CACHE:-$HOME/.cache/helix-zfs}/run/lab2/qemu.pid")"
echo "    killed lab2's VM during the full send"
if wait "$player"; then fail "the migration succeeded with its target dead"; fi
grep -q "are writable and authoritative" "$out/migrate-fail.log" || fail "the failure does not say what state the source is in"
want lab1 readonly fa/big off "the source is not writable after the failure"
want lab1 helix:role fa/big - "the source is marked after a failed migration"
lab lab1 "sha256sum -c --quiet /root/big.sum && echo still-writable > /fa/big/after" || fail "the source lost data or can't be written"

step "6. lab2 is down: promoting dbx (its primary there) needs the fence flag"
if play fence-refused playbooks/promote_replica.yml -e helix_promote=dbx -e helix_promote_to=lab1; then
  fail "promoted with the old primary unreachable and not fenced"
fi
grep -q "helix_promote_fenced=true" "$out/fence-refused.log" || fail "the refusal does not say how to go on"
want lab1 readonly fa/dbx on "the replica became writable without the fence flag"
play fenced playbooks/promote_replica.yml -e helix_promote=dbx -e helix_promote_to=lab1 -e helix_promote_fenced=true \
  || fail "the fenced promotion failed"
want lab1 readonly fa/dbx off "dbx is not the primary on lab1"
want lab1 helix:role fa/dbx primary "dbx is not the primary on lab1"

step "lab2 back (a fresh VM), lab1's pool gone"
bash lab/helix-lab up -n 2 >"$out/lab-up.log" 2>&1 || fail "lab2 did not come back: see $out/lab-up.log"
lab lab1 "zpool destroy -f fa; rm -f /var/tmp/fa.img /root/writer.* /root/observer.* /root/big.sum"
echo "fleet: all checks passed"
