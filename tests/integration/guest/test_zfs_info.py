"""helix.zfs.zfs_info against real datasets, snapshots and bookmarks."""
import json

from conftest import run_module, sh

from ansible_collections.helix.zfs.plugins.module_utils._merkle import differing


def test_datasets_snapshots_bookmarks_with_sources(forced_disks):
    sh("zpool create -f -O compression=zstd htinfo %s" % forced_disks[0])
    sh("zfs create -o quota=1G htinfo/a && zfs create htinfo/a/b && zfs snapshot htinfo/a@s1 "
       "&& zfs bookmark htinfo/a@s1 htinfo/a#b1")
    args = {"name": ["htinfo/a", "htinfo/nosuch"], "recursive": True, "type": ["all"],
            "properties": ["quota", "compression", "type", "used", "com.example:unset"]}
    for check in (False, True):
        r = run_module("zfs_info", args, check=check)
        assert r["changed"] is False and r["missing"] == ["htinfo/nosuch"]
        by = {d["name"]: d["properties"] for d in r["datasets"]}
        assert set(by) == {"htinfo/a", "htinfo/a/b", "htinfo/a@s1", "htinfo/a#b1"}
        assert by["htinfo/a"]["quota"] == {"value": 1073741824, "source": "local", "from": None}
        assert by["htinfo/a/b"]["compression"] == {"value": "zstd", "source": "inherited", "from": "htinfo"}
        assert by["htinfo/a@s1"]["type"]["value"] == "snapshot"
        assert by["htinfo/a#b1"]["type"]["value"] == "bookmark"
        assert isinstance(by["htinfo/a"]["used"]["value"], int)
        # A user property nobody set is returned anyway, so playbooks can test its value.
        assert by["htinfo/a/b"]["com.example:unset"] == {"value": None, "source": "none", "from": None}
    only = run_module("zfs_info", {"name": ["htinfo"], "depth": 1, "properties": ["type"]})
    assert [d["name"] for d in only["datasets"]] == ["htinfo", "htinfo/a"]
    # Content digests of snapshots: a filesystem's files (equal for an identical copy, and the
    # same as the replication's), a volume's blocks; each read through a clone that is gone after.
    sh("echo hello > /htinfo/a/f && zfs snapshot htinfo/a@s2 && zfs send htinfo/a@s2 | zfs receive -u htinfo/copy")
    sh("zfs create -V 4M htinfo/vol && udevadm settle && head -c 4M /dev/urandom > /dev/zvol/htinfo/vol && sync "
       "&& zfs snapshot htinfo/vol@v1")
    names = ["htinfo/a@s2", "htinfo/copy@s2", "htinfo/a@s1", "htinfo/vol@v1", "htinfo/a"]
    r = run_module("zfs_info", {"name": names, "type": ["all"], "properties": ["guid"], "content_digest": True})
    digest = {d["name"]: d.get("sha256") for d in r["datasets"]}
    assert digest["htinfo/a@s2"] == digest["htinfo/copy@s2"] != digest["htinfo/a@s1"]
    assert digest["htinfo/vol@v1"] == sh("sha256sum /dev/zvol/htinfo/vol").split()[0]
    assert digest["htinfo/a"] is None and r["changed"] is False
    assert "helix-verify" not in sh("zfs list -H -o name -r htinfo")


def test_merkle_roots_incremental_and_a_changed_copy_named(forced_disks):
    """Merkle roots: the same on a copy, computed from the newest kept tree reading only what
    changed, and a copy whose file was changed names it (what a replica's check before a promotion
    does, see playbooks/tasks/verify_content.yml)."""
    sh("zpool create -f htmk %s && zfs create htmk/a && mkdir /htmk/a/d && for i in $(seq 1 40); do "
       "head -c 65536 /dev/urandom > /htmk/a/d/f$i; done && ln -s d/f1 /htmk/a/l && zfs snapshot htmk/a@s1"
       " && zfs send htmk/a@s1 | zfs receive -u htmk/copy" % forced_disks[0])
    sh("rm -rf /var/lib/helix-zfs/merkle")

    def tree(name, **kw):
        r = run_module("zfs_info", dict({"name": [name], "type": ["snapshot"], "properties": ["guid"], "merkle": True}, **kw))
        return r["datasets"][0]["merkle"]

    s1, c1 = tree("htmk/a@s1"), tree("htmk/copy@s1")
    assert s1["root"] == c1["root"] and s1["entries"] == 43 and s1["read_files"] == 40 and s1["read_bytes"] == 40 * 65536
    assert tree("htmk/a@s1")["read_files"] == 0  # kept: a snapshot does not change
    # The next snapshot: one file changed, one added; its tree (here and on the copy) reads those two.
    sh("head -c 1000 /dev/urandom > /htmk/a/d/f7 && echo new > /htmk/a/d/new && zfs snapshot htmk/a@s2 && "
       "zfs send -i @s1 htmk/a@s2 | zfs receive -u htmk/copy")
    s2, c2 = tree("htmk/a@s2"), tree("htmk/copy@s2")
    assert s2["root"] == c2["root"] != s1["root"]
    assert (s2["read_files"], c2["read_files"], s2["read_bytes"]) == (2, 2, 1004)
    assert tree("htmk/a@s2", merkle_full=True)["root"] == s2["root"]
    # A copy whose s2 is not its source's (a file changed before the snapshot was taken again,
    # standing for damage): another root, and the trees name the file.
    sh("zfs destroy htmk/copy@s2 && zfs mount htmk/copy && "
       "echo tampered >> /htmk/copy/d/f3 && zfs snapshot htmk/copy@s2 && zfs umount htmk/copy")
    bad = tree("htmk/copy@s2")
    assert bad["root"] != s2["root"] and bad["read_files"] == 1
    with open(s2["tree"]) as f, open(bad["tree"]) as g:
        assert differing(json.load(f)["nodes"], json.load(g)["nodes"]) == ["d/f3"]
    # A volume's tree: one entry per 1 MiB block (all read), the same root on its copy.
    sh("zfs create -V 4M htmk/vol && udevadm settle && head -c 4M /dev/urandom > /dev/zvol/htmk/vol && sync "
       "&& zfs snapshot htmk/vol@v1 && zfs send htmk/vol@v1 | zfs receive -u htmk/volcopy")
    v, vc = tree("htmk/vol@v1"), tree("htmk/volcopy@v1")
    assert v["root"] == vc["root"] and (v["entries"], v["read_bytes"]) == (5, 4 << 20)
    assert "helix-verify" not in sh("zfs list -H -o name -r htmk")
