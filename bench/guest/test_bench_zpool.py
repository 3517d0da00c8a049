"""In-guest benchmark: a no-op run of helix.zfs.zpool and community.general.zpool on the
same existing 3-vdev pool, alternating, in one run. Both modules run in-process with real
zpool/zfs; every zpool/zfs process they spawn is counted by a wrapper that logs its argv and
execs the real binary. Prints BENCH_JSON=... for bench/zpool_noop.py."""
import json
import os
import statistics
import subprocess

import pytest

import counting
from harness import run_module

DISKS = ["/dev/disk/by-id/virtio-helix-d%d" % i for i in range(1, 7)]
RUNS = int(os.environ.get("HELIX_BENCH_RUNS", "5"))


def sh(cmd):
    return subprocess.run(cmd, shell=True, check=True, capture_output=True, text=True).stdout


def make_pool(disks):
    sh("zpool destroy -f benchpool 2>/dev/null; for d in %s; do zpool labelclear -f $d; wipefs -qa $d; done "
       ">/dev/null 2>&1; true" % " ".join(DISKS))
    sh("zpool create -o autotrim=on -O compression=lz4 benchpool mirror %s %s mirror %s %s mirror %s %s" % tuple(disks))


def setup_module():
    counting.install()


def teardown_module():
    sh("zpool destroy -f benchpool")


@pytest.mark.parametrize("style", ["by-id", "kernel"])
def test_noop_on_existing_three_vdev_pool(style):
    """by-id: the pool built and declared with /dev/disk/by-id paths (what production uses);
    kernel: with /dev/vdX names, the case community.general's string comparison handles."""
    disks = DISKS if style == "by-id" else [os.path.realpath(d) for d in DISKS]
    make_pool(disks)
    pairs = [disks[i:i + 2] for i in (0, 2, 4)]
    helix = {"name": "benchpool", "vdevs": [{"type": "mirror", "disks": p} for p in pairs],
             "properties": {"autotrim": "on"}, "filesystem_properties": {"compression": "lz4"}}
    peer = {"name": "benchpool", "vdevs": [{"type": "mirror", "disks": p} for p in pairs],
            "pool_properties": {"autotrim": "on"}, "filesystem_properties": {"compression": "lz4"}}
    runs = {"helix.zfs.zpool": [], "community.general.zpool": []}
    for _i in range(RUNS):
        for name, call in (("helix.zfs.zpool", lambda: run_module("zpool", helix)),
                           ("community.general.zpool",
                            lambda: run_module("zpool", peer, collection="community.general"))):
            r, dt, procs = counting.counted(call)
            runs[name].append({"seconds": dt, "procs": procs, "changed": r.get("changed"),
                               "failed": bool(r.get("failed")), "msg": r.get("msg", "")[:300]})
    out = {}
    for name, rs in runs.items():
        out[name] = {
            "median_seconds": statistics.median(r["seconds"] for r in rs),
            "processes": len(rs[-1]["procs"]),
            "zpool_status_calls": sum(1 for p in rs[-1]["procs"] if p[:2] == ["zpool", "status"]),
            "commands": [" ".join(p) for p in rs[-1]["procs"]],
            "changed": [r["changed"] for r in rs], "failed": [r["failed"] for r in rs],
            "msg": rs[-1]["msg"],
        }
    print("\nBENCH_JSON=" + json.dumps({style: out}))
    # The benchmark is only meaningful if helix.zfs really did nothing.
    assert out["helix.zfs.zpool"]["changed"] == [False] * RUNS
