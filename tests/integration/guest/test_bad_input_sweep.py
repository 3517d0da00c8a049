"""Issue 16's bad-input sweep: malformed inputs across the modules, each refused with a clear
message (no traceback), ``changed`` true only if something ran, and the host's pools and datasets
(``zpool status``, ``zfs list -t all``) identical before and after, in check mode and applied.
One pool for all of them (a pool per case would cost more than the cases)."""
import pytest

from conftest import POOL_PREFIX, _destroy_test_pools, run_module, sh

D = "/dev/disk/by-id/virtio-helix-d%d"


@pytest.fixture(scope="module")
def sweep_pool(lab_disks, _wiped):
    sh("zpool create -f -O mountpoint=/htsw htsw mirror %s %s" % (D % 1, D % 2))
    sh("zfs create htsw/a && zfs create htsw/a/b && zfs create -V 16M htsw/vol && zfs snapshot -r htsw/a@s1")
    yield "htsw"
    _destroy_test_pools()  # the disks are wiped by whichever later test needs them blank


def host_state():
    """The test pools, their layout and health, and every dataset, snapshot and bookmark in them
    with the properties a refused input could have touched (one shell: each process costs in TCG)."""
    return sh("pools=$(zpool list -H -o name | grep '^%s'); zpool list -H -o name,health,size $pools; "
              "zpool status -P $pools | grep -v '^ *scan:'; zfs list -Hp -t all -o name,guid,quota,readonly,"
              "compression,mountpoint,volsize,keystatus,helix:role,userrefs -r $pools" % POOL_PREFIX, check=False)


BIG = "x" * 251  # "htsw/" + 251: 256 characters, one over ZFS's limit
CASES = [
    # zpool
    ("zpool", {"name": "bad name!", "vdevs": [{"disks": [D % 3]}]}, "invalid pool name"),
    ("zpool", {"name": "mirror", "vdevs": [{"disks": [D % 3]}]}, "invalid pool name 'mirror'"),
    ("zpool", {"name": "htsw2", "vdevs": [{"type": "mirror", "disks": [D % 3]}]}, "mirror"),
    ("zpool", {"name": "htsw2", "vdevs": [{"disks": [D % 1]}]}, "htsw"),
    ("zpool", {"name": "htsw2", "vdevs": [{"type": "raidz9", "disks": [D % 3, D % 4]}]}, "type"),
    ("zpool", {"name": "htsw", "properties": {"ashift": "13"}}, "ashift"),
    ("zpool", {"name": "htsw", "properties": {"autotrim": "maybe"}}, "autotrim"),
    ("zpool", {"name": "htsw", "offline": ["/dev/nope"]}, "not in pool htsw"),
    ("zpool", {"name": "htsw", "replace": [{"old": "/dev/x", "new": "/dev/y"}]}, "neither is in pool htsw"),
    ("zpool", {"name": "htsw", "vdevs": [{"disks": [D % 1]}]}, "recreating"),
    # zfs_dataset
    ("zfs_dataset", {"name": "htsw/bad@name"}, "invalid dataset name"),
    ("zfs_dataset", {"name": "/htsw/x"}, "invalid dataset name"),
    ("zfs_dataset", {"name": "htsw/.."}, "invalid dataset name"),
    ("zfs_dataset", {"name": "htsw/" + BIG}, "invalid dataset name"),
    ("zfs_dataset", {"name": "htsw/x", "properties": {"nosuchprop": "1"}}, "invalid property"),
    ("zfs_dataset", {"name": "htsw/x", "properties": {"used": "1G"}}, "read-only"),
    ("zfs_dataset", {"name": "htsw/a", "properties": {"quota": "lots"}}, "not a size"),
    ("zfs_dataset", {"name": "htsw/a", "properties": {"compression": "zip"}}, "compression"),
    ("zfs_dataset", {"name": "htsw/a", "properties": {"casesensitivity": "insensitive"}}, "casesensitivity"),
    ("zfs_dataset", {"name": "htsw/x", "properties": {"encryption": "on", "keyformat": "hex"}, "key": "abc"},
     "64 hexadecimal"),
    # zfs_snapshot
    ("zfs_snapshot", {"snapshots": ["htsw/a@b@c"]}, "invalid snapshot"),
    ("zfs_snapshot", {"datasets": ["htsw/a"], "policy": {"hourly": {"keep": 0}}}, "keep"),
    ("zfs_snapshot", {"datasets": ["htsw/a"], "policy": "15m:6h"}, "longer than the span"),
    ("zfs_snapshot", {"datasets": ["htsw/a"], "policy": {"hourly": {"keep": 2}}, "now": "1" * 21}, "year 10000"),
    ("zfs_snapshot", {"snapshots": ["htsw/a@s1"], "hold": ["-r"]}, "invalid hold tag"),
    ("zfs_snapshot", {"datasets": ["htsw/a"], "name": "nosuch", "state": "rolled_back"}, "does not exist"),
    ("zfs_snapshot", {"datasets": ["htsw/nosuch"], "name": "x"}, "no such dataset"),
    # zfs_replicate
    ("zfs_replicate", {"source": "htsw/a", "target": "htsw/a"}, "same tree"),
    ("zfs_replicate", {"source": "htsw/a", "target": "htsw/a/b/c"}, "same tree"),
    ("zfs_replicate", {"source": "htsw/a", "target": "htsw/c", "target_host": "-oProxyCommand=touch /tmp/pwned"},
     "invalid target_host"),
    ("zfs_replicate", {"source": "htsw/a", "target": "htsw/c", "hold": "-x"}, "invalid hold tag"),
    ("zfs_replicate", {"source": "htsw/a", "target": "htsw/c", "target_dir": "/tmp"}, "mutually exclusive: target|target_dir"),
    ("zfs_replicate", {"source": "htsw/nosuch", "target": "htsw/c"}, "no such dataset"),
    # zfs_info, zpool_info
    ("zfs_info", {"name": ["htsw/a@@"]}, "snapshot delimiter"),
    ("zfs_info", {"name": ["htsw/a"], "type": ["tapes"]}, "type"),
    ("zpool_info", {"name": ["htsw"], "properties": ["nosuchprop"]}, "nosuchprop"),
    # zfs_tunables
    ("zfs_tunables", {"parameters": {"zfs_arc_max": "1\nzfs_arc_min 2"}}, "one word"),
    ("zfs_tunables", {"parameters": {"zfs_no_such_tunable": "1"}}, "zfs_no_such_tunable"),
    ("zfs_tunables", {"parameters": {"../../../etc/passwd": "1"}}, "passwd"),
    # placement_plan
    ("placement_plan", {"catalog": [{"name": "x"}], "hosts": {}}, "placement"),
    ("placement_plan", {"catalog": [], "hosts": {"h1": {"domain": "r1", "pools": [{"name": "tank", "capacity": "10T"}]}},
                        "max_move": "lots"}, "max_move"),
]


@pytest.mark.parametrize("module,args,words", CASES, ids=["%02d-%s" % (i, c[0]) for i, c in enumerate(CASES)])
def test_refused_cleanly_and_nothing_changed(sweep_pool, module, args, words):
    before = host_state()
    for check_mode in (True, False):
        r = run_module(module, args, check=check_mode)
        assert r.get("failed"), r
        assert words.lower() in r["msg"].lower(), r["msg"]
        assert "Traceback" not in str(r) and "exception" not in r, r
        assert r.get("changed") in (None, False) or r.get("commands"), r
        assert host_state() == before, "%s changed the host (check mode: %s)" % (module, check_mode)


def test_the_sweep_has_at_least_40_inputs():
    assert len(CASES) >= 40
