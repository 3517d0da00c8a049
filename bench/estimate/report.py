"""bench/estimate.sh's report: the check run's estimates (its messages) against the run's own
summaries and wall time. Arguments: OUT RATE WALL CANARY_MIB BIG_MIB SMALL_MIB CANARY_SUMMARY."""
import datetime
import re
import sys

out, rate, wall, canary, big, small, canary_said = sys.argv[1:]
check = open(out + "/check.log").read()
run = open(out + "/run.log").read()
# "Would migrate ... Estimate: 1.03 GB to send (sized by X) at 7M/s, 2m 31s; read-only window 11s; 2m 42s in all."
est = dict(re.findall(r'ok: \[(lab\d)\] => \{\s*"msg": "Would migrate [^"]*?Estimate: ([^"]*)"', check))
phase = re.search(r'Phase est_phase: [^"]*', check).group(0)
said = dict(re.findall(r'"(lab\d) -> lab\d: ([^"]*)"', run))


def secs(text):
    return sum(int(n) * {"h": 3600, "m": 60, "s": 1}[u] for n, u in re.findall(r"(\d+)([hms])", text))


print("# migrate_node's estimates against the runs\n")
print("`bash bench/estimate.sh`, %s, lab1 and lab2 (QEMU/TCG, one vCPU each). A canary of %d MiB migrated" % (datetime.date.today(), int(canary)))
print("first; its summary: `%s` Its throughput (%s a second) is what the phase was estimated with" % (canary_said, rate))
print("(`-e helix_migrate_throughput=%s`, check mode). The phase, serial 1: lab1 sends %d MiB (a snapshot, then" % (rate, int(big)))
print("32 MiB written after it: sized by `zfs send -nvP` plus `written`), lab2 sends %d MiB (no snapshot yet)." % int(small))
print("Read-only window estimated as 4 MiB (the last round's bound) over the throughput plus the default")
print("10 s of cut-over steps.\n")
print("| node | estimate (check mode) | estimated total | measured total | estimated window | measured window |")
print("|---|---|---|---|---|---|")
for host in sorted(est):
    e, s = est[host], said.get(host, "")
    total = re.search(r"sent in ([0-9hms ]+)", s)
    window = re.search(r"read-only for ([0-9hms ]+)", s)
    e_total = re.search(r"; ([0-9hms ]+) in all", e)
    e_window = re.search(r"read-only window ([0-9hms ]+);", e)
    print("| %s | %s | %d s | %s | %d s | %s |" % (
        host, e, secs(e_total.group(1)) if e_total else 0,
        "%d s" % secs(total.group(1)) if total else "?", secs(e_window.group(1)) if e_window else 0,
        "%d s" % secs(window.group(1)) if window else "?"))
print("\nThe phase: estimated `%s`; measured %s s for the whole playbook run (reads, preflight and" % (phase, wall))
print("the phase's checks included).\n")
print("Each node's own summary after the run:\n")
for host in sorted(said):
    print("- `%s -> ...: %s`" % (host, said[host]))
