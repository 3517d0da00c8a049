# Copyright (c) helix.zfs contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Continuous replication's bookkeeping (the helix.zfs.replication role's timers): each
target's cursor (a hold on the source), the state each (tree, target) leaves for the collector.
The sending itself is zfs_replicate's engine (_zfs_replicate_run)."""

from __future__ import annotations

import os
from urllib.parse import quote

from ansible_collections.helix.zfs.plugins.module_utils import _snapshot_policy as policy
from ansible_collections.helix.zfs.plugins.module_utils._errors import PlanError
from ansible_collections.helix.zfs.plugins.module_utils._units import human_duration, human_size
from ansible_collections.helix.zfs.plugins.module_utils._zfs_get import dataset_name_ok
from ansible_collections.helix.zfs.plugins.module_utils._zfs_replicate_run import ARGUMENT_SPEC
from ansible_collections.helix.zfs.plugins.module_utils._zfs_snapshot_plan import hold_tag_ok

# A target's cursor on the source: the hold on the newest snapshot it has.
HOLD_PREFIX = "helix-repl-"


def hold_tag(target_name):
    tag = HOLD_PREFIX + target_name
    if not hold_tag_ok(tag):
        raise PlanError("replication target name %r does not make a valid hold tag (%s)" % (target_name, tag))
    return tag


def stale_holds(held, target_names):
    """Release commands for the cursors of targets no longer configured. ``held``:
    {(snapshot, tag)} on the source."""
    keep = {hold_tag(n) for n in target_names}
    return [["zfs", "release", tag, snap] for snap, tag in sorted(held)
            if tag.startswith(HOLD_PREFIX) and tag not in keep]


def state_file(directory, source, target_name):
    """Where a (tree, target)'s state lives: one file each, named after both."""
    return os.path.join(directory, "%s--%s.json" % (quote(source, safe=""), quote(target_name, safe="")))


def next_state(old, source, target, result, now):
    """The (tree, target)'s state after a run: what the collector exports. ``result``: the
    engine's (``failed``, ``bytes``, ``started``...)."""
    ok = not result.get("failed")
    return {
        "source": source,
        "target": target["name"],
        "host": target["host"],
        "dataset": target["dataset"],
        "last_attempt": int(result.get("started", now)),
        "last_success": int(now) if ok else old.get("last_success", 0),
        "failures": 0 if ok else old.get("failures", 0) + 1,
        "last_bytes": int(result.get("bytes") or 0) if ok else 0,
        "sent_bytes_total": old.get("sent_bytes_total", 0) + int(result.get("bytes") or 0),
        "last_error": None if ok else (result.get("msg") or "failed")[:500],
    }


def running_state(old, sent, estimated, now):
    """The (tree, target)'s state while a send runs: the last one, with how far the send is
    (bytes so far, zfs send -nvP's estimate). next_state drops it."""
    return dict(old, running={"bytes": int(sent), "estimated": int(estimated), "since": int(now)})


# Options the role sets itself for every target.
ROLE_SET = ("source", "target", "target_host", "recursive", "hold", "target_dir", "restore_from")


def node_config(trees, addresses, ssh_options, receive_properties, parallel, state_dir, received=()):
    """The replication timer's configuration (helix_zfs_replicate.py's CONFIG.json) from the
    role's trees, and the datasets this node receives with a retention of their own (``received``:
    [{dataset, recursive, retention, source}], gathered from every node's trees).
    ``addresses``: {inventory host: what to ssh to}. Raises PlanError for a bad tree, before
    anything is written."""
    out, seen = [], set()
    for tree in trees:
        src = tree.get("source") if isinstance(tree, dict) else None
        if not src or not dataset_name_ok(src):
            raise PlanError("each replicated tree needs a source dataset; got %r" % (tree,))
        if src in seen:
            raise PlanError("%s is listed twice: give it one entry with all its targets" % src)
        seen.add(src)
        targets, names = [], set()
        for t in tree.get("targets") or []:
            if not (isinstance(t, dict) and t.get("host") and t.get("dataset") and dataset_name_ok(t["dataset"])):
                raise PlanError("%s: each target needs a host and a dataset; got %r" % (src, t))
            name = t.get("name") or t["host"]
            hold_tag(name)
            if name in names:
                raise PlanError("%s: two targets named %s (name them apart with name:)" % (src, name))
            names.add(name)
            opts = dict(t.get("options") or {})
            bad = sorted(set(opts) & set(ROLE_SET)) + sorted(set(opts) - set(ARGUMENT_SPEC))
            if bad:
                raise PlanError("%s -> %s: options the role sets itself or zfs_replicate does not have: %s"
                                % (src, name, ", ".join(bad)))
            if t.get("retention") is not None:
                policy.parse_policy(t["retention"])  # a bad one is refused here, on the source's run too
            opts.setdefault("receive_properties", dict(receive_properties))
            opts["ssh_options"] = list(ssh_options) + list(opts.get("ssh_options") or [])
            targets.append({"name": name, "host": addresses.get(t["host"], t["host"]), "dataset": t["dataset"],
                            "options": opts})
        if not targets:
            raise PlanError("%s has no target" % src)
        entry = {"source": src, "recursive": bool(tree.get("recursive", False)), "targets": targets,
                 "merkle": bool(tree.get("merkle", True))}
        if tree.get("snapshot_policy"):
            policy.parse_policy(tree["snapshot_policy"])  # a bad one is refused here
            entry["snapshot_policy"] = tree["snapshot_policy"]
        for hook in ("pre_hook", "post_hook"):
            if tree.get(hook):
                if not tree.get("snapshot_policy"):
                    raise PlanError("%s: %s runs around the tree's snapshots: give it a snapshot_policy" % (src, hook))
                entry[hook] = str(tree[hook])
        out.append(entry)
    if int(parallel) < 1:
        raise PlanError("replication_parallel must be at least 1")
    kept = []
    for r in received:
        policy.parse_policy(r["retention"])
        kept.append({"dataset": r["dataset"], "recursive": bool(r.get("recursive", False)),
                     "retention": r["retention"], "source": r.get("source", "")})
    return {"parallel": int(parallel), "state_dir": state_dir, "trees": out, "received": kept}


def target_line(source, name, r, check):
    """One (tree, target) result in a line: what went and how fast, or in check mode whether it
    is behind and what the next run sends, or why not."""
    head = "%s -> %s: " % (source, name)
    if r.get("failed"):
        return head + ("cannot tell: " if check else "FAILED: ") + str(r.get("msg"))
    if not r.get("sent"):
        return head + "up to date"
    if check:
        kinds = ", ".join(sorted({s["kind"] for s in r["sent"]}))
        size = human_size(sum(s.get("bytes") or 0 for s in r["sent"]))
        return head + "behind, the next run sends %s (%s)" % (size, kinds)
    rate = human_size(r["throughput"])
    kinds = ", ".join(s["kind"] for s in r["sent"])
    return head + "sent %s in %s (%s/s): %s" % (human_size(r["bytes"]), human_duration(r["seconds"]), rate, kinds)


def behind(plan):
    """The timer's --check output -> one line per (tree, target) (target_line), and the cursors
    of removed targets it would release."""
    lines = []
    for tree in plan.get("trees", []):
        lines += [target_line(tree["source"], name, r, True) for name, r in sorted(tree.get("targets", {}).items())]
        if tree.get("released"):
            lines.append("%s: releases %d cursor hold(s) of removed targets" % (tree["source"], len(tree["released"])))
    return lines


def tree_state_file(directory, source):
    """Where a tree's own state (its snapshot step and hooks) lives."""
    return os.path.join(directory, "trees", "%s.json" % quote(source, safe=""))


def next_tree_state(old, source, step, now):
    """The tree's state after its snapshot step: ``step`` is {pre_rc, post_rc, created, error}
    (pre_rc None: no hook ran)."""
    failed = bool(step.get("error")) or step.get("pre_rc") not in (None, 0)
    return {
        "source": source,
        "last_run": int(now),
        "hook_failures": old.get("hook_failures", 0) + 1 if failed else 0,
        "pre_rc": step.get("pre_rc"),
        "post_rc": step.get("post_rc"),
        "created": step.get("created", []),
        "last_error": step.get("error"),
    }
