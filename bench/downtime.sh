#!/usr/bin/env bash
# migrate_node.yml's read-only window: the seconds from the source going read-only (a writer on it
# gets EROFS) to the target taking a write, with that writer running through the whole
# migration. Three trees of 1 MiB files stand for the p50/p95/p99 repository sizes (default 100 MiB,
# 1 GiB, 4 GiB; DOWNTIME_SIZES in MiB), each migrated lab1 -> lab2 RUNS times (default 5), each time
# to a fresh target (a full send, rounds of incrementals, the cut-over). Writes
# bench/results/downtime.md: per size, each run's window and wall time, the median and the worst.
# Needs the lab up (lab1, lab2); uses their disks d13-d20 (pools dsrc, ddst), destroyed at the end.
#
#   bash bench/downtime.sh [RUNS]
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
cd "$repo"
# shellcheck source=scripts/env.sh
. scripts/env.sh
helix_link_collection
runs=${1:-5}
sizes=${DOWNTIME_SIZES:-100 1024 4096}
out=$HELIX_CACHE/run/downtime-bench  # not tests/output: scripts/test.sh empties it
rm -rf "$out" && mkdir -p "$out"
export ANSIBLE_STRATEGY=mitogen_linear ANSIBLE_STRATEGY_PLUGINS="$HELIX_MITOGEN_STRATEGY"
lab() { bash lab/helix-lab ssh "$@"; }
disks=$(printf '/dev/disk/by-id/virtio-helix-d%s ' 13 14 15 16 17 18 19 20)
lab lab1 "zpool destroy -f dsrc 2>/dev/null; zpool create -f -O mountpoint=/dsrc dsrc $disks"
lab lab2 "zpool destroy -f ddst 2>/dev/null; zpool create -f -O mountpoint=/ddst ddst $disks"
lab lab1 "cat > /root/downtime-probe.py" <bench/downtime/probe.py
lab lab1 "head -c 1M /dev/urandom > /root/seed"
results=$out/results.txt
: >"$results"
for mib in $sizes; do
  t=t$mib
  # Many files: 1 MiB each, each starting with its own number, so no two records are alike.
  lab lab1 "zfs create dsrc/$t && cd /dsrc/$t && for i in \$(seq 1 $mib); do { echo \$i; cat /root/seed; } > f\$i; done && zpool sync dsrc"
  for r in $(seq 1 "$runs"); do
    tgt=ddst/$t-$r
    lab lab1 "rm -f /root/downtime.json; nohup python3 /root/downtime-probe.py /dsrc/$t lab2 /$tgt /root/downtime.json >/root/downtime.log 2>&1 &"
    t0=$SECONDS
    ansible-playbook -i inventories/lab -i tests/fleet/inventory.yml playbooks/migrate_node.yml -e helix_phase=phase_canary \
      -e helix_migrate_small_delta=4194304 \
      -e "{\"helix_migrate\": {\"target_host\": \"lab2\", \"datasets\": [{\"source\": \"dsrc/$t\", \"target\": \"$tgt\"}]}}" \
      >"$out/$t-$r.log" 2>&1 || { tail -n 30 "$out/$t-$r.log"; echo "downtime: the migration of $t run $r failed" >&2; exit 1; }
    wall=$((SECONDS - t0))
    for _ in $(seq 1 120); do lab lab1 "test -s /root/downtime.json" && break; sleep 1; done
    j=$(lab lab1 "cat /root/downtime.json")
    echo "$mib $r $wall $j" | tee -a "$results"
    # The next run starts from a live, unmarked source again, to a fresh target.
    lab lab1 "zfs set readonly=off dsrc/$t && zfs inherit helix:role dsrc/$t && zfs inherit helix:before_cutover dsrc/$t
      zfs list -H -o name -t snapshot dsrc/$t | xargs -rn1 zfs destroy; zfs list -H -o name -t bookmark dsrc/$t | xargs -rn1 zfs destroy; zfs mount dsrc/$t 2>/dev/null; true"
    lab lab2 "zfs destroy -r $tgt"
  done
  lab lab1 "zfs destroy -r dsrc/$t"
done
lab lab1 "zpool destroy -f dsrc; rm -f /root/seed /root/downtime*"
lab lab2 "zpool destroy -f ddst"
python3 - "$results" "$runs" >"$repo/bench/results/downtime.md" <<'PY'
import json, statistics, sys, datetime
rows = {}
for line in open(sys.argv[1]):
    mib, r, wall, j = line.split(" ", 3)
    rows.setdefault(int(mib), []).append((int(r), int(wall), json.loads(j)))
print("# migrate_node's read-only window\n")
print("`bash bench/downtime.sh %s`, %s, lab1 -> lab2 (QEMU/TCG, one vCPU each; sends over ssh through the" % (sys.argv[2], datetime.date.today()))
print("controller's loopback). Each tree is 1 MiB files of incompressible data in one dataset; a writer")
print("appends an fsync'd line every 50 ms to the source for the whole run. The window is from the")
print("writer's first EROFS (the cut-over's demotion) to the first write that succeeds in the target")
print("(promoted and mounted), both on lab1's clock. Each run is a fresh migration: full send, rounds")
print("of incrementals until one sends under 4 MiB, then the cut-over.\n")
print("| tree | runs | window median (s) | window worst (s) | migration median (s) | writes acknowledged (median) |")
print("|---|---|---|---|---|---|")
for mib, rs in sorted(rows.items()):
    w = [x[2]["window"] for x in rs]
    print("| %s | %d | %.1f | %.1f | %d | %d |" % (
        "%d MiB" % mib if mib < 1024 else "%g GiB" % (mib / 1024), len(rs), statistics.median(w), max(w),
        statistics.median([x[1] for x in rs]), statistics.median([x[2]["acked_writes"] for x in rs])))
print("\nEach run:\n")
print("| tree | run | window (s) | migration wall time (s) |")
print("|---|---|---|---|")
for mib, rs in sorted(rows.items()):
    for r, wall, j in rs:
        print("| %d MiB | %d | %.2f | %d |" % (mib, r, j["window"], wall))
PY
cat "$repo/bench/results/downtime.md"
