"""Benchmark: 1,000 datasets with 5 properties each, converged by one helix.zfs.zfs_dataset
call, against community.general.zfs once per dataset (from the `ansible` PyPI package), same
run on lab1. Then, through Ansible: the helix no-op task against the floor, a bare ad-hoc
`ansible -m command -a 'zfs get ...'` of the same properties.

    python3 bench/zfs_dataset_many.py      (lab up, scripts/env.sh sourced)
"""
import json
import os
import subprocess
import sys
import tempfile
import time

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
N = int(os.environ.get("HELIX_BENCH_N", "1000"))


def timed(cmd):
    t0 = time.monotonic()
    r = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if r.returncode != 0:
        sys.exit("%s failed:\n%s%s" % (cmd[:3], r.stdout[-2000:], r.stderr[-2000:]))
    return time.monotonic() - t0, r.stdout


def main():
    env = dict(os.environ, HELIX_BENCH_N=str(N))
    r = subprocess.run([sys.executable, os.path.join(REPO, "tests", "integration", "run_guest.py"),
                        "--suite", os.path.join(REPO, "bench", "guest"), "--peers", "--",
                        "-q", "-s", "tests/test_bench_zfs_dataset.py"],
                       capture_output=True, text=True, check=False, env=env)
    lines = [ln for ln in r.stdout.splitlines() if ln.startswith("BENCH_JSON=")]
    if not lines:
        sys.exit("benchmark failed:\n" + r.stdout[-3000:] + r.stderr[-2000:])
    g = json.loads(lines[0].split("=", 1)[1])
    os.makedirs(os.path.join(REPO, "tests", "output"), exist_ok=True)
    with open(os.path.join(REPO, "tests", "output", "zfs_dataset_many.guest.json"), "w") as f:
        json.dump(g, f)  # kept if the Ansible phase below fails
    inv = os.path.join(REPO, "inventories", "lab")
    names = ["benchds/h/%04d" % i for i in range(N)]
    # The state the guest phase left: its last run changed every quota to 2G.
    props = {"quota": "2G", "compression": "lz4", "atime": "off", "recordsize": "64K"}
    get = ("zfs get -Hp -o name,property,value,source "
           "quota,compression,atime,recordsize,com.example:tenant " + " ".join(names))
    runs = {"all": [], "changed": [], "floor": []}
    with tempfile.TemporaryDirectory() as tmp:
        for report in ("all", "changed"):
            items = [{"name": n, "properties": dict(props, **{"com.example:tenant": "t%04d" % i})}
                     for i, n in enumerate(names)]
            with open(os.path.join(tmp, report + ".yml"), "w") as f:
                json.dump([{"hosts": "lab1", "gather_facts": False, "tasks": [
                    {"name": "converge", "helix.zfs.zfs_dataset": {"datasets": items, "report": report}}]}], f)
        # Interleaved, so drift on a noisy machine hits all three alike; medians of 3.
        for _run in range(3):
            for report in ("all", "changed"):
                t, out = timed(["ansible-playbook", "-i", inv, os.path.join(tmp, report + ".yml")])
                if " changed=0 " not in out:
                    sys.exit("the no-op task reported a change:\n" + out[-2000:])
                runs[report].append(t)
            runs["floor"].append(timed(["ansible", "-i", inv, "lab1", "-m", "ansible.builtin.command", "-a", get])[0])
    med = {k: sorted(v)[1] for k, v in runs.items()}
    subprocess.run(["bash", os.path.join(REPO, "lab", "helix-lab"), "ssh", "lab1", "zpool destroy -f benchds"],
                   check=False)
    pn = g["peer_n"]
    est = {k: g["peer_" + k]["seconds"] / pn * N for k in ("create", "noop")}
    out = os.path.join(REPO, "bench", "results", "zfs_dataset_many.md")
    with open(out, "w") as f:
        f.write("# %d datasets x 5 properties: helix.zfs.zfs_dataset vs community.general.zfs\n\n" % N)
        f.write("Measured by `bench/zfs_dataset_many.py` on %s on lab1 (OpenZFS 2.3, QEMU/TCG).\n\n"
                % time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()))
        f.write("## Module cost, in-process in the guest (no SSH)\n\n"
                "helix.zfs converges all %d datasets in one call. community.general.zfs is called once per "
                "dataset, as a loop would, on %d datasets; its per-dataset cost is measured and scaled "
                "linearly to %d (an estimate: each of its calls is independent of the others).\n\n" % (N, pn, N))
        f.write("| run | helix.zfs (%d datasets) | processes | community.general.zfs (%d datasets, measured) "
                "| processes | peer scaled to %d (estimate) | ratio |\n" % (N, pn, N))
        f.write("|---|---|---|---|---|---|---|\n")
        for k in ("create", "noop"):
            h, p = g["helix_" + k], g["peer_" + k]
            f.write("| %s | %.1f s | %d | %.1f s | %d | %.0f s | %.0fx |\n" % (
                k, h["seconds"], h["processes"], p["seconds"], p["processes"], est[k], est[k] / h["seconds"]))
        h = g["helix_change"]
        f.write("\nChanging one property on all %d datasets: %.1f s, %d processes (%d `zfs set`).\n\n"
                % (N, h["seconds"], h["processes"], h["zfs_set_calls"]))
        f.write("Floor in the guest: one `zfs get -Hp` of the 5 properties over the %d datasets: %.2f s.\n\n"
                % (N, g["floor_zfs_get_seconds"]))
        f.write("## Through Ansible (ansible-playbook / ansible from the controller)\n\n"
                "One no-op task over the %d datasets against the floor, a bare ad-hoc "
                "`ansible lab1 -m command -a 'zfs get ...'` of the same properties. Median of 3 interleaved "
                "runs; the goal is at most 1.5x the floor.\n\n" % N)
        f.write("| | wall (s), median | runs | ratio to floor |\n|---|---|---|---|\n")
        for key, label in (("all", "helix.zfs.zfs_dataset, default `report: all`"),
                           ("changed", "helix.zfs.zfs_dataset, `report: changed`"),
                           ("floor", "floor: `ansible -m command -a 'zfs get ...'`")):
            each = ", ".join("%.1f" % t for t in runs[key])
            f.write("| %s | %.1f | %s | %.2fx |\n" % (label, med[key], each, med[key] / med["floor"]))
        f.write("\nWith the default `report: all` the result lists all %d datasets with every property and "
                "its source; building, masking and shipping that result is what the time above the floor "
                "goes to. `report: changed` lists only what changed.\n" % N)
    print(open(out).read())


if __name__ == "__main__":
    main()
