#!/usr/bin/env bash
# The controller killed in the middle of promote_replica.yml and rebalance.yml, as fleet.sh does it
# for migrate_node.yml (tests/cutover_kills.sh): SIGKILL right after each step of the one cut-over
# (demote, final snapshot, final incremental, mark, promote), each run resuming what the last left.
# After every kill at most one copy is writable; the last, uninterrupted rerun finishes: exactly
# one writable primary on the new host, the old one a read-only replica, the data whole, and a
# run after it changes nothing.
#   1. promote_replica: kp's primary lab1:cr/kp -> lab2:cr/kp;
#   2. rebalance: kr, placed with its primary on lab1, is switched to lab2 (catalog primary: lab2),
#      killed after steps 1 and 4 (promote_replica covers every step of the one cut-over).
# Needs the lab up (lab1, lab2).
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
cd "$repo"
out=$repo/tests/output/crash
rm -rf "$out" && mkdir -p "$out"
inv=(-i inventories/lab -i tests/crash/inventory.yml)
lab() { bash lab/helix-lab ssh "$@"; }
fail() { echo "crash: FAILED: $*" >&2; exit 1; }
step() { echo; echo "--- crash: [${SECONDS} s] $*"; }
play() {  # play LOG ARGS...: a playbook run that must pass
  local log=$out/$1.log rc=0; shift
  ANSIBLE_CALLBACK_RESULT_FORMAT=json ansible-playbook "${inv[@]}" "$@" >"$log" 2>&1 || rc=$?
  [ "$rc" = 0 ] || { tail -n 30 "$log"; fail "$(basename "$log") failed (rc $rc)"; }
}
changed() { awk '/^(localhost|lab[0-9]) +:/ {for (i = 1; i <= NF; i++) if ($i ~ /^changed=/) {split($i, a, "="); s += a[2]}} END {print s + 0}' "$out/$1.log"; }
state() { lab "$1" "zfs get -H -o value readonly,helix:role $2" | paste -sd' '; }
# shellcheck source=tests/cutover_kills.sh
. tests/cutover_kills.sh
writable_of() {  # writable_of DATASET: how many of lab1's and lab2's copies are writable
  local n=0 h
  for h in lab1 lab2; do [ "$(lab "$h" "zfs get -H -o value readonly $1" 2>/dev/null)" = off ] && n=$((n + 1)); done
  echo "$n"
}
ends_on_lab2() {  # ends_on_lab2 DATASET LOG: lab2 the writable primary, lab1 a read-only replica, same data
  [ "$(state lab2 "$1")" = "off primary" ] || fail "$2: lab2:$1 is $(state lab2 "$1"), not the writable primary"
  [ "$(state lab1 "$1")" = "on replica" ] || fail "$2: lab1:$1 is $(state lab1 "$1"), not a read-only replica"
  lab lab2 "zfs mount $1 2>/dev/null; sha256sum < /$1/blob" | diff -q - <(lab lab1 "cat /root/crash-$(basename "$1").sum") >/dev/null \
    || fail "$2: lab2:$1's data differs from what lab1 wrote"
}

step "file-backed pool cr on lab1 and lab2"
for h in lab1 lab2; do
  lab "$h" "zpool destroy -f cr 2>/dev/null; rm -f /var/tmp/cr.img; truncate -s 512M /var/tmp/cr.img
    zpool create -f -O mountpoint=/cr cr /var/tmp/cr.img"
done

step "1. promote_replica killed after each cut-over step"
lab lab1 "zfs create -o helix:role=primary cr/kp && head -c 4M /dev/urandom > /cr/kp/blob && zfs snapshot cr/kp@base"
ansible "${inv[@]}" lab1 -m helix.zfs.zfs_replicate -a '{"source": "cr/kp", "target": "cr/kp", "target_host": "lab2",
  "receive_properties": {"canmount": "noauto", "readonly": "on", "helix:role": "replica"}}' >"$out/setup.log" 2>&1 \
  || fail "setting up kp's replica: see $out/setup.log"
# Written after the replica was made: the cut-over's final incremental must carry it.
lab lab1 "head -c 1M /dev/urandom >> /cr/kp/blob && sha256sum < /cr/kp/blob > /root/crash-kp.sum"
writable_kp() { writable_of cr/kp; }
cutover_kills promote writable_kp playbooks/promote_replica.yml -e helix_promote=kp -e helix_promote_to=lab2
play promote-rerun playbooks/promote_replica.yml -e helix_promote=kp -e helix_promote_to=lab2
ends_on_lab2 cr/kp promote-rerun
play promote-again playbooks/promote_replica.yml -e helix_promote=kp -e helix_promote_to=lab2
[ "$(changed promote-again)" = 0 ] || fail "a promotion run after the rerun changed something"
echo "    after the rerun: lab2:cr/kp $(state lab2 cr/kp), lab1:cr/kp $(state lab1 cr/kp); again: 0 changed"

step "2. rebalance killed after cut-over steps 1 and 4"
hosts=(-e helix_placement_hosts=crash_nodes)
play place "${hosts[@]}" playbooks/rebalance.yml
[ "$(state lab1 cr/kr)" = "off primary" ] || fail "kr was not placed with its primary on lab1 ($(state lab1 cr/kr))"
lab lab1 "zfs mount cr/kr 2>/dev/null; head -c 4M /dev/urandom > /cr/kr/blob && sha256sum < /cr/kr/blob > /root/crash-kr.sum"
writable_kr() { writable_of cr/kr; }
# After steps 1 and 4 (promote_replica above was killed after every step of the same cut-over):
# rebalance's resume from a read-only source and from a marked one whose target is not yet writable.
cutover_kill_steps="1 4" cutover_kills rebalance writable_kr "${hosts[@]}" -e crash_primary=lab2 playbooks/rebalance.yml
play rebalance-rerun "${hosts[@]}" -e crash_primary=lab2 playbooks/rebalance.yml
ends_on_lab2 cr/kr rebalance-rerun
play rebalance-again "${hosts[@]}" -e crash_primary=lab2 playbooks/rebalance.yml
grep -qE 'Plan: 0 steps' "$out/rebalance-again.log" || fail "re-planning after the rerun found steps"
echo "    after the rerun: lab2:cr/kr $(state lab2 cr/kr), lab1:cr/kr $(state lab1 cr/kr); again: 0 steps"

for h in lab1 lab2; do lab "$h" "zpool destroy -f cr; rm -f /var/tmp/cr.img"; done
echo "crash: all checks passed"
