#!/usr/bin/env bash
# The replication transport (roles/transport) on lab1 and lab2, over WireGuard on the lab's private
# network (eth1):
#   1. the role: --check changes nothing, apply, apply again (changed=0), --check again (changed=0);
#      wg0 is up with the peer, its private key only in the key file made on the node;
#   2. the README's playbook: zfs_replicate lab1:tr/src -> lab2:tr/in/src through it, full then incremental, then
#      nothing to do: run by the forced command as the replication user (its audit log says so),
#      through wg0 (lab2's WireGuard counter for lab1 grows by at least the stream's bytes),
#      received with setuid=off and exec=off: a setuid file in the stream does not run as such;
#      a volume goes the same way (its stream says it is a volume's, so it needs none of the three);
#   3. with the replication key, refused with nothing changed: a shell, zfs destroy, rollback,
#      mount, set, a receive outside the allowlist, -o mountpoint=/, a flag outside the allowlist,
#      a filesystem's stream received as if it were a volume's (without setuid=off);
#      and a host key other than the pinned one is not accepted; a sender that goes silent
#      mid-stream has its receive ended after transport_stall_seconds, with a resume token;
#   4. lab3 joins: on lab1 and lab2 only the peers' files change (authorized_keys, known_hosts,
#      ssh config, WireGuard config, applied to the running tunnel), lab3 reaches lab2 through the
#      transport; again: nothing changes; it leaves: the same files change back, and its key no
#      longer opens lab2;
#   5. lab1's keys rotated: lab2 takes the new ones in the same run; the old ssh key is refused;
#   6. the allowlist from the inventory's declarations (helix_replica_sets): lab1 may now receive
#      its member of the set; promote_replica with helix_transport: its sends go through the forced
#      command, direct in the tunnel; the promoted copy gets setuid and exec back as the old
#      primary declares.
# Boots lab3 if it is not up.
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
cd "$repo"
out=$repo/tests/output/transport
rm -rf "$out" && mkdir -p "$out"
lab() { bash lab/helix-lab ssh "$@"; }
fail() { echo "transport: FAILED: $*" >&2; exit 1; }
step() { echo; echo "--- transport: $*"; }
play() {  # play LOG ARGS...: ansible-playbook on the lab and the test's nodes; prints changed=
  local log=$out/$1.log; shift
  local rc=0
  ansible-playbook -i inventories/lab -i tests/transport/hosts.yml ${limit:+--limit "$limit"} "$@" >"$log" 2>&1 || rc=$?
  [ "$rc" = 0 ] || { tail -n 30 "$log"; fail "$(basename "$log") failed (rc $rc)"; }
}
limit=lab1,lab2
# The tasks that changed HOST in a log: "TASK [...]" lines followed by "changed: [HOST]".
changed_tasks() { awk -v h="$2" '/^TASK \[/ {t = $0; sub(/ \*+$/, "", t)} index($0, "changed: [" h "]") == 1 {print t}' "$out/$1.log" | sort -u; }
changed() { awk '/^lab[0-9] +:/ {for (i = 1; i <= NF; i++) if ($i ~ /^changed=/) {split($i, a, "="); s += a[2]}} END {print s + 0}' "$out/$1.log"; }

step "file-backed pools tr on lab1 and lab2; lab1:tr/src holds a setuid program"
reset() {  # reset HOST: no transport connection left open (ssh's mux), no user, no files
  lab "$1" "pkill -f 'helix-transport-.*\\[mux\\]'; pkill -u helix-repl 2>/dev/null; sleep 0.3
    userdel -f helix-repl 2>/dev/null; rm -rf /var/lib/helix-repl /etc/helix-transport /run/helix-transport-*
    systemctl disable -q --now wg-quick@wg0 2>/dev/null; ip link del wg0 2>/dev/null; rm -rf /etc/wireguard; true"
}
for h in lab1 lab2; do
  reset "$h"
  lab "$h" "zpool destroy -f tr 2>/dev/null; rm -f /var/tmp/tr.img; truncate -s 512M /var/tmp/tr.img
    zpool create -f -O mountpoint=/tr tr /var/tmp/tr.img"
done
lab lab1 "zfs create tr/src && head -c 4M /dev/urandom > /tr/src/data && cp /usr/bin/id /tr/src/id-suid &&
  chmod 4755 /tr/src/id-suid && zfs snapshot tr/src@s1 &&
  zfs create -V 8M tr/vol && udevadm settle && head -c 2M /dev/urandom > /dev/zvol/tr/vol && zfs snapshot tr/vol@s1"
lab lab2 "zfs create tr/in"

# The README's inventory block is this test's inventory (less lab3, which joins in step 4).
awk '/^```yaml transport-inventory$/ {on = 1; next} /^```/ {on = 0} on' README.md >"$out/readme-hosts.yml"
python3 -c '
import sys, yaml
readme, ours = (yaml.safe_load(open(p)) for p in sys.argv[1:])
ours["transport_nodes"]["hosts"].pop("lab3")
sys.exit(readme != ours)' "$out/readme-hosts.yml" tests/transport/hosts.yml || fail "the README's transport inventory is not tests/transport/hosts.yml"

step "1. the role: check, apply, apply again, check again"
play check1 --check tests/transport/transport.yml
lab lab2 "! id helix-repl >/dev/null 2>&1 && [ ! -e /etc/helix-transport ]" || fail "--check changed the node"
play apply1 tests/transport/transport.yml
play apply2 tests/transport/transport.yml
play check2 --check tests/transport/transport.yml
echo "    changed: apply $(changed apply1), again $(changed apply2), check again $(changed check2)"
[ "$(changed apply2)" = 0 ] || fail "the second apply changed something (see $out/apply2.log)"
[ "$(changed check2)" = 0 ] || fail "--check after the apply reports changes (see $out/check2.log)"
lab lab2 "grep -c '^restrict,from=\"10.78.0.1\",command=\"/usr/bin/python3 -I /usr/local/lib/helix-transport/helix_transport_receive.py /etc/helix-transport/receive.json\" ssh-ed25519 ' /var/lib/helix-repl/.ssh/authorized_keys" \
  | grep -qx 1 || fail "lab2's authorized_keys does not hold lab1's key, restricted"
lab lab1 "grep -c '^lab2 ssh-ed25519 ' /etc/helix-transport/known_hosts" | grep -qx 1 || fail "lab1 has not pinned lab2's host key"
lab2_wg=$(lab lab2 "cat /etc/wireguard/wg0.key.pub")
[ "$(lab lab1 "wg show wg0 peers")" = "$lab2_wg" ] || fail "lab1's wg0 does not have lab2 as its peer"
lab lab2 "[ \"\$(wg show wg0 private-key)\" = \"\$(cat /etc/wireguard/wg0.key)\" ] && ! grep -qi privatekey /etc/wireguard/wg0.conf" \
  || fail "lab2's tunnel does not run on its own key file, or its config holds a private key"

step "2. replication lab1 -> lab2 through the transport (the README's playbook)"
t0=$(lab lab2 "date +%s")  # the forced command's log from here on
awk '/^```yaml transport$/ {on = 1; print "---"; next} /^```/ {on = 0} on' README.md >"$out/replicate.yml"
[ -s "$out/replicate.yml" ] || fail "the README has no transport playbook"
lab1_wg=$(lab lab1 "cat /etc/wireguard/wg0.key.pub")
wg_rx() {  # bytes lab2's wg0 received from lab1
  lab lab2 "wg show wg0 transfer" | awk -v k="$lab1_wg" '$1 == k {print $2}'
}
rx0=$(wg_rx)
play send1 "$out/replicate.yml"
rx1=$(wg_rx)
sent=$(grep -o '[0-9]* streams, [0-9]* bytes' "$out/send1.log" | awk '{print $3; exit}')
if [ -z "$sent" ] || [ "$sent" -le 0 ] || [ $((rx1 - rx0)) -lt "$sent" ]; then
  fail "the stream did not go through wg0 (lab2 received $((rx1 - rx0)) bytes from lab1 there; the stream was ${sent:-?})"
fi
echo "    through wg0: the stream was $sent bytes, lab2's tunnel received $((rx1 - rx0)) from lab1"
lab lab1 "zfs snapshot tr/src@s2"
play send2 "$out/replicate.yml"
play send3 "$out/replicate.yml"
[ "$(changed send3)" = 0 ] || fail "a third run with nothing new changed something"
[ "$(lab lab2 "zfs list -H -o guid tr/in/src@s2")" = "$(lab lab1 "zfs list -H -o guid tr/src@s2")" ] \
  || fail "lab2 does not hold lab1's tr/src@s2"
lab lab2 "journalctl -q -t helix-transport --since @$t0 --no-pager | grep -c ' ran receive '" >"$out/received"
[ "$(cat "$out/received")" -ge 2 ] || fail "the receives did not go through the forced command"
[ "$(lab lab2 "journalctl -q -t helix-transport --since @$t0 --no-pager | grep -c ' ran receive .* (direct) from '")" = "$(cat "$out/received")" ] \
  || fail "a receive's stream did not go direct (direct_stream)"
[ "$(lab lab2 "zfs get -H -o value setuid,exec,canmount tr/in/src | paste -sd' '")" = "off off noauto" ] \
  || fail "the copy is not setuid=off exec=off canmount=noauto"
lab lab2 "mkdir -p /mnt/tr && mount -t zfs -o zfsutil,ro tr/in/src /mnt/tr &&
  findmnt -no OPTIONS /mnt/tr | tr , '\n' | grep -qx nosuid && [ -u /mnt/tr/id-suid ] &&
  ! runuser -u nobody -- /mnt/tr/id-suid -u 2>/dev/null; rc=\$?; umount /mnt/tr; exit \$rc" \
  || fail "the received setuid program can still run (as setuid)"
echo "    $(lab lab2 "journalctl -q -t helix-transport --since @$t0 --no-pager | grep -c ' ran '") commands ran through the forced command ($(cat "$out/received") receives); the setuid file is inert"
play volume tests/transport/volume.yml
[ "$(lab lab2 "zfs list -H -o guid tr/in/vol@s1")" = "$(lab lab1 "zfs list -H -o guid tr/vol@s1")" ] || fail "lab2 does not hold lab1's tr/vol@s1"
lab lab2 "journalctl -q -t helix-transport --since @$t0 --no-pager | grep -c ' ran receive .* tr/in/vol \[volume stream\] (direct) from '" \
  | grep -qx 1 || fail "the volume did not go through the forced command as a volume's stream"
echo "    a volume through the transport: its stream said so, received without the filesystem's properties"

step "3. refused with the replication key, and nothing changed"
before=$(lab lab2 "zfs list -H -p -t all -o name,guid -r tr; zfs get -H -o name,value -r mountpoint,readonly tr")
transport="ssh -F /etc/helix-transport/ssh_config lab2"
RECV="env LC_ALL=C LANG=C zfs receive -s -u -o canmount=noauto -o setuid=off -o exec=off"
n=0
while IFS='|' read -r what cmd; do
  rc=0
  lab lab1 "zfs send tr/src@s1 2>/dev/null | $transport $(printf %q "$cmd")" </dev/null >"$out/refused-$n.log" 2>&1 || rc=$?
  if [ "$rc" != 126 ] || ! grep -q "helix-transport: refused" "$out/refused-$n.log"; then
    cat "$out/refused-$n.log"; fail "$what was not refused (rc $rc)"
  fi
  echo "    refused: $what"
  n=$((n + 1))
done <<EOF2
a shell|sh
zfs destroy|zfs destroy -r tr/in/src
zfs rollback|zfs rollback -r tr/in/src@s1
zfs mount|zfs mount tr/in/src
zfs set|zfs set readonly=off tr/in/src
a receive outside the allowlist|$RECV tr/other
a receive with -o mountpoint=/|$RECV -o mountpoint=/ tr/in/evil
a flag outside the allowlist (-F)|$RECV -F tr/in/src
a filesystem's stream without setuid=off, exec=off, canmount=noauto|env LC_ALL=C LANG=C zfs receive -s -u tr/in/evil
EOF2
after=$(lab lab2 "zfs list -H -p -t all -o name,guid -r tr; zfs get -H -o name,value -r mountpoint,readonly tr")
[ "$before" = "$after" ] || fail "a refused command changed lab2's datasets"
# A sender that goes silent mid-stream, as one that lost power (no FIN): the forced command ends
# the receive after transport_stall_seconds (5 here, 300 by default), which keeps a resume token.
lab lab2 "cp -p /etc/helix-transport/receive.json /root/receive.json.kept
  sed -i 's/\"stall_seconds\": [0-9]*/\"stall_seconds\": 5/' /etc/helix-transport/receive.json"
lab lab1 "cat > /root/stall.sh" <<EOF2
t0=\$(date +%s)
{ zfs send tr/src@s1 | head -c 300000; sleep 20; } | { $transport $(printf %q "$RECV tr/in/stalled") >/dev/null 2>&1; echo "\$? \$((\$(date +%s) - t0))" >/root/stall.out; }
EOF2
lab lab1 "sh /root/stall.sh; cat /root/stall.out" >"$out/stalled.log"
read -r stall_rc stall_s <"$out/stalled.log"
lab lab2 "journalctl -q -t helix-transport --since @$t0 --no-pager | grep -q 'stalled .* nothing received for 5 s'" \
  || fail "the forced command did not end the silent sender's receive"
[ "$stall_s" -lt 20 ] || fail "the receive waited for the silent sender (${stall_s} s)"
[ "$(lab lab2 "zfs get -H -o value receive_resume_token tr/in/stalled")" != - ] || fail "the stalled receive kept no resume token"
lab lab2 "zfs receive -A tr/in/stalled; mv /root/receive.json.kept /etc/helix-transport/receive.json"
echo "    a sender silent mid-stream: its receive ended after ${stall_s} s (rc $stall_rc), resumable"
rc=0
lab lab1 "ssh -F /etc/helix-transport/ssh_config -S none -o HostKeyAlias=lab1 lab2 zfs list tr/in" >"$out/hostkey.log" 2>&1 || rc=$?
if [ "$rc" != 255 ] || ! grep -q "Host key verification failed" "$out/hostkey.log"; then
  fail "a host key other than the pinned one was accepted (rc $rc)"
fi
echo "    refused: a host key other than the pinned one"

step "4. lab3 joins, then leaves: only its peers' files change"
bash lab/helix-lab up -n 3 >"$out/lab-up.log" 2>&1 || { tail -n 20 "$out/lab-up.log"; fail "lab3 did not come up"; }
reset lab3
peers_files="TASK [helix.zfs.transport : Give the running tunnel the new config]
TASK [helix.zfs.transport : The peers' host keys, pinned]
TASK [helix.zfs.transport : The peers' keys, each only from its source address and only through the forced command]
TASK [helix.zfs.transport : The transport's ssh client config (ssh -F), one Host per peer]
TASK [helix.zfs.transport : The tunnel's config, one peer per node (public keys only)]"
limit=lab1,lab2,lab3 play join tests/transport/transport.yml
limit=lab1,lab2,lab3 play join-again tests/transport/transport.yml
for h in lab1 lab2; do
  [ "$(changed_tasks join "$h")" = "$peers_files" ] || { changed_tasks join "$h"; fail "lab3 joining changed more than the peers' files on $h"; }
done
[ "$(changed join-again)" = 0 ] || fail "a second run with lab3 changed something"
lab lab3 "ssh -F /etc/helix-transport/ssh_config lab2 zfs list -H -o name tr/in" | grep -qx tr/in \
  || fail "lab3 does not reach lab2 through the transport"
play leave tests/transport/transport.yml
for h in lab1 lab2; do
  [ "$(changed_tasks leave "$h")" = "$peers_files" ] || { changed_tasks leave "$h"; fail "lab3 leaving changed more than the peers' files on $h"; }
done
rc=0
# (lab2's tunnel no longer knows lab3 either: the connection times out.)
lab lab3 "ssh -F /etc/helix-transport/ssh_config -S none -o ConnectTimeout=5 lab2 zfs list -H -o name tr/in" >"$out/left.log" 2>&1 || rc=$?
[ "$rc" = 255 ] || { cat "$out/left.log"; fail "lab3's key still opens lab2 after it left (rc $rc)"; }
echo "    joined and left: 4 files changed on each peer each time (the tunnel took its new config); lab3's key opened lab2, then no more"

step "5. lab1's keys rotated: lab2 takes the new ones in the same run, the old one no longer opens it"
old=$(lab lab1 "cat /var/lib/helix-repl/.ssh/id_ed25519.pub")
old_wg=$(lab lab1 "cat /etc/wireguard/wg0.key.pub")
lab lab1 "cp /var/lib/helix-repl/.ssh/id_ed25519 /root/transport-old-key"
play rotate tests/transport/transport.yml -e 'transport_rotate_key={{ inventory_hostname == "lab1" }}'
new=$(lab lab1 "cat /var/lib/helix-repl/.ssh/id_ed25519.pub")
[ "$old" != "$new" ] || fail "lab1's key did not change"
new_wg=$(lab lab1 "cat /etc/wireguard/wg0.key.pub")
[ "$old_wg" != "$new_wg" ] || fail "lab1's tunnel key did not change"
[ "$(lab lab2 "wg show wg0 peers")" = "$new_wg" ] || fail "lab2's tunnel does not have lab1's new tunnel key alone"
lab lab2 "grep -qF '${new% *}' /var/lib/helix-repl/.ssh/authorized_keys && ! grep -qF '${old% *}' /var/lib/helix-repl/.ssh/authorized_keys" \
  || fail "lab2's authorized_keys does not hold lab1's new key alone"
lab lab1 "ssh -F /etc/helix-transport/ssh_config -S none lab2 zfs list -H -o name tr/in" | grep -qx tr/in \
  || fail "lab1's new key does not open lab2"
rc=0
lab lab1 "sed 's|IdentityFile .*|IdentityFile /root/transport-old-key|' /etc/helix-transport/ssh_config >/root/transport-old.cfg
  ssh -F /root/transport-old.cfg -S none lab2 zfs list tr/in; rc=\$?; rm -f /root/transport-old-key /root/transport-old.cfg; exit \$rc" \
  >"$out/old-key.log" 2>&1 || rc=$?
[ "$rc" = 255 ] || { cat "$out/old-key.log"; fail "lab1's old key still opens lab2 (rc $rc)"; }
echo "    rotated: lab1's new key opens lab2, the old one no longer does"

step "6. promote_replica through the transport: lab2's copy becomes the primary, setuid and exec as lab1 declares"
t0=$(lab lab2 "date +%s")
cat >"$out/promote-vars.yml" <<'EOF2'
helix_transport: true
helix_transport_direct: true
helix_replica_sets:
  tr: [{host: lab1, dataset: tr/src}, {host: lab2, dataset: tr/in/src}]
helix_promote: tr
helix_promote_to: lab2
EOF2
# The role reads the same declaration: lab1 may receive into its member of the set (the old
# primary becomes a replica), through zfs allow on the dataset's parent.
play declared tests/transport/transport.yml -e "@$out/promote-vars.yml"
lab lab1 "python3 -c 'import json; print(\" \".join(json.load(open(\"/etc/helix-transport/receive.json\"))[\"receive\"]))'" >"$out/lab1-receive"
grep -qw tr/src "$out/lab1-receive" || fail "lab1's allowlist lacks tr/src, its member of the replica set ($(cat "$out/lab1-receive"))"
lab lab1 "zfs allow tr" | grep -q "user helix-repl .*receive" || fail "lab1's replication user may not receive under tr"
echo "    declared: lab1 receives into $(cat "$out/lab1-receive") (helix_replica_sets), zfs allow on tr"
limit=localhost,lab1,lab2 play promote playbooks/promote_replica.yml -e "@$out/promote-vars.yml"
limit=localhost,lab1,lab2 play promote-again playbooks/promote_replica.yml -e "@$out/promote-vars.yml"
[ "$(changed promote-again)" = 0 ] || fail "a second promote_replica changed something"
[ "$(lab lab2 "zfs get -H -o value readonly,helix:role tr/in/src | paste -sd' '")" = "off primary" ] || fail "lab2's copy is not the primary"
[ "$(lab lab1 "zfs get -H -o value readonly,helix:role tr/src | paste -sd' '")" = "on replica" ] || fail "lab1's tr/src is not a read-only replica"
[ "$(lab lab2 "zfs get -H -o source setuid,exec tr/in/src | grep -c local")" = 0 ] || fail "setuid/exec are still the receive's on the new primary"
lab lab2 "journalctl -q -t helix-transport --since @$t0 --no-pager | grep -c ' ran receive .* (direct) from '" >"$out/promote-received"
[ "$(cat "$out/promote-received")" -ge 1 ] || fail "promote_replica's sends did not go through the transport"
echo "    promoted over the transport ($(cat "$out/promote-received") direct receives through the forced command); setuid and exec inherited again on lab2"

for h in lab1 lab2; do lab "$h" "zpool destroy -f tr; rm -f /var/tmp/tr.img"; done
reset lab3
echo "transport: all checks passed"
