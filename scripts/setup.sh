#!/usr/bin/env bash
# Install everything the project needs on a fresh Debian 12 machine (run as root):
# host packages for the lab, and the controller venv in $HELIX_CACHE (reused when the
# requirements are unchanged). Idempotent and quick when everything is already there.
# `setup.sh packages` installs only the host packages (all the lab image build needs).
set -euo pipefail
# shellcheck source=scripts/env.sh
. "$(dirname "$0")/env.sh"

# prometheus: for its promtool (tests/promtool). nbdkit: the lab's power-cut disks (a write-back
# cache in front of a data disk that loses what the guest has not flushed when it is cut).
apt_pkgs=(qemu-system-x86 qemu-utils debootstrap e2fsprogs netcat-openbsd openssh-client
          rsync zstd git ca-certificates shellcheck prometheus nbdkit)
missing=()
for p in "${apt_pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ "${#missing[@]}" -gt 0 ]; then
  echo "[setup] apt-get install ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  # Only promtool is wanted: where systemd runs, don't leave a Prometheus server listening.
  if [[ " ${missing[*]} " == *" prometheus "* ]] && [ -d /run/systemd/system ]; then
    systemctl disable --now prometheus >/dev/null 2>&1 || true
  fi
fi

[ "${1:-}" = packages ] && exit 0

# venvs are not relocatable, so build in place; the stamp marks a complete install.
if [ ! -e "$HELIX_VENV/.helix-complete" ]; then
  echo "[setup] creating the controller venv $HELIX_VENV"
  rm -rf "$HELIX_VENV"
  python3 -m venv "$HELIX_VENV"
  "$HELIX_VENV/bin/pip" install -q --disable-pip-version-check -U pip
  "$HELIX_VENV/bin/pip" install -q --disable-pip-version-check \
    -r "$HELIX_REPO/requirements/controller.txt" -c "$HELIX_REPO/requirements/constraints.txt"
  touch "$HELIX_VENV/.helix-complete"
fi
helix_link_collection
echo "[setup] ready: venv $HELIX_VENV, ansible-core $("$HELIX_VENV/bin/python" -c 'import ansible.release as r; print(r.__version__)')"
