# Copyright (c) helix.zfs contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""zfs_snapshot's decision logic: (one listing, the request, time T) -> [zfs commands].

Pure functions, no I/O. The listing is one ``zfs list -Hp -t filesystem,volume,snapshot,
bookmark``; ``columns()`` names what it must print and ``_read.parse_list()`` reads it.
"""

from __future__ import annotations

from ansible_collections.helix.zfs.plugins.module_utils import _snapshot_policy as policy_mod
from ansible_collections.helix.zfs.plugins.module_utils._props import REPLICA, ROLE_PROP
from ansible_collections.helix.zfs.plugins.module_utils._read import LISTING_COLUMNS
from ansible_collections.helix.zfs.plugins.module_utils._errors import PlanError

OWNER_PROP = "helix:owner"
# Linux caps one argv string at 128 KiB (MAX_ARG_STRLEN); a comma list stays well under it.
ARG_LIMIT = 100000
# A channel program takes one argument per snapshot; all of them share the 2 MiB ARG_MAX.
PROGRAM_ARG_LIMIT = 1 << 19
# Snapshots per channel program. A program runs in the pool's syncing context: while it runs no
# txg syncs, so writes to the pool wait. Measured in the lab (bench/results/zfs_snapshot.md):
# 7,600 destroys in one program held the pool for about 290 s; in programs of 1,000 each holds it
# for about 40 s, for about the same total.
PROGRAM_BATCH = 1000
# One channel program destroys many snapshots in one transaction (one txg, one process). It
# checks every name before any goes, so either all are destroyed or none is.
DESTROY_PROGRAM = """-- helix.zfs: destroy the snapshots named in argv, all or none
local names = (...)["argv"]
local failed = {}
local ok = true
for _, n in ipairs(names) do
  local err = zfs.check.destroy(n)
  if err ~= 0 then failed[n] = err; ok = false end
end
if ok then
  for _, n in ipairs(names) do
    local err = zfs.sync.destroy(n)
    if err ~= 0 then failed[n] = err end
  end
end
return {failed = failed, destroyed = ok}
"""


# The schedule that took a snapshot: a schedule prunes only its own (and unlabelled ones, taken
# before schedules were labelled), so nested schedules can't destroy each other's snapshots.
SCHEDULE_PROP = "helix:schedule"
# What a schedule reads: replicas and datasets mid-receive to leave alone, and whose snapshots are whose.
SCHEDULE_COLUMNS = ("readonly", "receive_resume_token", ROLE_PROP, SCHEDULE_PROP)


def columns(tags, written=True, extra=()):
    """What the one zfs list prints. ``written`` is costly on snapshots (ZFS works out the space
    between each and its predecessor), so only a rollback, which needs it, asks for it."""
    base = list(LISTING_COLUMNS) if written else [c for c in LISTING_COLUMNS if c != "written"]
    return base + list(extra) + [OWNER_PROP] + sorted(set(tags) - {OWNER_PROP} - set(extra))


HOLD_TAG_RULES = "1-255 printable characters, not starting with -"


def hold_tag_ok(tag):
    """A hold tag zfs can only read as a tag: not empty, at most 255 characters, no leading
    ``-`` (``zfs hold -r ...`` would be an option), no control characters."""
    return bool(tag) and len(tag) <= 255 and not tag.startswith("-") and tag.isprintable()


def replica(listing, ds):
    """A dataset a schedule must not snapshot: a replica (role replica, or read-only), whose
    snapshots come from its source - one of its own would make the next incremental diverge -
    or a dataset mid-receive (it has a resume token), which zfs calls busy, failing the whole
    atomic snapshot."""
    props = listing["datasets"].get(ds, {}).get("props", {})
    return props.get("readonly") == "on" or props.get(ROLE_PROP) == REPLICA or "receive_resume_token" in props


def scope(listing, roots, recursive):
    """The datasets a request covers: the roots, plus their descendants when recursive."""
    out = []
    for name in sorted(listing["datasets"]):
        if name in roots or (recursive and any(name.startswith(r + "/") for r in roots)):
            out.append(name)
    return out


def chunks(head, names, joiner=None, base=0, limit=ARG_LIMIT, count=None):
    """``head + names`` split so no call grows past ``limit`` (nor past ``count`` names); with
    ``joiner`` (names joined into one argument, ``base`` the length of what precedes them in
    it), no joined argument."""
    out, cur = [], []
    start = base if joiner else sum(len(h) + 1 for h in head)
    size = start
    for n in names:
        if cur and (size + len(n) + 1 > limit or len(cur) == count):
            out.append(cur)
            cur, size = [], start
        cur.append(n)
        size += len(n) + 1
    if cur:
        out.append(cur)
    if joiner is None:
        return [head + c for c in out]
    return [head + [joiner(c)] for c in out]


def destroy_commands(snaps, program=False):
    """One ``zfs destroy ds@a,b,c`` per dataset (split past ARG_LIMIT), in the given order; with
    ``program``, one DESTROY_PROGRAM per pool (split past PROGRAM_BATCH snapshots or
    PROGRAM_ARG_LIMIT), fed on stdin."""
    if program:
        by_pool = {}
        for s in snaps:
            by_pool.setdefault(s["dataset"].split("/", 1)[0], []).append(s["name"])
        cmds = []
        for pool, names in by_pool.items():
            cmds += chunks(["zfs", "program", "-j", pool, "/dev/stdin", "--"], names, limit=PROGRAM_ARG_LIMIT,
                           count=PROGRAM_BATCH)
        return cmds
    by_ds = {}
    for s in snaps:
        by_ds.setdefault(s["dataset"], []).append(s["short"])
    cmds = []
    for ds, shorts in by_ds.items():
        cmds += chunks(["zfs", "destroy"], shorts, joiner=lambda c, ds=ds: "%s@%s" % (ds, ",".join(c)),
                       base=len(ds) + 1)
    return cmds


def program_failures(doc):
    """DESTROY_PROGRAM's ``zfs program -j`` output -> ({snapshot: errno}, whether any went)."""
    ret = (doc or {}).get("return") or {}
    return {k: int(v) for k, v in (ret.get("failed") or {}).items()}, bool(ret.get("destroyed"))


def check_destroyable(snaps, why):
    for s in snaps:
        if s["userrefs"]:
            raise PlanError("%s is held (%d hold(s)); release it first, or leave it out. Nothing was changed."
                            % (s["name"], s["userrefs"]) + why)
        if s["clones"]:
            raise PlanError("%s has clones (%s); promote or destroy them first. Nothing was changed."
                            % (s["name"], ", ".join(s["clones"])) + why)


def find(listing, full):
    ds, _s, short = full.partition("@")
    return next((s for s in listing["snaps"].get(ds, []) if s["short"] == short), None)


def expand_range(listing, full):
    """``ds@a%b`` -> the snapshots from a to b inclusive (an empty end is open). When both
    named ends are gone the range is gone too (nothing to do); only one gone is an error."""
    ds, _s, rng = full.partition("@")
    first, _p, last = rng.partition("%")
    snaps = listing["snaps"].get(ds, [])
    ends = [next((s for s in snaps if s["short"] == e), None) if e else None for e in (first, last)]
    named = [e for e in (first, last) if e]
    found = [s for s in ends if s is not None]
    if not found:
        return []
    if len(found) < len(named):
        raise PlanError("range %s: %s does not exist (and the other end does)"
                        % (full, " and ".join(e for e, s in zip((first, last), ends) if e and s is None)))
    lo = ends[0]["txg"] if ends[0] else 0
    hi = ends[1]["txg"] if ends[1] else float("inf")
    return [s for s in snaps if lo <= s["txg"] <= hi]


def tag_commands(targets, tags, listing):
    """``zfs set`` for existing snapshots whose tags differ, merged per (property, value)."""
    groups = {}
    for full in targets:
        s = find(listing, full)
        for k, v in sorted(tags.items()):
            if s is not None and s["props"].get(k) != v:
                groups.setdefault((k, v), []).append(full)
    cmds = []
    for (k, v), names in sorted(groups.items()):
        cmds += chunks(["zfs", "set", "%s=%s" % (k, v)], names)
    return cmds


def hold_commands(targets, holds, add, remove):
    """``zfs hold``/``zfs release`` for the targets missing a tag, or still holding one."""
    cmds = []
    for tag in add:
        names = [t for t in targets if tag not in holds.get(t, ())]
        cmds += chunks(["zfs", "hold", tag], names) if names else []
    for tag in remove:
        names = [t for t in targets if tag in holds.get(t, ())]
        cmds += chunks(["zfs", "release", tag], names) if names else []
    return cmds


def create_commands(names, tags, recursive_roots=()):
    """One atomic ``zfs snapshot`` for every name (``-r root@x`` when it covers a whole tree)."""
    opts = []
    for k, v in sorted(tags.items()):
        opts += ["-o", "%s=%s" % (k, v)]
    if not names:
        return []
    if recursive_roots:
        return [["zfs", "snapshot", "-r"] + opts + list(recursive_roots)]
    return [["zfs", "snapshot"] + opts + list(names)]


def tagged(listing, ds, tags):
    """The newest snapshot of ``ds`` whose user properties hold every one of ``tags`` (its short
    name): a rollback by tag, such as a deploy's git SHA."""
    hits = [s for s in listing["snaps"].get(ds, []) if all(s["props"].get(k) == v for k, v in tags.items())]
    if not hits:
        raise PlanError("cannot roll back %s: none of its snapshots has %s. Nothing was changed." % (
            ds, ", ".join("%s=%s" % kv for kv in sorted(tags.items()))))
    return hits[-1]["short"]


def rollback(listing, ds, short, destroy_newer):
    """(commands, destroyed names) to put ``ds`` back at ``ds@short``; nothing when it is the
    newest snapshot and nothing was written since."""
    snaps = listing["snaps"].get(ds, [])
    target = next((s for s in snaps if s["short"] == short), None)
    if target is None:
        raise PlanError("cannot roll back %s: %s@%s does not exist. Nothing was changed." % (ds, ds, short))
    newer = [s for s in snaps if s["txg"] > target["txg"]]
    marks = [b for b in listing["bookmarks"].get(ds, []) if b["txg"] > target["txg"]]
    if not newer and not listing["datasets"][ds]["written"]:
        return [], []
    if (newer or marks) and not destroy_newer:
        raise PlanError("cannot roll back %s to @%s: newer snapshots or bookmarks exist (%s). Set destroy_newer: "
                        "true to destroy them. Nothing was changed."
                        % (ds, short, ", ".join(s["short"] for s in newer + marks)))
    check_destroyable(newer, "")
    argv = ["zfs", "rollback"] + (["-r"] if newer or marks else []) + ["%s@%s" % (ds, short)]
    return [argv], [s["name"] for s in newer + marks]


# A snapshot named more than this after the node's clock is a clock problem, not a fresh one.
CLOCK_SKEW = 300


def after_clock(time, clock):
    """Whether a snapshot's name time is after ``clock`` (the node's real time) by more than CLOCK_SKEW."""
    return time > clock + CLOCK_SKEW


def owned_snapshots(listing, ds, prefix, owner):
    """The schedule's snapshots of ``ds``, each with the ``time`` and ``class`` its name records."""
    owned = []
    marks = listing["bookmarks"].get(ds, [])
    cursor = marks[-1]["guid"] if marks else None  # what the last replication left
    for s in listing["snaps"].get(ds, []):
        parsed = policy_mod.parse_name(prefix, s["short"])
        if parsed is None or (owner is not None and s["props"].get(OWNER_PROP) != owner):
            continue
        owned.append(dict(s, time=parsed[0], **{"class": parsed[1]},
                          protected=bool(s["userrefs"] or s["clones"] or s["guid"] == cursor)))
    return owned


def from_the_future(listing, datasets, prefix, owner, clock):
    """The schedule's snapshots named after ``clock`` (the node's real time) by more than CLOCK_SKEW."""
    return [s["name"] for ds in datasets for s in owned_snapshots(listing, ds, prefix, owner)
            if after_clock(s["time"], clock)]


def mine(snap, sched):
    """Whether schedule ``sched`` may prune ``snap``: its own, or unlabelled (None: every one)."""
    return sched is None or snap.get("props", {}).get(SCHEDULE_PROP) in (None, sched)


def schedule(listing, datasets, pol, now, prefix, owner, do_create, do_prune, clock=None, sched=None):
    """Scheduled snapshots: ({class: [full names to create]}, [snapshots to destroy]). With
    ``clock`` (the node's real time), snapshots named after it don't make a class look done.
    Any owned snapshot counts towards what is due; with ``sched``, only its own are pruned."""
    create, destroy = {}, []
    for ds in datasets:
        owned = owned_snapshots(listing, ds, prefix, owner)
        counted = [s for s in owned if clock is None or not after_clock(s["time"], clock)]
        due = policy_mod.due(counted, pol, now) if do_create and not replica(listing, ds) else []
        for cls in due:
            name = "%s@%s" % (ds, policy_mod.snapshot_name(prefix, cls, now))
            if find(listing, name) is None:
                create.setdefault(cls, []).append(name)
                owned.append({"name": name, "time": now, "class": cls, "protected": False})
        if do_prune:
            gone = set(policy_mod.prune([s for s in owned if mine(s, sched)], pol, now))
            destroy += [s for s in owned if s["name"] in gone]
    return create, destroy


def policy_commands(listing, datasets, pol, now, prefix, owner, tags, do_create, do_prune, program, clock=None,
                    sched=None):
    """A schedule's whole plan: (commands, created names, snapshots to destroy)."""
    due, doomed = schedule(listing, datasets, pol, now, prefix, owner, do_create, do_prune, clock, sched)
    labels = dict({OWNER_PROP: owner} if owner else {}, **({SCHEDULE_PROP: sched} if sched else {}))
    cmds, created = [], []
    for cls in sorted(due):
        cmds += create_commands(due[cls], dict(tags, **labels))
        created += due[cls]
    return cmds + destroy_commands(doomed, program=program), created, doomed
