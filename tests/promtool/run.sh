#!/usr/bin/env bash
# The monitoring role's alert rules and collector, checked on the controller with promtool
# (Debian's prometheus package; scripts/setup.sh installs it):
#  - the rules template rendered with the role's defaults: promtool check rules, then every
#    *.test.yml here (one per alert) with promtool test rules;
#  - the collector itself (roles/node_runtime/files/helix_zfs_textfile.py) run against stand-in
#    zpool/zfs commands that print the recorded degraded pool and zfs listings: its file through
#    promtool check metrics, then through prom2test.py into from_collector.yml's rule test, the
#    one tests/integration/monitoring_lab.sh runs on a real degraded pool.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
fx=$repo/tests/unit/fixtures
command -v promtool >/dev/null || { echo "promtool is missing: apt-get install prometheus (scripts/setup.sh does)" >&2; exit 1; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

bash "$here/render_rules.sh" "$work/helix_zfs.rules.yml"
promtool check rules "$work/helix_zfs.rules.yml"
cp "$here"/*.test.yml "$work/"
(cd "$work" && promtool test rules ./*.test.yml)

# The collector, as on a node: its module_utils importable as the collection, zpool and zfs on
# PATH (stand-ins that insist on the C locale the transport sets), a snapshot schedule's file.
mkdir -p "$work/ac/ansible_collections/helix" "$work/bin" "$work/textfile" "$work/schedules"
ln -s "$repo" "$work/ac/ansible_collections/helix/zfs"
cat >"$work/bin/zpool" <<STANDIN
#!/bin/sh
[ "\$LC_ALL" = C ] || exit 3
case "\$1" in
  status) cat "$fx/zpool/status-degraded-file.json" ;;
  list) cat "$fx/zpool/list.tsv" ;;
  *) exit 2 ;;
esac
STANDIN
cat >"$work/bin/zfs" <<STANDIN
#!/bin/sh
[ "\$LC_ALL" = C ] || exit 3
case "\$*" in
  *filesystem,volume*) cat "$fx/zfs/list-datasets.tsv" ;;
  *snapshot,bookmark*) cat "$fx/zfs/list-snapshots.tsv" ;;
  *) exit 2 ;;
esac
STANDIN
chmod +x "$work/bin/zpool" "$work/bin/zfs"
echo '{"datasets": ["htmon/tenants"], "recursive": true, "policy": {"frequent": {"every": "15m", "keep": 24}}}' \
  >"$work/schedules/tenants.json"
prom=$work/textfile/helix_zfs.prom
PATH=$work/bin:$PATH PYTHONPATH=$work/ac python3 "$repo/roles/node_runtime/files/helix_zfs_textfile.py" \
  --output "$prom" --schedules "$work/schedules"
grep -qx 'helix_zfs_collector_success 1' "$prom"
echo "collector: $(grep -vc '^#' "$prom") samples; promtool check metrics"
promtool check metrics <"$prom"
python3 "$here/prom2test.py" "$prom" "$here/from_collector.yml" >"$work/from_collector.test.yml"
(cd "$work" && promtool test rules from_collector.test.yml)
echo "promtool: the rules, $(find "$here" -name '*.test.yml' | wc -l) alert tests and the collector's output pass"
