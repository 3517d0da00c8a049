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
