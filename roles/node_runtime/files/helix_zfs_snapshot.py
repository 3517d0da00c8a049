# Copyright (c) helix.zfs contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""python3 /usr/local/lib/helix-zfs/helix_zfs_snapshot.py CONFIG.json: enforce one snapshot
schedule now. Run by a systemd timer (helix.zfs.snapshot_schedule role), so schedules hold while
the controller is away.

It is helix.zfs.zfs_snapshot's policy run, with the same module_utils (installed beside this
script by the role): one zfs list, the same plan, the same commands. Prints one JSON line.
"""
import json
import sys
import time

# The role installs the collection's module_utils beside this file (python puts this file's
# directory first on sys.path).
from ansible_collections.helix.zfs.plugins.module_utils import _snapshot_policy as policy
from ansible_collections.helix.zfs.plugins.module_utils import _zfs_snapshot_run as srun
from ansible_collections.helix.zfs.plugins.module_utils._node import Node
from ansible_collections.helix.zfs.plugins.module_utils._errors import HelixError
from ansible_collections.helix.zfs.plugins.module_utils._zfs_cli import ZfsCli


def main():
    with open(sys.argv[1]) as f:
        conf = json.load(f)
    try:
        result = srun.enforce(ZfsCli(Node()), conf["datasets"], conf.get("recursive", False),
                              policy.parse_policy(conf["policy"]), int(time.time()),
                              prefix=conf.get("prefix", "helix_"), owner=conf.get("owner", "helix.zfs"),
                              sched=conf.get("schedule"))
    except HelixError as e:
        print(json.dumps({"failed": True, "msg": str(e), "cmd": getattr(e, "cmd", None),
                          "stderr": getattr(e, "stderr", None)}))
        return 1
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
