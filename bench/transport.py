"""Throughput through the replication transport (roles/transport: ssh inside WireGuard, the
replication user, its forced command, zfs allow) against plain root ssh, in the same run, on the
same hosts and data.

Each round sends the same snapshot from lab1 to lab2 twice, once each way, in alternating order:
  root:      zfs send | ssh root@10.77.0.2 'zfs receive ...'     (the lab's root key, no tunnel)
  transport: zfs send | ssh -F /etc/helix-transport/ssh_config lab2 'zfs receive ...'  (in wg0)
with the receive flags the forced command requires; the received copy is destroyed (as root)
between rounds. Both cross the lab's private network (eth1); the transport's ssh runs inside
the WireGuard tunnel over it, so the ratio is what the tunnel's second encryption, the
restricted user and the forced command cost together.

    python3 bench/transport.py [--mib 128] [--rounds 5] [--out bench/results/transport.md]

Needs the lab up with lab1 and lab2 (lab/helix-lab up) and scripts/env.sh sourced; applies the
transport role to lab1 and lab2 and makes (then destroys) pool tr on both.
"""
import argparse
import os
import shlex
import statistics
import subprocess
import time

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
RECV = "env LC_ALL=C LANG=C zfs receive -s -u -o canmount=noauto -o setuid=off -o exec=off"


def lab(host, command):
    return subprocess.run(["bash", os.path.join(REPO, "lab/helix-lab"), "ssh", host, command],
                          capture_output=True, text=True, check=True).stdout


def send(ssh, target):
    """One full send lab1:tr/src@b -> lab2:TARGET through SSH (ending in the host); -> seconds
    (timed on lab1)."""
    out = lab("lab1", "s=$(date +%%s.%%N); zfs send tr/src@b | %s %s; e=$(date +%%s.%%N); echo \"$s $e\""
              % (ssh, "'%s %s'" % (RECV, target)))
    start, end = map(float, out.split()[-2:])
    return end - start


# The direct way (zfs_replicate's direct_stream): the forced command answers the ssh with a one-shot
# port on lab2's tunnel address and a token; the stream goes there, outside ssh.
DIRECT = r"""
import socket, subprocess, sys
send = subprocess.Popen(["zfs", "send", "tr/src@b"], stdout=subprocess.PIPE)
ssh = subprocess.Popen(["ssh", "-F", "/etc/helix-transport/ssh_config", "lab2", "helix-direct " + sys.argv[1]],
                       stdin=subprocess.DEVNULL, stdout=subprocess.PIPE)
_word, address, port, token = ssh.stdout.readline().split()
sock = socket.create_connection((address.decode(), int(port)))
sock.sendall(token + b"\n")
while True:
    chunk = send.stdout.read(1 << 20)
    if not chunk:
        break
    sock.sendall(chunk)
sock.close()
ssh.stdout.read()
sys.exit(ssh.wait() or send.wait())
"""


def send_direct(target):
    out = lab("lab1", "s=$(date +%%s.%%N); python3 -c %s %s; e=$(date +%%s.%%N); echo \"$s $e\""
              % (shlex.quote(DIRECT), shlex.quote("%s %s" % (RECV, target))))
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
    ways = {"root": "ssh -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -o LogLevel=ERROR root@10.77.0.2",
            "transport": "ssh -F /etc/helix-transport/ssh_config lab2",
            "transport-direct": None}
    times = {w: [] for w in ways}
    order = list(ways)
    for r in range(a.rounds):
        for w in order[r % 3:] + order[:r % 3]:  # each way goes first, second and third in turn
            times[w].append(send(ways[w], "tr/in/" + w) if ways[w] else send_direct("tr/in/" + w))
            lab("lab2", "zfs destroy -r tr/in/%s" % w)
    for h in ("lab1", "lab2"):
        lab(h, "zpool destroy -f tr; rm -f /var/tmp/tr.img")
    med = {w: statistics.median(t) for w, t in times.items()}
    rate = {w: a.mib / med[w] for w in ways}
    ratio = rate["transport"] / rate["root"]
    direct = rate["transport-direct"] / rate["root"]
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
    lines += ["", "Transport (ssh in the tunnel) / root ssh throughput: **%.2fx**; transport with the stream direct"
              " in the tunnel (zfs_replicate's `direct_stream`) / root ssh: **%.2fx** (goal: at least 0.9x)."
              % (ratio, direct), "",
              "Both cross the lab's private network (eth1, 10.77.0.0/24). root is plain ssh to lab2's address there;",
              "the transport is ssh inside the WireGuard tunnel (wg0) over that network, so its figure holds the",
              "second encryption layer, the forced command (a Python start and a check before `zfs receive`",
              "runs) and a non-root receive (`zfs allow`). transport-direct sends the same command over that ssh, but",
              "the stream goes to a one-shot TCP port the forced command opens on lab2's tunnel address, so it is",
              "encrypted once (by WireGuard), like root's is once (by ssh)."]
    with open(a.out, "w") as f:
        f.write("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
