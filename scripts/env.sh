# shellcheck shell=bash
# Sourced by every entry script: where the caches live, which venv, how Ansible finds us.
# Everything cached lives outside the repository, in $HELIX_CACHE.
HELIX_REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
export HELIX_REPO
export HELIX_CACHE=${HELIX_CACHE:-$HOME/.cache/helix-zfs}
_req_hash=$(cat "$HELIX_REPO/requirements/controller.txt" "$HELIX_REPO/requirements/constraints.txt" \
  | sha256sum | cut -c1-12)
export HELIX_VENV=${HELIX_VENV:-$HELIX_CACHE/venv-$_req_hash}
export PATH="$HELIX_VENV/bin:$PATH"
# Mitogen's strategy plugins (scripts/test.sh runs the lab stages other than site with them).
_mitogen=("$HELIX_VENV"/lib/python3*/site-packages/ansible_mitogen/plugins/strategy)
export HELIX_MITOGEN_STRATEGY=${_mitogen[0]}
# Ansible finds this checkout as helix.zfs through a per-checkout symlink kept in the cache
# (a link inside the repository would make linters walk the tree twice).
_coll_root="$HELIX_CACHE/collections/$(printf '%s' "$HELIX_REPO" | sha256sum | cut -c1-12)"
export HELIX_COLLECTIONS="$_coll_root"
export ANSIBLE_COLLECTIONS_PATH="$_coll_root"
export ANSIBLE_CONFIG="$HELIX_REPO/ansible.cfg"
export ANSIBLE_FORCE_COLOR=${ANSIBLE_FORCE_COLOR:-0}
export PY_COLORS=0
# Hypothesis keeps its example database in the cache, not in the checkout.
export HYPOTHESIS_STORAGE_DIRECTORY=$HELIX_CACHE/hypothesis
helix_link_collection() {
  mkdir -p "$_coll_root/ansible_collections/helix"
  ln -sfn "$HELIX_REPO" "$_coll_root/ansible_collections/helix/zfs"
}
# The lab's Vault (scripts/vault.sh): an OpenBao dev server on loopback, lab-only token.
export HELIX_VAULT_PORT=${HELIX_VAULT_PORT:-18200}
export VAULT_ADDR=${VAULT_ADDR:-http://127.0.0.1:$HELIX_VAULT_PORT}
export VAULT_TOKEN=${VAULT_TOKEN:-helix-lab-root}
export BAO_ADDR=$VAULT_ADDR BAO_TOKEN=$VAULT_TOKEN
