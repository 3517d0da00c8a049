"""The zpool parsers on output recorded from real OpenZFS 2.3.2 in the lab
(tests/unit/fixtures/zpool/record.sh re-records it)."""
import json

from ansible_collections.helix.zfs.plugins.module_utils import _zpool_status as zs


def status(fixture_text, name):
    pools = zs.parse_status(json.loads(fixture_text("zpool", name)))
    assert len(pools) == 1
    return next(iter(pools.values()))


def leaves(vdev):
    kids = vdev.get("children")
    return [vdev] if not kids else [leaf for k in kids for leaf in leaves(k)]


def test_rich_layout_every_class(fixture_text):
    p = status(fixture_text, "status-rich.json")
    assert (p["name"], p["state"], p["status"], p["scan"], p["error_count"]) == ("htrich", "ONLINE", None, None, 0)
    v = p["vdevs"]
    assert [(x["name"], x["type"]) for x in v["data"]] == [("mirror-0", "mirror"), ("raidz1-1", "raidz")]
    assert v["data"][1]["parity"] == 1
    assert [c["path"] for c in v["data"][0]["children"]] == [
        "/dev/disk/by-id/virtio-helix-d1-part1", "/dev/disk/by-id/virtio-helix-d2-part1"]
    assert [len(x["children"]) for x in v["data"]] == [2, 3]
    assert [x["type"] for x in v["special"]] == ["mirror"]
    assert [x["type"] for x in v["dedup"]] == ["disk"]
    assert [(x["type"], len(x["children"])) for x in v["log"]] == [("mirror", 2)]
    assert [x["name"] for x in v["cache"]] == ["virtio-helix-d11"]
    assert [(x["name"], x["state"]) for x in v["spare"]] == [("virtio-helix-d12", "AVAIL")]
    # 12 disks, each exactly once in the tree
    paths = [leaf["path"] for g in v.values() for top in g for leaf in leaves(top)]
    assert sorted(paths) == sorted("/dev/disk/by-id/virtio-helix-d%d-part1" % i for i in range(1, 13))
    # GUIDs overflow signed 64-bit JSON consumers: always strings
    assert p["guid"].isdigit()
    assert all(isinstance(leaf["guid"], str) for leaf in leaves(v["data"][0]))


def test_degraded_pool_reports_offline_disk_and_finished_scrub(fixture_text):
    p = status(fixture_text, "status-degraded.json")
    assert p["state"] == "DEGRADED"
    assert p["status"].startswith("One or more devices has been taken offline")
    assert "\n" not in p["status"] and "zpool online" in p["action"]
    mirror = p["vdevs"]["data"][0]
    assert mirror["state"] == "DEGRADED"
    assert [(c["name"], c["state"]) for c in mirror["children"]] == [
        ("virtio-helix-d1", "ONLINE"), ("virtio-helix-d2", "OFFLINE")]
    s = p["scan"]
    assert (s["function"], s["state"], s["errors"], s["percent"]) == ("scrub", "finished", 0, 100.0)
    assert s["end_time"] >= s["start_time"] > 1700000000


def test_resilvering_pool_shows_spare_in_use_and_progress(fixture_text):
    p = status(fixture_text, "status-resilvering.json")
    s = p["scan"]
    assert (s["function"], s["state"], s["end_time"]) == ("resilver", "scanning", None)
    assert 0 < s["percent"] < 100
    raidz = p["vdevs"]["data"][1]
    spare = raidz["children"][0]
    assert spare["type"] == "spare"
    assert [c["name"] for c in spare["children"]] == ["virtio-helix-d3", "virtio-helix-d12"]
    assert p["action"] == "Wait for the resilver to complete."


def test_draid_geometry_comes_from_its_name(fixture_text):
    p = status(fixture_text, "status-draid.json")
    (d,) = p["vdevs"]["data"]
    assert (d["type"], d["parity"], d["draid_data"], d["draid_children"], d["draid_spares"]) == (
        "draid", 1, 2, 5, 1)
    assert len(d["children"]) == 5
    assert [(s["name"], s["type"], s["state"]) for s in p["vdevs"]["spare"]] == [("draid1-0-0", "dspare", "AVAIL")]
    assert p["guid"] is not None  # 2.3.2 omits pool_guid here; the root vdev has it


def test_no_pools():
    assert zs.parse_status({"output_version": {}, "pools": {}}) == {}
    assert zs.parse_status({"output_version": {}}) == {}


def test_pool_properties_are_typed(fixture_text):
    rows = [line.split("\t") for line in fixture_text("zpool", "get-rich.tsv").splitlines()]
    props = zs.parse_pool_properties(rows)["htrich"]
    assert props["size"] > 5 * 2**30 and isinstance(props["size"], int)
    assert props["capacity"] == 0
    assert props["health"] == "ONLINE"
    assert props["altroot"] is None
    assert isinstance(props["guid"], str) and props["guid"].isdigit()
    assert props["feature@async_destroy"] in ("enabled", "active")
    assert props["ashift"] == 0 or props["ashift"] >= 9


def test_version(fixture_text):
    v = zs.parse_version(json.loads(fixture_text("zpool", "version.json")))
    assert v == {"userland": "2.3.2-2~bpo12+2", "kernel": "2.3.2-2~bpo12+2"}


def test_import_scan(fixture_text):
    pools = zs.parse_import_scan(fixture_text("zpool", "import-scan.txt"))
    assert [(p["name"], p["state"]) for p in pools] == [("htz", "ONLINE")]
    assert pools[0]["id"] == "6349849454099941871"
    assert pools[0]["names"] == ["htz", "mirror-0", "virtio-helix-d1", "virtio-helix-d2"]


def test_import_scan_of_nothing():
    assert zs.parse_import_scan("") == []
    assert zs.parse_import_scan("no pools available to import\n") == []
