"""Benchmark: helix.zfs.zfs_snapshot against sanoid (Debian), same run in the lab: one atomic
snapshot of a 500-dataset tree, and pruning 10,000 snapshots to "keep 24 frequent".
See bench/guest/test_bench_zfs_snapshot.py for the method.

    python3 bench/zfs_snapshot_bench.py [--host lab1]     (lab up, scripts/env.sh sourced)
"""
import argparse
import json
import os
import subprocess
import sys
import time

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--host", default="lab1")
    a = ap.parse_args()
    r = subprocess.run([sys.executable, os.path.join(REPO, "tests", "integration", "run_guest.py"),
                        "--host", a.host, "--suite", os.path.join(REPO, "bench", "guest"), "--",
                        "-q", "-s", "tests/test_bench_zfs_snapshot.py"], capture_output=True, text=True, check=False)
    lines = [ln for ln in r.stdout.splitlines() if ln.startswith("BENCH_JSON=")]
    if not lines:
        sys.exit("benchmark failed:\n" + r.stdout[-4000:] + r.stderr[-2000:])
    g = json.loads(lines[0].split("=", 1)[1])
    hp, sp = g["helix_prune"], g["sanoid_prune"]
    scale = g["prune_datasets"] / g["sanoid_datasets"]
    est = sp["seconds"] * scale
    gone_h = g["helix_snapshots_before"] - g["helix_snapshots_after"]
    gone_s = g["sanoid_snapshots_before"] - g["sanoid_snapshots_after"]
    out = os.path.join(REPO, "bench", "results", "zfs_snapshot.md")
    with open(out, "w") as f:
        f.write("# zfs_snapshot against sanoid %s\n\n" % "(Debian 2.1.0)")
        f.write("Measured by `bench/zfs_snapshot_bench.py` on %s on %s (OpenZFS 2.3, QEMU/TCG), both tools "
                "in the same run, every zfs process counted.\n\n" % (time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
                                                                     a.host))
        f.write("## One snapshot of a tree of %d datasets\n\n" % (g["atomic_n"] + 1))
        f.write("| | wall (s) | zfs processes | `zfs snapshot` calls | distinct createtxg |\n|---|---|---|---|---|\n")
        f.write("| helix.zfs.zfs_snapshot, `recursive: true` | %.1f | %d | %d | %d |\n" % (
            g["helix_atomic"]["seconds"], g["helix_atomic"]["processes"], g["helix_atomic"]["zfs_snapshot"],
            g["helix_atomic"]["createtxgs"]))
        for mode in ("yes", "zfs"):
            s = g["sanoid_atomic_" + mode]
            f.write("| sanoid `--take-snapshots`, `recursive = %s` | %.1f | %d | %d | %d |\n" % (
                mode, s["seconds"], s["processes"], s["zfs_snapshot"], s["createtxgs"]))
        f.write("\nOne createtxg means one transaction: the snapshots are atomic. sanoid's default "
                "(`recursive = yes`) takes one snapshot per dataset; its `recursive = zfs` is atomic too.\n\n")
        f.write("## Pruning to \"keep 24 frequent\"\n\n")
        f.write("helix prunes %d datasets x %d snapshots (%d snapshots, %d destroyed). sanoid prunes %d of the "
                "datasets (%d snapshots, %d destroyed): it runs one process per destroy, so its cost per "
                "snapshot is measured there and scaled x%.0f to the same %d snapshots, as a labelled estimate.\n\n"
                % (g["prune_datasets"], g["per_dataset"], g["helix_snapshots_before"], gone_h, g["sanoid_datasets"],
                   g["sanoid_snapshots_before"], gone_s, scale, g["helix_snapshots_before"]))
        f.write("| | snapshots | wall (s) | zfs processes | `zfs destroy` calls | `zfs program` calls |\n"
                "|---|---|---|---|---|---|\n")
        f.write("| helix.zfs.zfs_snapshot | %d | %.1f | %d | %d | %d |\n" % (
            g["helix_snapshots_before"], hp["seconds"], hp["processes"], hp["zfs_destroy"], hp["zfs_program"]))
        f.write("| sanoid `--prune-snapshots`, measured | %d | %.1f | %d | %d | 0 |\n" % (
            g["sanoid_snapshots_before"], sp["seconds"], sp["processes"], sp["zfs_destroy"]))
        f.write("| sanoid, scaled to %d (estimate) | %d | %.0f | %d | %d | 0 |\n\n" % (
            g["helix_snapshots_before"], g["helix_snapshots_before"], est, sp["processes"] * scale,
            sp["zfs_destroy"] * scale))
        f.write("helix destroys in channel programs of up to %d snapshots each, one transaction per program.\n\n"
                % g.get("program_batch", 0))
        f.write("Speed-up on pruning: %.1fx (goal: at least 20x).\n" % (est / hp["seconds"]))
    with open(os.path.join(REPO, "tests", "output", "zfs_snapshot_bench.json"), "w") as f:
        json.dump(g, f)
    print(open(out).read())


if __name__ == "__main__":
    main()
