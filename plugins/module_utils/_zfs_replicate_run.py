# Copyright (c) helix.zfs contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""zfs_replicate's engine: read both sides, plan (_zfs_replicate_plan), send, verify, mark.
One implementation, run by the module and by the node's replication timers
(roles/node_runtime/files/helix_zfs_replicate.py), which pass a ``module`` with ``params``,
``check_mode`` and ``run_command`` (_node.NodeRun)."""

from __future__ import annotations

import functools
import hashlib
import json
import os
import time

from ansible_collections.helix.zfs.plugins.module_utils import _content_digest
from ansible_collections.helix.zfs.plugins.module_utils import _read
from ansible_collections.helix.zfs.plugins.module_utils import _zfs_replicate_plan as rplan
from ansible_collections.helix.zfs.plugins.module_utils._errors import HelixError, PlanError, ZfsCommandError
from ansible_collections.helix.zfs.plugins.module_utils._zfs_cli import SshZfsCli
from ansible_collections.helix.zfs.plugins.module_utils._zfs_get import list_tree, read_holds
from ansible_collections.helix.zfs.plugins.module_utils._zfs_snapshot_plan import destroy_commands

SIZE_SLACK = 64 * 1024

# zfs_replicate's options, with their defaults: the node's timers take the same.
ARGUMENT_SPEC = dict(
    source=dict(type="str", required=True),
    target=dict(type="str"),
    target_host=dict(type="str"),
    target_dir=dict(type="path"),
    restore_from=dict(type="path"),
    recursive=dict(type="bool", default=False),
    rollback=dict(type="bool", default=False),
    prune_target=dict(type="bool", default=False),
    send_decrypted=dict(type="bool", default=False),
    flags=dict(type="list", elements="str", choices=["large_blocks", "embedded", "compressed"],
               default=["large_blocks", "embedded", "compressed"]),
    receive_properties=dict(type="dict", default={"canmount": "noauto"}),
    exclude_properties=dict(type="list", elements="str", default=["mountpoint"]),
    bookmark=dict(type="bool", default=True),
    keep_bookmarks=dict(type="int", default=10),
    hold=dict(type="str"),
    verify=dict(type="str", choices=["guid", "content", "auto"], default="guid"),
    buffer=dict(type="str"),
    ssh_cipher=dict(type="str"),
    ssh_options=dict(type="list", elements="str", default=[]),
    direct_stream=dict(type="bool", default=False),
    bandwidth=dict(type="raw"),
)


def params(**given):
    """ARGUMENT_SPEC's defaults under ``given``: the params a node script passes (it checks its
    own configuration; the role wrote it from a validated argument spec)."""
    out = {k: (list(v["default"]) if isinstance(v.get("default"), list) else dict(v["default"])
               if isinstance(v.get("default"), dict) else v.get("default")) for k, v in ARGUMENT_SPEC.items()}
    unknown = sorted(set(given) - set(out))
    if unknown:
        raise PlanError("unknown zfs_replicate option(s): %s" % ", ".join(unknown))
    out.update(given)
    return out


def held(cli, snaps):
    """{(snapshot, tag)} of the snapshots that have holds at all (read only where userrefs says)."""
    holds = read_holds(cli, [s["name"] for s in snaps if s["userrefs"]])
    return {(n, t) for n, tags in holds.items() for t in tags}


def listing(cli, root, recursive, allow_missing=False):
    out, missing = list_tree(cli, [root], rplan.COLUMNS, recursive)
    if missing and not allow_missing:
        raise PlanError("no such dataset: %s" % root)
    return _read.parse_list(out, rplan.COLUMNS)


class Replicator:
    def __init__(self, module, cli):
        self.m, self.p, self.src_cli = module, module.params, cli
        ssh = list(self.p["ssh_options"]) + (["-c", self.p["ssh_cipher"]] if self.p["ssh_cipher"] else [])
        self.tgt_cli = SshZfsCli(module, self.p["target_host"], ssh) if self.p["target_host"] else cli
        self.r = {"changed": False, "commands": [], "sent": [], "destroyed": [], "resumed": "no",
                  "verified": []}
        self.by_guid_only = set()  # with verify=auto: targets a content digest could not read
        # A node's timer watches each send: progress(bytes so far, estimated bytes), every few seconds.
        self.progress = getattr(module, "progress", None)

    def sink(self, recv):
        """The argv that receives a stream: zfs receive here, or ssh to it (behind mbuffer)."""
        if not self.p["target_host"]:
            return [self.src_cli._bin("zfs")] + recv[1:]
        return self.tgt_cli.ssh_argv(recv, self.p["buffer"], self.p["direct_stream"])

    def shown(self, argv):
        return rplan.shown(argv, self.p["target_host"])

    def run_target(self, argv, ok_rcs=(0,)):
        self.r["commands"].append(self.shown(argv))
        self.r["changed"] = True
        if not self.m.check_mode:
            return self.tgt_cli.run(argv, ok_rcs=ok_rcs)
        return None

    def estimate(self, send):
        _rc, out, err = self.src_cli.run(send[:2] + ["-nvP"] + send[2:])
        return _read.parse_send_size(out + "\n" + err)

    def send(self, step, sds, tds, send=None):
        send = send or step["send"]
        self.r["commands"].append(rplan.shown_step(dict(step, send=send), self.p["target_host"], self.p["direct_stream"]))
        self.r["changed"] = True
        entry = {"dataset": sds, "target": tds, "snapshot": step.get("snapshot", {}).get("name"),
                 "kind": step["kind"]}
        if self.m.check_mode:
            entry["estimated_bytes"] = self.estimate(send)
            entry["bytes"] = entry["estimated_bytes"]
        else:
            try:
                rate = rplan.bandwidth_now(self.p["bandwidth"], time.localtime()[3:5])
                watch = None
                if self.progress is not None:
                    watch = functools.partial(self.progress, estimated=self.estimate(send))
                    watch(0)
                res = self.src_cli.stream(send, self.sink(step["recv"]), direct=self.p["direct_stream"], rate=rate,
                                          progress=watch,
                                          shown=rplan.shown(step["recv"], self.p["target_host"], self.p["direct_stream"]))
            except ZfsCommandError as e:
                if rplan.RECEIVE_BUSY in (e.stderr or ""):
                    e.msg += rplan.receive_busy_advice(tds)
                    e.args = (e.msg,)
                elif "-s" in step["recv"]:  # resumable: what was received stays, and a rerun goes on from it
                    held = self.hold_for_resume(tds, send)
                    e.msg += (" - the target keeps what was received as a resume token on %s; run the task again "
                              "to resume from it" % tds)
                    if held:
                        e.msg += " (%s held with tag %s until then, so it is not pruned meanwhile)" % (
                            ", ".join(held), rplan.RESUME_HOLD)
                    e.args = (e.msg,)
                raise
            entry.update(bytes=res["bytes"], seconds=res["seconds"],
                         throughput=int(res["bytes"] / res["seconds"]) if res["seconds"] else 0)
        self.r["sent"].append(entry)

    def hold_for_resume(self, tds, send):
        """After a resumable receive broke off: hold the source snapshots its token needs (the one
        it was receiving, and an incremental's base), so a prune or a zfs_snapshot state=absent
        can't make the token stale. Best effort: the send has failed already."""
        try:
            _rc, out, _err = self.tgt_cli.run(["zfs", "get", "-H", "-o", "value", "receive_resume_token", tds],
                                              ok_rcs=(0, 1))
            if out.strip() in ("", "-"):
                return []
            _rc, out, err = self.src_cli.run(["zfs", "send", "-nvt", out.strip()], ok_rcs=(0, 1, 255))
            names = [n for n in [rplan.parse_token_contents(out + err).get("toname"), rplan.send_base(send)]
                     if n and "@" in n]
            if names:
                argv = ["zfs", "hold", rplan.RESUME_HOLD] + names
                self.r["commands"].append(argv)
                self.r["changed"] = True
                self.src_cli.run(argv, ok_rcs=(0, 1))  # 1: held already, by an earlier broken run
            return names
        except ZfsCommandError:
            return []

    def resume(self, src, tgt, sds, tds):
        """Resume an interrupted receive, or abort a stale token. True when the target changed."""
        token = (tgt["datasets"].get(tds) or {}).get("props", {}).get("receive_resume_token")
        if not token:
            return False
        rc, out, err = self.src_cli.run(["zfs", "send", "-nvt", token], ok_rcs=(0, 1, 255))
        fields = rplan.parse_token_contents(out + err)
        stale = rc != 0 or (rplan.encrypted(src, sds) and not self.p["send_decrypted"] and "rawok" not in fields)
        if stale:
            self.r["resumed"] = "aborted"
            self.run_target(["zfs", "receive", "-A", tds])
            return True
        self.r["resumed"] = "yes"
        recv = ["zfs", "receive", "-s", "-u", tds]
        self.send({"kind": "resume", "recv": recv, "snapshot": {"name": fields.get("toname")}}, sds, tds,
                  send=["zfs", "send", "-t", token])
        return True

    def replicate(self):
        p = self.p
        src = listing(self.src_cli, p["source"], p["recursive"])
        tgt = listing(self.tgt_cli, p["target"], True, allow_missing=True)
        todo = rplan.pairs(src, p["source"], p["target"], p["recursive"])
        if any(self.resume(src, tgt, sds, tds) for sds, tds in todo) and not self.m.check_mode:
            tgt = listing(self.tgt_cli, p["target"], True, allow_missing=True)
        plans = [(sds, tds, rplan.plan_pair(src, tgt, sds, tds, p)) for sds, tds in todo]  # all checks first
        closed = rplan.unreadable_for_content(src, tgt, todo, p["send_decrypted"]) if p["verify"] != "guid" else []
        self.by_guid_only = set(closed) if p["verify"] == "auto" else set()
        if closed and p["verify"] == "content":
            raise PlanError("verify: content reads the target's files, but %s would arrive raw and without its key "
                            "(an encrypted target needs its key loaded for verify: content). Nothing was sent: use "
                            "verify: guid, or load the key on the target first." % ", ".join(closed))
        for sds, tds, steps in plans:
            for step in steps:
                if step["kind"] == "rollback":
                    self.r["destroyed"] += step["destroys"]
                    self.run_target(step["argv"])
                else:
                    self.send(step, sds, tds)
        if self.r["sent"] and not self.m.check_mode:
            tgt = listing(self.tgt_cli, p["target"], True, allow_missing=True)
        for sds, tds in todo:
            newest = src["snaps"][sds][-1]
            if not self.m.check_mode:
                self.verify(src, tgt, sds, tds, newest)
            self.mark(src, tgt, sds, tds, newest)
        if p["prune_target"]:
            # After the sends and their checks: a failed run prunes nothing.
            doomed = [t for sds, tds in todo for t in rplan.pruned_on_source(src, tgt, sds, tds)]
            self.r["destroyed"] += [t["name"] for t in doomed]
            for argv in destroy_commands(doomed):
                self.run_target(argv)
        return self.finish()

    def verify(self, src, tgt, sds, tds, newest):
        broken = rplan.guid_chain_breaks(src, tgt, sds, tds)
        if broken:
            raise PlanError("verification failed: " + "; ".join(
                "%s is %s on the target, guid %s on the source" % (n, "guid " + t if t else "missing", g)
                for n, g, t in broken))
        got = next(t for t in tgt["snaps"][tds] if t["short"] == newest["short"])
        a, b = (int(x["props"].get("logicalreferenced") or 0) for x in (newest, got))
        # The guid proves identity. Logical sizes catch a gross mismatch only: a received copy's
        # metadata (accounting objects, built on a raw target only once its key is loaded;
        # directory objects) differs from its source's by a few KiB.
        if abs(a - b) > SIZE_SLACK + max(a, b) // 1000:
            raise PlanError("verification failed: %s logicalreferenced %s on the source, %s on the target"
                            % (newest["name"], a, b))
        out = {"source": sds, "dataset": tds, "snapshot": newest["short"], "guid": got["guid"],
               "logicalreferenced": [a, b], "raw": rplan.encrypted(src, sds) and not self.p["send_decrypted"]}
        if self.p["verify"] != "guid" and tds not in self.by_guid_only:
            volume = src["datasets"][sds]["type"] == "volume"
            out["sha256"] = self.compare_content(newest["name"], got["name"], volume)
        self.r["verified"].append(out)

    def remote_digest(self, path):
        _rc, out, _err = self.m.run_command(self.tgt_cli.shell_argv(_content_digest.remote_command(path)),
                                            check_rc=True)
        return out.strip()

    def compare_content(self, s, t, volume):
        a = _content_digest.snapshot_digest(self.src_cli, s, volume)
        b = _content_digest.snapshot_digest(self.tgt_cli, t, volume,
                                            self.remote_digest if self.p["target_host"] else _content_digest.local_digest)
        if a != b:
            raise PlanError("content verification failed: %s and %s differ (sha256 %s vs %s)" % (s, t, a, b))
        return a

    def mark(self, src, tgt, sds, tds, newest):
        """After a good send: rplan.mark_commands, run on their sides. Planned the same way in
        check mode (holds are read, never changed, then)."""
        src_held = held(self.src_cli, src["snaps"][sds])
        tgt_held = held(self.tgt_cli, tgt["snaps"].get(tds, [])) if self.p["hold"] else set()
        for side, argv in rplan.mark_commands(src, sds, tds, newest, self.p, src_held, tgt_held):
            self.r["commands"].append(self.shown(argv) if side == "target" else argv)
            self.r["changed"] = True
            if not self.m.check_mode:
                (self.tgt_cli if side == "target" else self.src_cli).run(argv)

    def finish(self):
        r = self.r
        r["bytes"] = sum(s["bytes"] for s in r["sent"])
        r["seconds"] = round(sum(s.get("seconds", 0) for s in r["sent"]), 3)
        r["throughput"] = int(r["bytes"] / r["seconds"]) if r["seconds"] else 0
        return r

    # Streams to files, and back.
    def to_dir(self):
        p, d = self.p, self.p["target_dir"]
        src = listing(self.src_cli, p["source"], p["recursive"])
        manifest = read_manifest(d)
        for sds, _tds in rplan.pairs(src, p["source"], p["source"], p["recursive"]):
            snaps = src["snaps"].get(sds, [])
            if not snaps:
                raise PlanError("%s has no snapshot to send; take one first" % sds)
            newest = snaps[-1]
            have = [e for e in manifest["streams"] if e["dataset"] == sds]
            guids = {s["guid"]: s for s in snaps}
            guids.update({b["guid"]: b for b in src["bookmarks"].get(sds, []) if b["guid"] not in guids})
            flags = rplan.send_flags(src, sds, p["flags"], p["send_decrypted"])
            if not have:
                base, send = None, ["zfs", "send"] + flags + [newest["name"]]
            elif have[-1]["guid"] == newest["guid"]:
                continue
            elif have[-1]["guid"] in guids:
                base = guids[have[-1]["guid"]]
                send = ["zfs", "send"] + flags + ["-i", base["name"], newest["name"]]
            else:
                raise PlanError("%s: the manifest's newest stream (%s) is neither a snapshot nor a bookmark of the "
                                "source any more; start a new directory" % (sds, have[-1]["snapshot"]))
            fname = rplan.stream_file_name(sds, newest["short"], base["name"] if base else None)
            owner = next((e["dataset"] for e in manifest["streams"] if e["file"] == fname), None)
            if owner is not None:  # never overwrite a listed stream: it may be a chain's only copy
                raise PlanError("%s: the manifest already lists %s (a stream of %s); nothing was written"
                                % (sds, fname, owner))
            path = os.path.join(d, fname)
            self.r["commands"].append(send + [">", path])
            self.r["changed"] = True
            entry = {"dataset": sds, "base": base["short"] if base else None, "base_guid": base["guid"] if base else None,
                     "snapshot": newest["short"], "guid": newest["guid"], "file": fname, "raw": "-w" in send}
            mark = rplan.bookmark_argv(src, sds, newest, p["bookmark"])
            if self.m.check_mode:
                entry["bytes"] = entry["estimated_bytes"] = self.estimate(send)
                self.r["sent"].append(entry)
                self.r["commands"] += [mark] if mark else []
                continue
            os.makedirs(d, exist_ok=True)
            res = self.src_cli.stream(send, sink_path=path + ".part", digest=True)
            os.rename(path + ".part", path)
            entry.update(size=res["bytes"], sha256=res["sha256"])
            manifest["streams"].append(entry)
            write_manifest(d, manifest)
            self.r["sent"].append(dict(entry, bytes=res["bytes"], seconds=res["seconds"],
                                       throughput=int(res["bytes"] / res["seconds"]) if res["seconds"] else 0))
            if mark:
                self.r["commands"].append(mark)
                self.src_cli.run(mark)
        return self.finish()

    def from_dir(self):
        p = self.p
        manifest = read_manifest(p["restore_from"])
        chain = [e for e in manifest["streams"] if e["dataset"] == p["source"]]
        if not chain:
            raise PlanError("%s lists no stream of %s" % (os.path.join(p["restore_from"], "manifest.json"),
                                                          p["source"]))
        tgt = listing(self.src_cli, p["target"], False, allow_missing=True)
        have = {s["guid"] for s in tgt["snaps"].get(p["target"], [])}
        todo = [e for e in chain if e["guid"] not in have]
        for e in todo:
            if e["base_guid"] is not None and e["base_guid"] not in have and e["base_guid"] not in \
                    {x["guid"] for x in todo[:todo.index(e)]}:
                raise PlanError("stream %s needs %s on %s first" % (e["file"], e["base"], p["target"]))
        for e in todo:
            path = os.path.join(p["restore_from"], e["file"])
            recv = rplan.receive_argv(p["target"], p)
            self.r["commands"].append(["<", path] + recv)
            self.r["changed"] = True
            if self.m.check_mode:
                self.r["sent"].append({"dataset": p["target"], "snapshot": e["snapshot"], "bytes": e["size"]})
                continue
            if file_sha256(path) != e["sha256"]:
                raise PlanError("%s does not match its manifest sha256; nothing of it was received" % path)
            self.src_cli.receive_file(path, recv)
            self.r["sent"].append({"dataset": p["target"], "snapshot": e["snapshot"], "bytes": e["size"]})
        return self.finish()


def file_sha256(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


_MANIFEST_KEYS = ("dataset", "file", "guid", "snapshot", "base", "base_guid", "size", "sha256")


def read_manifest(d):
    """The directory's manifest, checked for the keys every stream entry has."""
    path = os.path.join(d, "manifest.json")
    try:
        with open(path) as f:
            manifest = json.load(f)
    except FileNotFoundError:
        return {"format": 1, "streams": []}
    except (ValueError, UnicodeDecodeError) as e:
        raise PlanError("%s is not valid JSON (%s); nothing was sent or received" % (path, e))
    streams = manifest.get("streams") if isinstance(manifest, dict) else None
    if not isinstance(streams, list) or not all(
            isinstance(e, dict) and all(k in e for k in _MANIFEST_KEYS) for e in streams):
        raise PlanError("%s is not a helix.zfs manifest (a list of streams, each with %s); nothing was "
                        "sent or received" % (path, ", ".join(_MANIFEST_KEYS)))
    return manifest


def write_manifest(d, manifest):
    tmp = os.path.join(d, "manifest.json.part")
    with open(tmp, "w") as f:
        json.dump(manifest, f, indent=1, sort_keys=True)
    os.rename(tmp, os.path.join(d, "manifest.json"))


def run(module, cli):
    p = module.params
    rplan.check_request(p)
    rep = Replicator(module, cli)
    try:
        if p["restore_from"]:
            return rep.from_dir()
        if p["target_dir"]:
            return rep.to_dir()
        return rep.replicate()
    except HelixError as e:  # the failure also says what was sent before it, as a success would
        e.details = dict(rep.finish(), **e.details)
        raise
