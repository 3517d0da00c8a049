#!/usr/bin/env bash
# Power cuts at bench scale: tests/powercut.sh with POWERCUT_CUTS cuts (default 20) of lab2
# during fsync-acknowledged writes, per-second snapshots and a replication to lab1, lab2's pool on
# its power-cut disks (nbdkit write-back: what was not flushed is lost). Writes
# bench/results/powercut.md: per cut, the boot time, acknowledged records and snapshots, lost
# ones, scrub errors, and what the next replication sent. Needs the lab up (lab1, lab2) and Vault
# (scripts/vault.sh up); stops at the first cut that loses anything, with the count.
#
#   bash bench/powercut.sh [CUTS]
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
cd "$repo"
# shellcheck source=scripts/env.sh
. scripts/env.sh
helix_link_collection
cuts=${1:-20}
# Its own output dir: scripts/test.sh empties tests/output when it starts.
out=$HELIX_CACHE/run/powercut-bench
t0=$SECONDS
rc=0
POWERCUT_CUTS=$cuts POWERCUT_OUT=$out ANSIBLE_STRATEGY=mitogen_linear ANSIBLE_STRATEGY_PLUGINS="$HELIX_MITOGEN_STRATEGY" \
  bash tests/powercut.sh >"$out.log" 2>&1 || rc=$?
summary=$out/summary.txt
done_cuts=$(wc -l <"$summary")
{
  echo "# Power cuts: nothing acknowledged lost"
  echo
  echo "\`bash bench/powercut.sh $cuts\`, $(date -u +%Y-%m-%d), lab2 (QEMU/TCG, one vCPU), pool pc: a mirror of"
  echo "its two power-cut disks, each behind nbdkit's write-back cache filter, so a cut (nbdkit and QEMU"
  echo "killed at once) loses every write the guest had not flushed. Each cut comes 12 s into a write"
  echo "loop (2 KiB records, each fsync-acknowledged before its number is logged on the controller), a"
  echo "snapshot a second and a replication to lab1 (24 MiB new each time); the last cut waits for the"
  echo "replication's stream instead (192 MiB), so lab2 dies mid-stream and the next replication must"
  echo "resume (lab1's sshd drops the dead sender: ClientAliveInterval 5, CountMax 2). lab2 then boots"
  echo "with the boot role's units, which import the pool by themselves."
  echo
  echo "$done_cuts of $cuts cuts done ($((SECONDS - t0)) s)$([ "$rc" = 0 ] || echo "; the run stopped: see below")."
  echo
  echo "| cut | what came back |"
  echo "|---|---|"
  sed 's/^cut \([0-9]*\): /| \1 | /; s/$/ |/' "$summary"
  echo
  awk '{for (i = 1; i <= NF; i++) if ($i ~ /^(acked|lost|torn)=/) {split($i, a, "="); s[a[1]] += a[2]}}
       END {printf "Totals: %d acknowledged records, %d lost; %d torn records past the last acknowledged one (never acknowledged, so allowed).\n", s["acked"], s["lost"], s["torn"]}' "$summary"
  if [ "$rc" != 0 ]; then echo; echo "The run stopped with: $(grep 'FAILED' "$out.log" | tail -1)"; fi
} >bench/results/powercut.md
cat bench/results/powercut.md
exit "$rc"
