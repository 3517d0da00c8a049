#!/usr/bin/python
# Copyright (c) helix.zfs contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: zfs_snapshot
short_description: Atomic tagged ZFS snapshots, holds, rollback, batched destroys and retention schedules
version_added: 0.1.0
description:
  - Takes one snapshot name across any number of datasets (and their descendants) in B(one)
    C(zfs snapshot) call, so the snapshots are atomic, with tags (user properties) set at
    creation by C(-o). Idempotent by name; tags on an existing snapshot are converged with
    C(zfs set).
  - Places and releases holds (C(zfs hold)/C(zfs release)).
  - Rolls a dataset back to a snapshot. When newer snapshots exist it refuses, unless
    O(destroy_newer=true); the result (and check mode) lists exactly what goes.
  - Destroys named snapshots and ranges (C(ds@a%b)) in batches. By default one ZFS channel
    program per pool destroys them all in one transaction, all or none; O(destroy_with=destroy)
    runs C(zfs destroy ds@a,b,c) instead. Held snapshots and snapshots with clones are refused,
    before anything runs.
  - With O(policy), enforces a schedule. Each class (or the keep-grid) gets one snapshot per slot
    of its period (slots aligned to the epoch, in UTC), so a run a few seconds late or early still
    takes one per slot. Snapshots the policy no longer keeps are destroyed.
    Names are C(<prefix><YYYYmmddTHHMMSSZ>_<class>), in UTC.
  - Pruning touches only snapshots this collection owns. Their name matches O(prefix) and their
    C(helix:owner) property is O(owner). It never touches held snapshots, snapshots with clones,
    or the snapshot that matches the dataset's newest bookmark (a replication cursor). It never
    destroys a dataset's newest owned snapshot.
  - Everything is read with one C(zfs list -Hp) per run. C(zfs holds) is read in addition only
    when O(hold) or O(release) is given and a target already has holds.
extends_documentation_fragment:
  - helix.zfs.attributes
attributes:
  check_mode:
    support: full
  diff_mode:
    support: full
  idempotent:
    support: full
    details:
      - With O(policy), idempotent for a fixed O(now); as time passes, new snapshots come due.
options:
  datasets:
    description:
      - Datasets (filesystems or volumes) to snapshot, roll back, or run O(policy) on.
      - Every one must exist; a missing one fails the task before anything changes.
    type: list
    elements: str
    aliases: [dataset]
  recursive:
    description: Include every descendant of O(datasets).
    type: bool
    default: false
  name:
    description:
      - The snapshot name (the part after C(@)), taken on each of O(datasets).
      - For O(state=rolled_back), the snapshot to roll back to; or give O(properties) instead.
    type: str
  snapshots:
    description:
      - Full snapshot names (C(pool/ds@snap)) instead of O(datasets) and O(name).
      - With O(state=absent), a name may be a range C(pool/ds@first%last), inclusive. An empty
        end is open. A range whose named ends are both gone is already destroyed.
    type: list
    elements: str
  state:
    description:
      - V(present) creates what is missing, and converges tags and holds.
      - V(absent) destroys the snapshots.
      - V(rolled_back) rolls each dataset back to its snapshot O(name), or, without O(name), to its
        newest snapshot whose tags match every one of O(properties) (a rollback by tag, such as a
        deploy's C(helix:git_sha)). It is a no-op when that snapshot is the newest and nothing was
        written since.
    type: str
    choices: [present, absent, rolled_back]
    default: present
  properties:
    description:
      - Tags - user properties (C(module:property)) set at creation with C(zfs snapshot -o), and
        converged on existing snapshots with C(zfs set). Values are strings.
    type: dict
    default: {}
  hold:
    description: Hold tags to place on the snapshots (C(zfs hold)).
    type: list
    elements: str
    default: []
  release:
    description: Hold tags to release from the snapshots (C(zfs release)).
    type: list
    elements: str
    default: []
  policy:
    description:
      - A snapshot schedule with retention, enforced on O(datasets) (and with O(recursive), on
        each descendant on its own).
      - "Classes, as a dict, for example C({frequent: {every: 15m, keep: 24}, hourly: {keep: 48},
        daily: {keep: 30}}). Each class is snapshotted once per slot of C(every) (a snapshot of it
        dated in a later slot does not count), and keeps its newest C(keep). C(every) defaults to 15m for V(frequent),
        1h for V(hourly), 1d for V(daily), 1w for V(weekly), 30d for V(monthly) and 365d for
        V(yearly). Durations use s, m, h, d, w and y."
      - Or a keep-grid string, for example C(6h:15m, 2d:1h, 30d:1d). Snapshots of class V(grid)
        are taken at the finest interval. Up to 6 hours old, one is kept per 15 minutes. Up to 2
        days old, one per hour. Up to 30 days old, one per day. Older ones go. Buckets are
        aligned to the epoch; the oldest snapshot in a bucket is the one kept.
      - Owned snapshots of a class the policy does not name are left alone.
      - The policy takes no snapshot of a replica (V(readonly=on), or C(helix:role=replica)),
        whose snapshots come from its source (one of its own would make the next incremental
        diverge), nor of a dataset mid-receive (it has a C(receive_resume_token)), which ZFS calls
        busy (failing the one atomic snapshot of every dataset). Their snapshots are still pruned.
    type: raw
  prefix:
    description: The name prefix of the snapshots O(policy) takes and prunes.
    type: str
    default: helix_
  owner:
    description:
      - The value of the C(helix:owner) property set on the snapshots O(policy) takes. Pruning
        touches only snapshots with this owner. An empty string means the O(prefix) alone
        marks ownership.
    type: str
    default: helix.zfs
  schedule:
    description:
      - With O(policy), the name of the schedule this is, set as the C(helix:schedule) property
        of the snapshots it takes. Pruning then touches only this schedule's snapshots (and
        unlabelled ones), so schedules over nested datasets keep each their own. Any owned
        snapshot still counts towards what is due, so two schedules never take the same slot twice.
      - The P(helix.zfs.snapshot_schedule#role) role sets it to the schedule's name.
    type: str
    version_added: 0.2.0
  create:
    description: With O(policy), take the snapshots that are due.
    type: bool
    default: true
  prune:
    description: With O(policy), destroy the owned snapshots the policy no longer keeps.
    type: bool
    default: true
  now:
    description:
      - The time to plan at, in UTC (C(2026-11-22T05:15:00Z)) or epoch seconds. It defaults to
        the node's clock. Set it to replay or preview a schedule.
    type: str
  destroy_with:
    description:
      - How snapshots are destroyed, for O(state=absent) and for pruning.
      - V(program) runs one ZFS channel program per pool, C(zfs program -j POOL /dev/stdin --
        SNAPSHOT...), with a short Lua script on stdin that checks every snapshot and then
        destroys them all in one transaction. Either all go or none does, and for many snapshots
        it is the fastest way. Past 1,000 snapshots the destroys are split into programs of
        1,000, each all or none, because a program holds the pool's transaction while it runs and writes
        wait for it. Channel programs need root.
      - V(destroy) runs C(zfs destroy ds@a,b,c), one per dataset (split when the argument gets
        long), for a user with delegated (C(zfs allow)) rights.
    type: str
    choices: [program, destroy]
    default: program
  destroy_newer:
    description:
      - Let O(state=rolled_back) destroy the snapshots and bookmarks newer than the target
        (C(zfs rollback -r)).
    type: bool
    default: false
author:
  - helix.zfs developers (!UNKNOWN)
seealso:
  - module: helix.zfs.zfs_dataset
  - module: helix.zfs.zfs_info
"""

EXAMPLES = r"""
- name: A guard-rail snapshot of a release, atomic across datasets, tagged
  helix.zfs.zfs_snapshot:
    datasets: [tank/app/db, tank/app/files]
    name: deploy-4f2a9c1
    properties:
      "helix:git_sha": 4f2a9c1
      "helix:helm_revision": "42"

- name: Every dataset under tank/app in one atomic snapshot
  helix.zfs.zfs_snapshot:
    datasets: [tank/app]
    recursive: true
    name: pre-migration

- name: Keep the pre-migration snapshot from being destroyed
  helix.zfs.zfs_snapshot:
    snapshots: [tank/app/db@pre-migration]
    hold: [migration]

- name: Release it again
  helix.zfs.zfs_snapshot:
    snapshots: [tank/app/db@pre-migration]
    release: [migration]

- name: Every 15 minutes, keep 6 hours of frequent, 2 days of hourly, 30 days of daily
  helix.zfs.zfs_snapshot:
    datasets: [tank/app]
    recursive: true
    policy:
      frequent: {every: 15m, keep: 24}
      hourly: {keep: 48}
      daily: {keep: 30}

- name: The same kind of schedule as a keep-grid
  helix.zfs.zfs_snapshot:
    datasets: [tank/app/files]
    policy: "6h:15m, 2d:1h, 30d:1d"

- name: Roll the database back to the release snapshot, destroying later snapshots
  helix.zfs.zfs_snapshot:
    datasets: [tank/app/db]
    name: deploy-4f2a9c1
    state: rolled_back
    destroy_newer: true

- name: Roll the database back to the snapshot tagged with a release's git SHA, whatever its name
  helix.zfs.zfs_snapshot:
    datasets: [tank/app/db]
    properties:
      "helix:git_sha": 4f2a9c1
    state: rolled_back
    destroy_newer: true

- name: Destroy a range of old snapshots
  helix.zfs.zfs_snapshot:
    snapshots: ["tank/app/files@deploy-4f2a9c1%pre-migration"]
    state: absent
"""

RETURN = r"""
commands:
  description: The zfs commands the task ran, or in check mode would run, in order (the plan).
  returned: always
  type: list
  elements: list
  sample: [["zfs", "snapshot", "-o", "helix:git_sha=4f2a9c1", "tank/app/db@deploy-4f2a9c1", "tank/app/files@deploy-4f2a9c1"]]
created:
  description: The snapshots taken, or in check mode that would be.
  returned: always
  type: list
  elements: str
destroyed:
  description: The snapshots (and, for a rollback, bookmarks) destroyed, or in check mode that would be.
  returned: always
  type: list
  elements: str
future:
  description:
    - The schedule's snapshots named more than 5 minutes after this node's clock - a clock problem.
      They don't count as taken (their class still gets its snapshot) and the task warns about them.
  returned: when O(policy) is given
  type: list
  elements: str
  sample: ["tank/app@helix_20990101T000000Z_frequent"]
snapshots:
  description: The snapshots the task was about (targets of O(name) or O(snapshots)), after the task.
  returned: when O(policy) is not given
  type: list
  elements: str
diff:
  description: The affected snapshots, and their holds where read, before and after.
  returned: when diff mode is on
  type: dict
"""

import contextlib
import re
import time

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.helix.zfs.plugins.module_utils import _read
from ansible_collections.helix.zfs.plugins.module_utils import _snapshot_policy as policy_mod
from ansible_collections.helix.zfs.plugins.module_utils import _zfs_snapshot_plan as plan
from ansible_collections.helix.zfs.plugins.module_utils import _zfs_snapshot_run as srun
from ansible_collections.helix.zfs.plugins.module_utils._props import zfs_words
from ansible_collections.helix.zfs.plugins.module_utils._zfs_cli import run_module
from ansible_collections.helix.zfs.plugins.module_utils._zfs_get import NAME_RULES, dataset_name_ok, list_tree, read_holds

# Used with fullmatch() only ("$" would let a trailing newline through).
_SHORT = re.compile(r"[A-Za-z0-9_.:-]+")
_SCHEDULE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.:-]*")
_USER_PROP = re.compile(r"[a-z0-9_.-]*[a-z0-9_-]:[a-z0-9_.:-]+", re.IGNORECASE)


def validate(p):
    """Every input check, before anything is read: (roots, targets-or-None, policy, now)."""
    if p["snapshots"] is not None and (p["datasets"] is not None or p["name"] is not None or p["recursive"]):
        raise plan.PlanError("snapshots names full snapshots: give it without datasets, name or recursive")
    if p["policy"] is not None and (p["name"] is not None or p["snapshots"] is not None or p["state"] != "present"):
        raise plan.PlanError("policy runs a schedule on datasets: give it without name or snapshots, state present")
    if (p["hold"] or p["release"]) and (p["state"] != "present" or p["policy"] is not None):
        raise plan.PlanError("hold and release go with name or snapshots, and state: present")
    if p["state"] == "rolled_back" and (p["name"] is None) == (not p["properties"]):
        raise plan.PlanError("state rolled_back needs name (the snapshot) or properties (its tags), one of them")
    if p["datasets"] is not None and p["name"] is None and p["policy"] is None and p["state"] != "rolled_back":
        raise plan.PlanError("datasets needs name (a snapshot name) or policy")
    for ds in p["datasets"] or []:
        if not dataset_name_ok(ds) or "@" in ds:
            raise plan.PlanError("invalid dataset name %r (%s; the snapshot name goes in name)" % (ds, NAME_RULES))
    if p["name"] is not None and not _SHORT.fullmatch(p["name"]):
        raise plan.PlanError("invalid snapshot name %r: the part after @, of letters, digits, _ . : -" % p["name"])
    for k in p["properties"]:
        if not _USER_PROP.fullmatch(k) or k in (plan.OWNER_PROP, plan.SCHEDULE_PROP):
            raise plan.PlanError("invalid tag %r: tags are user properties (module:property), not %s or %s"
                                 % (k, plan.OWNER_PROP, plan.SCHEDULE_PROP))
    if p["schedule"] is not None and not _SCHEDULE.fullmatch(p["schedule"]):
        raise plan.PlanError("invalid schedule name %r" % p["schedule"])
    for tag in p["hold"] + p["release"]:
        if not plan.hold_tag_ok(tag):
            raise plan.PlanError("invalid hold tag %r: %s" % (tag, plan.HOLD_TAG_RULES))
    targets = None
    if p["snapshots"] is not None:
        targets = []
        for full in p["snapshots"]:
            ds, at, short = full.partition("@")
            ranged = "%" in short and p["state"] == "absent"
            parts = short.split("%", 1) if ranged else [short]
            if not at or not dataset_name_ok(ds) or not all(_SHORT.fullmatch(s) for s in parts if s or not ranged) \
                    or (ranged and not any(parts)):
                raise plan.PlanError("invalid snapshot %r: want pool/dataset@name%s"
                                     % (full, " (or @first%last)" if p["state"] == "absent" else ""))
            targets.append(full)
        roots = sorted({t.partition("@")[0] for t in targets})
    else:
        roots = sorted(set(p["datasets"]))
    if p["prefix"] and not _SHORT.fullmatch(p["prefix"]):
        raise plan.PlanError("invalid prefix %r" % p["prefix"])
    pol = policy_mod.parse_policy(p["policy"]) if p["policy"] is not None else None
    now = policy_mod.parse_time(p["now"]) if p["now"] is not None else int(time.time())
    return roots, targets, pol, now


def run(module, cli):
    p = module.params
    p["properties"] = zfs_words(p["properties"])
    roots, targets, pol, now = validate(p)
    # A policy run holds its pools' schedule locks from the read to the last command, so a
    # timer firing meanwhile waits instead of planning from the same listing.
    with srun.pool_locks(roots) if pol is not None else contextlib.nullcontext():
        return _run(module, cli, p, roots, targets, pol, now)


def _run(module, cli, p, roots, targets, pol, now):
    tags = dict(p["properties"])
    owner = p["owner"] or None
    cols = plan.columns(tags, written=p["state"] == "rolled_back",
                        extra=plan.SCHEDULE_COLUMNS if pol is not None else ())
    out, missing = list_tree(cli, roots, cols, p["recursive"])
    if missing:
        raise plan.PlanError("no such dataset: %s. Nothing was changed." % ", ".join(sorted(missing)))
    listing = _read.parse_list(out, cols)
    datasets = plan.scope(listing, roots, p["recursive"])
    cmds, created, destroyed, holds, rolled, future = [], [], [], {}, [], []
    if pol is not None:
        clock = int(time.time())
        cmds, created, doomed = plan.policy_commands(listing, datasets, pol, now, p["prefix"], owner, tags,
                                                     p["create"], p["prune"], p["destroy_with"] == "program",
                                                     clock=clock, sched=p["schedule"])
        destroyed = [s["name"] for s in doomed]
        future = plan.from_the_future(listing, datasets, p["prefix"], owner, clock)
        if future:
            module.warn("snapshots named after this node's clock (a clock problem; they don't count as "
                        "taken): %s" % ", ".join(future[:20]))
        targets = []
    else:
        if targets is None:
            targets = ["%s@%s" % (ds, p["name"]) for ds in datasets]
        if p["state"] == "present":
            existing = [t for t in targets if plan.find(listing, t) is not None]
            created = [t for t in targets if t not in existing]
            whole = p["recursive"] and not existing
            cmds += plan.create_commands(created, tags, recursive_roots=[
                "%s@%s" % (r, p["name"]) for r in roots
                if not any(r.startswith(o + "/") for o in roots)] if whole else ())
            cmds += plan.tag_commands(existing, tags, listing)
            if p["hold"] or p["release"]:
                held = [t for t in existing if plan.find(listing, t)["userrefs"]]
                holds = read_holds(cli, held) if held else {}
                cmds += plan.hold_commands(targets, holds, p["hold"], p["release"])
        elif p["state"] == "absent":
            gone = []
            for t in targets:
                if "%" in t:
                    gone += plan.expand_range(listing, t)
                elif plan.find(listing, t) is not None:
                    gone.append(plan.find(listing, t))
            uniq = {s["name"]: s for s in gone}
            gone = sorted(uniq.values(), key=lambda s: (s["dataset"], s["txg"]))
            plan.check_destroyable(gone, "")
            cmds += plan.destroy_commands(gone, program=p["destroy_with"] == "program")
            destroyed = [s["name"] for s in gone]
        else:
            targets = []
            for ds in datasets:
                # By name, or by tag: the newest snapshot whose tags match O(properties).
                short = p["name"] or plan.tagged(listing, ds, tags)
                c, d = plan.rollback(listing, ds, short, p["destroy_newer"])
                cmds += c
                destroyed += d
                rolled += [(ds, short)] if c else []
                targets.append("%s@%s" % (ds, short))
    if cmds and not module.check_mode:
        srun.apply(cli, cmds)
    result = {"changed": bool(cmds), "commands": cmds, "created": created, "destroyed": destroyed}
    if pol is not None:
        result["future"] = future
    else:
        gone = set(destroyed)
        result["snapshots"] = [t for t in targets if "%" not in t and t not in gone
                               and (plan.find(listing, t) is not None or t in created)]
    if module._diff:
        result["diff"] = diff(listing, targets, created, destroyed, holds, p, rolled)
    return result


def diff(listing, targets, created, destroyed, holds, p, rolled):
    """Before/after of each affected snapshot (its holds and tags when the task manages them),
    and of each dataset rolled back (its newest snapshot and the bytes written since)."""
    affected = sorted(set(t for t in targets if "%" not in t) | set(created) | set(destroyed))
    tags, before, after = p["properties"], {}, {}
    for name in affected:
        s = plan.find(listing, name)
        view = {}
        if p["hold"] or p["release"]:
            view["holds"] = sorted(holds.get(name, ()))
        if tags:
            view["properties"] = {k: (s or {}).get("props", {}).get(k) for k in sorted(tags)}
        if s is not None or "#" in name:
            before[name] = dict(view)
        if name not in destroyed and (s is not None or name in created):
            if "holds" in view:
                view["holds"] = sorted((set(view["holds"]) | set(p["hold"])) - set(p["release"]))
            if tags:
                view["properties"] = dict(tags)
            after[name] = view
    for ds, short in rolled:
        snaps = listing["snaps"][ds]
        before[ds] = {"newest_snapshot": snaps[-1]["short"], "written": listing["datasets"][ds]["written"]}
        after[ds] = {"newest_snapshot": short, "written": 0}
    return {"before": before, "after": after}


def main():
    module = AnsibleModule(
        argument_spec=dict(
            datasets=dict(type="list", elements="str", aliases=["dataset"]),
            recursive=dict(type="bool", default=False),
            name=dict(type="str"),
            snapshots=dict(type="list", elements="str"),
            state=dict(type="str", default="present", choices=["present", "absent", "rolled_back"]),
            properties=dict(type="dict", default={}),
            hold=dict(type="list", elements="str", default=[]),
            release=dict(type="list", elements="str", default=[]),
            policy=dict(type="raw"),
            prefix=dict(type="str", default="helix_"),
            owner=dict(type="str", default="helix.zfs"),
            schedule=dict(type="str"),
            create=dict(type="bool", default=True),
            prune=dict(type="bool", default=True),
            now=dict(type="str"),
            destroy_newer=dict(type="bool", default=False),
            destroy_with=dict(type="str", choices=["program", "destroy"], default="program"),
        ),
        supports_check_mode=True,
        required_one_of=[("datasets", "snapshots")],
    )
    run_module(module, lambda cli: run(module, cli))


if __name__ == "__main__":
    main()
