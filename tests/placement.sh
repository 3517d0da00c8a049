#!/usr/bin/env bash
# The placement planner in the lab: 3 hosts in 3 failure domains, then a 4th.
#   1. rebalance.yml --check changes nothing; rebalance.yml places the catalog (each step runs the
#      commands the plan printed for it, compared by tests/placement/compare.py): every dataset has
#      its copies on distinct hosts (domains), one writable primary, replicas read-only and with
#      the primary's newest snapshot; plan.yml then has 0 steps;
#   2. lab4 joins, named primary of two datasets: the plan only sends copies onto lab4 and drops
#      them elsewhere (the moves the new host's share needs), and switches those two primaries
#      to lab4 with the cut-over; rebalance.yml -e helix_placement_drop=true carries them out
#      (what each step ran, from the modules' commands, is what the plan printed for it),
#      up to two sends per host at once; a sampler on each host sees never more than that; the
#      snapshots the printed plan names are the ones taken; the layout is checked again, lab4
#      holds copies and the two primaries, and plan.yml has 0 steps.
# Boots lab3 and lab4 (4 hosts); needs the lab's image. Pools pp are file-backed.
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
cd "$repo"
out=$repo/tests/output/placement
rm -rf "$out" && mkdir -p "$out"
lab() { bash lab/helix-lab ssh "$@"; }
fail() { echo "placement: FAILED: $*" >&2; exit 1; }
step() { echo; echo "--- placement: $*"; }
play() {  # play LOG HOSTS-FILE ARGS...
  local log=$out/$1.log inv=$2; shift 2
  local rc=0
  # JSON results: a command is one string on one line, never wrapped, so the checks can grep it.
  ANSIBLE_CALLBACK_RESULT_FORMAT=json ansible-playbook -i inventories/lab -i "tests/placement/$inv" \
    -e helix_placement_hosts=placement_nodes "$@" >"$log" 2>&1 || rc=$?
  grep -oE 'Plan: [0-9]+ steps in [0-9]+ waves' "$log" | head -n 1 | sed 's/^/    /'
  [ "$rc" = 0 ] || { tail -n 30 "$log"; fail "$1 failed (rc $rc): see $log"; }
}
steps_of() { grep -oE 'Plan: [0-9]+ steps' "$out/$1.log" | head -n 1 | grep -oE '[0-9]+'; }
# The copies of every catalog dataset on HOSTS: "host dataset readonly role snapshot-guids" (oldest
# first, comma-separated).
layout() {
  local h
  for h in "$@"; do
    lab "$h" "for d in \$(zfs list -H -o name -r pp | grep -E '^pp/(genome|scans/mri|scans/ct|ledger|logs|web)\$'); do
      g=\$(zfs list -H -p -t snapshot -o guid -s createtxg -d 1 \$d | paste -sd, -)
      echo $h \${d#pp/} \$(zfs get -H -o value readonly,helix:role \$d) \${g:-none}; done"
  done
}
check_layout() {  # check_layout LOG HOSTS...: k copies on distinct hosts, one writable primary, replicas of it
  local log=$1; shift
  layout "$@" | sort -k2,2 -k1,1 >"$out/$log"
  python3 - "$out/$log" <<'EOF'
import collections, sys
k = {"genome": 2, "scans/mri": 2, "scans/ct": 2, "ledger": 3, "logs": 2, "web": 2}
copies = collections.defaultdict(list)
for line in open(sys.argv[1]):
    host, ds, ro, role, guid = line.split()
    copies[ds].append((host, ro, role, guid))
bad = []
for ds, want in k.items():
    c = copies.get(ds, [])
    hosts = [x[0] for x in c]
    prim = [x for x in c if x[1] == "off"]
    if len(c) != want or len(set(hosts)) != want:
        bad.append("%s: %d copies on %s, want %d on distinct hosts" % (ds, len(c), hosts, want))
    if len(prim) != 1 or prim[0][2] != "primary":
        bad.append("%s: writable copies %s, want exactly one, role primary" % (ds, prim))
    if any(x[1] == "on" and x[2] != "replica" for x in c):
        bad.append("%s: a read-only copy is not marked replica" % ds)
    # A replica's newest snapshot is one of the primary's: it is a copy of it, not diverged.
    if prim and any(x[3] == "none" or x[3].split(",")[-1] not in prim[0][3].split(",") for x in c):
        bad.append("%s: a copy's newest snapshot is not the primary's: %s" % (ds, c))
print("\n".join(bad) or "    layout ok: %d datasets, %d copies" % (len(copies), sum(map(len, copies.values()))))
sys.exit(1 if bad else 0)
EOF
}

step "lab3 and lab4 up, a file-backed pool pp on each"
bash lab/helix-lab up -n 4 >"$out/lab-up.log" 2>&1 || { tail -n 20 "$out/lab-up.log"; fail "the lab did not come up with 4 hosts"; }
for h in lab1 lab2 lab3 lab4; do
  lab "$h" "zpool destroy -f pp 2>/dev/null; rm -f /var/tmp/pp.img; truncate -s 768M /var/tmp/pp.img
    zpool create -f -O mountpoint=/pp pp /var/tmp/pp.img"
done

step "1. three hosts in three domains: check mode, then place everything"
play check3 hosts3.yml playbooks/rebalance.yml --check
[ "$(steps_of check3)" -gt 0 ] || fail "the first plan has no steps"
[ -z "$(layout lab1 lab2 lab3)" ] || fail "check mode created datasets"
play apply3 hosts3.yml playbooks/rebalance.yml
python3 tests/placement/compare.py "$out/apply3.log" || fail "placing the catalog ran other commands than the plan printed"
# Data in every primary, so the copies made when lab4 joins carry bytes.
for h in lab1 lab2 lab3; do
  lab "$h" "for d in \$(zfs list -H -o name,helix:role -r pp | awk '\$2 == \"primary\" {print \$1}'); do
    zfs mount \$d 2>/dev/null; head -c 2M /dev/urandom > /\$d/data; done"
done
play apply3-again hosts3.yml playbooks/rebalance.yml
[ "$(steps_of apply3-again)" = 0 ] || fail "re-planning after convergence found steps"
check_layout layout3 lab1 lab2 lab3 || fail "the 3-host layout is wrong (see $out/layout3)"

step "2. lab4 joins, primary of logs and web: only moves onto lab4, two sends at a time per host"
# One run id for the plan and the run, so the snapshot names the plan prints are the run's.
caps=(-e helix_placement_max_per_host=2 -e helix_placement_max_per_domain=2 -e helix_run_id=join4)
play plan4 hosts4.yml playbooks/plan.yml "${caps[@]}"
n=$(steps_of plan4)
[ "$n" -gt 0 ] || fail "adding lab4 moved nothing onto it"
# Every send in the plan goes to lab4; every drop is elsewhere.
sends=$(grep -c 'zfs receive' "$out/plan4.log" || true)
[ "$sends" -gt 0 ] || fail "the plan has no send"
[ "$(grep 'zfs receive' "$out/plan4.log" | grep -c '| ssh lab4 zfs receive' || true)" = "$sends" ] \
  || fail "the plan sends to a host other than lab4"
[ "$(grep 'zfs destroy -r' "$out/plan4.log" | grep -c '"  lab4: ' || true)" = 0 ] || fail "the plan drops a copy on lab4"
for h in lab1 lab2 lab3 lab4; do lab "$h" "cat > /root/sampler.sh; nohup sh /root/sampler.sh >/dev/null 2>&1 &" <tests/placement/sampler.sh; done
play apply4 hosts4.yml playbooks/rebalance.yml -e helix_placement_drop=true "${caps[@]}"
python3 tests/placement/compare.py "$out/apply4.log" drop || fail "lab4's moves ran other commands than the plan printed"
# The run planned again before it ran (same run id, same state): the same plan as plan.yml's.
diff <(grep -E '^ +"(# wave|step |  lab)' "$out/plan4.log") <(grep -E '^ +"(# wave|step |  lab)' "$out/apply4.log" | head -n "$(grep -cE '^ +"(# wave|step |  lab)' "$out/plan4.log")") >/dev/null \
  || fail "plan.yml and rebalance.yml printed different plans for the same state and run id"
# The sends running at once on each host (a send counts on its source and its destination), as
# sampled there: never more than max_per_host (each host is its own domain here).
most=0
for h in lab1 lab2 lab3 lab4; do
  lab "$h" "touch /root/sends.stop; sleep 0.3; cat /root/sends.log 2>/dev/null || true" >"$out/sends-$h.log"
  c=$(awk 'BEGIN {m = 0} $2 > m {m = $2} END {print m}' "$out/sends-$h.log")
  echo "    $h: at most $c sends at once ($(wc -l <"$out/sends-$h.log") samples with one)"
  [ "$c" -le 2 ] || fail "$h ran $c sends at once, over max_per_host=2"
  most=$((c > most ? c : most))
done
[ "$most" -ge 1 ] || fail "no send was seen running"
for d in logs web; do
  [ "$(lab lab4 "zfs get -H -o value readonly,helix:role pp/$d" | paste -sd' ')" = "off primary" ] \
    || fail "lab4 is not the primary of $d after the cut-over"
done
# The snapshots the printed plan names are the ones the steps took.
grep -oE 'lab[0-9]: zfs snapshot -r( -o [^ ]+)* pp/[a-z/]+@helix-place-[A-Za-z0-9-]+' "$out/plan4.log" | sort -u \
  | awk '{print substr($1, 1, length($1) - 1), $NF}' >"$out/plan4-snapshots"
[ -s "$out/plan4-snapshots" ] || fail "the plan names no snapshot"
while read -r h snap; do
  lab "$h" "zfs list -H -o name $snap" </dev/null >/dev/null 2>&1 || fail "the plan's $snap is not on $h"
done <"$out/plan4-snapshots"
play plan4-again hosts4.yml playbooks/plan.yml
[ "$(steps_of plan4-again)" = 0 ] || fail "re-planning after lab4's moves found steps"
check_layout layout4 lab1 lab2 lab3 lab4 || fail "the 4-host layout is wrong (see $out/layout4)"
grep -q '^lab4 ' "$out/layout4" || fail "lab4 holds no copy"
echo "    $n steps moved copies onto lab4: $(grep -c '^lab4 ' "$out/layout4") copies there now"

for h in lab1 lab2 lab3 lab4; do lab "$h" "zpool destroy -f pp; rm -f /var/tmp/pp.img"; done
echo "placement: all checks passed"
