#!/usr/bin/env bash
# ansible-test sanity, with no ignore files. ansible-test needs the collection at
# .../ansible_collections/helix/zfs, so the tracked and new (not ignored) files are
# copied there; its tool venvs are cached by ansible-test under ~/.ansible/test.
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
if ls "$repo"/tests/sanity/ignore-*.txt >/dev/null 2>&1; then
  echo "tests/sanity/ignore-*.txt exists: helix.zfs allows no sanity ignores" >&2; exit 1
fi
# ansible-test bootstraps pip into its venvs with a script it downloads from a host we can't
# reach; give it our stand-in under the name it looks for.
pipv=$(python3 -c 'import inspect, re, ansible_test._internal.python_requirements as m
print(re.search(r"pip=.([0-9.]+).", inspect.getsource(m)).group(1))')
cache=~/.ansible/test/cache/get_pip_${pipv//./_}.py
mkdir -p "$(dirname "$cache")"
cmp -s "$repo/tests/sanity/get_pip.py" "$cache" || cp "$repo/tests/sanity/get_pip.py" "$cache"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
dest=$work/ansible_collections/helix/zfs
mkdir -p "$dest"
(cd "$repo" && git ls-files -co --exclude-standard -z | rsync -a --from0 --files-from=- ./ "$dest/")
cd "$dest"
git init -q && git add -A && git -c user.name=ci -c user.email=ci@helix.invalid commit -qm sanity
ansible-test sanity --venv --requirements --python "$(python3 -c 'import sys; print("%d.%d" % sys.version_info[:2])')" \
  --color no "$@"
