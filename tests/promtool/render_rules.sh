#!/usr/bin/env bash
# render_rules.sh OUT [-e VAR=VALUE ...]: the monitoring role's alert rules rendered with its
# defaults (and any variable given after them), by Ansible's own templating (the template module
# on localhost), so the tests check what the role installs.
set -euo pipefail
repo=$(cd "$(dirname "$0")/../.." && pwd)
out=$(realpath -m "$1")
role=$repo/roles/monitoring
ANSIBLE_CONFIG=$repo/ansible.cfg ansible localhost -i localhost, -c local \
  -m ansible.builtin.template -a "src=$role/templates/helix_zfs.rules.yml.j2 dest=$out mode=0644" \
  -e "@$role/defaults/main.yml" "${@:2}" -e 'ansible_python_interpreter={{ ansible_playbook_python }}' >/dev/null
