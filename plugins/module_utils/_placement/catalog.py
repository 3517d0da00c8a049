# Copyright (c) helix.zfs contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""The catalog: its entries checked and normalised (sizes in bytes, retention in days, pins),
every problem reported at once."""

from __future__ import annotations

import difflib
import re

from ansible_collections.helix.zfs.plugins.module_utils._props import PRIMARY
from ansible_collections.helix.zfs.plugins.module_utils._units import parse_duration, parse_size
from ansible_collections.helix.zfs.plugins.module_utils._errors import PlanError

KEYS = ("name", "summary", "size", "copies", "min_copies", "retention", "reproduction_cost",
        "legal_framework", "snapshot_policy", "replication_policy", "pin", "primary")
DEFAULT_COPIES = 2
DEFAULT_MIN_COPIES = 1

# How far a pool may sit from its byte target before existing data is moved to fix it: a
# deadband, as Ceph's upmap balancer has (upmap_max_deviation), so a run doesn't send
# terabytes to trade a 1% imbalance for another.
DEFAULT_TOLERANCE = 0.02

# ZFS's valid dataset-name characters (zfs_namecheck.c: alphanumerics, _ - . : and space).
_NAME = re.compile(r"^[A-Za-z0-9_.: /-]+$")
HOST_NAME = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]*$")  # no ':' (it separates host:pool), no leading '-'
POOL_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_.:-]*$")  # zpool names start with a letter
_MAX_LINES = 25  # error lines shown before "... and N more"


def is_int(v):
    return isinstance(v, int) and not isinstance(v, bool)


def join_lines(lines):
    if len(lines) > _MAX_LINES:
        lines = lines[:_MAX_LINES] + ["... and %d more" % (len(lines) - _MAX_LINES)]
    return "\n".join(lines)


def _days(text):
    """A retention in days (forever: infinite), or None unless it is a duration of a day or more
    (the one grammar: ``6m`` is six minutes, so a catalog meaning months fails loudly here)."""
    if str(text).strip().lower() == "forever":
        return float("inf")
    try:
        seconds = parse_duration(text)
    except PlanError:
        return None
    return seconds / 86400 if seconds >= 86400 else None


def size_of(value):
    if isinstance(value, bool) or value is None:
        raise ValueError
    return parse_size(value)


def covers(a, b):
    """Whether pin a and pin b can name the same pool ("host" covers every "host:pool")."""
    return a == b or (":" not in a and b.split(":", 1)[0] == a) or (":" not in b and a.split(":", 1)[0] == b)


def _check_pin(value, what):
    if not isinstance(value, str) or not value.strip():
        return "%s must be \"host\" or \"host:pool\", got %r" % (what, value)
    host, sep, pool = value.strip().partition(":")
    if not HOST_NAME.match(host) or (sep and not POOL_NAME.match(pool)):
        return "%s %r is not \"host\" or \"host:pool\"" % (what, value)
    return None


def _entry_problems(e, out):
    """Problems with one catalog entry (a list of strings); fills ``out`` with the normalized fields."""
    bad = []
    unknown = sorted(set(e) - set(KEYS), key=str)
    for k in unknown:
        near = difflib.get_close_matches(str(k), KEYS, n=1)
        bad.append("unknown key %r%s" % (k, " (did you mean %r?)" % near[0] if near else ""))
    name = e.get("name")
    if not isinstance(name, str) or not name.strip():
        bad.append("name is required (a dataset path relative to the pool, e.g. projects/genome)")
    elif name.startswith("/") or name.endswith("/") or "//" in name or not _NAME.match(name) \
            or any(c in (".", "..") for c in name.split("/")) or len(name) > 200:
        bad.append("name %r is not a dataset path relative to the pool (letters, digits, _ - . : space, "
                   "'/' between components)" % name)
    out["name"] = name
    for key in ("summary", "legal_framework"):
        v = e.get(key)
        if v is not None and not isinstance(v, str):
            bad.append("%s must be a string" % key)
        out[key] = v
    if e.get("size") is None:
        bad.append("size is required (bytes, or a number with K, M, G, T, P)")
    else:
        try:
            out["size"] = size_of(e["size"])
        except ValueError:
            bad.append("size %r is not a size (bytes, or a number with K, M, G, T, P)" % (e["size"],))
    copies = e.get("copies", DEFAULT_COPIES)
    copies = DEFAULT_COPIES if copies is None else copies
    if not is_int(copies) or copies < 1:
        bad.append("copies must be an integer >= 1")
        copies = None
    out["copies"] = copies
    mins = e.get("min_copies", DEFAULT_MIN_COPIES)
    mins = DEFAULT_MIN_COPIES if mins is None else mins
    if not is_int(mins) or mins < 1:
        bad.append("min_copies must be an integer >= 1")
    elif copies is not None and mins > copies:
        bad.append("min_copies (%d) is more than copies (%d)" % (mins, copies))
    out["min_copies"] = mins
    ret = e.get("retention")
    if ret is not None:
        if not isinstance(ret, dict):
            bad.append("retention must be a mapping with legal and/or desired (e.g. {legal: 7y, desired: 10y})")
            ret = None
        else:
            for k in sorted(set(ret) - {"legal", "desired"}, key=str):
                bad.append("retention has an unknown key %r (legal, desired)" % (k,))
            for k in ("legal", "desired"):
                if ret.get(k) is not None and _days(ret[k]) is None:
                    bad.append("retention.%s %r is not a duration of a day or more (a number with d, w or y, or "
                               "forever; m is minutes)" % (k, ret[k]))
            lg, de = ret.get("legal"), ret.get("desired")
            if lg is not None and de is not None and _days(lg) is not None and _days(de) is not None \
                    and _days(de) < _days(lg):
                bad.append("retention.desired (%s) is shorter than retention.legal (%s)" % (de, lg))
            ret = {"legal": None if lg is None else str(lg).strip(), "desired": None if de is None else str(de).strip()}
    out["retention"] = ret
    cost = e.get("reproduction_cost")
    if cost is not None and (isinstance(cost, bool) or not isinstance(cost, (str, int, float))):
        bad.append("reproduction_cost must be a string or a number")
    out["reproduction_cost"] = cost
    sp = e.get("snapshot_policy")
    if sp is not None and not isinstance(sp, (str, dict)):
        bad.append("snapshot_policy must be a policy name or a mapping")
    out["snapshot_policy"] = sp
    out["replication_policy"] = e.get("replication_policy")
    pins = e.get("pin")
    pins = [] if pins is None else pins
    if isinstance(pins, str):
        pins = [pins]
    if not isinstance(pins, list):
        bad.append("pin must be a list of \"host\" or \"host:pool\"")
        pins = []
    norm = []
    for p in pins:
        why = _check_pin(p, "pin")
        if why:
            bad.append(why)
        elif p.strip() in norm:
            bad.append("pin %r is listed twice" % p)
        else:
            norm.append(p.strip())
    for i, a in enumerate(norm):
        for b in norm[i + 1:]:
            if a != b and covers(a, b):
                bad.append("pins %r and %r name the same host: copies go to distinct failure domains" % (a, b))
    out["pin"] = sorted(norm)
    prim = e.get("primary")
    if prim is not None:
        why = _check_pin(prim, "primary")
        if why:
            bad.append(why)
            prim = None
        else:
            prim = prim.strip()
    out["primary"] = prim
    if copies is not None:
        need = len(norm) + (1 if prim and not any(covers(p, prim) for p in norm) else 0)
        if need > copies:
            bad.append("%s name %d locations but copies is %d" % ("pin and primary" if prim else "pins", need, copies))
    return bad


def parse_catalog(entries):
    """The dataset catalog (a list of YAML-loaded mappings) -> normalized entries sorted by name.
    Every problem is collected: PlanError's message has one line per bad entry,
    ``catalog entry #3 (projects/x): copies must be an integer >= 1`` (entries count from 1).
    Idempotent: normalized entries parse to themselves."""
    if not isinstance(entries, (list, tuple)):
        raise PlanError("the catalog must be a list of entries, got %s" % type(entries).__name__)
    lines, out, seen = [], [], {}
    for n, e in enumerate(entries, 1):
        if not isinstance(e, dict):
            lines.append("catalog entry #%d: must be a mapping with name, size, copies ..., got %s" % (n, type(e).__name__))
            continue
        norm = {}
        bad = _entry_problems(e, norm)
        name = norm["name"]
        if isinstance(name, str) and name in seen:
            bad.append("duplicate name: entry #%d has it too" % seen[name])
        elif isinstance(name, str):
            seen[name] = n
        label = name if isinstance(name, str) and name.strip() else "no name"
        if bad:
            lines.append("catalog entry #%d (%s): %s" % (n, label, "; ".join(bad)))
        else:
            out.append((n, norm))
    # A dataset's copy is its whole subtree (zfs send -R, zfs destroy -r), so a catalog entry
    # can't sit inside another one: the two could never be placed apart.
    names = sorted((norm["name"], n) for n, norm in out)
    for (a, na), (b, nb) in zip(names, names[1:]):
        if b.startswith(a + "/"):
            lines.append("catalog entry #%d (%s): nested under catalog entry #%d (%s); a copy is the whole "
                         "subtree, so list only one of them" % (nb, b, na, a))
    if lines:
        raise PlanError(join_lines(lines))
    return [pair[1] for pair in sorted(out, key=lambda t: t[1]["name"])]


def copies_of(value):
    """A dataset's current copies, as ``{pool: role}`` or a list (primary first) -> (primary or
    None, [replicas sorted])."""
    if not value:
        return None, []
    if isinstance(value, dict):
        prim = sorted(p for p, r in value.items() if r == PRIMARY)
        return (prim[0] if prim else None), sorted(p for p in value if not prim or p != prim[0])
    value = list(value)
    return value[0], sorted(set(value[1:]) - {value[0]})
