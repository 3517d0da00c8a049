# Copyright (c) helix.zfs contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Reading datasets: one ``zfs get -Hp`` for every named dataset and property, sources kept.

``zfs get -j`` prints nothing at all when one named dataset is missing (OpenZFS 2.3.2), so
this reads ``-Hp`` rows, which still come for the datasets that exist, and takes the missing
names from stderr.
"""

from __future__ import annotations

import re

from ansible_collections.helix.zfs.plugins.module_utils import _read
from ansible_collections.helix.zfs.plugins.module_utils._errors import ZfsCommandError

_MISSING = re.compile(r"^cannot open '([^']+)': dataset does not exist$")
# fullmatch only ("$" lets a newline through). Spaces are valid in ZFS names, inside a component.
_DATASET = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.: /-]*")
# Pool names zpool refuses: not starting with a letter, starting like a vdev type, "log", or
# disk-like (c0...).
_RESERVED_POOL = re.compile(r"[^A-Za-z].*|(mirror|raidz|draid|spare).*|log|c[0-9].*")
NAME_MAX = 255  # ZFS_MAX_DATASET_NAME_LEN - 1
TREE_TYPES = "filesystem,volume,snapshot,bookmark"


def dataset_name_ok(name):
    """A filesystem or volume name (pool/path) ZFS accepts: letters, digits, ``_ . : -`` and
    spaces, no @ or #, no empty, ``.`` or ``..`` component, no component starting or ending with
    a space, at most 255 characters, and not a reserved pool name."""
    if not name or len(name) > NAME_MAX or not _DATASET.fullmatch(name):
        return False
    parts = name.split("/")
    if any(p in ("", ".", "..") or p != p.strip() for p in parts):
        return False
    return not _RESERVED_POOL.fullmatch(parts[0])


def pool_name_ok(name):
    """A pool name ZFS accepts: a dataset name without ``/`` (so starting with a letter, and not
    reserved: mirror, raidz, draid, spare, log, c0...)."""
    return "/" not in (name or "") and dataset_name_ok(name)


POOL_NAME_RULES = ("a letter, then letters, digits, _ . : - and spaces, at most 255 characters; not mirror, "
                   "raidz, draid, spare or log, nor starting with mirror, raidz, draid, spare or c and a digit")
NAME_RULES = ("pool/path of letters, digits, _ . : - and spaces; no @ or #, no empty, . or .. part, "
              "at most 255 characters, not a reserved pool name")


def read(cli, names, props, types="filesystem,volume", recursive=False, depth=None):
    """Returns ({name: {prop: {value, source, from}}}, [missing names]), in one process."""
    argv = ["zfs", "get", "-Hp", "-o", "name,property,value,source"]
    if depth is not None:
        argv += ["-d", str(depth)]
    elif recursive:
        argv.append("-r")
    argv += ["-t", types, ",".join(props)] + list(names)
    out, missing = run_tolerating_missing(cli, argv)
    return _read.parse_get(out), missing


def read_holds(cli, names):
    """{snapshot: {tag, ...}} of the named snapshots that have holds (``zfs holds -H``, 500
    names per call; none for no names)."""
    holds = {}
    for i in range(0, len(names), 500):
        _rc, out, _err = cli.run(["zfs", "holds", "-H"] + list(names[i:i + 500]))
        for snap, tags in _read.parse_holds(out).items():
            holds.setdefault(snap, set()).update(tags)
    return holds


def list_tree(cli, roots, columns, recursive):
    """One ``zfs list -Hp`` of datasets, snapshots and bookmarks under ``roots`` (their children
    too, with ``recursive``; else depth 1) -> (stdout, [missing roots])."""
    argv = ["zfs", "list", "-Hp", "-t", TREE_TYPES, "-o", ",".join(columns)]
    argv += ["-r"] if recursive else ["-d", "1"]
    return run_tolerating_missing(cli, argv + list(roots))


def run_tolerating_missing(cli, argv):
    """Run a ``zfs get``/``zfs list`` of named datasets -> (stdout, [names that don't exist]).
    Any other complaint is a failure."""
    _rc, out, err = cli.run(argv, ok_rcs=(0, 1))
    missing = []
    for line in err.splitlines():
        m = _MISSING.match(line.strip())
        if m:
            missing.append(m.group(1))
        elif line.strip():
            raise ZfsCommandError("%s failed: %s" % (" ".join(argv[:2]), line.strip()), cmd=argv, rc=_rc,
                                  stdout=out, stderr=err)
    if _rc != 0 and not missing:
        raise ZfsCommandError("%s failed: rc=%s" % (" ".join(argv[:2]), _rc), cmd=argv, rc=_rc, stdout=out, stderr=err)
    return out, missing
