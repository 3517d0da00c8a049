# Copyright (c) helix.zfs contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""python3 /usr/local/lib/helix-zfs/helix_zfs_textfile.py [--output FILE] [--schedules DIR]:
write the helix_zfs_ metrics for node_exporter's textfile collector. Run by a systemd timer
(helix.zfs.monitoring role).

Four calls through the collection's one transport (ZfsCli, installed beside this script by the
role): zpool status -j, zpool list, zfs list of filesystems and volumes, zfs list of snapshots
and bookmarks; the metrics come from _metrics. The file is replaced atomically, and a failure
still writes it, with helix_zfs_collector_success 0, so an alert fires instead of the series
going quiet.
"""
import argparse
import glob
import json
import os
import sys
import time

# The role installs the collection's module_utils beside this file (python puts this file's
# directory first on sys.path).
from ansible_collections.helix.zfs.plugins.module_utils import _metrics as metrics
from ansible_collections.helix.zfs.plugins.module_utils import _zpool_status as zs
from ansible_collections.helix.zfs.plugins.module_utils._node import Node, write_atomic
from ansible_collections.helix.zfs.plugins.module_utils._errors import HelixError
from ansible_collections.helix.zfs.plugins.module_utils._zfs_cli import ZfsCli


def read_schedules(directory):
    """The snapshot_schedule role's configurations -> ([schedule], [errors])."""
    out, errors = [], []
    for path in sorted(glob.glob(os.path.join(directory, "*.json"))):
        try:
            with open(path) as f:
                out.append(metrics.schedule(json.load(f)))
        except (HelixError, OSError, ValueError, KeyError, TypeError) as e:
            errors.append("%s: %s" % (path, e))
    return out, errors


def read_replication(directory):
    """The replication timers' states (one JSON file per tree and target, and per tree with a
    snapshot step under trees/) -> ([state], [errors])."""
    out, errors = [], []
    paths = sorted(glob.glob(os.path.join(directory, "*.json"))) + sorted(glob.glob(os.path.join(directory, "trees", "*.json")))
    for path in paths:
        try:
            with open(path) as f:
                st = json.load(f)
            if not (isinstance(st, dict) and st.get("source")):
                raise ValueError("not a replication state")
            out.append(st)
        except (OSError, ValueError, KeyError, TypeError) as e:
            errors.append("%s: %s" % (path, e))
    return out, errors


def collect(cli, schedule_dir, replication_dir="/var/lib/helix-zfs/replication"):
    """(render()'s keyword arguments, [errors]). Each call on its own: one that fails leaves
    the others' series in the file."""
    calls = {
        "pools": lambda: zs.parse_status(cli.json(metrics.pool_status_argv())),
        "sizes": lambda: metrics.parse_pool_list(cli.run(metrics.pool_list_argv())[1]),
        "datasets": lambda: metrics.parse_datasets(cli.run(metrics.dataset_list_argv())[1]),
        "listing": lambda: metrics.parse_snapshots(cli.run(metrics.snapshot_list_argv())[1]),
    }
    state, errors = {}, []
    for key, call in calls.items():
        try:
            state[key] = call()
        except (HelixError, OSError, ValueError, KeyError, TypeError) as e:
            errors.append("%s: %s" % (key, e))
    state["schedules"], bad = read_schedules(schedule_dir)
    state["replication"], bad_states = read_replication(replication_dir)
    return state, errors + bad + bad_states


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--output", default="/var/lib/prometheus/node-exporter/helix_zfs.prom")
    p.add_argument("--schedules", default="/etc/helix-zfs/snapshot")
    p.add_argument("--replication", default="/var/lib/helix-zfs/replication",
                   help="the replication timers' state directory (helix.zfs.replication)")
    a = p.parse_args()
    t0, now = time.monotonic(), time.time()
    try:
        state, errors = collect(ZfsCli(Node()), a.schedules, a.replication)
        text = metrics.render(now, success=not errors, duration=time.monotonic() - t0, **state)
    except Exception as e:  # pylint: disable=broad-except  # anything unforeseen still reports failure
        errors = ["collector: %r" % e]
        text = metrics.render(now, success=False, duration=time.monotonic() - t0)
    write_atomic(a.output, text)
    for e in errors:
        print(e, file=sys.stderr)
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
