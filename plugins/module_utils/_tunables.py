# Copyright (c) helix.zfs contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""zfs_tunables' decision logic: (the node's live parameters and RAM, the request) -> writes.

Pure functions, no I/O. The module reads /sys/module/zfs/parameters, /proc/meminfo and the
ARC's kstats, and hands them here.
"""

from __future__ import annotations

import re

from ansible_collections.helix.zfs.plugins.module_utils._units import parse_size
from ansible_collections.helix.zfs.plugins.module_utils._errors import PlanError

# Parameters that OpenZFS has removed: named, so the error says why rather than "unknown".
REMOVED = {
    "zfs_arc_meta_limit": "2.2", "zfs_arc_meta_limit_percent": "2.2", "zfs_arc_meta_min": "2.2",
    "zfs_arc_meta_prune": "2.2", "zfs_arc_meta_adjust_restarts": "2.2", "zfs_arc_meta_strategy": "2.2",
    "zfs_arc_p_dampener_disable": "2.2", "zfs_arc_p_min_shift": "2.2", "zfs_vdev_scheduler": "2.0",
}
# Sizes that may be given as a share of the node's RAM ("75%").
RAM_SIZED = frozenset(("zfs_arc_max", "zfs_arc_min", "zfs_arc_sys_free", "zfs_dirty_data_max"))
# Below this ZFS ignores zfs_arc_max without a word (arc.c: 64 MiB), so it is an error here.
ARC_MAX_FLOOR = 64 << 20
_PERCENT = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*%\s*$")
_SIZED = re.compile(r"^\s*\d+(?:\.\d+)?\s*[KMGTPE](?:i?B)?\s*$", re.IGNORECASE)
# A parameter value is one word: it goes into /sys and into a modprobe.d "options" line, where
# a space, a newline or a "#" would add options or whole lines (install commands run as root).
_WORD = re.compile(r"[A-Za-z0-9_.,:+-]+")


def resolve(name, value, memtotal):
    """A requested value as the string the parameter file takes: bools as 1/0, sizes in bytes,
    a percentage of RAM (for RAM_SIZED parameters) in bytes."""
    if isinstance(value, bool):
        return "1" if value else "0"
    text = str(value).strip()
    m = _PERCENT.match(text)
    if m:
        if name not in RAM_SIZED:
            raise PlanError("%s: a percentage only makes sense for %s" % (name, ", ".join(sorted(RAM_SIZED))))
        pct = float(m.group(1))
        if pct > 100:
            raise PlanError("%s: %s is more than the node's RAM" % (name, text))
        return str(int(memtotal * pct / 100))
    if _SIZED.match(text):
        return str(parse_size(text))
    if not _WORD.fullmatch(text):
        raise PlanError("%s: %r is not one word (letters, digits and _ . , : + -). Nothing was changed."
                        % (name, text))
    return text


def same(live, wanted):
    """Whether a parameter file's content already says ``wanted``. Choice parameters read back
    as the list of choices with the active one in brackets (``[fastest] original scalar``)."""
    live = live.strip()
    return live == wanted or ("[%s]" % wanted) in live.split()


def plan(requested, live, memtotal, arc):
    """requested {name: value}, live {name: file content or None when the file is missing},
    memtotal bytes, arc {c_min, c_max} (effective, from arcstats) -> ([(name, before, after)]
    in the order to write them, {name: resolved value}). Raises PlanError, before anything
    is written."""
    wanted = {}
    for name in sorted(requested):
        if live.get(name) is None:
            if name in REMOVED:
                raise PlanError("%s was removed in OpenZFS %s; drop it from the request. Nothing was changed."
                                % (name, REMOVED[name]))
            raise PlanError("%s is not a parameter of this node's zfs module (unknown, or removed in its "
                            "version). Nothing was changed." % name)
        wanted[name] = resolve(name, requested[name], memtotal)
    amax, amin = wanted.get("zfs_arc_max"), wanted.get("zfs_arc_min")
    for name in ("zfs_arc_max", "zfs_arc_min", "zfs_arc_sys_free"):
        v = wanted.get(name)
        if v is not None and v.isdigit() and int(v) > memtotal:
            raise PlanError("%s=%s is above the node's RAM (%d bytes). Nothing was changed." % (name, v, memtotal))
    if amax is not None and amax.isdigit() and 0 < int(amax) < ARC_MAX_FLOOR:
        raise PlanError("zfs_arc_max=%s is below 64 MiB, which ZFS silently ignores. Nothing was changed." % amax)
    if amax and amin and amax.isdigit() and amin.isdigit() and int(amax) and int(amin) > int(amax):
        raise PlanError("zfs_arc_min=%s is above zfs_arc_max=%s. Nothing was changed." % (amin, amax))
    writes = [(n, live[n].strip(), v) for n, v in wanted.items() if not same(live[n], v)]
    # ZFS refuses an arc_min above the current arc_max, and an arc_max below the current
    # arc_min: write the one that makes room first.
    if amin and amin.isdigit() and int(amin) > arc.get("c_max", 0):
        writes.sort(key=lambda w: w[0] != "zfs_arc_max")
    else:
        writes.sort(key=lambda w: w[0] != "zfs_arc_min")
    return writes, wanted


def parse_meminfo(text):
    """MemTotal from /proc/meminfo, in bytes."""
    for line in text.splitlines():
        if line.startswith("MemTotal:"):
            return int(line.split()[1]) * 1024
    raise PlanError("no MemTotal in /proc/meminfo")


def parse_kstat(text):
    """/proc/spl/kstat/zfs/arcstats -> {name: int}."""
    out = {}
    for line in text.splitlines()[2:]:
        f = line.split()
        if len(f) == 3 and f[2].lstrip("-").isdigit():
            out[f[0]] = int(f[2])
    return out
