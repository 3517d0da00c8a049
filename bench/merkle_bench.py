"""Benchmark: the check before a promotion by Merkle tree against a full content digest, after a
1% change of a 1 GiB tree, in lab1 (see bench/guest/test_bench_merkle.py); writes
bench/results/merkle.md.

    python3 bench/merkle_bench.py      (lab1 up, scripts/env.sh sourced)
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
                        "-q", "-s", "tests/test_bench_merkle.py"], capture_output=True, text=True, check=False)
    lines = [ln for ln in r.stdout.splitlines() if ln.startswith("BENCH_JSON=")]
    if not lines:
        sys.exit("benchmark failed:\n" + r.stdout[-4000:] + r.stderr[-2000:])
    g = json.loads(lines[0].split("=", 1)[1])
    med = {k: statistics.median(x[k] for x in g["rounds"]) for k in ("merkle_s", "digest_s", "merkle_full_s", "source_tree_s")}
    ratio = med["merkle_s"] / med["digest_s"]
    with open(os.path.join(REPO, "bench", "results", "merkle.md"), "w") as f:
        f.write("# Merkle verification against a full content digest\n\n")
        f.write("Measured by `bench/merkle_bench.py` on %s in lab1 (a QEMU/TCG guest, one vCPU, on this project's "
                "2-core machine: absolute times are the lab's, the ratio is the point).\n\n"
                % time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()))
        f.write("A tree of %d MiB (%d files of 1 MiB, 64 to a directory, incompressible) and its copy (a local "
                "`zfs receive`, as a replica's). Each round rewrites 1%% of the files (%d), snapshots, sends the "
                "incremental to the copy, then checks the copy's snapshot three ways, each through "
                "`helix.zfs.zfs_info` (a temporary read-only clone included): its Merkle tree from the copy's kept "
                "tree of the round before (what a cut-over does), a full content digest (`content_digest`, what "
                "cut-overs did before), and a full Merkle tree (`merkle_full`).\n\n"
                % (g["mib"], g["files"], g["rounds"][0]["changed_files"]))
        f.write("| round | Merkle, incremental (s) | bytes it read | content digest (s) | Merkle, full (s) | source's tree (s) |\n"
                "|---|---|---|---|---|---|\n")
        for i, x in enumerate(g["rounds"], 1):
            row = (i, x["merkle_s"], x["merkle_read_bytes"], x["digest_s"], x["merkle_full_s"], x["source_tree_s"])
            f.write("| %d | %.2f | %d | %.2f | %.2f | %.2f |\n" % row)
        row = (med["merkle_s"], med["digest_s"], med["merkle_full_s"], med["source_tree_s"])
        f.write("| median | %.2f | | %.2f | %.2f | %.2f |\n\n" % row)
        f.write("Incremental Merkle check / full content digest: **%.1f%%** of the time (goal: at most 10%%). "
                "The copy's first tree (everything read) took %.1f s.\n" % (100 * ratio, g["first_tree_s"]))
    print(json.dumps({"ratio": round(ratio, 3), **med}))


if __name__ == "__main__":
    main()
