# Copyright (c) helix.zfs contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Running a zfs_snapshot plan, shared by the module and by the node-side schedule runner
(roles/node_runtime/files/helix_zfs_snapshot.py, which runs where Ansible is not)."""

from __future__ import annotations

import contextlib
import fcntl
import os
import time

from ansible_collections.helix.zfs.plugins.module_utils import _read
from ansible_collections.helix.zfs.plugins.module_utils import _zfs_snapshot_plan as plan
from ansible_collections.helix.zfs.plugins.module_utils._errors import ZfsCommandError
from ansible_collections.helix.zfs.plugins.module_utils._zfs_get import list_tree


LOCK_DIR = "/run/lock"


@contextlib.contextmanager
def pool_locks(datasets):
    """Serialize schedule runs per pool: an exclusive flock per pool the datasets are in, taken
    in name order (so two runs can't deadlock), held from the read to the last command."""
    with contextlib.ExitStack() as stack:
        for pool in sorted({d.split("/")[0] for d in datasets}):
            f = stack.enter_context(open(os.path.join(LOCK_DIR, "helix-zfs-snapshot-%s.lock" % pool), "a"))
            fcntl.flock(f, fcntl.LOCK_EX)
        yield


def apply(cli, cmds):
    """Run the plan's commands in order; a destroy program gets its script on stdin."""
    for argv in cmds:
        if argv[1] != "program":
            cli.run(argv)
            continue
        failed, went = plan.program_failures(cli.json(argv, data=plan.DESTROY_PROGRAM))
        if failed:
            why = "; ".join("%s: %s" % (n, os.strerror(e)) for n, e in sorted(failed.items())[:20])
            raise ZfsCommandError("zfs program: cannot destroy %d snapshot(s) (%s). %s" % (
                len(failed), why, "Others in this batch were destroyed." if went else "Nothing was destroyed."),
                cmd=argv, rc=0)


def enforce(cli, datasets, recursive, pol, now, prefix="helix_", owner="helix.zfs", program=True, check=False,
            sched=None, create=True):
    """One schedule, read and applied under its pools' locks: {changed, commands, created,
    destroyed, future (snapshots named after the node's clock: a clock problem)}. Without
    ``create``, it only prunes (a replica's received snapshots by the replica's own retention).
    Raises plan.PlanError for a missing dataset, ZfsCommandError for a failed command."""
    with pool_locks(datasets):
        return _enforce(cli, datasets, recursive, pol, now, prefix, owner, program, check, sched, create)


def _enforce(cli, datasets, recursive, pol, now, prefix, owner, program, check, sched, create):
    cols = plan.columns({}, written=False, extra=plan.SCHEDULE_COLUMNS)
    out, missing = list_tree(cli, datasets, cols, recursive)
    if missing:
        raise plan.PlanError("no such dataset: %s" % ", ".join(sorted(missing)))
    listing = _read.parse_list(out, cols)
    scope = plan.scope(listing, datasets, recursive)
    clock = int(time.time())
    cmds, created, doomed = plan.policy_commands(listing, scope, pol, now, prefix, owner, {}, create, True, program,
                                                 clock=clock, sched=sched)
    if not check:
        apply(cli, cmds)
    return {"changed": bool(cmds), "commands": cmds, "created": created, "destroyed": [s["name"] for s in doomed],
            "future": plan.from_the_future(listing, scope, prefix, owner, clock)}
