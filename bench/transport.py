"""Throughput through the replication transport (roles/transport: the replication user, its
forced command, zfs allow) against plain root ssh, in the same run, on the same hosts and data.

Each round sends the same snapshot from lab1 to lab2 twice, once each way, in alternating order:
  root:      zfs send | ssh lab2 'zfs receive ...'                    (the lab's root key)
  transport: zfs send | ssh -F /etc/helix-transport/ssh_config lab2 'zfs receive ...'
with the receive flags the forced command requires; the received copy is destroyed (as root)
between rounds. Both go over the same ssh path between the guests (the lab's QEMU user network),
so the ratio is what the restricted user and the forced command cost, not the network.

    python3 bench/transport.py [--mib 128] [--rounds 5] [--out bench/results/transport.md]

Needs the lab up with lab1 and lab2 (lab/helix-lab up) and scripts/env.sh sourced; applies the
transport role to lab1 and lab2 and makes (then destroys) pool tr on both.
"""
import argparse
import os
import statistics
import subprocess
import time

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
RECV = "env LC_ALL=C LANG=C zfs receive -s -u -o canmount=noauto -o setuid=off -o exec=off"


def lab(host, command):
    return subprocess.run(["bash", os.path.join(REPO, "lab/helix-lab"), "ssh", host, command],
                          capture_output=True, text=True, check=True).stdout


def send(ssh, target):
    """One full send lab1:tr/src@b -> lab2:TARGET through SSH; -> seconds (timed on lab1)."""
    out = lab("lab1", "s=$(date +%%s.%%N); zfs send tr/src@b | %s lab2 %s; e=$(date +%%s.%%N); echo \"$s $e\""
              % (ssh, "'%s %s'" % (RECV, target)))
    start, end = map(float, out.split()[-2:])
    return end - start


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--mib", type=int, default=128)
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--out", default=os.path.join(REPO, "bench/results/transport.md"))
    a = ap.parse_args()
    for h in ("lab1", "lab2"):
        lab(h, "zpool destroy -f tr 2>/dev/null; rm -f /var/tmp/tr.img; truncate -s %dM /var/tmp/tr.img; "
               "zpool create -f -O mountpoint=/tr -O compression=off tr /var/tmp/tr.img" % (a.mib * 3 + 256))
    lab("lab1", "zfs create tr/src && head -c %dM /dev/urandom > /tr/src/data && zfs snapshot tr/src@b" % a.mib)
    lab("lab2", "zfs create tr/in")
    subprocess.run(["ansible-playbook", "-i", "inventories/lab", "-i", "tests/transport/hosts.yml", "--limit", "lab1,lab2",
                    "tests/transport/transport.yml"], cwd=REPO, check=True, capture_output=True)
    ways = {"root": "ssh", "transport": "ssh -F /etc/helix-transport/ssh_config"}
    times = {w: [] for w in ways}
    for r in range(a.rounds):
        for w in (("root", "transport") if r % 2 == 0 else ("transport", "root")):
            times[w].append(send(ways[w], "tr/in/" + w))
            lab("lab2", "zfs destroy -r tr/in/%s" % w)
    for h in ("lab1", "lab2"):
        lab(h, "zpool destroy -f tr; rm -f /var/tmp/tr.img")
    med = {w: statistics.median(t) for w, t in times.items()}
    rate = {w: a.mib / med[w] for w in ways}
    ratio = rate["transport"] / rate["root"]
    lines = [
        "# Throughput: the replication transport against plain root ssh",
        "",
        "`python3 bench/transport.py --mib %d --rounds %d`, %s, lab1 -> lab2 (QEMU/TCG guests, one vCPU"
        % (a.mib, a.rounds, time.strftime("%Y-%m-%d")),
        "each, on this project's 2-core machine). A full send of %d MiB of random data, uncompressed, each way"
        % a.mib,
        "%d times in alternating order; median wall time on the sender." % a.rounds,
        "",
        "| way | median s | MiB/s | runs (s) |",
        "|---|---|---|---|",
    ]
    for w in ways:
        lines.append("| %s | %.2f | %.1f | %s |" % (w, med[w], rate[w], ", ".join("%.2f" % t for t in times[w])))
    lines += ["", "Transport / root ssh throughput: **%.2fx** (goal: at least 0.9x)." % ratio, "",
              "Both ways use the same ssh path between the guests; the transport adds the forced command (a Python",
              "start and a check before `zfs receive` runs) and a non-root receive (`zfs allow`). The WireGuard",
              "tunnel (issue 18's next part) is not in this figure."]
    with open(a.out, "w") as f:
        f.write("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
