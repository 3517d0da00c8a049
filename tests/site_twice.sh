#!/usr/bin/env bash
# The README's main command, as a test: `bash scripts/site.sh` on fresh lab hosts (converge), again
# (idempotence: changed=0 on every host), then in check mode (changed=0 too), then testinfra checks the
# node (tests/site/test_site.py), then the README's runbooks. The converge is the suite's full
# site.yml run on the stock ssh connection with pipelining, as users run it; the idempotence run,
# the check-mode run and the runbooks run on Mitogen (the same modules: ~2x faster). (It was also Molecule's job until wave 2: the
# Molecule scenario converged the same playbook a second time, ~14 minutes, and is folded in here.)
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
log=$repo/tests/output/site
mkdir -p "$log" "$repo/tests/output/junit"
clean_recap() {  # clean_recap LOG: every host ok, nothing changed, failed or unreachable
  local recap
  recap=$(sed -n '/PLAY RECAP/,$p' "$1")
  if ! grep -qE 'ok=[1-9]' <<<"$recap" || grep -qE 'changed=[1-9]|failed=[1-9]|unreachable=[1-9]' <<<"$recap"; then
    echo "$2 was not a clean no-op:" >&2; echo "$recap" >&2; return 1
  fi
}
echo "--- scripts/site.sh run 1"
bash "$repo/scripts/site.sh" | tee "$log/run1.log"
# The converge above is the suite's stock-ssh site.yml run, as users run it. What follows runs on
# Mitogen (as the other lab stages do): the same modules and roles, ~2x faster.
# shellcheck source=scripts/env.sh
. "$repo/scripts/env.sh"
export ANSIBLE_STRATEGY=mitogen_linear ANSIBLE_STRATEGY_PLUGINS="$HELIX_MITOGEN_STRATEGY"
echo "--- scripts/site.sh run 2 (Mitogen)"
bash "$repo/scripts/site.sh" | tee "$log/run2.log"
clean_recap "$log/run2.log" "the second site.yml run"
echo "second run: no changes"
echo "--- scripts/site.sh --check (Mitogen)"
bash "$repo/scripts/site.sh" --check >"$log/check.log" || { tail -n 40 "$log/check.log"; exit 1; }
clean_recap "$log/check.log" "site.yml --check on the converged nodes"
echo "check mode: no changes"

echo "--- testinfra on lab1 (tests/site/test_site.py)"
python3 - "$log/ssh_config" "$repo/lab/helix-lab" <<'PY'
import json, subprocess, sys
lab1, = json.loads(subprocess.run(["bash", sys.argv[2], "instances", "lab1"], check=True,
                                  capture_output=True, text=True).stdout)
with open(sys.argv[1], "w") as f:
    f.write("Host lab1\n  HostName %(address)s\n  Port %(port)s\n  User %(user)s\n  IdentityFile %(identity_file)s\n"
            "  StrictHostKeyChecking no\n  UserKnownHostsFile /dev/null\n  LogLevel ERROR\n  BatchMode yes\n"
            "  ControlMaster auto\n  ControlPersist 60\n  ControlPath %(cp)s\n"
            % dict(lab1, cp=sys.argv[1] + "-cm-%p"))
PY
python3 -m pytest -q -p no:cacheprovider --hosts=ssh://lab1 --ssh-config="$log/ssh_config" \
  --junitxml="$repo/tests/output/junit/site.xml" "$repo/tests/site"

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
