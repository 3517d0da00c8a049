#!/usr/bin/env bash
# The main job: set up this machine, boot the lab, and build the lab storage nodes with
# playbooks/site.yml on inventories/lab. Extra arguments go to ansible-playbook.
set -euo pipefail
here=$(dirname "$0")
bash "$here/setup.sh"
# shellcheck source=scripts/env.sh
. "$here/env.sh"
bash "$HELIX_REPO/lab/helix-lab" up -n "${HELIX_LAB_HOSTS:-2}"
cd "$HELIX_REPO"
exec ansible-playbook -i inventories/lab playbooks/site.yml "$@"
