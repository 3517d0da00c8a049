#!/usr/bin/env bash
# Disk faults on lab2's power-cut disks (virtio-helix-c1, -c2: real virtio disks in hot-pluggable
# slots), pool pf a mirror of them with two hot spares, made by site.yml's pool task:
#   1. a disk disappears (lab/helix-lab unplug: QMP device_del): the pool goes DEGRADED; the
#      collector's output says so and, through promtool, the degraded-vdev alert fires; site.yml
#      stops with a message naming the missing disk and what to do; faulty_disks.yml puts a
#      spare in (check mode first), and once it has resilvered detaches the missing disk;
#   2. zinject: I/O errors and corrupted data (checksum errors) on reads of the other disk during a scrub: the
#      collector's counters grow between two runs and the checksum-error alert fires on them;
#      faulty_disks.yml replaces that disk by the second spare, then detaches it.
# The disk is plugged back and the pool destroyed at the end. Needs the lab up.
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
cd "$repo"
out=$repo/tests/output/faults
rm -rf "$out" && mkdir -p "$out"
lab() { bash lab/helix-lab ssh "$@"; }
fail() { echo "faults: FAILED: $*" >&2; exit 1; }
step() { echo; echo "--- faults: [${SECONDS} s] $*"; }
play() {  # play LOG ARGS...: ansible-playbook on the lab; returns its rc
  local log=$out/$1.log rc=0; shift
  ANSIBLE_CALLBACK_RESULT_FORMAT=json ansible-playbook -i inventories/lab "$@" >"$log" 2>&1 || rc=$?
  return "$rc"
}
must() { play "$@" || { tail -n 30 "$out/$1.log"; fail "$1 failed"; }; }
changed() { awk '/^lab[0-9] +:/ {for (i = 1; i <= NF; i++) if ($i ~ /^changed=/) {split($i, a, "="); s += a[2]}} END {print s + 0}' "$out/$1.log"; }
by_id=/dev/disk/by-id/virtio-helix
collect() {  # collect NAME: the collector's output on lab2, as node_exporter would serve it
  lab lab2 "systemctl start helix-zfs-textfile.service && cat /var/lib/prometheus/node-exporter/helix_zfs.prom" >"$out/$1.prom"
  grep -qx 'helix_zfs_collector_success 1' "$out/$1.prom" || fail "the collector failed ($1)"
  promtool check metrics <"$out/$1.prom" || fail "promtool check metrics: $1"
}
alerts() {  # alerts TEMPLATE PROM...: the rule test from the collector's real output
  python3 tests/promtool/prom2test.py "${@:2}" "tests/promtool/$1.yml" >"$out/$1.test.yml"
  (cd "$out" && promtool test rules "$1.test.yml" >"$1.promtool.log" 2>&1) || { cat "$out/$1.promtool.log"; fail "the alert test $1 failed"; }
}
faulty=(playbooks/faulty_disks.yml -e helix_faulty_disk_hosts=lab2 -e helix_faulty_disk_errors=5)
labelclear="for d in c1 c2 d19 d20; do zpool labelclear -f $by_id-\$d-part1 2>/dev/null; zpool labelclear -f $by_id-\$d 2>/dev/null; done; true"
cleanup() {  # the disks back and blank: a disk detached while unplugged still names pool pf
  lab lab2 "zinject -c all >/dev/null 2>&1; zpool destroy -f pf 2>/dev/null; systemctl disable --now helix-zfs-textfile.timer >/dev/null 2>&1; true" || true
  bash lab/helix-lab plug lab2 c2 >/dev/null 2>&1 || true
  lab lab2 "udevadm settle; $labelclear" || true
}

step "pool pf on lab2: a mirror of c1 and c2, spares d19 and d20 (site.yml); the collector (monitoring role)"
# Any pool an earlier stage left on these disks (powercut's pc, should it have failed) goes first.
lab lab2 "for p in \$(zpool list -H -o name); do zpool status -P \$p | grep -Eq 'virtio-helix-(c[12]|d19|d20)' && zpool destroy -f \$p; done; $labelclear"
cat >"$out/pool.yml" <<EOF2
helix_site_pools:
  - name: pf
    vdevs: [{type: mirror, disks: [$by_id-c1, $by_id-c2]}]
    spare: [$by_id-d19, $by_id-d20]
    filesystem_properties: {mountpoint: /pf}
EOF2
must pool playbooks/site.yml --tags pools --limit lab2 -e "@$out/pool.yml"
trap cleanup EXIT
must monitoring --limit lab2 tests/integration/monitoring.yml
lab lab2 "systemctl disable --now helix-zfs-textfile.timer >/dev/null 2>&1; head -c 48M /dev/urandom > /pf/data && zpool sync pf"
bash tests/promtool/render_rules.sh "$out/helix_zfs.rules.yml"

step "1. c2 disappears (QMP device_del)"
bash lab/helix-lab unplug lab2 c2
# ZFS finds out on the next I/O to it.
lab lab2 "for i in \$(seq 1 30); do dd if=/dev/urandom of=/pf/more bs=1M count=4 conv=fsync status=none; zpool sync pf
  s=\$(zpool list -H -o health pf); [ \"\$s\" != ONLINE ] && break; sleep 1; done; zpool status pf" >"$out/removed.status"
grep -qE 'pf +DEGRADED' "$out/removed.status" || fail "pf is not DEGRADED after c2 went: $(cat "$out/removed.status")"
c2_state=$(awk -v d="virtio-helix-c2" 'index($1, d) == 1 {print $2}' "$out/removed.status")
echo "    pf DEGRADED, c2 $c2_state"
collect removed
alerts faults_removed "$out/removed.prom"
echo "    collector: $(grep -c 'pool="pf"' "$out/removed.prom") pf samples; HelixZfsVdevDegraded fires on them"
if play site-missing playbooks/site.yml --tags pools --limit lab2 -e "@$out/pool.yml"; then
  fail "site.yml went on with a declared disk missing"
fi
said=$(grep -o "pool pf: declared disk is missing on this host: $by_id-c2 ([A-Z]* in mirror-0)" "$out/site-missing.log" | head -n 1) \
  || fail "site.yml's failure does not name the missing disk: see $out/site-missing.log"
echo "    site.yml: $said ..."
must faulty-check --check "${faulty[@]}"
lab lab2 "zpool status pf | grep -q INUSE" && fail "check mode put a spare in"
must faulty-replace "${faulty[@]}"
lab lab2 "zpool wait -t resilver pf; zpool status pf" >"$out/replaced.status"
grep -q "INUSE" "$out/replaced.status" || fail "no spare took c2's place: $(cat "$out/replaced.status")"
must faulty-detach "${faulty[@]}"
lab lab2 "zpool status pf" >"$out/detached.status"
grep -q "virtio-helix-c2" "$out/detached.status" && fail "c2 was not detached after the resilver: $(cat "$out/detached.status")"
grep -qE 'pf +ONLINE' "$out/detached.status" || fail "pf is not ONLINE with the spare in c2's place"
echo "    faulty_disks.yml: spare in ($(changed faulty-replace) changed), resilvered, c2 detached ($(changed faulty-detach) changed): pf ONLINE"

step "2. zinject on c1: read I/O errors, checksum errors during a scrub"
collect before
lab lab2 "zinject -d $by_id-c1-part1 -e io -T read -f 50 pf >/dev/null && zinject -d $by_id-c1-part1 -e corrupt -T read -f 50 pf >/dev/null
  zpool scrub -w pf; zinject -c all >/dev/null; zpool status pf" >"$out/injected.status"
collect injected
alerts faults_injected "$out/before.prom" "$out/injected.prom"
errs=$(awk -v d="virtio-helix-c1" 'index($1, d) == 1 {print "read " $3 ", write " $4 ", checksum " $5}' "$out/injected.status")
echo "    c1: $errs; HelixZfsChecksumErrors fires on the collector's two runs"
must faulty-replace2 "${faulty[@]}"
lab lab2 "zpool wait -t resilver pf"
must faulty-detach2 "${faulty[@]}"
lab lab2 "zpool status pf" >"$out/final.status"
grep -q "virtio-helix-c1" "$out/final.status" && fail "c1 was not replaced and detached: $(cat "$out/final.status")"
grep -qE 'pf +ONLINE' "$out/final.status" || fail "pf is not ONLINE at the end"
grep -q "errors: No known data errors" "$out/final.status" || fail "pf lost data: $(cat "$out/final.status")"
echo "    faulty_disks.yml: c1 replaced by the second spare and detached: pf ONLINE on the spares"
cleanup
trap - EXIT
echo "faults: all checks passed"
