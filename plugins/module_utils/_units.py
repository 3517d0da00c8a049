# Copyright (c) helix.zfs contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""The collection's one grammar for sizes and one for durations: modules, filters, the node's
programs and the roles' preflights (through the ``helix.zfs.size`` and ``helix.zfs.duration``
tests) all read them here.

Durations use Prometheus's units (s, m for minutes, h, d, w, y of 365 days), so a window given to
the monitoring role is also a valid range in its alert rules.
"""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation

from ansible_collections.helix.zfs.plugins.module_utils._errors import PlanError

_SIZE_UNITS = {"": 0, "B": 0, "K": 1, "M": 2, "G": 3, "T": 4, "P": 5, "E": 6, "Z": 7}
_SIZE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([BKMGTPEZ]?)(?:I?B)?\s*$", re.IGNORECASE)
DURATION_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400, "y": 365 * 86400}
_DURATION = re.compile(r"^\s*(\d+)([smhdwy])\s*$")  # "15 m" is no range in Prometheus


def parse_size(value):
    """``10G``, ``1.5T``, ``512``, ``10GiB`` -> bytes (powers of 1024, as ZFS counts)."""
    m = _SIZE.match(str(value))
    if not m or isinstance(value, bool):
        raise ValueError("%r is not a size (use bytes or a number with K, M, G, T, P or E)" % (value,))
    try:  # exact: no float, so byte counts above 2**53 keep every digit
        return int(Decimal(m.group(1)) * 1024 ** _SIZE_UNITS[m.group(2).upper()])
    except InvalidOperation:
        raise ValueError("%r is not a size" % (value,))


def parse_duration(text):
    """``15m`` -> 900 seconds: a positive whole number and one of s, m (minutes), h, d, w, y."""
    m = _DURATION.match(str(text))
    if not m or int(m.group(1)) == 0 or isinstance(text, bool):
        raise PlanError("bad duration %r: a positive whole number and one of s, m (minutes), h, d, w, y" % (text,))
    return int(m.group(1)) * DURATION_UNITS[m.group(2)]


def human_duration(seconds):
    """3725 -> "1h 02m 05s", 42.4 -> "42s": a duration for people (estimates, summaries)."""
    s = int(round(seconds))
    h, m, s = s // 3600, s % 3600 // 60, s % 60
    return "%dh %02dm %02ds" % (h, m, s) if h else "%dm %02ds" % (m, s) if m else "%ds" % s


def human_size(n):
    """12345678 -> "11.8 MiB": a size for people, in ZFS's powers of 1024."""
    n = float(n)
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if abs(n) < 1024 or unit == "TiB":
            return ("%d %s" % (n, unit)) if unit == "B" else ("%.1f %s" % (n, unit))
        n /= 1024
    return None  # not reached
