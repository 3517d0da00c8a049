#!/usr/bin/env bash
# Continuous replication (helix.zfs.replication) from lab1 to lab2 and lab3 through the transport
# (helix.zfs.transport), the timer's runs started by hand (systemctl start, as the timer does):
#   1. the role: check, apply (with the transport: the README's playbook), apply again, check again;
#      the first run sends rp/app and rp/app/db
#      in full to both targets, each target's cursor (hold helix-repl-TARGET) on the newest;
#   2. lab3 unreachable (its tunnel address refused on lab1) for three runs, a snapshot before
#      each: lab2 gets each one, lab3's failures count; then lab1 prunes every snapshot zfs lets
#      it: lab3's cursor stays (held), fewer snapshots remain than the runs; the collector's
#      output fires the failing and behind alerts (promtool);
#   3. lab3 back: check mode says it is behind and what it would be sent; the next run sends it
#      incrementally (no full resend); the alerts resolve;
#   4. lab3 dropped from the trees: the next run releases its cursor;
#   5. lab2's retention (its own timer): of four frequent snapshots it keeps two unheld ones, and the held;
#   6. Merkle: the runs gave the source's newest snapshots their root (helix:merkle); the check a
#      promotion runs first (tasks/verify_content.yml) passes for lab2's copy, and when a file of
#      the copy is changed (the snapshot taken again), fails naming it.
# A second tree, rp/hk (to lab2), takes its own snapshots by a policy, with a pre hook that fails:
# no snapshot, the post hook runs told so, the hook alert fires.
# Boots lab3 if it is not up.
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
cd "$repo"
out=$repo/tests/output/replication
rm -rf "$out" && mkdir -p "$out"
lab() { bash lab/helix-lab ssh "$@"; }
fail() { echo "replication: FAILED: $*" >&2; exit 1; }
step() { echo; echo "--- replication: [$SECONDS s] $*"; }
inv=(-i inventories/lab -i tests/replication/hosts.yml)
play() {  # play LOG ARGS...
  local log=$out/$1.log; shift
  local rc=0
  ansible-playbook "${inv[@]}" "$@" >"$log" 2>&1 || rc=$?
  [ "$rc" = 0 ] || { tail -n 30 "$log"; fail "$(basename "$log") failed (rc $rc)"; }
}
changed() { awk '/^lab[0-9] +:/ {for (i = 1; i <= NF; i++) if ($i ~ /^changed=/) {split($i, a, "="); s += a[2]}} END {print s + 0}' "$out/$1.log"; }
run_timer() {  # run_timer N: the timer's service once on lab1; its JSON line to $out/runN.json
  lab lab1 "systemctl start helix-zfs-replicate.service" >/dev/null 2>&1 || true
  lab lab1 "journalctl -u helix-zfs-replicate.service -o cat --no-pager -n 50 | grep '^{' | tail -n 1" >"$out/run$1.json"
}
field() {  # field N TARGET KEY: from run N's result for rp/app -> TARGET
  python3 -c 'import json, sys; r = json.load(open(sys.argv[1]))["trees"][0]["targets"][sys.argv[2]]
v = r.get(sys.argv[3]); print(",".join(s["kind"] for s in v) if sys.argv[3] == "sent" else v)' "$out/run$1.json" "$2" "$3"
}
newest() { lab "$1" "zfs list -H -o guid -t snapshot -s createtxg $2 | tail -n 1"; }
collect() {  # collect NAME: the collector's output on lab1, checked by promtool
  lab lab1 "python3 /usr/local/lib/helix-zfs/helix_zfs_textfile.py --output /tmp/helix_zfs.prom >/dev/null && cat /tmp/helix_zfs.prom" >"$out/$1.prom"
  promtool check metrics <"$out/$1.prom" || fail "promtool check metrics: $1"
}

step "lab3 up; file-backed pools rp on lab1, lab2 and lab3; lab1's rp/app and rp/app/db"
bash lab/helix-lab up -n 3 >"$out/lab-up.log" 2>&1 || { tail -n 20 "$out/lab-up.log"; fail "lab3 did not come up"; }
for h in lab1 lab2 lab3; do
  lab "$h" "systemctl disable -q --now helix-zfs-replicate.timer 2>/dev/null; rm -rf /var/lib/helix-zfs/replication
    rm -f /var/lib/systemd/timers/stamp-helix-zfs-replicate.timer
    zpool destroy -f rp 2>/dev/null; rm -f /var/tmp/rp.img; truncate -s 512M /var/tmp/rp.img
    zpool create -f -O mountpoint=/rp rp /var/tmp/rp.img"
done
lab lab1 "zfs create rp/app && zfs create rp/app/db && head -c 4M /dev/urandom >/rp/app/a && head -c 2M /dev/urandom >/rp/app/db/b &&
  zfs snapshot -r rp/app@s0 && zfs create rp/hk && zfs snapshot rp/hk@s0 && rm -f /var/tmp/post-hook.log"
for h in lab2 lab3; do lab "$h" "zfs create rp/in"; done
cleanup() {
  lab lab1 "ip route del unreachable $lab3_at 2>/dev/null; systemctl disable -q --now helix-zfs-replicate.timer 2>/dev/null
    rm -f /etc/systemd/system/helix-zfs-replicate.* /etc/helix-zfs/replication.json /var/tmp/post-hook.log
    rm -rf /var/lib/helix-zfs/replication; true" || true
  for h in lab1 lab2 lab3; do lab "$h" "zpool destroy -f rp 2>/dev/null; rm -f /var/tmp/rp.img; true" || true; done
}
lab3_at=none
trap cleanup EXIT

step "1. the transport on lab1-3; the replication role on lab1: check, apply, apply again, check again"
# The README's inventory block is this test's inventory, and its playbook this test's playbook.
awk '/^```yaml replication-inventory$/ {on = 1; next} /^```/ {on = 0} on' README.md >"$out/readme-hosts.yml"
python3 -c 'import sys, yaml; sys.exit(yaml.safe_load(open(sys.argv[1])) != yaml.safe_load(open(sys.argv[2])))' \
  "$out/readme-hosts.yml" tests/replication/hosts.yml || fail "the README's replication inventory is not tests/replication/hosts.yml"
awk '/^```yaml replication-playbook$/ {on = 1; print "---"; next} /^```/ {on = 0} on' README.md >"$out/replication.yml"
[ -s "$out/replication.yml" ] || fail "the README has no replication playbook"
# The transport runs once (the README's playbook, with the role); the role alone is checked again.
play check1 --check tests/replication/role.yml
play apply1 "$out/replication.yml"
play apply2 tests/replication/role.yml
play check2 --check tests/replication/role.yml
echo "    changed: apply $(changed apply1), again $(changed apply2), check again $(changed check2)"
[ "$(changed apply2)" = 0 ] || fail "the second apply changed something"
[ "$(changed check2)" = 0 ] || fail "--check after the apply reports changes"
lab lab1 "systemctl is-active -q helix-zfs-replicate.timer" || fail "the timer is not active"
run_timer 1
for t in lab2 lab3; do
  [ "$(field 1 "$t" sent)" = "full,full" ] || fail "the first run did not send rp/app and rp/app/db in full to $t ($(field 1 "$t" sent))"
  [ "$(newest "$t" rp/in/app/db)" = "$(newest lab1 rp/app/db)" ] || fail "$t does not hold lab1's rp/app/db@s0"
  lab lab1 "zfs holds -H rp/app@s0 rp/app/db@s0" | grep -c "helix-repl-$t" | grep -qx 2 || fail "no cursor hold of $t on rp/app@s0 and rp/app/db@s0"
done
lab lab2 "journalctl -q -t helix-transport --no-pager | grep -c ' ran receive .*rp/in/app'" >/dev/null || fail "lab2's receives did not go through the transport's forced command"
[ "$(lab lab1 "cat /var/tmp/post-hook.log")" = "pre_rc=3 snapshots= source=rp/hk" ] || fail "rp/hk's post hook did not run, told the pre hook's rc"
[ "$(lab lab1 "zfs list -H -o name -t snapshot rp/hk")" = "rp/hk@s0" ] || fail "rp/hk got a snapshot although its pre hook failed"
echo "    rp/hk: its pre hook failed (rc 3): no snapshot; its post hook ran, told pre_rc=3"
echo "    run 1: rp/app and rp/app/db in full to lab2 and lab3 ($(field 1 lab2 bytes) and $(field 1 lab3 bytes) bytes); cursors helix-repl-lab2, helix-repl-lab3 on @s0"

step "2. lab3 unreachable for three runs, then lab1 prunes"
lab3_at=$(lab lab1 "awk '\$1 == \"Host\" {h = \$2} h == \"lab3\" && \$1 == \"HostName\" {print \$2}' /etc/helix-transport/ssh_config")
lab lab1 "ip route add unreachable $lab3_at"
for n in 2 3 4; do
  lab lab1 "head -c 1M /dev/urandom >/rp/app/db/c$n && zfs snapshot -r rp/app@s$((n - 1))"
  run_timer "$n"
  [ "$(field "$n" lab2 failed)" = False ] || fail "run $n failed to lab2: $(field "$n" lab2 msg)"
  [ "$(field "$n" lab3 failed)" = True ] || fail "run $n reached lab3"
done
[ "$(newest lab2 rp/in/app/db)" = "$(newest lab1 rp/app/db)" ] || fail "lab2 is not up to date"
# The source prunes all it can: zfs refuses the snapshots a hold keeps.
lab lab1 "for s in \$(zfs list -H -o name -t snapshot -s createtxg rp/app | head -n -1); do zfs destroy -r \$s 2>/dev/null || true; done"
left=$(lab lab1 "zfs list -H -o name -t snapshot rp/app | sed 's/.*@//' | paste -sd' '")
[ "$left" = "s0 s3" ] || fail "after the prune lab1 has $left, not s0 (lab3's cursor) and s3 (the newest, lab2's)"
echo "    runs 2-4: lab2 got s1, s2, s3; lab3 failed 3 times ($(field 4 lab3 msg | cut -c1-80)...); the prune left $left (s0: lab3's cursor)"
# The alert test renders the rules with a lag of 60 s: lab3 must be more than that behind (and
# lab2, just sent, less) when the collector runs.
behind=$(lab lab1 "echo \$((\$(date +%s) - \$(python3 -c 'import json; print(json.load(open(\"/var/lib/helix-zfs/replication/rp%2Fapp--lab3.json\"))[\"last_success\"])')))")
[ "$behind" -ge 65 ] || sleep $((65 - behind))
collect down
lab3_age=$(python3 - "$out/down.prom" <<'EOF'
import re, sys
text = open(sys.argv[1]).read()
now = float(re.search(r"^helix_zfs_collector_last_run_timestamp_seconds (\S+)", text, re.M).group(1))
last = float(re.search(r'^helix_zfs_replication_target_last_success_timestamp_seconds\{dataset="rp/app",target="lab3"\} (\S+)', text, re.M).group(1))
s = int(5 * 60 + now - last)
print("%dm %ds" % (s // 60, s % 60))
EOF
)

step "3. lab3 back: check mode says what it would get; the next run sends it incrementally"
lab lab1 "ip route del unreachable $lab3_at"
play check3 --check tests/replication/role.yml
grep -o "rp/app -> lab3: [^\"']*" "$out/check3.log" | head -n 1 >"$out/behind"
grep -q "behind, the next run sends .* (incremental)" "$out/behind" || { cat "$out/behind"; fail "check mode does not say lab3 is behind"; }
# Run 5 is not waited for: while it sends to lab3 (at 512 KiB/s, its bandwidth), the collector
# says how much is left of that send.
lab lab1 "systemctl start --no-block helix-zfs-replicate.service"
left_seen=0
for i in $(seq 1 90); do
  left=$(lab lab1 "python3 /usr/local/lib/helix-zfs/helix_zfs_textfile.py --output /tmp/p.prom >/dev/null
    awk '/^helix_zfs_replication_target_bytes_remaining\{dataset=\"rp\/app\",target=\"lab3\"\}/ {printf \"%d\", \$2}' /tmp/p.prom")
  [ "${left:-0}" -gt "$left_seen" ] && left_seen=$left
  state=$(lab lab1 "systemctl show -p ActiveState --value helix-zfs-replicate.service")
  [ "$state" = activating ] || [ "$i" -lt 3 ] || break
  sleep 1
done
lab lab1 "journalctl -u helix-zfs-replicate.service -o cat --no-pager -n 50 | grep '^{' | tail -n 1" >"$out/run5.json"
[ "$left_seen" -gt 0 ] || fail "the collector never showed bytes left of the send to lab3"
[ "$(field 5 lab3 failed)" = False ] || fail "run 5 failed to lab3: $(field 5 lab3 msg)"
case "$(field 5 lab3 sent)" in *full*) fail "lab3 was sent a full stream again ($(field 5 lab3 sent))" ;; esac
[ "$(newest lab3 rp/in/app/db)" = "$(newest lab1 rp/app/db)" ] || fail "lab3 did not catch up"
lab lab1 "zfs holds -H rp/app@s0 2>/dev/null" | grep -q helix-repl && fail "s0 is still held after lab3 caught up"
collect back
echo "    $(cat "$out/behind"); run 5: $(field 5 lab3 sent) to lab3, $(field 5 lab3 bytes) bytes in $(field 5 lab3 seconds) s (bandwidth 512K); the collector showed up to $left_seen bytes left"
python3 tests/promtool/prom2test.py "$out/down.prom" "$out/back.prom" tests/promtool/replication_down.yml \
  | sed "s/ AGE ago/ $lab3_age ago/" >"$out/replication_down.test.yml"
bash tests/promtool/render_rules.sh "$out/helix_zfs.rules.yml" -e monitoring_replication_lag_seconds=60
(cd "$out" && promtool test rules replication_down.test.yml >promtool.log 2>&1) || { cat "$out/promtool.log"; fail "the alert test failed"; }
echo "    promtool: HelixZfsReplicationFailing and HelixZfsReplicationTargetBehind fire for lab3 while it was away, and resolve"

step "4. lab3 dropped from the trees: the next run releases its cursor"
python3 - tests/replication/hosts.yml "$out/without-lab3.yml" <<'EOF'
import sys, yaml
inv = yaml.safe_load(open(sys.argv[1]))
tree = inv["replication_nodes"]["hosts"]["lab1"]["replication_trees"][0]
tree["targets"] = [t for t in tree["targets"] if t["host"] != "lab3"]
yaml.safe_dump(inv, open(sys.argv[2], "w"))
EOF
lab lab1 "zfs snapshot -r rp/app@s4"
inv=(-i inventories/lab -i "$out/without-lab3.yml")
play apply3 tests/replication/role.yml
run_timer 6
[ "$(lab lab1 "zfs list -H -o name -t snapshot -r rp/app | xargs zfs holds -H | grep -c helix-repl-lab3" || true)" = 0 ] || fail "lab3's cursor holds are still there"
echo "    run 6: lab3's holds released; lab2's cursor on @s4"

step "5. lab2's own retention (keep 2 frequent) on what it received; lab1 keeps all; held ones stay"
names=$(for k in 4 3 2 1; do date -u -d "@$(( $(date +%s) - k * 60 ))" +helix_%Y%m%dT%H%M%SZ_frequent; done | paste -sd' ')
lab lab1 "for n in $names; do zfs snapshot -r rp/app@\$n; done"
run_timer 7
oldest=$(echo "$names" | cut -d' ' -f1)
lab lab2 "zfs hold keep rp/in/app@$oldest && systemctl start helix-zfs-replicate.service"
kept=$(lab lab2 "zfs list -H -o name -t snapshot -s createtxg rp/in/app rp/in/app/db | grep _frequent | sed 's/.*@//' | sort | uniq -c | awk '{print \$1 \$2}' | tr '\n' ' '")
# Held snapshots are kept and not counted (as in every helix.zfs policy): the newest of each is
# held (lab1's cursor, as the engine keeps it on the target too), and rp/in/app's oldest by the test.
want_kept="1$oldest 2$(echo "$names" | cut -d' ' -f2) 2$(echo "$names" | cut -d' ' -f3) 2$(echo "$names" | cut -d' ' -f4) "
[ "$kept" = "$want_kept" ] || fail "lab2 kept [$kept], not [$want_kept] (two unheld of each, and the held ones)"
[ "$(lab lab1 "zfs list -H -o name -t snapshot rp/app | grep -c _frequent")" = 4 ] || fail "lab1 lost snapshots to lab2's retention"
lab lab2 "zfs release keep rp/in/app@$oldest"
echo "    lab2 pruned rp/in/app/db@$oldest, kept two unheld of each and the held ones (the newest, rp/in/app@$oldest); lab1 all four"

step "6. Merkle: the check before a promotion passes for lab2's copy, and names a file changed on it"
root=$(lab lab1 "zfs get -H -o value helix:merkle rp/app@s4")
[ "${#root}" = 64 ] || fail "rp/app@s4 has no Merkle root ($root)"
play verify-ok tests/replication/verify.yml -e verify_snapshot=s4
lab lab2 "zfs holds -H rp/in/app@s4 | cut -f2 | xargs -r -I{} zfs release {} rp/in/app@s4
  zfs destroy rp/in/app@s4 && zfs set readonly=off rp/in/app && zfs mount rp/in/app && echo damage >>/rp/in/app/a &&
  zfs snapshot rp/in/app@s4 && zfs umount rp/in/app && zfs set readonly=on rp/in/app"
rc=0
ansible-playbook "${inv[@]}" tests/replication/verify.yml -e verify_snapshot=s4 >"$out/verify-bad.log" 2>&1 || rc=$?
[ "$rc" != 0 ] || fail "a copy whose file was changed passed the check"
grep -q "differing paths rp/in/app@s4: a)" "$out/verify-bad.log" || { tail -n 20 "$out/verify-bad.log"; fail "the check did not name the changed file"; }
echo "    rp/app@s4 helix:merkle=${root:0:12}...; lab2's copy passes; changed, it is refused: differing paths rp/in/app@s4: a"
echo "replication: all checks passed"
