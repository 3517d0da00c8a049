#!/usr/bin/env bash
# migrate_node.yml's check-mode estimates against the runs they estimate. A canary (lab1:dsrc/canary,
# CANARY_MIB, default 256) migrates first; its summary gives the throughput to estimate with. Then a
# phase of two nodes, serial 1: lab1's tree BIG_MIB (default 1024) of 1 MiB files, snapshotted and
# then written to (32 MiB more), to lab2; lab2's SMALL_MIB (default 256), never snapshotted (sized
# by its used), to lab1. --check prints each node's estimate and the phase's; the run's own
# summaries and wall time are compared with them. Writes bench/results/estimate.md. Needs the lab
# up (lab1, lab2); uses their disks d13-d20 (pools dsrc, ddst), destroyed at the end.
#
#   bash bench/estimate.sh
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
cd "$repo"
# shellcheck source=scripts/env.sh
. scripts/env.sh
helix_link_collection
canary=${CANARY_MIB:-256} big=${BIG_MIB:-1024} small=${SMALL_MIB:-256}
out=$HELIX_CACHE/run/estimate-bench  # not tests/output: scripts/test.sh empties it
rm -rf "$out" && mkdir -p "$out"
export ANSIBLE_STRATEGY=mitogen_linear ANSIBLE_STRATEGY_PLUGINS="$HELIX_MITOGEN_STRATEGY" ANSIBLE_CALLBACK_RESULT_FORMAT=json
inv=(-i inventories/lab -i bench/estimate/inventory.yml)
lab() { bash lab/helix-lab ssh "$@"; }
tree() {  # tree HOST DATASET MIB: 1 MiB files, each starting with its own number
  lab "$1" "zfs create $2 && cd /$2 && head -c 1M /dev/urandom > /root/seed && for i in \$(seq 1 $3); do { echo \$i; cat /root/seed; } > f\$i; done && zpool sync"
}
disks=$(printf '/dev/disk/by-id/virtio-helix-d%s ' 13 14 15 16 17 18 19 20)
lab lab1 "zpool destroy -f dsrc 2>/dev/null; zpool create -f -O mountpoint=/dsrc dsrc $disks"
lab lab2 "zpool destroy -f ddst 2>/dev/null; zpool create -f -O mountpoint=/ddst ddst $disks"

tree lab1 dsrc/canary "$canary"
ansible-playbook "${inv[@]}" playbooks/migrate_node.yml -e helix_phase=est_phase --limit lab1 \
  -e '{"helix_migrate": {"target_host": "lab2", "datasets": [{"source": "dsrc/canary", "target": "ddst/canary"}]}}' >"$out/canary.log" 2>&1
rate=$(grep -o 'helix_migrate_throughput=[0-9]*M' "$out/canary.log" | head -n 1 | cut -d= -f2)
[ -n "$rate" ] || { tail -n 20 "$out/canary.log"; echo "estimate: the canary's summary has no throughput" >&2; exit 1; }
canary_said=$(grep -o 'lab1 -> lab2: [^"]*' "$out/canary.log" | head -n 1)

tree lab1 dsrc/big "$big"
lab lab1 "zfs snapshot dsrc/big@seed && head -c 32M /dev/urandom > /dsrc/big/after && zpool sync dsrc"
tree lab2 ddst/small "$small"
ansible-playbook "${inv[@]}" playbooks/migrate_node.yml -e helix_phase=est_phase -e "helix_migrate_throughput=$rate" --check >"$out/check.log" 2>&1
t0=$SECONDS
ansible-playbook "${inv[@]}" playbooks/migrate_node.yml -e helix_phase=est_phase >"$out/run.log" 2>&1
wall=$((SECONDS - t0))
lab lab1 "zpool destroy -f dsrc; rm -f /root/seed"
lab lab2 "zpool destroy -f ddst; rm -f /root/seed"

python3 bench/estimate/report.py "$out" "$rate" "$wall" "$canary" "$big" "$small" "$canary_said" >"$repo/bench/results/estimate.md"
cat "$repo/bench/results/estimate.md"
