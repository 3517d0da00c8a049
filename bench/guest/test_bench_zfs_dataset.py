"""In-guest benchmark: N datasets x 5 properties converged by one helix.zfs.zfs_dataset call,
against community.general.zfs called once per dataset (as a loop does), both in-process with
real zfs, processes counted by a logging wrapper that execs the real binary. The peer runs on
a smaller set (HELIX_BENCH_PEER_N); its per-dataset cost is reported, and scaled linearly to N
only as a labelled estimate. Prints BENCH_JSON=... for bench/zfs_dataset_many.py."""
import json
import os
import subprocess
import time

import counting
from harness import run_module

N = int(os.environ.get("HELIX_BENCH_N", "1000"))
PEER_N = int(os.environ.get("HELIX_BENCH_PEER_N", "30"))
PROPS = {"quota": "1G", "compression": "lz4", "atime": "off", "recordsize": "64K"}


def sh(cmd):
    return subprocess.run(cmd, shell=True, check=True, capture_output=True, text=True).stdout


def setup_module():
    sh("zpool destroy -f benchds 2>/dev/null; zpool labelclear -f /dev/disk/by-id/virtio-helix-d1 2>/dev/null; "
       "wipefs -qa /dev/disk/by-id/virtio-helix-d1; zpool create -f benchds /dev/disk/by-id/virtio-helix-d1")
    counting.install()


def helix_items(n, quota="1G"):
    return [{"name": "benchds/h/%04d" % i,
             "properties": dict(PROPS, quota=quota, **{"com.example:tenant": "t%04d" % i})} for i in range(n)]


def peer_call(i):
    args = {"name": "benchds/p/%04d" % i, "state": "present",
            "extra_zfs_properties": dict(PROPS, **{"com.example:tenant": "t%04d" % i})}
    return run_module("zfs", args, collection="community.general")


def test_many_datasets():
    out = {"n": N, "peer_n": PEER_N}
    sh("zfs create benchds/h && zfs create benchds/p")
    for label, items in (("create", helix_items(N)), ("noop", helix_items(N)), ("change", helix_items(N, "2G"))):
        r, dt, procs = counting.counted(lambda: run_module("zfs_dataset", {"datasets": items}))
        assert "failed" not in r, r.get("msg")
        out["helix_" + label] = {"seconds": dt, "processes": len(procs), "changed": r["changed"],
                                 "zfs_set_calls": sum(1 for p in procs if p == ["zfs", "set"])}
    assert out["helix_noop"]["changed"] is False
    names = " ".join("benchds/h/%04d" % i for i in range(N))
    t0 = time.monotonic()
    sh("zfs get -Hp -o name,property,value,source quota,compression,atime,recordsize,com.example:tenant %s" % names)
    out["floor_zfs_get_seconds"] = time.monotonic() - t0
    for label in ("create", "noop"):
        total_t, total_p, changed = 0.0, 0, []
        for i in range(PEER_N):
            r, dt, procs = counting.counted(lambda i=i: peer_call(i))
            assert "failed" not in r, r.get("msg")
            total_t += dt
            total_p += len(procs)
            changed.append(r["changed"])
        out["peer_" + label] = {"seconds": total_t, "processes": total_p,
                                "changed_runs": sum(1 for c in changed if c)}
    print("\nBENCH_JSON=" + json.dumps(out))
