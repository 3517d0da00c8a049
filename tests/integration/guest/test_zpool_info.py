"""helix.zfs.zpool_info against real pools on the lab's disks."""
import time

from conftest import run_module, sh


def leaves(vdev):
    kids = vdev.get("children")
    return [vdev] if not kids else [leaf for k in kids for leaf in leaves(k)]


def by_id(disk):
    return disk + "-part1"  # ZFS partitions whole disks it is given


def test_mirror_raidz_special_dedup_log_cache_spare(disks):
    d = disks
    sh("zpool create -f htinfo mirror {0} {1} raidz1 {2} {3} {4} special mirror {5} {6} "
       "dedup {7} log mirror {8} {9} cache {10} spare {11}".format(*d))
    before = sh("zpool status -P htinfo")
    for check in (False, True):
        r = run_module("zpool_info", {"name": ["htinfo"]}, check=check)
        assert r["changed"] is False and "failed" not in r, r
        (p,) = r["pools"]
        assert (p["name"], p["state"], r["missing"]) == ("htinfo", "ONLINE", [])
        v = p["vdevs"]
        assert [(x["type"], [c["path"] for c in x["children"]]) for x in v["data"]] == [
            ("mirror", [by_id(d[0]), by_id(d[1])]),
            ("raidz", [by_id(d[2]), by_id(d[3]), by_id(d[4])])]
        assert v["data"][1]["parity"] == 1
        assert [(x["type"], [c["path"] for c in x["children"]]) for x in v["special"]] == [
            ("mirror", [by_id(d[5]), by_id(d[6])])]
        assert [x["path"] for x in v["dedup"]] == [by_id(d[7])]
        assert [(x["type"], [c["path"] for c in x["children"]]) for x in v["log"]] == [
            ("mirror", [by_id(d[8]), by_id(d[9])])]
        assert [x["path"] for x in v["cache"]] == [by_id(d[10])]
        assert [(x["path"], x["state"]) for x in v["spare"]] == [(by_id(d[11]), "AVAIL")]
        # Capacity from zpool get -p, in bytes, matching zpool list on the host.
        size = int(sh("zpool list -Hp -o size htinfo"))
        assert p["properties"]["size"] == size and p["properties"]["health"] == "ONLINE"
        assert p["guid"] == sh("zpool get -Hp -o value guid htinfo").strip()
    # Every leaf the host's own zpool status -P lists is in the tree.
    tree = [leaf["path"] for g in p["vdevs"].values() for top in g for leaf in leaves(top)]
    assert sorted(tree) == sorted(by_id(x) for x in d[:12])
    assert all(path in before for path in tree)


def test_degraded_then_scrubbed(disks):
    sh("zpool create -f htinfo mirror {0} {1}".format(*disks))
    sh("zpool offline htinfo %s" % disks[1])
    (p,) = run_module("zpool_info", {"name": "htinfo"})["pools"]
    assert p["state"] == "DEGRADED" and "offline" in p["status"]
    assert [c["state"] for c in p["vdevs"]["data"][0]["children"]] == ["ONLINE", "OFFLINE"]
    assert p["scan"] is None  # never scanned... the online below resilvers
    sh("zpool online htinfo %s" % disks[1])
    sh("zpool wait -t resilver htinfo")
    sh("dd if=/dev/urandom of=/htinfo/f bs=1M count=8 status=none && zpool sync htinfo")
    sh("zpool scrub -w htinfo")
    (p,) = run_module("zpool_info", {"name": "htinfo"})["pools"]
    assert p["state"] == "ONLINE" and p["status"] is None
    s = p["scan"]
    assert (s["function"], s["state"], s["errors"], s["percent"]) == ("scrub", "finished", 0, 100.0)
    assert abs(s["end_time"] - time.time()) < 600


def test_draid(disks):
    sh("zpool create -f htinfo draid1:2d:5c:1s " + " ".join(disks[:5]))
    (p,) = run_module("zpool_info", {"name": "htinfo", "properties": ["size"]})["pools"]
    (dr,) = p["vdevs"]["data"]
    assert (dr["type"], dr["parity"], dr["draid_children"], dr["draid_spares"]) == ("draid", 1, 5, 1)
    assert [s["type"] for s in p["vdevs"]["spare"]] == ["dspare"]
    assert list(p["properties"]) == ["size"]
    (p,) = run_module("zpool_info", {"name": "htinfo", "properties": ["all"]})["pools"]
    assert p["properties"]["feature@draid"] == "active" and len(p["properties"]) > 50


def test_all_pools_missing_pools_and_versions(disks):
    sh("zpool create -f htinfoa %s" % disks[0])
    sh("zpool create -f htinfob %s" % disks[1])
    r = run_module("zpool_info", {"pools": ["htinfob", "htnosuch", "htinfoa"]})
    assert [p["name"] for p in r["pools"]] == ["htinfob", "htinfoa"]
    assert r["missing"] == ["htnosuch"]
    everything = run_module("zpool_info", {})
    assert {"htinfoa", "htinfob"} <= {p["name"] for p in everything["pools"]}
    assert everything["version"]["userland"] == sh("zfs version -j | python3 -c "
                                                   "'import json,sys; print(json.load(sys.stdin)"
                                                   "[\"zfs_version\"][\"userland\"][4:])'").strip()
    assert everything["version"]["kernel"].startswith("2.3")


def test_three_processes_whatever_the_pool_count(disks, zfs_calls):
    for i in range(4):
        sh("zpool create -f htinfo%d %s" % (i, disks[i]))
    r = run_module("zpool_info", {})
    assert len(r["pools"]) >= 4
    assert zfs_calls == [["zpool", "status"], ["zpool", "get"], ["zpool", "version"]]


def test_bad_property_is_a_clear_error_with_cmd_rc_stderr(disks):
    sh("zpool create -f htinfo %s" % disks[0])
    r = run_module("zpool_info", {"name": "htinfo", "properties": ["nosuchprop"]})
    assert r["failed"] is True
    assert "nosuchprop" in r["stderr"] and r["rc"] != 0
    assert r["cmd"][1:4] == ["get", "-Hp", "-o"]
    assert "zpool get failed" in r["msg"]


def test_in_process_cost(disks):
    """Timing for bench/lab_task_cost.py (asserts only that the calls work)."""
    sh("zpool create -f htinfo %s" % disks[0])
    n = 5
    t0 = time.monotonic()
    for _run in range(n):
        assert run_module("zpool_info", {"name": "htinfo"})["pools"]
    print("\nIN_PROCESS_SECONDS=%.2f" % ((time.monotonic() - t0) / n))
