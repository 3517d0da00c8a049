# Copyright (c) helix.zfs contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Merkle trees of snapshots: a hash per file, symlink and directory (a volume: per 1 MiB block),
each directory's hash over its entries' names and hashes, the root's over the whole snapshot.

A tree is kept on its node, outside the dataset (``STORE``, a few per dataset, by snapshot guid),
with each entry's znode metadata (object number, size, mtime, ctime). The next snapshot's tree
starts from the newest kept one and re-reads only the files whose metadata changed: a receive
carries ctime, which user space can't set, so a file whose metadata is unchanged has the same
bytes (ZFS's block checksums guard those). So a tree costs a metadata walk plus what changed, on
the source and on a replica alike (``zfs diff`` would list the same files, but it needs the
dataset mounted, which a replica is not). ``full`` re-reads everything.

Two trees of the same snapshot on two hosts have the same root; where they differ, ``differing``
names the paths."""

from __future__ import annotations

import hashlib
import json
import os
import stat
import time

from ansible_collections.helix.zfs.plugins.module_utils import _content_digest
from ansible_collections.helix.zfs.plugins.module_utils._node import write_atomic

STORE = "/var/lib/helix-zfs/merkle"
PROPERTY = "helix:merkle"  # the root, as a user property of the source's snapshot
KEEP = 8  # trees kept per dataset: the newest, and a few for a replica's check to fetch
BLOCK = 1 << 20


def _name(rel):
    return rel.encode("utf-8", "surrogateescape")


def _leaf(path, st, stats):
    """One entry's own hash: its mode, and a file's bytes or a symlink's target."""
    h = hashlib.sha256(b"%o\0" % st.st_mode)
    if stat.S_ISREG(st.st_mode):
        with open(path, "rb") as f:
            for chunk in iter(lambda: f.read(BLOCK), b""):
                h.update(chunk)
        stats["read_files"] += 1
        stats["read_bytes"] += st.st_size
    elif stat.S_ISLNK(st.st_mode):
        h.update(_name(os.readlink(path)))
    return h.hexdigest()


def walk(top, old=None):
    """The entries under directory ``top`` -> ({relative path: [hash, ino, size, mtime_ns,
    ctime_ns]}, stats). A regular file whose metadata is as in ``old`` keeps its hash unread."""
    old = old or {}
    stats = {"read_files": 0, "read_bytes": 0}
    st = os.lstat(top)
    nodes = {".": [_leaf(top, st, stats), st.st_ino, 0, st.st_mtime_ns, st.st_ctime_ns]}
    for base, dirs, files in os.walk(top):
        if base == top:  # a visible snapdir is not content
            dirs[:] = [d for d in dirs if d != ".zfs"]
        for name in dirs + files:
            path = os.path.join(base, name)
            rel = os.path.relpath(path, top)
            st = os.lstat(path)
            meta = [st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns]
            prev = old.get(rel)
            if prev is not None and prev[1:] == meta and stat.S_ISREG(st.st_mode):
                nodes[rel] = [prev[0]] + meta
            else:
                nodes[rel] = [_leaf(path, st, stats)] + meta
    return nodes, stats


def blocks(device):
    """A volume's tree: one entry per 1 MiB block, all read (no metadata says what changed)."""
    for _attempt in range(300):  # a new clone's device node appears once udev has run
        if os.path.exists(device):
            break
        time.sleep(0.1)
    stats = {"read_files": 1, "read_bytes": 0}
    nodes = {".": [hashlib.sha256(b"volume").hexdigest(), 0, 0, 0, 0]}
    with open(device, "rb") as f:
        for i, chunk in enumerate(iter(lambda: f.read(BLOCK), b"")):
            nodes["%010d" % i] = [hashlib.sha256(chunk).hexdigest(), 0, len(chunk), 0, 0]
            stats["read_bytes"] += len(chunk)
    return nodes, stats


def root(nodes):
    """The root hash: each directory's hash over its own and its entries' (name, hash), sorted."""
    children = {}
    for rel in nodes:
        if rel != ".":
            children.setdefault(os.path.dirname(rel) or ".", []).append(rel)
    done = {}
    for rel in sorted(nodes, key=lambda r: 0 if r == "." else r.count("/") + 1, reverse=True):
        h = hashlib.sha256(nodes[rel][0].encode())
        for child in sorted(children.get(rel, ())):
            h.update(b"\0" + _name(os.path.basename(child)) + b"\0" + done.pop(child).encode())
        done[rel] = h.hexdigest()
    return done["."]


def differing(a, b, limit=None):
    """The paths whose entries differ between two trees' nodes (or are in one only), sorted."""
    out = sorted(p for p in set(a) | set(b) if (a.get(p) or [None])[0] != (b.get(p) or [None])[0])
    return out if limit is None else out[:limit]


def _dir(store, dataset):
    return os.path.join(store, hashlib.sha256(dataset.encode()).hexdigest()[:16])


def tree_file(store, dataset, guid):
    return os.path.join(_dir(store, dataset), "%s.json" % guid)


def load(path):
    try:
        with open(path) as f:
            return json.load(f)
    except (OSError, ValueError):
        return None


def newest(store, dataset):
    d = _dir(store, dataset)
    names = [os.path.join(d, n) for n in os.listdir(d) if n.endswith(".json")] if os.path.isdir(d) else []
    for path in sorted(names, key=os.path.getmtime, reverse=True):
        tree = load(path)
        if tree is not None:
            return tree
    return None


def save(store, tree):
    path = tree_file(store, tree["dataset"], tree["guid"])
    os.makedirs(os.path.dirname(path), mode=0o700, exist_ok=True)
    write_atomic(path, json.dumps(tree, separators=(",", ":")))
    d = os.path.dirname(path)
    names = sorted((os.path.join(d, n) for n in os.listdir(d) if n.endswith(".json")), key=os.path.getmtime)
    for old in names[:-KEEP]:
        os.unlink(old)
    return path


def snapshot_tree(cli, snap, store=STORE, full=False):
    """The Merkle tree of snapshot ``snap`` on this node, kept in ``store`` ->
    {root, tree (its file), entries, read_files, read_bytes, seconds}. A snapshot's tree already
    kept is returned as kept (a snapshot does not change); otherwise it is computed from a read-only
    clone, starting from the dataset's newest kept tree (unless ``full``)."""
    t0 = time.time()
    dataset = snap.split("@")[0]
    _rc, out, _err = cli.run(["zfs", "get", "-Hp", "-o", "value", "guid,volsize", snap])
    guid, volsize = (out.split() + ["-", "-"])[:2]
    path = tree_file(store, dataset, guid)
    tree = None if full else load(path)
    stats = {"read_files": 0, "read_bytes": 0}
    if tree is None:
        base = None if full else newest(store, dataset)
        with _content_digest.readable(cli, snap, volume=volsize not in ("", "-")) as (top, volume):
            nodes, stats = blocks(top) if volume else walk(top, base and base["nodes"])
        tree = {"dataset": dataset, "snapshot": snap.split("@")[1], "guid": guid, "root": root(nodes), "nodes": nodes}
        path = save(store, tree)
    return {"root": tree["root"], "tree": path, "entries": len(tree["nodes"]), "read_files": stats["read_files"],
            "read_bytes": stats["read_bytes"], "seconds": round(time.time() - t0, 3)}
