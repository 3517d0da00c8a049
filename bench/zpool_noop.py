"""Benchmark: a no-op run on an existing 3-vdev pool, helix.zfs.zpool against
community.general.zpool (from the `ansible` PyPI package), in the same run on lab1.
Reports wall time per module run and the zpool/zfs processes each spawns.

    python3 bench/zpool_noop.py      (lab up, scripts/env.sh sourced)

Goal (issue 3): at least 2x fewer processes than the peer and no second `zpool status`.
"""
import json
import os
import subprocess
import sys
import time

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def main():
    r = subprocess.run([sys.executable, os.path.join(REPO, "tests", "integration", "run_guest.py"),
                        "--suite", os.path.join(REPO, "bench", "guest"), "--peers", "--",
                        "-q", "-s", "tests/test_bench_zpool.py"], capture_output=True, text=True, check=False)
    lines = [ln for ln in r.stdout.splitlines() if ln.startswith("BENCH_JSON=")]
    if len(lines) != 2:
        sys.exit("benchmark failed:\n" + r.stdout[-3000:] + r.stderr[-2000:])
    res = {}
    for ln in lines:
        res.update(json.loads(ln.split("=", 1)[1]))
    out = os.path.join(REPO, "bench", "results", "zpool_noop.md")
    with open(out, "w") as f:
        f.write("# No-op run on an existing 3-vdev pool: helix.zfs.zpool vs community.general.zpool\n\n")
        f.write("Measured by `bench/zpool_noop.py` on %s, on lab1 (OpenZFS 2.3 under QEMU/TCG). Both "
                "modules run in-process in the guest with real zpool/zfs (no SSH in the timing), "
                "alternating, %d runs each; processes are counted by a wrapper that logs each "
                "zpool/zfs exec and then execs the real binary. The pool: 3 mirror vdevs, "
                "autotrim=on, compression=lz4, declared exactly as it is.\n\n"
                % (time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
                   len(res["by-id"]["helix.zfs.zpool"]["changed"])))
        for style, title in (("by-id", "Disks as /dev/disk/by-id paths (as production declares them)"),
                             ("kernel", "Disks as kernel names (/dev/vdb, ...)")):
            h, p = res[style]["helix.zfs.zpool"], res[style]["community.general.zpool"]
            f.write("## %s\n\n" % title)
            f.write("| module | median wall (s) | zpool/zfs processes | `zpool status` calls | reported changed | failed |\n")
            f.write("|---|---|---|---|---|---|\n")
            for name, m in (("helix.zfs.zpool", h), ("community.general.zpool", p)):
                f.write("| %s | %.2f | %d | %d | %s | %s |\n" % (
                    name, m["median_seconds"], m["processes"], m["zpool_status_calls"],
                    m["changed"], any(m["failed"])))
            f.write("\nRatios (peer / helix): wall %.1fx, processes %.1fx.\n\n" % (
                p["median_seconds"] / h["median_seconds"], p["processes"] / max(h["processes"], 1)))
            for name, m in (("helix.zfs.zpool", h), ("community.general.zpool", p)):
                f.write("%s ran:\n\n```\n%s\n```\n\n" % (name, "\n".join(m["commands"])))
                if any(m["failed"]):
                    f.write("It failed (a no-op declaration): `%s`\n\n" % m["msg"].splitlines()[0])
    print(open(out).read())


if __name__ == "__main__":
    main()
