# Copyright (c) helix.zfs contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Merkle trees on a real directory (the pure part: walk, root, differing, store); the lab's guest
tests run it on real snapshots and replicas."""
import os

from ansible_collections.helix.zfs.plugins.module_utils import _merkle as merkle


def make(top, files):
    for rel, data in files.items():
        path = os.path.join(top, rel)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "wb") as f:
            f.write(data)


def test_same_content_same_root_anywhere(tmp_path):
    files = {"a": b"1", "d/b": b"2" * 5000, "d/e/c": b""}
    make(str(tmp_path / "x"), files)
    make(str(tmp_path / "y"), files)
    os.symlink("d/b", str(tmp_path / "x" / "l"))
    os.symlink("d/b", str(tmp_path / "y" / "l"))
    a, _stats = merkle.walk(str(tmp_path / "x"))
    b, _stats = merkle.walk(str(tmp_path / "y"))
    assert merkle.root(a) == merkle.root(b)
    assert merkle.differing(a, b) == []
    assert sorted(a) == [".", "a", "d", "d/b", "d/e", "d/e/c", "l"]


def test_a_changed_file_changes_the_root_and_is_named(tmp_path):
    make(str(tmp_path / "x"), {"a": b"1", "d/b": b"2"})
    make(str(tmp_path / "y"), {"a": b"1", "d/b": b"3", "d/new": b""})
    a, _stats = merkle.walk(str(tmp_path / "x"))
    b, _stats = merkle.walk(str(tmp_path / "y"))
    assert merkle.root(a) != merkle.root(b)
    assert merkle.differing(a, b) == ["d/b", "d/new"]
    assert merkle.differing(a, b, limit=1) == ["d/b"]


def test_names_and_modes_count(tmp_path):
    make(str(tmp_path / "x"), {"a": b"1"})
    a, _stats = merkle.walk(str(tmp_path / "x"))
    os.rename(str(tmp_path / "x" / "a"), str(tmp_path / "x" / "b"))
    b, _stats = merkle.walk(str(tmp_path / "x"))
    assert merkle.root(a) != merkle.root(b)
    os.chmod(str(tmp_path / "x" / "b"), 0o600)
    c, _stats = merkle.walk(str(tmp_path / "x"), b)
    assert merkle.differing(b, c) == ["b"]


def test_incremental_reads_only_what_changed(tmp_path):
    top = str(tmp_path / "x")
    make(top, {"f%d" % i: b"x" * 1000 for i in range(20)})
    first, stats = merkle.walk(top)
    assert stats["read_files"] == 20 and stats["read_bytes"] == 20000
    make(top, {"f3": b"y" * 10})
    second, stats = merkle.walk(top, first)
    assert stats["read_files"] == 1 and stats["read_bytes"] == 10
    full, _stats = merkle.walk(top)
    assert merkle.root(second) == merkle.root(full) != merkle.root(first)


def test_store_keeps_a_few_per_dataset(tmp_path, monkeypatch):
    store = str(tmp_path / "store")
    monkeypatch.setattr(merkle, "KEEP", 2)
    for guid in ("1", "2", "3"):
        merkle.save(store, {"dataset": "p/a", "snapshot": "s" + guid, "guid": guid, "root": guid, "nodes": {}})
        os.utime(merkle.tree_file(store, "p/a", guid), (int(guid), int(guid)))
    merkle.save(store, {"dataset": "p/b", "snapshot": "s", "guid": "9", "root": "9", "nodes": {}})
    assert merkle.newest(store, "p/a")["guid"] == "3"
    assert merkle.load(merkle.tree_file(store, "p/a", "1")) is None
    assert merkle.load(merkle.tree_file(store, "p/b", "9"))["root"] == "9"
    assert merkle.newest(store, "p/c") is None
