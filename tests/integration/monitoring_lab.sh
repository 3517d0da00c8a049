#!/usr/bin/env bash
# The monitoring role on lab1 with a degraded pool (issue 7's lab test; needs the lab up):
#  - the role applied twice (tests/integration/monitoring.yml); the second run changes nothing;
#  - a mirror of two sparse files under /var/tmp, one offlined: the pool is DEGRADED;
#  - the collector run by its systemd unit; its file passes promtool check metrics, and becomes,
#    through tests/promtool/prom2test.py, the rule test tests/promtool/from_collector.yml, in
#    which the degraded-vdev alert must fire (promtool test rules, the rules rendered as the role
#    renders them);
#  - node_exporter on the node serves the same series, and parsed the file without error.
# The pool and its files go at the end, and the timer and node_exporter are stopped again, so
# later tests find lab1 as it was. Output: tests/output/monitoring.
set -euo pipefail
repo=$(cd "$(dirname "$0")/../.." && pwd)
# shellcheck source=scripts/env.sh
. "$repo/scripts/env.sh"
helix_link_collection
out=$repo/tests/output/monitoring
rm -rf "$out" && mkdir -p "$out"
lab() { bash "$repo/lab/helix-lab" ssh lab1 -- "$1"; }
fail() { echo "monitoring lab test: $*" >&2; exit 1; }
a=/var/tmp/helix-mon-a.img
b=/var/tmp/helix-mon-b.img
cleanup() {
  lab "zpool destroy -f htmon 2>/dev/null; rm -f $a $b; systemctl disable --now helix-zfs-textfile.timer >/dev/null 2>&1;
    systemctl disable --now prometheus-node-exporter.service >/dev/null 2>&1; systemctl mask prometheus-node-exporter.service >/dev/null 2>&1; true" || true
}
trap cleanup EXIT
lab "zpool destroy -f htmon 2>/dev/null; rm -f $a $b; true"

for run in 1 2; do
  echo "--- the monitoring role, run $run"
  ansible-playbook -i "$repo/inventories/lab" --limit lab1 "$repo/tests/integration/monitoring.yml" | tee "$out/apply$run.log"
done
recap=$(sed -n '/PLAY RECAP/,$p' "$out/apply2.log")
grep -qE 'lab1 .*changed=0 .*failed=0' <<<"$recap" || fail "the second run was not a no-op: $recap"
lab "systemctl is-active --quiet helix-zfs-textfile.timer prometheus-node-exporter.service" \
  || fail "the collector's timer or node_exporter is not running"

echo "--- htmon: a mirror of two files, one offlined"
lab "truncate -s 256M $a $b && zpool create -f htmon mirror $a $b && zpool offline htmon $b"
[ "$(lab 'zpool list -Ho health htmon')" = DEGRADED ] || fail "htmon is not DEGRADED"
lab "systemctl start helix-zfs-textfile.service"
lab "cat /var/lib/prometheus/node-exporter/helix_zfs.prom" >"$out/helix_zfs.prom"
grep -qx 'helix_zfs_collector_success 1' "$out/helix_zfs.prom" || fail "the collector reported a failure (journalctl -u helix-zfs-textfile on lab1)"
grep 'pool="htmon"' "$out/helix_zfs.prom" | grep -v _errors_total

echo "--- promtool check metrics, then the rule test from this output"
promtool check metrics <"$out/helix_zfs.prom"
bash "$repo/tests/promtool/render_rules.sh" "$out/helix_zfs.rules.yml"
python3 "$repo/tests/promtool/prom2test.py" "$out/helix_zfs.prom" "$repo/tests/promtool/from_collector.yml" \
  >"$out/from_collector.test.yml"
(cd "$out" && promtool test rules from_collector.test.yml)

echo "--- node_exporter's endpoint on lab1"
lab "python3 -" >"$out/node_exporter.txt" <<'PY'
import time
import urllib.request

for _ in range(30):  # it was started by the role a moment ago
    try:
        print(urllib.request.urlopen("http://127.0.0.1:9100/metrics", timeout=10).read().decode())
        break
    except OSError:
        time.sleep(2)
PY
grep -x 'node_textfile_scrape_error 0' "$out/node_exporter.txt" || fail "node_exporter could not parse a textfile"
grep '^helix_zfs_vdev_state{' "$out/node_exporter.txt" | grep 'state="OFFLINE"' | grep -F "vdev=\"$b\"" \
  || fail "node_exporter does not serve the offline vdev's series"
grep -qx 'helix_zfs_collector_success 1' "$out/node_exporter.txt" || fail "node_exporter does not serve helix_zfs_collector_success 1"
echo "monitoring on lab1: role idempotent; collector output valid; degraded-vdev alert fires from it; node_exporter serves $(grep -c '^helix_zfs_' "$out/node_exporter.txt") helix_zfs_ samples"
