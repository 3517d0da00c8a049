"""Benchmark: helix.zfs.zfs_replicate against syncoid (Debian) and a bare
`zfs send | ssh zfs receive`, lab1 -> lab2, same run: 1 GiB of incompressible data, then the
incremental no-op over a 200-dataset tree. See bench/guest/test_bench_zfs_replicate.py.

    python3 bench/zfs_replicate_bench.py      (lab1 and lab2 up, scripts/env.sh sourced)
"""
import json
import os
import statistics
import subprocess
import sys
import time

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def main():
    r = subprocess.run([sys.executable, os.path.join(REPO, "tests", "integration", "run_guest.py"),
                        "--suite", os.path.join(REPO, "bench", "guest"), "--",
                        "-q", "-s", "tests/test_bench_zfs_replicate.py"], capture_output=True, text=True, check=False)
    lines = [ln for ln in r.stdout.splitlines() if ln.startswith("BENCH_JSON=")]
    if not lines:  # the tree phase did not finish: report the full-send phase alone
        lines = [ln.replace("BENCH_JSON_PART=", "BENCH_JSON=") for ln in r.stdout.splitlines()
                 if ln.startswith("BENCH_JSON_PART=")]
    if not lines:
        sys.exit("benchmark failed:\n" + r.stdout[-4000:] + r.stderr[-2000:])
    g = json.loads(lines[0].split("=", 1)[1])
    with open(os.path.join(REPO, "tests", "output", "zfs_replicate_bench.json"), "w") as f:
        json.dump(g, f)
    out = os.path.join(REPO, "bench", "results", "zfs_replicate.md")
    kept = ""
    if not g["tree"] and os.path.exists(out):  # keep the last measured no-op section, labelled
        old = open(out).read()
        if "## Incremental no-op" in old:
            kept = old[old.index("## Incremental no-op"):].split("Notes on this run")[0].rstrip() + "\n"
            first = old.splitlines()[2] if len(old.splitlines()) > 2 else ""
            kept = kept.replace("## Incremental no-op", "## Incremental no-op (from an earlier run: %s)"
                                % first.split(" on ", 1)[-1].split(",")[0], 1)
    with open(out, "w") as f:
        f.write("# zfs_replicate against syncoid and a bare pipe\n\n")
        f.write("Measured by `bench/zfs_replicate_bench.py` on %s, lab1 -> lab2 over ssh (QEMU/TCG guests on one "
                "2-core machine: absolute speeds are the lab's, the ratios are the point).\n\n"
                % time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()))
        f.write("## %d MiB of incompressible data, full send: %d interleaved rounds, medians\n\n"
                % (g["mib"], g["rounds"]))
        f.write("| | wall (s) | MiB/s | ratio to the bare pipe | every run's MiB/s | zfs processes | ssh processes |\n"
                "|---|---|---|---|---|---|---|\n")
        med = {k: statistics.median(x["mib_per_s"] for x in g[k]) for k in ("bare", "helix", "syncoid")}
        for key, label in (("bare", "bare `zfs send -L -e -c | ssh zfs receive -u`"),
                           ("helix", "helix.zfs.zfs_replicate (defaults; with listing, verification, bookmark)"),
                           ("syncoid", "syncoid `--no-sync-snap` (its defaults)")):
            xs = g[key]
            row = (label, statistics.median(x["seconds"] for x in xs), med[key], med[key] / med["bare"],
                   ", ".join("%.2f" % x["mib_per_s"] for x in xs), xs[0]["zfs"], xs[0]["ssh"])
            f.write("| %s | %.1f | %.2f | %.2fx | %s | %d | %d |\n" % row)
        stream = statistics.median(x["stream_bytes"] / 1048576 / x["stream_seconds"] for x in g["helix"])
        f.write("\nhelix's own report of the stream alone (bytes / seconds, without its listing, "
                "verification and bookmark): median %.2f MiB/s, %.2fx the bare pipe.\n" % (stream, stream / med["bare"]))
        f.write("\nGoal: at least 0.95x the bare pipe's throughput, and at least syncoid's.\n\n")
        if not g["tree"]:
            f.write(kept or "The incremental no-op over a tree was not measured in this run (HELIX_BENCH_TREE=0).\n")
        elif "helix_noop" not in g:
            f.write("The incremental no-op over %d datasets did not complete in this run.\n" % g["tree"])
        else:
            f.write("## Incremental no-op over %d datasets\n\n" % g["tree"])
            f.write("| | wall (s) | zfs processes | ssh round trips |\n|---|---|---|---|\n")
            for key, label in (("helix_noop", "helix.zfs.zfs_replicate, `recursive: true`"),
                               ("syncoid_noop", "syncoid `--recursive`")):
                x = g[key]
                f.write("| %s | %.1f | %d | %d |\n" % (label, x["seconds"], x["zfs"], x["ssh"]))
    print(open(out).read())


if __name__ == "__main__":
    main()
