"""helix.zfs.zfs_tunables on the guest's real zfs module: check / apply / apply again / check
again, read back from /sys and from the ARC's kstats; bad requests change nothing."""
import pytest

from conftest import converge, run_module

PARAMS = "/sys/module/zfs/parameters/"
TOUCHED = ("zfs_arc_max", "zfs_arc_min", "l2arc_write_max", "l2arc_noprefetch", "zfs_vdev_async_write_max_active")


def param(name):
    with open(PARAMS + name) as f:
        return f.read().strip()


def arcstats():
    with open("/proc/spl/kstat/zfs/arcstats") as f:
        return {r[0]: int(r[2]) for r in (line.split() for line in f.readlines()[2:]) if len(r) == 3}


def memtotal():
    with open("/proc/meminfo") as f:
        return next(int(line.split()[1]) * 1024 for line in f if line.startswith("MemTotal:"))


@pytest.fixture
def restore():
    """Put every parameter these tests touch back as it was."""
    saved = {n: param(n) for n in TOUCHED}
    yield
    for name in ("zfs_arc_min", "zfs_arc_max") + TOUCHED[2:]:
        with open(PARAMS + name, "w") as f:
            f.write(saved[name])


def state():
    return {n: param(n) for n in TOUCHED}, {k: arcstats()[k] for k in ("c_max", "c_min")}


def test_arc_share_of_ram_l2arc_and_queues(restore):
    args = {"parameters": {"zfs_arc_max": "30%", "zfs_arc_min": "96M", "l2arc_write_max": "24M",
                           "l2arc_noprefetch": False, "zfs_vdev_async_write_max_active": 7}}
    check, applied = converge("zfs_tunables", args, state, plan="changes")
    want = int(memtotal() * 0.30)
    order = [c["name"] for c in applied["changes"]]
    assert order[0] == "zfs_arc_min" and len(order) == 5  # the floor first: it is below today's ceiling
    assert applied["resolved"] == {"zfs_arc_max": str(want), "zfs_arc_min": str(96 << 20),
                                   "l2arc_write_max": str(24 << 20), "l2arc_noprefetch": "0",
                                   "zfs_vdev_async_write_max_active": "7"}
    assert (param("zfs_arc_max"), param("zfs_arc_min")) == (str(want), str(96 << 20))
    assert (param("l2arc_write_max"), param("l2arc_noprefetch")) == (str(24 << 20), "0")
    assert param("zfs_vdev_async_write_max_active") == "7"
    # Live in the ARC itself, not just in the parameter files.
    assert (arcstats()["c_max"], arcstats()["c_min"]) == (want, 96 << 20)
    assert "zfs_arc_max=%d" % want in applied["diff"]["after"]
    assert check["changes"] == applied["changes"]


@pytest.mark.parametrize("parameters, msg", [
    ({"zfs_arc_max": "64G"}, "is above the node's RAM"),
    ({"zfs_arc_max": "32M"}, "below 64 MiB, which ZFS silently ignores"),
    ({"zfs_arc_meta_limit": "1G", "zfs_arc_max": "30%"}, "zfs_arc_meta_limit was removed in OpenZFS 2.2"),
    ({"zfs_no_such_knob": 1}, "is not a parameter of this node's zfs module"),
    ({"l2arc_write_max": "10%"}, "a percentage only makes sense for"),
    # Once written into modprobe.d as a second line: an install command run as root at boot.
    ({"l2arc_write_max": "8388608\ninstall zfs /bin/sh -c 'touch /tmp/pwned'"}, "is not one word"),
])
def test_bad_requests_change_nothing(restore, parameters, msg):
    before = state()
    r = run_module("zfs_tunables", {"parameters": parameters})
    assert r.get("failed") and msg in r["msg"], r
    assert state() == before


def test_a_value_zfs_refuses_after_a_good_one_reports_what_was_written(restore):
    # Issue 16 (A14): the good write stayed, and the result said changed=false, changes=[].
    before = param("l2arc_write_max")
    r = run_module("zfs_tunables", {"parameters": {"l2arc_write_max": "24M", "zfs_vdev_async_write_max_active": "x1"}})
    assert r.get("failed") and "zfs refused zfs_vdev_async_write_max_active=x1" in r["msg"], r
    assert (r["changed"], [c["name"] for c in r["changes"]]) == (True, ["l2arc_write_max"]), r
    assert "after writing l2arc_write_max" in r["msg"] and param("l2arc_write_max") == str(24 << 20) != before
