"""In-guest benchmark: helix.zfs.zfs_snapshot against sanoid (Debian's package), same run.

1. One snapshot of a 500-dataset tree: helix (one atomic call) against sanoid taking its
   snapshots (``recursive = yes``: one ``zfs snapshot`` per dataset; and ``recursive = zfs``).
   Each pass must take a snapshot of every dataset, or the benchmark fails.
2. Pruning 10,000 snapshots (100 datasets x 100, 15 minutes apart) down to "keep 24 frequent":
   helix on all of them; sanoid on HELIX_BENCH_SANOID_DATASETS of the datasets (each
   destroy is a process of its own, so its cost is per snapshot), scaled as a labelled estimate.

Sanoid judges age by the ``creation`` property, so after the snapshots are made the guest clock
is moved 7 hours on (then back) so that both tools see snapshots older than their 6-hour
window. Every zfs process either tool spawns is counted: sanoid runs /sbin/zfs by absolute
path, so the counting wrapper is bind-mounted over it for both. Prints BENCH_JSON=...
"""
import json
import os
import subprocess
import time

from ansible_collections.helix.zfs.plugins.module_utils import _zfs_snapshot_plan as plan
from harness import run_module

ATOMIC_N = int(os.environ.get("HELIX_BENCH_ATOMIC_N", "500"))
PRUNE_DS = int(os.environ.get("HELIX_BENCH_PRUNE_DATASETS", "100"))
PER_DS = int(os.environ.get("HELIX_BENCH_PER_DATASET", "100"))
SANOID_DS = int(os.environ.get("HELIX_BENCH_SANOID_DATASETS", "10"))
KEEP = 24
# Snapshots per destroy program (one txg each); the module's own default unless set.
plan.PROGRAM_BATCH = int(os.environ.get("HELIX_BENCH_PROGRAM_BATCH", plan.PROGRAM_BATCH))
LOG = "/tmp/helix-bench-exec.log"
# Settings go in the dataset's own section: with use_template, sanoid 2.1.0's recursive = yes
# passed nothing on to the children and took no snapshot at all.
SANOID_SECTION = """  frequently = %d
  frequent_period = 15
  hourly = 0
  daily = 0
  weekly = 0
  monthly = 0
  yearly = 0
  autosnap = %s
  autoprune = %s
"""


def sh(cmd):
    return subprocess.run(cmd, shell=True, check=True, capture_output=True, text=True).stdout


def setup_module():
    sh("zpool destroy -f bs 2>/dev/null; zpool labelclear -f /dev/disk/by-id/virtio-helix-d2 2>/dev/null; "
       "wipefs -qa /dev/disk/by-id/virtio-helix-d2; zpool create -f -O mountpoint=none bs "
       "/dev/disk/by-id/virtio-helix-d2")
    # Count every zfs exec, whoever spawns it and however (PATH or /sbin/zfs).
    sh("cp /usr/sbin/zfs /tmp/zfs.real && printf '#!/bin/sh\\necho \"zfs $1\" >> %s\\nexec /tmp/zfs.real \"$@\"\\n' "
       "> /tmp/zfs.count && chmod 755 /tmp/zfs.count && mount --bind /tmp/zfs.count /usr/sbin/zfs" % LOG)


def teardown_module():
    subprocess.run("umount /usr/sbin/zfs; zpool destroy -f bs", shell=True, check=False)


def counted(fn):
    open(LOG, "w").close()
    t0 = time.monotonic()
    out = fn()
    dt = time.monotonic() - t0
    with open(LOG) as f:
        procs = [line.split() for line in f]
    return out, {"seconds": round(dt, 2), "processes": len(procs),
                 "zfs_destroy": sum(1 for p in procs if p[1:] == ["destroy"]),
                 "zfs_snapshot": sum(1 for p in procs if p[1:] == ["snapshot"]),
                 "zfs_program": sum(1 for p in procs if p[1:] == ["program"])}


def sanoid(section, recursive, keep, snap, prune, args):
    conf = "/tmp/sanoid-%s" % section.replace("/", "-")
    os.makedirs(conf, exist_ok=True)
    with open(conf + "/sanoid.conf", "w") as f:
        f.write("[%s]\n  recursive = %s\n" % (section, recursive))
        f.write(SANOID_SECTION % (keep, "yes" if snap else "no", "yes" if prune else "no"))
    subprocess.run("cp /usr/share/sanoid/sanoid.defaults.conf %s/" % conf, shell=True, check=True)
    return lambda: subprocess.run(["sanoid", "--configdir", conf, "--force-update"] + args,
                                  check=True, capture_output=True, text=True)


def count_snaps(root):
    return int(sh("zfs list -H -t snapshot -o name -r %s | wc -l" % root))


def test_bench_snapshots():
    out = {"atomic_n": ATOMIC_N, "prune_datasets": PRUNE_DS, "per_dataset": PER_DS, "sanoid_datasets": SANOID_DS,
           "program_batch": plan.PROGRAM_BATCH}
    # 1. One snapshot of a tree of ATOMIC_N datasets.
    sh("zfs create bs/t && for i in $(seq -w 1 %d); do /tmp/zfs.real create bs/t/d$i; done" % ATOMIC_N)
    r, out["helix_atomic"] = counted(lambda: run_module(
        "zfs_snapshot", {"datasets": ["bs/t"], "recursive": True, "name": "atomic"}))
    assert r["changed"] and len(r["created"]) == ATOMIC_N + 1, r.get("msg")
    txgs = set(sh("zfs list -H -p -t snapshot -o createtxg -r bs/t | sort -u").split())
    out["helix_atomic"]["createtxgs"] = len(txgs)
    sh("/tmp/zfs.real destroy -r bs/t@atomic")
    # sanoid on the same tree, per-dataset mode (``recursive = yes``) first, while the tree has
    # no sanoid snapshot yet (a tree that had one took none in that mode). Its snapshots, one per
    # dataset, go in one channel program; then its atomic mode (``recursive = zfs``).
    for mode in ("yes", "zfs"):
        _r, out["sanoid_atomic_" + mode] = counted(sanoid("bs/t", mode, 1, True, False, ["--take-snapshots"]))
        rows = [ln.split("\t") for ln in sh("zfs list -H -p -t snapshot -o name,createtxg -r bs/t").splitlines()]
        out["sanoid_atomic_" + mode]["snapshots"] = len(rows)
        out["sanoid_atomic_" + mode]["createtxgs"] = len({r[1] for r in rows})
        # A pass that took no snapshot has measured nothing: fail rather than report it.
        assert len(rows) == ATOMIC_N + 1, "sanoid recursive=%s took %d snapshots" % (mode, len(rows))
        r = run_module("zfs_snapshot", {"snapshots": [r[0] for r in rows], "state": "absent"})
        assert r["changed"], r.get("msg")
    sh("/tmp/zfs.real destroy -r bs/t")

    # 2. Pruning. Both trees get PER_DS snapshots per dataset, 15 minutes apart by name, made
    # PRUNE_DS*2 at a time with one zfs snapshot per round (setup, not timed).
    sh("zfs create bs/h && zfs create bs/s && for i in $(seq -w 1 %d); do /tmp/zfs.real create bs/h/d$i; done && "
       "for i in $(seq -w 1 %d); do /tmp/zfs.real create bs/s/d$i; done" % (PRUNE_DS, SANOID_DS))
    hds = sh("zfs list -H -o name -d 1 bs/h").split()[1:]
    sds = sh("zfs list -H -o name -d 1 bs/s").split()[1:]
    base = int(time.time()) - PER_DS * 900
    for k in range(PER_DS):
        t = time.gmtime(base + k * 900)
        names = ["%s@helix_%s_frequently" % (d, time.strftime("%Y%m%dT%H%M%SZ", t)) for d in hds]
        names += ["%s@autosnap_%s_frequently" % (d, time.strftime("%Y-%m-%d_%H:%M:%S", t)) for d in sds]
        subprocess.run(["/tmp/zfs.real", "snapshot", "-o", "helix:owner=helix.zfs"] + names, check=True)
    out["helix_snapshots_before"] = count_snaps("bs/h")
    out["sanoid_snapshots_before"] = count_snaps("bs/s")
    sh("date -s @$(( $(date +%s) + 7 * 3600 ))")
    try:
        r, out["helix_prune"] = counted(lambda: run_module("zfs_snapshot", {
            "datasets": ["bs/h"], "recursive": True, "create": False,
            "policy": {"frequently": {"every": "15m", "keep": KEEP}}}))
        assert r["changed"], r.get("msg")
        _r, out["sanoid_prune"] = counted(sanoid("bs/s", "yes", KEEP, False, True, ["--prune-snapshots"]))
    finally:
        sh("date -s @$(( $(date +%s) - 7 * 3600 ))")
    out["helix_snapshots_after"] = count_snaps("bs/h")
    out["sanoid_snapshots_after"] = count_snaps("bs/s")
    assert out["helix_snapshots_after"] == KEEP * PRUNE_DS
    assert out["sanoid_snapshots_after"] == KEEP * SANOID_DS
    print("\nBENCH_JSON=" + json.dumps(out))
