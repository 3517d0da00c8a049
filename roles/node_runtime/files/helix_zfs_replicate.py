# Copyright (c) helix.zfs contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""python3 /usr/local/lib/helix-zfs/helix_zfs_replicate.py [--check] CONFIG.json: push each
replicated tree to each of its targets now. Run by a systemd timer (helix.zfs.replication role),
so replicas stay fresh while the controller is away.

It is helix.zfs.zfs_replicate's engine (module_utils/_zfs_replicate_run.py), once per (tree,
target): the same reads, plan and commands. The per-target cursor is a hold on the source
(helix-repl-TARGET) on the newest snapshot that target has, so no pruning on the source can take
the last common snapshot of a target that is down, however long; a target no longer configured
has its holds released. A tree's targets go one after the other (the same snapshot to each);
trees go in parallel, up to ``parallel``. Each (tree, target) leaves its state in ``state_dir``
(last success, last attempt, bytes, failures in a row) for the monitoring collector. With
--check: what each target would be sent, nothing changed. Prints a line per target (what went,
how fast), then one JSON line.

A tree with a snapshot_policy also takes (and prunes) its own snapshots first, with its pre and
post hooks around them. Each filesystem's newest snapshot gets its Merkle root (unless the tree
says merkle: false), for the check before a promotion. Then each dataset this node receives with
a retention of its own is pruned by it (``received``).
"""
import argparse
import json
import os
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor

from ansible_collections.helix.zfs.plugins.module_utils import _merkle as merkle
from ansible_collections.helix.zfs.plugins.module_utils import _snapshot_policy as policy
from ansible_collections.helix.zfs.plugins.module_utils import _zfs_replicate_run as rrun
from ansible_collections.helix.zfs.plugins.module_utils import _zfs_snapshot_run as srun
from ansible_collections.helix.zfs.plugins.module_utils._errors import HelixError
from ansible_collections.helix.zfs.plugins.module_utils._node import NodeRun, write_atomic
from ansible_collections.helix.zfs.plugins.module_utils._replication import (
    HOLD_PREFIX, hold_tag, stale_holds, state_file, next_state, running_state, target_line, tree_state_file,
    next_tree_state)
from ansible_collections.helix.zfs.plugins.module_utils._zfs_cli import ZfsCli

SCHEDULE = "helix-repl"  # the tree's own snapshots are labelled (helix:schedule) and pruned as this schedule's
HOOK_TIMEOUT = 3600  # a hook that hangs counts as failed (rc 124)


def release_stale(cli, src, tree, check):
    """Release the cursors of targets the tree no longer has. -> [argv]."""
    held = rrun.held(cli, [s for snaps in src["snaps"].values() for s in snaps])
    cmds = stale_holds(held, [t["name"] for t in tree["targets"]])
    if not check:
        for argv in cmds:
            cli.run(argv, ok_rcs=(0, 1))  # 1: released meanwhile
    return cmds


def merkle_step(cli, src, tree):
    """Each filesystem's newest snapshot gets its Merkle tree (kept on this node, from the one
    before: what changed is read) and its root in the snapshot's helix:merkle property, so a check
    before a promotion has the source's side ready. -> {snapshot: root}."""
    out = {}
    for ds, snaps in src["snaps"].items():
        info = src["datasets"].get(ds, {})
        if not snaps or info.get("type") != "filesystem" or info["props"].get("keystatus") == "unavailable":
            continue
        snap = snaps[-1]
        if os.path.exists(merkle.tree_file(merkle.STORE, ds, snap["guid"])):
            continue  # done by an earlier run
        r = merkle.snapshot_tree(cli, snap["name"])
        cli.run(["zfs", "set", "%s=%s" % (merkle.PROPERTY, r["root"]), snap["name"]])
        out[snap["name"]] = r["root"]
    return out


def push(tree, target, check, state=None):
    """One (tree, target): zfs_replicate's engine with the target's cursor as its hold."""
    p = rrun.params(source=tree["source"], recursive=tree.get("recursive", False), target=target["dataset"],
                    target_host=target["host"], hold=hold_tag(target["name"]), **target.get("options", {}))
    node = NodeRun(p, check)
    if state is not None:  # bytes left of each send, for the collector, while it runs
        path = state_file(state, tree["source"], target["name"])
        last = read_json(path)

        def progress(sent, estimated):
            write_atomic(path, json.dumps(running_state(last, sent, estimated, time.time())))
        node.progress = progress
    t0 = time.time()
    try:
        r = rrun.run(node, ZfsCli(node))
        return dict(r, failed=False, started=t0)
    except HelixError as e:
        return dict(e.as_result(), failed=True, started=t0)


def hook(command, source, **env):
    """A tree's hook, by /bin/sh, told the tree (and the rest) in its environment -> its rc."""
    extra = {"HELIX_SOURCE": source}
    extra.update({"HELIX_" + k.upper(): str(v) for k, v in env.items()})
    try:
        r = subprocess.run(["/bin/sh", "-c", command], env=dict(os.environ, **extra), timeout=HOOK_TIMEOUT,
                           check=False)
    except subprocess.TimeoutExpired:
        return 124
    return r.returncode


def snapshot_step(tree, check):
    """The tree's own snapshots (its snapshot_policy, as a snapshot schedule named helix-repl
    keeps them; cursors are held, so never pruned) and its hooks around them: the pre hook when a
    snapshot is due (non-zero: none is taken, and it is reported), the post hook always after it,
    told the pre hook's rc and the snapshots taken. -> {pre_rc, post_rc, created, error}."""
    out = {"pre_rc": None, "post_rc": None, "created": [], "error": None}
    cli = ZfsCli(NodeRun({}, check))
    pol = policy.parse_policy(tree["snapshot_policy"])
    args = ([tree["source"]], tree.get("recursive", False), pol)
    try:
        due = srun.enforce(cli, *args, int(time.time()), check=True, sched=SCHEDULE)["created"]
        if check or not due or not tree.get("pre_hook"):
            out["created"] = due if check else srun.enforce(cli, *args, int(time.time()), sched=SCHEDULE)["created"]
            return out
        out["pre_rc"] = hook(tree["pre_hook"], tree["source"])
        if out["pre_rc"] == 0:
            out["created"] = srun.enforce(cli, *args, int(time.time()), sched=SCHEDULE)["created"]
        else:
            out["error"] = "the pre hook failed (rc %d): no snapshot taken" % out["pre_rc"]
    except HelixError as e:
        out["error"] = e.msg
    finally:
        if tree.get("post_hook") and not check and out["pre_rc"] is not None:
            out["post_rc"] = hook(tree["post_hook"], tree["source"], pre_rc=out["pre_rc"],
                                  snapshots=" ".join(out["created"]))
    return out


def run_tree(tree, conf, check):
    out = {"source": tree["source"], "released": [], "targets": {}}
    if tree.get("snapshot_policy"):
        out["snapshot"] = step = snapshot_step(tree, check)
        print("%s: %s" % (tree["source"], step["error"] or "snapshots %s" % (", ".join(step["created"]) or "none due")),
              flush=True)
        if not check:
            path = tree_state_file(conf["state_dir"], tree["source"])
            os.makedirs(os.path.dirname(path), exist_ok=True)
            write_atomic(path, json.dumps(next_tree_state(read_json(path), tree["source"], step, time.time())))
    try:
        cli = ZfsCli(NodeRun({}, check))
        src = rrun.listing(cli, tree["source"], tree.get("recursive", False))
        out["released"] = release_stale(cli, src, tree, check)
        if not check and tree.get("merkle", True):
            out["merkle"] = merkle_step(cli, src, tree)
    except HelixError as e:  # the source can't be read: every target fails alike
        out["failed"] = e.msg
    for target in tree["targets"]:
        if "failed" in out:
            r = {"failed": True, "msg": out["failed"], "started": time.time()}
        else:
            r = push(tree, target, check, None if check else conf["state_dir"])
        keys = ("failed", "msg", "changed", "commands", "bytes", "seconds", "resumed", "sent")
        out["targets"][target["name"]] = {k: r.get(k) for k in keys}
        print(target_line(tree["source"], target["name"], r, check), flush=True)
        if not check:
            path = state_file(conf["state_dir"], tree["source"], target["name"])
            write_atomic(path, json.dumps(next_state(read_json(path), tree["source"], target, r, time.time())))
    return out


def prune_received(entry, check):
    """A dataset this node receives, pruned by its own retention (it may keep longer than its
    source): only snapshots named by a helix.zfs schedule, never the newest (the one its source
    shares with it), never a held or cloned one. -> {dataset, destroyed, error}."""
    out = {"dataset": entry["dataset"], "destroyed": [], "error": None}
    cli = ZfsCli(NodeRun({}, check))
    try:
        r = srun.enforce(cli, [entry["dataset"]], entry["recursive"], policy.parse_policy(entry["retention"]),
                         int(time.time()), owner=None, check=check, create=False)
        out["destroyed"] = r["destroyed"]
    except HelixError as e:
        out["error"] = e.msg
    print("%s (from %s): %s" % (entry["dataset"], entry["source"] or "?", out["error"] or "retention pruned %d snapshot(s)%s"
                                % (len(out["destroyed"]), " (check)" if check else "")), flush=True)
    return out


def read_json(path):
    try:
        with open(path) as f:
            return json.load(f)
    except (OSError, ValueError):
        return {}


def forget_removed(conf):
    """State files of (tree, target) pairs no longer configured go (their series with them)."""
    keep = {os.path.basename(state_file(conf["state_dir"], t["source"], x["name"]))
            for t in conf["trees"] for x in t["targets"]}
    for name in os.listdir(conf["state_dir"]):
        if name.endswith(".json") and name not in keep:
            os.unlink(os.path.join(conf["state_dir"], name))
    trees = os.path.join(conf["state_dir"], "trees")
    keep = {os.path.basename(tree_state_file(conf["state_dir"], t["source"])) for t in conf["trees"]}
    for name in os.listdir(trees) if os.path.isdir(trees) else []:
        if name not in keep:
            os.unlink(os.path.join(trees, name))


def main():
    a = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    a.add_argument("--check", action="store_true", help="plan only: what each target would be sent")
    a.add_argument("config")
    args = a.parse_args()
    with open(args.config) as f:
        conf = json.load(f)
    if not args.check:
        os.makedirs(conf["state_dir"], exist_ok=True)
    with ThreadPoolExecutor(max_workers=max(1, int(conf.get("parallel", 1)))) as pool:
        trees = list(pool.map(lambda t: run_tree(t, conf, args.check), conf["trees"]))
    received = [prune_received(r, args.check) for r in conf.get("received", [])]
    if not args.check:
        forget_removed(conf)
    failed = [(t["source"], n) for t in trees for n, r in t["targets"].items() if r["failed"]]
    changed = any(r["changed"] or t["released"] for t in trees for r in t["targets"].values()) \
        or any(r["destroyed"] for r in received)
    print(json.dumps({"changed": changed, "failed": bool(failed or any(r["error"] for r in received)), "trees": trees,
                      "received": received, "hold_prefix": HOLD_PREFIX}))
    return 1 if failed or any(r["error"] for r in received) else 0


if __name__ == "__main__":
    sys.exit(main())
