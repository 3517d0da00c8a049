"""In-guest benchmark, lab1 -> lab2 over ssh: 1 GiB of incompressible data sent by
helix.zfs.zfs_replicate, by syncoid (Debian's sanoid package, its defaults) and by a bare
``zfs send | ssh zfs receive``, in the same run; then the incremental no-op over
HELIX_BENCH_TREE datasets, helix against syncoid, with zfs and ssh processes counted (wrappers
on PATH log each exec and exec the real binary). Prints BENCH_JSON=..."""
import json
import os
import subprocess
import time

from harness import run_module

GIB = int(os.environ.get("HELIX_BENCH_MIB", "1024"))
TREE = int(os.environ.get("HELIX_BENCH_TREE", "200"))
ROUNDS = int(os.environ.get("HELIX_BENCH_ROUNDS", "3"))
PEER = "lab2"
DISKS = "/dev/disk/by-id/virtio-helix-d3 /dev/disk/by-id/virtio-helix-d4"
LOG = "/tmp/helix-bench-exec.log"
WRAP = "/tmp/helix-bench-bin"


def sh(cmd):
    return subprocess.run(cmd, shell=True, check=True, capture_output=True, text=True).stdout


def both(cmd):
    sh(cmd)
    sh("ssh %s %s" % (PEER, subprocess.list2cmdline([cmd])))


def setup_module():
    both("zpool destroy -f brx 2>/dev/null; for d in %s; do zpool labelclear -f $d; wipefs -qa $d; done "
         ">/dev/null 2>&1; zpool create -f -O mountpoint=/brx -O compression=off brx %s" % (DISKS, DISKS))
    os.makedirs(WRAP, exist_ok=True)
    for tool, real in (("zfs", "/usr/sbin/zfs"), ("ssh", "/usr/bin/ssh")):
        with open(os.path.join(WRAP, tool), "w") as f:
            f.write('#!/bin/sh\necho "%s $1" >> %s\nexec %s "$@"\n' % (tool, LOG, real))
        os.chmod(os.path.join(WRAP, tool), 0o755)
    os.environ["PATH"] = WRAP + ":" + os.environ["PATH"]


def teardown_module():
    subprocess.run("zpool destroy -f brx; ssh %s zpool destroy -f brx" % PEER, shell=True, check=False)


def counted(fn):
    open(LOG, "w").close()
    t0 = time.monotonic()
    fn()
    dt = time.monotonic() - t0
    with open(LOG) as f:
        procs = [line.split()[0] for line in f]
    return {"seconds": round(dt, 2), "zfs": procs.count("zfs"), "ssh": procs.count("ssh")}


def run(cmd):
    return lambda: subprocess.run(cmd, shell=True, check=True, capture_output=True)


def helix(args, into=None):
    def go():
        r = run_module("zfs_replicate", args)
        assert "failed" not in r, r.get("msg")
        if into is not None:
            into.update(stream_seconds=r["seconds"], stream_bytes=r["bytes"])
    return go


def test_bench_replicate():
    out = {"mib": GIB, "tree": TREE, "rounds": ROUNDS}
    sh("zfs create brx/big && head -c %dM /dev/urandom > /brx/big/blob && zpool sync && zfs snapshot brx/big@s1" % GIB)
    stream = int(sh("zfs send -nvP -L -e -c brx/big@s1 2>&1 | awk '$1==\"size\"{print $2}'").strip() or 0)
    out["stream_bytes"] = stream
    # The same stream flags for bare and helix (syncoid picks its own: see the results). The
    # three run in turn, ROUNDS times, each round in a rotated order, so the machine's drifts
    # spread over all three; the report takes medians.
    tools = [
        ("bare", lambda extra: run("zfs send -L -e -c brx/big@s1 | ssh %s zfs receive -u brx/bare" % PEER), "brx/bare"),
        ("helix", lambda extra: helix({"source": "brx/big", "target": "brx/helix", "target_host": PEER}, extra),
         "brx/helix"),
        ("syncoid", lambda extra: run("syncoid --no-sync-snap --no-privilege-elevation brx/big root@%s:brx/syncoid"
                                      % PEER), "brx/syncoid")]
    for label, _fn, _t in tools:
        out[label] = []
    for k in range(ROUNDS):
        for label, fn, target in tools[k % 3:] + tools[:k % 3]:
            extra = {}
            x = counted(fn(extra))
            x.update(extra, mib_per_s=round(GIB / x["seconds"], 2))
            out[label].append(x)
            got = sh("ssh %s zfs get -Hp -o value guid %s@s1" % (PEER, target)).strip()
            assert got == sh("zfs get -Hp -o value guid brx/big@s1").strip(), label
            sh("ssh %s zfs destroy -r %s" % (PEER, target))
    sh("zfs destroy -r brx/big")
    print("\nBENCH_JSON_PART=" + json.dumps(out), flush=True)
    if TREE == 0:  # HELIX_BENCH_TREE=0: the full sends only
        print("\nBENCH_JSON=" + json.dumps(out))
        return

    # The incremental no-op over a tree: both replicated once (untimed), then timed again.
    sh("zfs create brx/t && for i in $(seq -w 1 %d); do /usr/sbin/zfs create brx/t/d$i; done && "
       "/usr/sbin/zfs snapshot -r brx/t@s1" % TREE)
    helix({"source": "brx/t", "recursive": True, "target": "brx/ht", "target_host": PEER})()
    run("syncoid --no-sync-snap --no-privilege-elevation --recursive brx/t root@%s:brx/st" % PEER)()
    out["helix_noop"] = counted(helix({"source": "brx/t", "recursive": True, "target": "brx/ht",
                                       "target_host": PEER}))
    r = run_module("zfs_replicate", {"source": "brx/t", "recursive": True, "target": "brx/ht", "target_host": PEER})
    assert r["changed"] is False
    out["syncoid_noop"] = counted(run("syncoid --no-sync-snap --no-privilege-elevation --recursive brx/t "
                                      "root@%s:brx/st" % PEER))
    print("\nBENCH_JSON=" + json.dumps(out))
