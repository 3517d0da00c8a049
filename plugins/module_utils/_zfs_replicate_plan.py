# Copyright (c) helix.zfs contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""zfs_replicate's decision logic: (source listing, target listing) -> the streams to send.

Pure functions, no I/O. Both sides are read with one ``zfs list -Hp`` each (parsed by
``_zfs_snapshot_plan.parse_list``). Snapshots are matched by name AND guid; a source bookmark
counts as a base for an incremental.
"""

from __future__ import annotations

import re

from ansible_collections.helix.zfs.plugins.module_utils._props import FILESYSTEM_ONLY, zfs_word
from ansible_collections.helix.zfs.plugins.module_utils._errors import PlanError
from ansible_collections.helix.zfs.plugins.module_utils._read import LISTING_COLUMNS
from ansible_collections.helix.zfs.plugins.module_utils._units import parse_size
from ansible_collections.helix.zfs.plugins.module_utils._zfs_cli import DIRECT, ssh_host_ok
from ansible_collections.helix.zfs.plugins.module_utils._zfs_get import NAME_RULES, dataset_name_ok
from ansible_collections.helix.zfs.plugins.module_utils._zfs_snapshot_plan import HOLD_TAG_RULES, check_destroyable, hold_tag_ok

EXTRA = ("encryption", "receive_resume_token", "logicalreferenced", "keystatus")
COLUMNS = list(LISTING_COLUMNS) + list(EXTRA)
# The hold that keeps an interrupted receive's source snapshots until a rerun resumes it.
RESUME_HOLD = "helix-resume"
# zfs receive's words when an earlier receive still owns the partial state (EBUSY).
RECEIVE_BUSY = 'partially-complete state from "zfs receive -s"'


def receive_busy_advice(tds):
    """Why a resume finds the target busy, and what to do: after a sender's power cut its
    connection stays open on the target until the target's sshd gives up on it."""
    return (" - an earlier zfs receive into %s is still running on the target: most likely the receiving end "
            "of a send whose sender died (after a power cut, its connection stays open until the target's sshd "
            "drops it: ClientAliveInterval for root ssh, transport_stall_seconds through helix.zfs.transport). "
            "Nothing was changed; run the task again once it has ended, and it resumes" % tds)


# Stream flags, kept the same along a chain (changing them between incrementals breaks it).
FLAGS = {"large_blocks": "-L", "embedded": "-e", "compressed": "-c"}
_WINDOW = re.compile(r"(\d\d):(\d\d)-(\d\d):(\d\d)")


def bandwidth_now(spec, clock):
    """The stream's limit in bytes a second now, or None (no limit). ``spec``: a size a second
    (``"20M"``), or {"HH:MM-HH:MM": size} windows of the node's local time (one may wrap past
    midnight, ``"22:00-06:00"``; outside every window, no limit). ``clock``: (hour, minute).
    Raises PlanError for a bad one."""
    if spec in (None, ""):
        return None
    windows = spec if isinstance(spec, dict) else {"00:00-24:00": spec}
    now = clock[0] * 60 + clock[1]
    out = None
    for span, size in windows.items():
        m = _WINDOW.fullmatch(str(span))
        if not m:
            raise PlanError("bandwidth window %r: give it as HH:MM-HH:MM (the node's local time)" % (span,))
        a, b = int(m.group(1)) * 60 + int(m.group(2)), int(m.group(3)) * 60 + int(m.group(4))
        if a > 24 * 60 or b > 24 * 60 or a == b:
            raise PlanError("bandwidth window %r is not a span of a day" % (span,))
        try:
            rate = parse_size(size)
        except ValueError as e:
            raise PlanError("bandwidth %r: %s (a size a second)" % (size, e))
        if rate <= 0:
            raise PlanError("bandwidth %r: give a positive size a second" % (size,))
        if (a <= now < b) if a < b else (now >= a or now < b):
            out = rate if out is None else min(out, rate)
    return out


def check_request(p):
    """zfs_replicate's option values (the argspec has checked which go together) -> PlanError
    naming the first wrong one, before anything is read."""
    for key in ("source", "target"):
        if p[key] is not None and not dataset_name_ok(p[key]):
            raise PlanError("invalid %s dataset name %r (%s)" % (key, p[key], NAME_RULES))
    bandwidth_now(p.get("bandwidth"), (0, 0))  # a bad limit is refused before anything is read
    if p["keep_bookmarks"] < 0:
        raise PlanError("keep_bookmarks must be 0 (keep all) or more, got %d" % p["keep_bookmarks"])
    if p["hold"] is not None and not hold_tag_ok(p["hold"]):
        raise PlanError("invalid hold tag %r: %s" % (p["hold"], HOLD_TAG_RULES))
    if p["target_host"] is not None and not ssh_host_ok(p["target_host"]):
        raise PlanError("invalid target_host %r: give [user@]host (a name or an address)" % p["target_host"])
    if p["target"] and not p["target_host"] and not p["restore_from"] and same_tree(p["source"], p["target"]):
        raise PlanError("target %s is %s or in the same tree on this host; nothing was done (a receive there "
                        "would roll back or overwrite the source)" % (p["target"], p["source"]))


def same_tree(source, target):
    """True when ``target`` is ``source`` or lies inside its tree, or the other way round: on one
    host, receiving there would roll back or overwrite the source itself."""
    return source == target or target.startswith(source + "/") or source.startswith(target + "/")


def stream_file_name(dataset, snapshot, base=None):
    """The stream file for ``dataset@snapshot`` (incremental from ``base``, a snapshot or
    bookmark name). Injective: ``/`` becomes ``%``, which no dataset or snapshot name holds, so
    ``tank/a_b`` and ``tank/a/b`` get different files."""
    name = "%s@%s" % (dataset.replace("/", "%"), snapshot.partition("@")[2] or snapshot)
    if base is not None:
        sep = "#" if "#" in base else "@"
        name += "%from" + sep + base.rpartition(sep)[2]
    return name + ".zstream"


def pairs(src, src_root, tgt_root, recursive):
    """[(source dataset, target dataset)], parents first."""
    names = [n for n in src["datasets"] if n == src_root or (recursive and n.startswith(src_root + "/"))]
    return [(n, tgt_root + n[len(src_root):]) for n in sorted(names, key=lambda n: (n.count("/"), n))]


def encrypted(src, ds):
    return src["datasets"][ds]["props"].get("encryption", "off") not in ("off", "-")


def send_flags(src, ds, flags, send_decrypted):
    """The ``zfs send`` flags for ``ds``: raw (-w) whenever it is encrypted, unless the task
    explicitly allows a decrypted stream."""
    out = [FLAGS[f] for f in flags]
    if encrypted(src, ds):
        if send_decrypted:
            return out
        return ["-w"] + [f for f in out if f != "-c"]  # a raw stream is already compressed as stored
    return out


def common_base(src, tgt, sds, tds):
    """The newest target snapshot whose guid the source still has, as a snapshot or a
    bookmark: (target snapshot, source snapshot or bookmark), or (None, None)."""
    by_id = {}
    for b in src["bookmarks"].get(sds, []):
        by_id[(b["short"], b["guid"])] = b
    for s in src["snaps"].get(sds, []):
        by_id[(s["short"], s["guid"])] = s  # a snapshot beats a bookmark of it
    for t in reversed(tgt["snaps"].get(tds, [])):
        base = by_id.get((t["short"], t["guid"]))
        if base is not None:
            return t, base
    return None, None


def pruned_on_source(src, tgt, sds, tds):
    """Target snapshots of ``tds`` its source no longer has (by name and guid), older than the
    newest common one: what the source pruned since they were received. Never the common one
    (nor anything newer), never a held or cloned one."""
    tbase, _sbase = common_base(src, tgt, sds, tds)
    if tbase is None:
        return []
    on_source = {(s["short"], s["guid"]) for s in src["snaps"].get(sds, [])}
    return [t for t in tgt["snaps"].get(tds, []) if t["txg"] < tbase["txg"]
            and (t["short"], t["guid"]) not in on_source and not t["userrefs"] and not t["clones"]]


def guid_chain_breaks(src, tgt, sds, tds):
    """The snapshots of ``sds`` whose copy on ``tds`` (same name) has another guid, and the newest
    source snapshot when the target lacks it: [(name, source guid, target guid or None)]. Empty
    when the target holds the source's chain up to its newest snapshot."""
    theirs = {t["short"]: t["guid"] for t in tgt["snaps"].get(tds, [])}
    snaps = src["snaps"].get(sds, [])
    out = [(s["name"], s["guid"], theirs[s["short"]]) for s in snaps
           if s["short"] in theirs and theirs[s["short"]] != s["guid"]]
    if snaps and snaps[-1]["short"] not in theirs:
        out.append((snaps[-1]["name"], snaps[-1]["guid"], None))
    return out


def unreadable_for_content(src, tgt, pairs_, send_decrypted):
    """The target datasets a content digest could not read: an encrypted source sent raw arrives
    without its key, so unless the target already has that key loaded its files stay closed.
    Checked before anything is sent, so ``verify: content`` never fails after the send."""
    return [tds for sds, tds in pairs_ if encrypted(src, sds) and not send_decrypted
            and (tgt["datasets"].get(tds) or {}).get("props", {}).get("keystatus") != "available"]


def stale_bookmarks(bookmarks, keep, newest_guid):
    """The bookmarks (oldest first) past the newest ``keep`` (0: keep all), never the newest sent
    snapshot's own: a source keeps a few incremental bases, not one per send forever."""
    if not keep or len(bookmarks) <= keep:
        return []
    return [b for b in bookmarks[:-keep] if b["guid"] != newest_guid]


def receive_argv(tds, opts, volume=False):
    """Resumable (-s), unmounted (-u), with the task's property exclusions and overrides; into a
    volume, without the filesystem-only ones (the default canmount=noauto would fail it)."""
    recv = ["zfs", "receive", "-s", "-u"]
    for prop in opts["exclude_properties"]:
        if not (volume and prop in FILESYSTEM_ONLY):
            recv += ["-x", prop]
    for k, v in sorted(opts["receive_properties"].items()):
        if not (volume and k in FILESYSTEM_ONLY):
            recv += ["-o", "%s=%s" % (k, zfs_word(v))]  # YAML's bare on/off arrive as booleans
    return recv + [tds]


def plan_pair(src, tgt, sds, tds, opts):
    """The steps that bring ``tds`` up to ``sds``'s newest snapshot. A step is a dict:
    ``kind`` (full, incremental, rollback), ``send``/``recv`` argv, ``snapshot``, ``destroys``."""
    snaps = src["snaps"].get(sds, [])
    if not snaps:
        raise PlanError("%s has no snapshot to send; take one first (helix.zfs.zfs_snapshot)" % sds)
    newest = snaps[-1]
    flags = send_flags(src, sds, opts["flags"], opts["send_decrypted"])
    recv = receive_argv(tds, opts, src["datasets"][sds]["type"] == "volume")
    if tds not in tgt["datasets"]:
        steps = [{"kind": "full", "send": ["zfs", "send"] + flags + [snaps[0]["name"]], "recv": recv,
                  "snapshot": snaps[0]}]
        if len(snaps) > 1:
            steps.append({"kind": "incremental", "recv": recv, "snapshot": newest,
                          "send": ["zfs", "send"] + flags + ["-I", snaps[0]["name"], newest["name"]]})
        return steps
    tsnaps = tgt["snaps"].get(tds, [])
    tbase, sbase = common_base(src, tgt, sds, tds)
    if tbase is None:
        raise PlanError("target %s exists but shares no snapshot (by name and guid) with %s; nothing was sent. "
                        "Receive into a new dataset, or destroy the target first." % (tds, sds))
    steps = []
    newer = [t for t in tsnaps if t["txg"] > tbase["txg"]]
    marks = [b for b in tgt["bookmarks"].get(tds, []) if b["txg"] > tbase["txg"]]
    written = tgt["datasets"][tds]["written"] if tsnaps and tsnaps[-1] is tbase else 0
    if newer or written:
        why = "snapshots newer than the common %s: %s" % (tbase["short"], ", ".join(t["short"] for t in newer)) \
            if newer else "%d bytes written since %s" % (written, tbase["short"])
        if not opts["rollback"]:
            raise PlanError("target %s has diverged (%s). Nothing was sent. Set rollback: true to roll it back "
                            "to %s, destroying them." % (tds, why, tbase["short"]))
        check_destroyable(newer, " (on the target, before a rollback)")
        steps.append({"kind": "rollback", "argv": ["zfs", "rollback", "-r", tbase["name"]],
                      "destroys": [t["name"] for t in newer + marks]})
    if newest["guid"] == sbase["guid"] or sbase["txg"] >= newest["txg"]:
        return steps  # nothing newer than the base on the source
    if sbase["name"].partition("#")[1]:  # a bookmark: -i only, straight to the newest
        send = ["zfs", "send"] + flags + ["-i", sbase["name"], newest["name"]]
    else:
        send = ["zfs", "send"] + flags + ["-I", sbase["name"], newest["name"]]
    steps.append({"kind": "incremental", "send": send, "recv": recv, "snapshot": newest})
    return steps


def bookmark_argv(src, sds, newest, wanted):
    """``zfs bookmark`` of the newest sent snapshot, unless it has one (or none is wanted)."""
    if wanted and newest["short"] not in {b["short"] for b in src["bookmarks"].get(sds, [])}:
        return ["zfs", "bookmark", newest["name"], "%s#%s" % (sds, newest["short"])]
    return None


def mark_commands(src, sds, tds, newest, opts, src_held, tgt_held):
    """After a good send of ``newest``: bookmark it (and prune old bookmarks), move the hold
    ``opts["hold"]`` to it on both sides, release the holds an interrupted send placed (the
    target has no token left). ``*_held``: {(snapshot, tag)}. -> [(side, argv)], side
    ``source`` or ``target``."""
    mark = bookmark_argv(src, sds, newest, opts["bookmark"])
    todo = [("source", mark)] if mark else []
    marks = src["bookmarks"].get(sds, []) + ([{"name": mark[-1], "guid": newest["guid"]}] if mark else [])
    todo += [("source", ["zfs", "destroy", b["name"]])
             for b in stale_bookmarks(marks, opts["keep_bookmarks"], newest["guid"])]
    tag = opts["hold"]
    sides = (("source", src_held, newest["name"]), ("target", tgt_held, "%s@%s" % (tds, newest["short"])))
    for side, holds, name in sides if tag else ():
        if (name, tag) not in holds:
            todo.append((side, ["zfs", "hold", tag, name]))
        todo += [(side, ["zfs", "release", tag, old]) for old, t in sorted(holds) if t == tag and old != name]
    resumed = sorted(n for n, t in src_held if t == RESUME_HOLD)
    if resumed:
        todo.append(("source", ["zfs", "release", RESUME_HOLD] + resumed))
    return todo


def shown(argv, target_host, direct=False):
    """A target-side argv as ``commands`` shows it: with ``ssh HOST`` in front when remote (and
    ``helix-direct`` before a receive whose stream goes outside ssh)."""
    return ["ssh", target_host] + ([DIRECT] if direct else []) + argv if target_host else argv


def shown_step(step, target_host, direct=False):
    """A plan_pair step as ``commands`` shows it: the rollback, or ``send | receive``."""
    if step["kind"] == "rollback":
        return shown(step["argv"], target_host)
    return step["send"] + ["|"] + shown(step["recv"], target_host, direct)


def send_base(send):
    """The base of an incremental ``zfs send`` argv (after -i or -I), or None."""
    for flag in ("-I", "-i"):
        if flag in send[:-1]:
            return send[send.index(flag) + 1]
    return None


def parse_token_contents(text):
    """``zfs send -nvt TOKEN`` output -> the token's fields (toname, toguid, rawok ...)."""
    out = {}
    for line in text.splitlines():
        key, sep, value = line.strip().partition(" = ")
        if sep:
            out[key.strip()] = value.strip()
    return out
