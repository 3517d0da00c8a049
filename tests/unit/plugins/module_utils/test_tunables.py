"""zfs_tunables' pure logic: values resolved, bad requests refused before any write, writes ordered."""
import pytest

from ansible_collections.helix.zfs.plugins.module_utils import _tunables as tun
from ansible_collections.helix.zfs.plugins.module_utils._errors import PlanError

GIB = 1 << 30
RAM = 2 * GIB
ARC = {"c_min": 64 << 20, "c_max": GIB}
LIVE = {"zfs_arc_max": "0\n", "zfs_arc_min": "0\n", "l2arc_noprefetch": "1\n", "l2arc_write_max": "33554432\n",
        "zfs_vdev_raidz_impl": "cycle [fastest] original scalar sse2\n"}


def test_resolve():
    assert tun.resolve("zfs_arc_max", "75%", RAM) == str(int(RAM * 0.75))
    assert tun.resolve("zfs_arc_max", "1.5G", RAM) == str(3 * GIB // 2)
    assert tun.resolve("l2arc_write_max", "64M", RAM) == str(64 << 20)
    assert tun.resolve("l2arc_noprefetch", False, RAM) == "0"
    assert tun.resolve("zfs_vdev_async_write_max_active", 16, RAM) == "16"
    assert tun.resolve("zfs_vdev_raidz_impl", "scalar", RAM) == "scalar"
    with pytest.raises(PlanError, match="percentage only makes sense"):
        tun.resolve("l2arc_write_max", "10%", RAM)
    with pytest.raises(PlanError, match="more than the node's RAM"):
        tun.resolve("zfs_arc_max", "101%", RAM)


def test_same_reads_choice_lists():
    assert tun.same("0\n", "0") and not tun.same("0\n", "1")
    assert tun.same("cycle [fastest] original\n", "fastest") and not tun.same("cycle [fastest] original", "cycle")


def test_plan_writes_only_what_differs():
    writes, wanted = tun.plan({"zfs_arc_max": "50%", "l2arc_noprefetch": True, "zfs_vdev_raidz_impl": "fastest"},
                              LIVE, RAM, ARC)
    assert wanted["zfs_arc_max"] == str(GIB)
    assert writes == [("zfs_arc_max", "0", str(GIB))]
    done = dict(LIVE, zfs_arc_max="%d\n" % GIB)
    assert tun.plan({"zfs_arc_max": "50%", "l2arc_noprefetch": True}, done, RAM, ARC)[0] == []


@pytest.mark.parametrize("req, live, msg", [
    ({"zfs_arc_meta_limit": 1}, {"zfs_arc_meta_limit": None}, r"^zfs_arc_meta_limit was removed in OpenZFS 2\.2"),
    ({"zfs_nope": 1}, {"zfs_nope": None}, r"^zfs_nope is not a parameter of this node's zfs module"),
    ({"zfs_arc_max": "3G"}, LIVE, r"^zfs_arc_max=3221225472 is above the node's RAM"),
    ({"zfs_arc_max": "32M"}, LIVE, r"below 64 MiB"),
    ({"zfs_arc_max": "512M", "zfs_arc_min": "1G"}, LIVE, r"^zfs_arc_min=1073741824 is above zfs_arc_max=536870912"),
])
def test_plan_refuses_bad_requests(req, live, msg):
    with pytest.raises(PlanError, match=msg):
        tun.plan(req, live, RAM, ARC)


def test_plan_orders_arc_bounds_so_zfs_accepts_each_write():
    # Raising arc_min above today's c_max: arc_max must go first.
    writes = tun.plan({"zfs_arc_min": "1.5G", "zfs_arc_max": "1.75G"}, LIVE, RAM, ARC)[0]
    assert [w[0] for w in writes] == ["zfs_arc_max", "zfs_arc_min"]
    # Lowering both: arc_min first, so arc_max never drops below it.
    writes = tun.plan({"zfs_arc_min": "64M", "zfs_arc_max": "128M"}, LIVE, RAM, ARC)[0]
    assert [w[0] for w in writes] == ["zfs_arc_min", "zfs_arc_max"]


def test_parsers():
    assert tun.parse_meminfo("MemTotal:        2013912 kB\nMemFree: 1 kB\n") == 2013912 * 1024
    with pytest.raises(PlanError):
        tun.parse_meminfo("")
    text = "13 1 0x01 147 39984 1 2\nname                            type data\nc_min 4 67108864\nc_max 4 1073741824\n"
    assert tun.parse_kstat(text) == {"c_min": 67108864, "c_max": 1073741824}


@pytest.mark.parametrize("value", ["1\ninstall zfs /bin/sh", "1 zfs_arc_max=1", "1#x", "", "lz4 "])
def test_a_value_is_one_word(value):
    if value.strip() and " " not in value.strip() and "\n" not in value and "#" not in value:
        assert tun.resolve("zfs_x", value, 1 << 30) == value.strip()
    else:
        with pytest.raises(PlanError, match="is not one word"):
            tun.resolve("zfs_x", value, 1 << 30)
