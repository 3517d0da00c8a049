# Copyright (c) helix.zfs contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Device identity: any path to a disk compares equal to any other path to it.

``/dev/disk/by-id/wwn-...``, ``/dev/sdb`` and the ``-part1`` ZFS made when it was given the
whole disk all resolve to one key, so a declared layout matches the pool's on every run
(community.general's zpool compares the strings and fails its second run).
"""

from __future__ import annotations

import os

_SYS_BLOCK = "/sys/class/block"


def _partition_number(name):
    try:
        with open(os.path.join(_SYS_BLOCK, name, "partition")) as f:
            return f.read().strip()
    except OSError:
        return None


def identity(path):
    """The key a device is compared by: the real path, or its whole disk's when the path is
    partition 1 of a disk ZFS partitioned itself (it leaves partition 9 as its marker)."""
    real = os.path.realpath(path)
    name = os.path.basename(real)
    if _partition_number(name) == "1":
        parent = os.path.basename(os.path.dirname(os.path.realpath(os.path.join(_SYS_BLOCK, name))))
        pdir = os.path.join(_SYS_BLOCK, parent)
        if os.path.isdir(pdir) and any(
                _partition_number(p) == "9" for p in os.listdir(pdir) if p.startswith(parent)):
            return os.path.join("/dev", parent)
    return real


class IdentityCache:
    """identity() memoized for one module run (a pool has a few dozen leaves at most)."""

    def __init__(self):
        self._keys = {}

    def __call__(self, path):
        if path not in self._keys:
            self._keys[path] = identity(path)
        return self._keys[path]
