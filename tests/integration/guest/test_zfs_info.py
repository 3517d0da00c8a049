"""helix.zfs.zfs_info against real datasets, snapshots and bookmarks."""
from conftest import run_module, sh


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
