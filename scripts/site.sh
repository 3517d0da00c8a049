#!/usr/bin/env bash
# The main job: set up this machine, boot the lab and its Vault, and build the lab storage
# nodes with playbooks/site.yml on inventories/lab. Extra arguments go to ansible-playbook.
set -euo pipefail
here=$(dirname "$0")
bash "$here/setup.sh"
# shellcheck source=scripts/env.sh
. "$here/env.sh"
bash "$HELIX_REPO/lab/helix-lab" up -n "${HELIX_LAB_HOSTS:-2}"
# The tenants' encryption keys live in the lab's Vault (an OpenBao dev server on loopback).
bash "$HELIX_REPO/scripts/vault.sh" up
cd "$HELIX_REPO"
# Nodes build in parallel. (Runs before 2026-11-22 used --forks 1 against "EBUSY on the new
# -part1": the cause was that every lab host's connection went to lab1, fixed in helix_lab.py.)
exec ansible-playbook -i inventories/lab --forks "${HELIX_SITE_FORKS:-5}" playbooks/site.yml "$@"
