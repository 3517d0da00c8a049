#!/usr/bin/env bash
# Power cuts on lab2, whose power-cut disks (virtio-helix-c1, -c2) sit behind nbdkit's write-back
# cache (lab/helix_lab.py): a cut kills QEMU and nbdkit at once, so whatever the guest wrote and
# did not flush is lost, as a disk's volatile cache is in a power failure.
#   1. the boot role (helix.zfs.boot) on lab2: check, apply, apply again, check again;
#   2. N cuts (POWERCUT_CUTS, 1; the last one mid-stream): during a write loop (each record fsync-acknowledged, its number
#      logged on the controller), a snapshot every second and a replication to lab1, cut lab2,
#      start it; then the pools are back by themselves (the boot role's units), a scrub finds no
#      error, every acknowledged record and snapshot is there, the encrypted tenant is locked,
#      and the next replication resumes or goes on incrementally (no full resend);
#   3. the encrypted tenant's key comes from Vault on request (the encryption_keys role): loaded
#      and mounted.
# Results: tests/output/powercut/summary.txt (bench/powercut.sh runs more cuts).
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
cd "$repo"
out=${POWERCUT_OUT:-$repo/tests/output/powercut}  # bench/powercut.sh: its own, outside tests/output
rm -rf "$out" && mkdir -p "$out"
cuts=${POWERCUT_CUTS:-1}
lab() { bash lab/helix-lab ssh "$@"; }
fail() { echo "powercut: FAILED: $*" >&2; exit 1; }
step() { echo; echo "--- powercut: $*"; }
play() {  # play LOG ARGS...: ansible-playbook on the lab
  local log=$out/$1.log; shift
  local rc=0
  ansible-playbook -i inventories/lab "$@" >"$log" 2>&1 || rc=$?
  [ "$rc" = 0 ] || { tail -n 30 "$log"; fail "$(basename "$log") failed (rc $rc)"; }
}
changed() { awk '/^lab[0-9] +:/ {for (i = 1; i <= NF; i++) if ($i ~ /^changed=/) {split($i, a, "="); s += a[2]}} END {print s + 0}' "$out/$1.log"; }

step "pool pc on lab2's power-cut disks (a mirror, the VM pool profile), an encrypted tenant with its key in Vault; pcr on lab1"
lab lab2 "zpool destroy -f pc 2>/dev/null; for d in c1 c2; do zpool labelclear -f /dev/disk/by-id/virtio-helix-\$d-part1 2>/dev/null
  zpool labelclear -f /dev/disk/by-id/virtio-helix-\$d 2>/dev/null; done; true"
# Made by site.yml's pool task with the VM pool profile (inventories/profiles/zfs_in_vm.yml).
cat >"$out/pool.yml" <<'EOF2'
helix_site_pools:
  - name: pc
    vdevs: [{type: mirror, disks: [/dev/disk/by-id/virtio-helix-c1, /dev/disk/by-id/virtio-helix-c2]}]
    filesystem_properties: {mountpoint: /pc}
EOF2
play pool playbooks/site.yml --tags pools --limit lab2 -e @inventories/profiles/zfs_in_vm.yml -e "@$out/pool.yml"
[ "$(lab lab2 "zpool get -H -o value ashift pc; zfs get -H -o value atime,logbias,redundant_metadata pc" | paste -sd' ')" = "12 off throughput most" ] \
  || fail "pc does not have the VM profile's properties"
lab lab2 "zfs create pc/data && zfs create -o canmount=off pc/tenants && head -c 16M /dev/urandom >/pc/data/seed && zfs snapshot pc/data@seed"
# As the image has them (masked for boot speed), in case an earlier run applied the boot role.
lab lab2 "systemctl mask -q zfs-import-cache.service zfs-import-scan.service zfs-mount.service zfs-volume-wait.service \
  zfs-load-module.service zfs-import.target systemd-udev-settle.service"
lab lab1 "zpool destroy -f pcr 2>/dev/null; rm -f /var/tmp/pcr.img; truncate -s 1G /var/tmp/pcr.img && zpool create -f pcr /var/tmp/pcr.img"
# What a target needs for root-ssh replication: a cut sender's connection stays open (no FIN
# comes from a dead host), and its zfs receive with it, until sshd gives up on the silent client.
# (helix.zfs.transport's forced command has its own guard: transport_stall_seconds.)
lab lab1 "printf 'ClientAliveInterval 5\nClientAliveCountMax 2\n' >/etc/ssh/sshd_config.d/helix-powercut.conf && systemctl reload ssh"
cleanup() {
  lab lab2 "zpool destroy -f pc 2>/dev/null; true" || true
  lab lab1 "zpool destroy -f pcr 2>/dev/null; rm -f /var/tmp/pcr.img /etc/ssh/sshd_config.d/helix-powercut.conf; systemctl reload ssh" || true
}
trap cleanup EXIT
bao kv metadata delete secret/helix-zfs/tenants/pct >/dev/null 2>&1 || true
play keys0 tests/powercut/keys.yml
play replicate0 tests/powercut/replicate.yml  # the full send: each cut then finds an incremental
lab lab2 "cat >/root/powercut-writer.py" <tests/powercut/writer.py

step "1. the boot role: check, apply, apply again, check again"
play check1 --check tests/powercut/boot.yml
[ "$(lab lab2 "systemctl is-enabled zfs-import-cache.service" || true)" = masked ] || fail "--check changed the units"
play apply1 tests/powercut/boot.yml
play apply2 tests/powercut/boot.yml
play check2 --check tests/powercut/boot.yml
echo "    changed: check $(changed check1), apply $(changed apply1), again $(changed apply2), check again $(changed check2)"
if [ "$(changed apply2)" != 0 ] || [ "$(changed check2)" != 0 ]; then fail "the boot role is not idempotent"; fi
tr -s ' \n' ' ' <"$out/apply2.log" | grep -Eq "keys from Vault: ([^ ]+, )*pc/tenants/pct[,.]" \
  || fail "the boot role does not name pc/tenants/pct as locked at boot"
pools=$(lab lab2 "zpool list -H -o name | sort | paste -sd' '")

summary=$out/summary.txt
: >"$summary"
seq_start=0
for n in $(seq 1 "$cuts"); do
  step "2.$n. cut lab2 during writes, snapshots and a replication"
  # A replication with something to send: 24 MiB more. The last cut waits for
  # the stream instead of 12 s, with 192 MiB to send: the sender dies mid-stream.
  midstream=$([ "$n" = "$cuts" ] && echo 1 || echo 0)
  lab lab2 "head -c $([ "$midstream" = 1 ] && echo 192M || echo 24M) /dev/urandom >/pc/data/more-$n && zfs snapshot pc/data@before-$n"
  lab lab2 "python3 -u /root/powercut-writer.py /pc/data/log $seq_start" >"$out/acked-$n" 2>/dev/null &
  writer=$!
  lab lab2 "i=0; while :; do i=\$((i + 1)); zfs snapshot pc/data@cut$n-\$i && echo cut$n-\$i; sleep 1; done" >"$out/snaps-$n" 2>/dev/null &
  snapper=$!
  ansible-playbook -i inventories/lab tests/powercut/replicate.yml >"$out/replicate-cut$n.log" 2>&1 &
  replicator=$!
  if [ "$midstream" = 1 ]; then
    for _ in $(seq 1 120); do lab lab1 "pgrep -f '[z]fs receive .*pcr/data' >/dev/null" && break; sleep 0.5; done
    sleep 2
  else
    sleep 12
  fi
  bash lab/helix-lab cut lab2 2>>"$out/lab.log"
  wait "$writer" "$snapper" "$replicator" 2>/dev/null || true
  # lab1's receive ends when its sshd drops the dead client (10 s here); then a partial receive
  # (zfs receive -s keeps it) says the cut came mid-stream.
  t0=$SECONDS
  while lab lab1 "pgrep -f '[z]fs receive .*pcr/data' >/dev/null"; do
    [ $((SECONDS - t0)) -lt 90 ] || fail "lab1's zfs receive from the cut sender still runs after 90 s"
    sleep 1
  done
  recv_end=$((SECONDS - t0))
  token=$(lab lab1 "zfs get -H -o value receive_resume_token pcr/data")
  t0=$SECONDS
  bash lab/helix-lab start lab2 2>>"$out/lab.log" || fail "lab2 did not boot after cut $n"
  boot=$((SECONDS - t0))
  # The pools came back by themselves (zfs-import-cache), their datasets mounted.
  lab lab2 "systemctl is-active -q zfs-import-cache.service zfs-mount.service" || fail "the import or mount unit did not run at boot"
  [ "$(lab lab2 "zpool list -H -o name | sort | paste -sd' '")" = "$pools" ] || fail "not every pool is back after cut $n"
  [ "$(lab lab2 "zfs get -H -o value mounted pc/data")" = yes ] || fail "pc/data is not mounted after cut $n"
  [ "$(lab lab2 "zfs get -H -o value keystatus pc/tenants/pct")" = unavailable ] || fail "the encrypted tenant is not locked after cut $n"
  lab lab2 "zpool scrub -w pc && zpool status -x pc" >"$out/scrub-$n"
  errors=$(lab lab2 "zpool status -p pc" | awk '$1 ~ /^(pc|mirror-0|virtio-helix-c[12])$/ {s += $3 + $4 + $5} END {print s + 0}')
  if ! grep -q "is healthy" "$out/scrub-$n" || [ "$errors" != 0 ]; then cat "$out/scrub-$n"; fail "the scrub after cut $n found errors ($errors)"; fi
  # Every acknowledged record, every snapshot that was taken.
  lab lab2 "cat /pc/data/log" | python3 tests/powercut/check_log.py "$out/acked-$n" >"$out/log-$n" || { cat "$out/log-$n"; fail "acknowledged writes lost at cut $n"; }
  lab lab2 "zfs list -H -o name -t snapshot pc/data" | sed 's/^pc\/data@//' | sort >"$out/snaps-after-$n"
  missing=$(sort "$out/snaps-$n" | comm -23 - "$out/snaps-after-$n" | wc -l)
  [ "$missing" = 0 ] || fail "$missing acknowledged snapshots lost at cut $n"
  # The next replication resumes or goes on incrementally.
  play "replicate-after$n" tests/powercut/replicate.yml
  sent=$(grep -o 'sent=[^ ]* resumed=[a-z]*' "$out/replicate-after$n.log" | head -1)
  case "$sent" in *"resumed=yes"*) ;; *sent=full*|*,full*) fail "the replication after cut $n started over ($sent)" ;; esac
  if [ "$token" != - ]; then
    case "$sent" in *"resumed=yes"*) sent="$sent (cut mid-stream; lab1's receive ended ${recv_end} s after the cut)" ;; *) fail "the stream cut at $n left a resume token, and the next replication did not resume ($sent)" ;; esac
  elif [ "$midstream" = 1 ]; then
    sent="$sent (meant to cut mid-stream, but the stream had ended)"
  fi
  [ "$(lab lab1 "zfs list -H -o guid -t snapshot -s createtxg pcr/data | tail -1")" = "$(lab lab2 "zfs list -H -o guid -t snapshot -s createtxg pc/data | tail -1")" ] \
    || fail "lab1's copy is not lab2's newest after cut $n"
  line="cut $n: boot ${boot} s; $(cat "$out/log-$n"); snapshots $(wc -l <"$out/snaps-$n") acknowledged, 0 lost; scrub 0 errors; replication after: $sent"
  echo "    $line"
  echo "$line" >>"$summary"
  seq_start=$(( $(tail -n 1 "$out/acked-$n" 2>/dev/null || echo 0) + 1000 ))
done

step "3. the encrypted tenant's key from Vault, on request"
play keys1 tests/powercut/keys.yml
[ "$(lab lab2 "zfs get -H -o value keystatus,mounted pc/tenants/pct | paste -sd' '")" = "available yes" ] || fail "the tenant's key was not loaded, or it is not mounted"
echo "    pc/tenants/pct: key loaded from Vault, mounted"

echo "powercut: all checks passed"
