"""Count the zfs/zpool processes a benchmark step spawns: wrappers on PATH log each exec's
argv, then exec the real binary (zfs itself runs as usual)."""
import os
import time

LOG = "/tmp/helix-bench-exec.log"
WRAPPERS = "/tmp/helix-bench-bin"


def install():
    os.makedirs(WRAPPERS, exist_ok=True)
    for tool in ("zpool", "zfs"):
        with open(os.path.join(WRAPPERS, tool), "w") as f:
            f.write('#!/bin/sh\necho "%s $*" >> %s\nexec /usr/sbin/%s "$@"\n' % (tool, LOG, tool))
        os.chmod(os.path.join(WRAPPERS, tool), 0o755)
    os.environ["PATH"] = WRAPPERS + ":" + os.environ["PATH"]


def counted(fn):
    """Run fn(); return (its result, seconds, [[tool, subcommand], ...] it spawned)."""
    open(LOG, "w").close()
    t0 = time.monotonic()
    result = fn()
    dt = time.monotonic() - t0
    with open(LOG) as f:
        procs = [line.split()[:2] for line in f]
    return result, dt, procs
