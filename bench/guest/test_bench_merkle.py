"""In-guest benchmark: the check before a promotion on a copy of a 1 GiB tree after a 1% change,
by Merkle tree (helix.zfs.zfs_info merkle: from the copy's kept tree, reading what changed)
against a full content digest (zfs_info content_digest: every byte) and a full Merkle tree
(merkle_full), same run, interleaved rounds. The copy is a local zfs receive of the source (the
same as a replica's). Prints BENCH_JSON=..."""
import json
import os
import subprocess
import time

from harness import run_module

MIB = int(os.environ.get("HELIX_BENCH_MIB", "1024"))
ROUNDS = int(os.environ.get("HELIX_BENCH_ROUNDS", "3"))
DISKS = " ".join("/dev/disk/by-id/virtio-helix-d%d" % i for i in (3, 4, 5, 6))  # 4 GiB: the tree and its copy
PER_DIR = 64


def sh(cmd):
    return subprocess.run(cmd, shell=True, check=True, capture_output=True, text=True).stdout


def setup_module():
    sh("zpool destroy -f bmk 2>/dev/null; for d in %s; do zpool labelclear -f $d; wipefs -qa $d; done "
       ">/dev/null 2>&1; zpool create -f -O mountpoint=/bmk -O compression=off bmk %s && zfs create bmk/t"
       % (DISKS, DISKS))
    sh("rm -rf /var/lib/helix-zfs/merkle")
    for d in range(0, MIB, PER_DIR):  # 1 MiB files, 64 to a directory
        sh("mkdir -p /bmk/t/d%d && for i in $(seq %d %d); do head -c 1M /dev/urandom >/bmk/t/d%d/f$i; done"
           % (d, d, min(d + PER_DIR, MIB) - 1, d))
    sh("zfs snapshot bmk/t@r0 && zfs send bmk/t@r0 | zfs receive -u bmk/copy")


def teardown_module():
    subprocess.run("zpool destroy -f bmk; rm -rf /var/lib/helix-zfs/merkle", shell=True, check=False)


def info(snap, **opts):
    t0 = time.time()
    r = run_module("zfs_info", dict({"name": [snap], "type": ["snapshot"], "properties": ["guid"]}, **opts))
    return time.time() - t0, r["datasets"][0]


def test_merkle_against_full_digest():
    first_s, first = info("bmk/copy@r0", merkle=True)  # the copy's first tree: everything read
    info("bmk/t@r0", merkle=True)
    out = {"mib": MIB, "files": MIB, "rounds": [], "first_tree_s": round(first_s, 2), "first_read_bytes": first["merkle"]["read_bytes"]}
    changed = max(1, MIB // 100)
    for r in range(1, ROUNDS + 1):
        # A 1% change: that many 1 MiB files rewritten, spread over the directories.
        sh("for i in $(seq 0 %d); do f=$(( (i * 97 + %d) %% %d )); head -c 1M /dev/urandom >/bmk/t/d$(( f / %d * %d ))/f$f; done"
           % (changed - 1, r, MIB, PER_DIR, PER_DIR))
        sh("zfs snapshot bmk/t@r%d && zfs send -i @r%d bmk/t@r%d | zfs receive -u bmk/copy" % (r, r - 1, r))
        src_s, src = info("bmk/t@r%d" % r, merkle=True)
        inc_s, inc = info("bmk/copy@r%d" % r, merkle=True)
        dig_s, dig = info("bmk/copy@r%d" % r, content_digest=True)
        full_s, full = info("bmk/copy@r%d" % r, merkle=True, merkle_full=True)
        assert inc["merkle"]["root"] == src["merkle"]["root"] == full["merkle"]["root"]
        assert dig["sha256"]
        out["rounds"].append({"changed_files": changed, "source_tree_s": round(src_s, 2), "merkle_s": round(inc_s, 2),
                              "merkle_read_bytes": inc["merkle"]["read_bytes"], "digest_s": round(dig_s, 2),
                              "merkle_full_s": round(full_s, 2)})
    print("BENCH_JSON=" + json.dumps(out))
