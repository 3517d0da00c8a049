#!/usr/bin/env bash
# The README's main command, as a test: `bash scripts/site.sh` twice. The first run must
# succeed; the second must report changed=0 on every host.
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
log=$repo/tests/output/site
mkdir -p "$log"
for run in 1 2; do
  echo "--- scripts/site.sh run $run"
  bash "$repo/scripts/site.sh" | tee "$log/run$run.log"
done
recap=$(sed -n '/PLAY RECAP/,$p' "$log/run2.log")
if ! grep -qE 'ok=[1-9]' <<<"$recap" || grep -qE 'changed=[1-9]|failed=[1-9]|unreachable=[1-9]' <<<"$recap"; then
  echo "the second site.yml run was not a clean no-op:" >&2; echo "$recap" >&2; exit 1
fi
echo "second run: no changes"

# The README's runbooks, run as written, each checked on the nodes.
mapfile -t runbook < <(awk '/^```sh$/{inblock=1; rb=0; next} /^```$/{inblock=0} inblock && /^# runbook:/{rb=1}
  inblock && rb && /^bash scripts\/site.sh/' "$repo/README.md")
[ "${#runbook[@]}" = 3 ] || { echo "expected 3 runbook lines in the README, found ${#runbook[@]}" >&2; exit 1; }
lab() { bash "$repo/lab/helix-lab" ssh "$1" -- "$2"; }
refres() { lab lab1 "zfs get -Hp -o value refreservation labpool/reserved"; }
echo "--- runbook: ${runbook[0]}"
eval "${runbook[0]}" >"$log/runbook1.log"
[ "$(refres)" = 0 ] || { echo "the reservation was not released" >&2; exit 1; }
echo "--- runbook: ${runbook[1]}"
eval "${runbook[1]}" >"$log/runbook2.log"
[ "$(refres)" -gt 0 ] || { echo "the reservation was not restored" >&2; exit 1; }
# shellcheck source=scripts/env.sh
. "$repo/scripts/env.sh"
v1=$(bao kv get -format=json secret/helix-zfs/tenants/acme | python3 -c 'import json,sys; print(json.load(sys.stdin)["data"]["metadata"]["version"])')
echo "--- runbook: ${runbook[2]}"
eval "${runbook[2]}" >"$log/runbook3.log"
new=$(bao kv get -field=key secret/helix-zfs/tenants/acme)
pending=$(bao kv get -field=pending secret/helix-zfs/tenants/acme 2>/dev/null || true)
old=$(bao kv get -version="$v1" -field=key secret/helix-zfs/tenants/acme)
if [ -n "$pending" ] || [ "$new" = "$old" ]; then echo "the rotation left a pending key or no new key" >&2; exit 1; fi
for h in lab1 lab2; do  # both nodes hold acme: both now open with the new key, not the old
  lab "$h" "printf %s $new | zfs load-key -n labpool/tenants/acme >/dev/null && ! printf %s $old | zfs load-key -n labpool/tenants/acme 2>/dev/null" \
    || { echo "$h: acme does not take the rotated key" >&2; exit 1; }
done
echo "runbooks: reservation released and restored; acme's key rotated on lab1 and lab2, old key kept in Vault's history"
