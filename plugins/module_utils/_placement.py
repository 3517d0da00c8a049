# Copyright (c) helix.zfs contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""The placement planner: (dataset catalog, topology, current copies) -> where every dataset's
copies should live, and the ordered waves of steps (with their shell commands) that get there.

Pure functions, no I/O. The caller reads the catalog (YAML), the topology (inventory vars) and
the current copies (the info modules), and hands them here.

Placement is weighted rendezvous hashing (HRW, Ceph's straw2 rule) with a failure-domain skip:
each pool draws ``ln(u)/w`` for a dataset (u from a hash of the dataset and the pool, w the
pool's capacity), pools are walked from the largest draw, a pool whose domain already holds a
copy (or that has no room) is skipped, and the walk stops at k copies. Why this base:

- it needs no stored state to be deterministic: the same catalog and inventory give the same
  placement on any controller;
- adding a pool moves only copies onto it, removing one moves only its copies, spread by
  weight: the minimum possible movement;
- the domain skip gives k distinct domains by construction.

Its weaknesses are covered by two more layers. Stickiness: a copy that exists and is still valid
is kept, so a run never moves data just because the hash would now choose differently, and
re-running after convergence plans nothing. A byte-balance pass: hashing balances copy counts
on average only, not bytes (sizes are lognormal), and not exactly with unequal weights, so a
greedy pass (largest datasets first, never overshooting a pool's target) moves copies from
pools above their byte target to pools below it, as Ceph's upmap balancer and Helix's WAGED
do. Copies that don't exist yet move for free, so a first placement and the refill after a
lost host are balanced at no transfer cost; existing copies move only to bring a pool back
within a tolerance band around its target, bounded in bytes per run.
"""

from __future__ import annotations

import bisect
import difflib
import hashlib
import heapq
import math
import operator
import re
import shlex
import struct

from ansible_collections.helix.zfs.plugins.module_utils._props import DEMOTED, PRIMARY, REPLICA, ROLE_PROP
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
SNAP_PREFIX = "helix-place"
# Step kinds in the order they are listed within a wave.
KINDS = ("create", "create_copy", "demote", "final_sync", "promote", "drop_copy")
# Steps that stream data: the only ones that count against the per-host and per-domain caps.
# The others are property changes or a destroy (ZFS frees asynchronously), seconds each.
SENDS = frozenset(("create_copy", "final_sync"))
# ZFS's valid dataset-name characters (zfs_namecheck.c: alphanumerics, _ - . : and space).
_NAME = re.compile(r"^[A-Za-z0-9_.: /-]+$")
_HOST = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]*$")  # no ':' (it separates host:pool), no leading '-'
_POOL = re.compile(r"^[A-Za-z][A-Za-z0-9_.:-]*$")  # zpool names start with a letter
_RUN = re.compile(r"^[A-Za-z0-9_.:-]+$")
_SAFE = re.compile(r"^[\w@%+=:,./-]+$", re.ASCII)  # what shlex.quote leaves bare
_MAX_LINES = 25  # error lines shown before "... and N more"

# The hash behind every draw. blake2b runs once per dataset and once per pool; each (dataset,
# pool) pair then goes through a 64-bit xorshift-multiply mixer (splitmix64's constants): 1M
# pairs at 100 pools x 10,000 datasets. blake2b on each pair would cost ~0.7 s on the CI box.
# The mixer runs on all of a dataset's pools at once: each pool is a 128-bit lane of one big
# int, so a 64x64-bit product never carries into the next lane, and a handful of big-int
# operations (in C) replace 100 Python-level mixes; the logs are C-level maps. ~0.3 s in all,
# against ~0.5 s for a list comprehension. Ints and IEEE doubles only: every controller (any
# Python 3, any platform) computes the same draws, and _draw (one pair) gives the same floats.
_M = (1 << 64) - 1
_C1 = 0xBF58476D1CE4E5B9
_C2 = 0x94D049BB133111EB
_U64 = 2.0 ** -64
_EPS = 1e-9  # a balance move must improve a deviation by more than this (float noise)


def _h64(text):
    return int.from_bytes(hashlib.blake2b(text.encode("utf-8"), digest_size=8).digest(), "big")


def _draw(hd, hp, invw):
    """One pool's straw2 draw for one dataset: ln(u)/w, the largest wins (P = w / sum w).
    u = the mixed 64-bit value (bit 0 set, so never 0) / 2**64."""
    x = (hd ^ hp) * _C1 & _M
    return math.log(((x ^ (x >> 29)) * _C2 & _M | 1) * _U64) * invw


class _Drawer:
    """All pools' draws for a dataset at once, equal to [_draw(hd, hp, w) for each pool]."""

    def __init__(self, hps, invws):
        n = len(hps)
        self.lanes = sum(1 << (128 * i) for i in range(n))  # x * lanes puts a 64-bit x in every lane
        self.mask = self.lanes * _M  # the low 64 bits of every lane
        self.hps = sum(h << (128 * i) for i, h in enumerate(hps))
        self.invws = list(invws)
        self.nbytes = 16 * n
        self.unpack = struct.Struct("<%dQ" % (2 * n)).unpack

    def __call__(self, hd):
        mask = self.mask
        x = (self.hps ^ hd * self.lanes) * _C1 & mask
        x = ((x ^ x >> 29) & mask) * _C2 & mask | self.lanes
        us = map(_U64.__mul__, self.unpack(x.to_bytes(self.nbytes, "little"))[::2])
        return list(map(operator.mul, map(math.log, us), self.invws))


def _is_int(v):
    return isinstance(v, int) and not isinstance(v, bool)


def _join(lines):
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


def _size(value):
    if isinstance(value, bool) or value is None:
        raise ValueError
    return parse_size(value)


def _covers(a, b):
    """Whether pin a and pin b can name the same pool ("host" covers every "host:pool")."""
    return a == b or (":" not in a and b.split(":", 1)[0] == a) or (":" not in b and a.split(":", 1)[0] == b)


def _check_pin(value, what):
    if not isinstance(value, str) or not value.strip():
        return "%s must be \"host\" or \"host:pool\", got %r" % (what, value)
    host, sep, pool = value.strip().partition(":")
    if not _HOST.match(host) or (sep and not _POOL.match(pool)):
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
            out["size"] = _size(e["size"])
        except ValueError:
            bad.append("size %r is not a size (bytes, or a number with K, M, G, T, P)" % (e["size"],))
    copies = e.get("copies", DEFAULT_COPIES)
    copies = DEFAULT_COPIES if copies is None else copies
    if not _is_int(copies) or copies < 1:
        bad.append("copies must be an integer >= 1")
        copies = None
    out["copies"] = copies
    mins = e.get("min_copies", DEFAULT_MIN_COPIES)
    mins = DEFAULT_MIN_COPIES if mins is None else mins
    if not _is_int(mins) or mins < 1:
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
            if a != b and _covers(a, b):
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
        need = len(norm) + (1 if prim and not any(_covers(p, prim) for p in norm) else 0)
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
        raise PlanError(_join(lines))
    return [pair[1] for pair in sorted(out, key=lambda t: t[1]["name"])]


def topology(hosts):
    """Inventory-like ``{host: {domain: rack-a, pools: [{name: tank, capacity: 10T}]}}`` ->
    ``{"pools": {"host:pool": {id, host, pool, domain, capacity}}, "hosts": {host: {domain,
    pools}}, "domains": {domain: {hosts, capacity}}}``. Capacity is the usable bytes to fill
    (see usable_bytes). One error line per bad host."""
    if not isinstance(hosts, dict):
        raise PlanError("the topology must be a mapping of host -> {domain, pools}, got %s" % type(hosts).__name__)
    lines = []
    pools, hs, doms = {}, {}, {}
    for host in sorted(hosts, key=str):
        spec, bad = hosts[host], []
        if not isinstance(host, str) or not _HOST.match(host):
            lines.append("host %r: not a usable host name (letters, digits, _ . -; no ':')" % (host,))
            continue
        if not isinstance(spec, dict):
            lines.append("host %s: must be a mapping with domain and pools" % host)
            continue
        for k in sorted(set(spec) - {"domain", "pools"}, key=str):
            bad.append("unknown key %r (domain, pools)" % (k,))
        dom = spec.get("domain")
        if isinstance(dom, bool) or not isinstance(dom, (str, int)) or not str(dom).strip():
            bad.append("no failure domain (set domain, e.g. the rack or room)")
            dom = None
        else:
            dom = str(dom).strip()
        plist = spec.get("pools")
        if not isinstance(plist, list) or not plist:
            bad.append("no pools (pools: [{name: tank, capacity: 10T}])")
            plist = []
        mine = []
        for j, p in enumerate(plist, 1):
            if not isinstance(p, dict):
                bad.append("pool #%d must be a mapping with name and capacity" % j)
                continue
            for k in sorted(set(p) - {"name", "capacity"}, key=str):
                bad.append("pool #%d: unknown key %r (name, capacity)" % (j, k))
            pname = p.get("name")
            if not isinstance(pname, str) or not _POOL.match(pname):
                bad.append("pool #%d: name %r is not a pool name" % (j, pname))
                continue
            if pname in mine:
                bad.append("pool %s is listed twice" % pname)
                continue
            try:
                capacity = _size(p.get("capacity"))
            except ValueError:
                bad.append("pool %s: capacity %r is not a size (e.g. 10T)" % (pname, p.get("capacity")))
                continue
            if capacity <= 0:
                bad.append("pool %s: capacity must be more than 0" % pname)
                continue
            mine.append(pname)
            pid = "%s:%s" % (host, pname)
            pools[pid] = {"id": pid, "host": host, "pool": pname, "domain": dom, "capacity": capacity}
        if bad:
            lines.append("host %s: %s" % (host, "; ".join(bad)))
            continue
        ids = sorted("%s:%s" % (host, m) for m in mine)
        hs[host] = {"domain": dom, "pools": ids}
        d = doms.setdefault(dom, {"hosts": [], "capacity": 0})
        d["hosts"].append(host)
        d["capacity"] += sum(pools[i]["capacity"] for i in ids)
    if lines:
        raise PlanError(_join(lines))
    return {"pools": pools, "hosts": hs, "domains": doms}


def _as_topology(topo):
    if isinstance(topo, dict) and set(topo) == {"pools", "hosts", "domains"} and isinstance(topo["pools"], dict):
        return topo
    return topology(topo)


def _copies_of(value):
    """A dataset's current copies, as ``{pool: role}`` or a list (primary first) -> (primary or
    None, [replicas sorted])."""
    if not value:
        return None, []
    if isinstance(value, dict):
        prim = sorted(p for p, r in value.items() if r == PRIMARY)
        return (prim[0] if prim else None), sorted(p for p in value if not prim or p != prim[0])
    value = list(value)
    return value[0], sorted(set(value[1:]) - {value[0]})


def _shares(dcap, total, limit):
    """Each domain's byte target: ``total`` split by capacity, but no domain above ``limit``
    (a domain holds at most one copy of each dataset); what a clipped domain can't take is
    split among the others (water-filling)."""
    share, free, left = {}, sorted(dcap), float(total)
    while free:
        wsum = float(sum(dcap[d] for d in free))
        over = [d for d in free if left * dcap[d] / wsum > limit]
        if not over:
            for d in free:
                share[d] = left * dcap[d] / wsum
            break
        for d in over:
            share[d] = float(limit)
            left -= limit
        free = [d for d in free if d not in over]
    return share


def place(catalog, topo, current=None, max_move_bytes=None, balance=True, tolerance=DEFAULT_TOLERANCE):
    """-> ``{dataset: [pool ids]}``, the primary first, then the replicas sorted.

    catalog: entries (raw or from parse_catalog). topo: from topology() (or its input).
    current: ``{dataset: {pool: role}}`` or ``{dataset: [pool, ...]}`` (primary first); copies on
    pools the topology doesn't have are treated as lost. max_move_bytes: at most this many
    bytes of existing copies relocated by the balance pass (None: no bound; copies that don't
    exist yet always move for free). balance=False: pure HRW + stickiness, no balance pass.
    tolerance: how far (a fraction of its byte target) a pool may sit from its target before
    existing data is moved to fix it.
    Deterministic: the same inputs give the same result whatever their dict or list order.
    Raises PlanError naming every dataset that can't be placed."""
    entries = parse_catalog(catalog)
    topo = _as_topology(topo)
    current = current or {}
    if max_move_bytes is not None and (not _is_int(max_move_bytes) or max_move_bytes < 0):
        raise PlanError("max_move_bytes must be an integer >= 0 or None")
    if isinstance(tolerance, bool) or not isinstance(tolerance, (int, float)) or not 0 <= tolerance < 1:
        raise PlanError("tolerance must be a number in [0, 1) (a fraction of each pool's byte target)")
    ids = sorted(topo["pools"])
    if not ids:
        raise PlanError("the topology has no pools")
    npool = len(ids)
    index = {p: i for i, p in enumerate(ids)}
    dnames = sorted(topo["domains"])
    dindex = {d: j for j, d in enumerate(dnames)}
    dom = [dindex[topo["pools"][p]["domain"]] for p in ids]
    cap = [topo["pools"][p]["capacity"] for p in ids]
    top = float(max(cap))
    invw = [top / c for c in cap]  # w = capacity / the largest: only the ratio matters
    hps = [_h64("pool\0" + p) for p in ids]
    draws = _Drawer(hps, invw)

    m = len(entries)
    name = [e["name"] for e in entries]
    size = [e["size"] for e in entries]
    hd = [_h64("dataset\0" + n) for n in name]
    order = sorted(range(m), key=lambda i: (-size[i], name[i]))  # largest first, then by name
    chosen = [[] for i in range(m)]
    pinned = [set() for i in range(m)]
    prim_pin = [None] * m
    existing = [set() for i in range(m)]
    cur_prim = [None] * m
    ranks = {}
    used = [0] * npool
    errors = {}

    def rank(i):
        r = ranks.get(i)
        if r is None:
            d = draws(hd[i])
            r = ranks[i] = sorted(range(npool), key=d.__getitem__, reverse=True)
        return r

    def resolve_pin(i, pin):
        """A pin -> a pool index, or an error string."""
        if ":" in pin:
            p = index.get(pin)
            if p is None:
                return "pinned pool %s is not in the topology" % pin
            return p
        mine = [index[p] for p in topo["hosts"].get(pin, {}).get("pools", [])]
        if not mine:
            return "pinned host %s is not in the topology" % pin
        have = [p for p in mine if p in existing[i]]
        if have:
            return have[0]
        fit = [p for p in mine if used[p] + size[i] <= cap[p]] or mine
        return max(fit, key=lambda p: _draw(hd[i], hps[p], invw[p]))

    # 1. Pins, then the current copies that are still valid (sticky), for every dataset
    #    before any new copy is drawn, so new copies never push out existing ones.
    for i in order:
        e, k = entries[i], entries[i]["copies"]
        if k > len(dnames):
            errors[i] = "needs %d copies in %d distinct failure domains; the topology has %d (%s)" % (
                k, k, len(dnames), ", ".join(dnames))
            continue
        cp, reps = _copies_of(current.get(name[i]))
        for p in ([cp] if cp else []) + reps:
            if p in index:
                existing[i].add(index[p])
        if cp in index:
            cur_prim[i] = index[cp]
        ch, taken, bad = chosen[i], set(), []
        pins = list(e["pin"])
        if e["primary"]:
            cover = [p for p in pins if _covers(p, e["primary"])]
            for p in cover:
                pins.remove(p)
            # the more specific of the two ("host:pool" over "host") places the primary
            pins.insert(0, e["primary"] if ":" in e["primary"] or not cover else cover[0])
        for n, pin in enumerate(pins):
            p = resolve_pin(i, pin)
            if isinstance(p, str):
                bad.append(p)
                continue
            if dom[p] in taken:
                bad.append("pins put two copies in failure domain %s" % dnames[dom[p]])
                continue
            ch.append(p)
            taken.add(dom[p])
            pinned[i].add(p)
            if n == 0 and e["primary"]:
                prim_pin[i] = p
        if bad:
            errors[i] = "; ".join(bad)
            continue
        keep = [p for p in ([cur_prim[i]] if cur_prim[i] is not None else []) +
                sorted(existing[i] - {cur_prim[i]}) if p not in ch]
        if len(keep) + len(ch) > k or len({dom[p] for p in keep} | taken) < len(keep) + len(taken):
            # more valid copies than slots, or two in one domain: keep the primary, then the
            # replicas HRW ranks highest
            head = keep[:1] if keep and keep[0] == cur_prim[i] else []
            rest = sorted(keep[len(head):], key=lambda p: _draw(hd[i], hps[p], invw[p]), reverse=True)
            keep = head + rest
        for p in keep:
            if len(ch) < k and dom[p] not in taken:
                ch.append(p)
                taken.add(dom[p])
        for p in ch:
            used[p] += size[i]

    # 2. Missing copies: walk the dataset's HRW order, skipping taken domains and full pools.
    for i in order:
        if i in errors:
            continue
        ch, k, s = chosen[i], entries[i]["copies"], size[i]
        if len(ch) >= k:
            continue
        taken = {dom[p] for p in ch}
        for p in rank(i):
            if dom[p] in taken or used[p] + s > cap[p]:
                continue
            ch.append(p)
            taken.add(dom[p])
            used[p] += s
            if len(ch) == k:
                break
        if len(ch) < k:
            errors[i] = "placed %d of %d copies of %s: no pool with room in another failure domain" % (
                len(ch), k, _human(s))
    if errors:
        raise PlanError(_join(["dataset %s: %s" % (name[i], errors[i]) for i in sorted(errors, key=name.__getitem__)]))

    if balance and m:
        _balance(entries, order, chosen, pinned, existing, cur_prim, used, cap, dom, hd, hps, invw, ranks,
                 max_move_bytes, tolerance)

    out = {}
    for i in range(m):
        ch = chosen[i]
        if prim_pin[i] is not None:
            prim = prim_pin[i]
        elif cur_prim[i] in ch:
            prim = cur_prim[i]
        else:
            # a new primary: an existing copy if any (it has the data), HRW's favourite among them
            pool = [p for p in ch if p in existing[i]] or ch
            prim = max(pool, key=lambda p: _draw(hd[i], hps[p], invw[p]))
        out[name[i]] = [ids[prim]] + sorted(ids[p] for p in ch if p != prim)
    return out


def _balance(entries, order, chosen, pinned, existing, cur_prim, used, cap, dom, hd, hps, invw, ranks, budget, tol):
    """The byte-balance pass, in place on ``chosen``/``used``.

    Each pool's target is its share of all copy bytes by capacity (a domain's share clipped at
    what one copy of each dataset can give it). A pool's deviation is used / target - 1; the
    band is [-tol, +tol]. A move takes one copy from a pool above its target to another pool
    and is allowed only if: the source stays at or above the band's bottom, the destination
    stays at or below the band's top and its capacity (never overshooting), the domain rule
    holds, and the worse of the two pools' deviations gets strictly smaller. That last rule
    makes every move an improvement, so the pass ends (the sorted list of deviations only
    decreases). Among allowed destinations, one that stays at or below its target is
    preferred, then the highest in the dataset's HRW order, so moves agree with what hashing
    would pick and don't churn between runs. Largest datasets first.

    Stage 0 moves copies that don't exist yet (free: they are sent once wherever they go).
    Stage 1 moves existing copies, charged to ``budget`` bytes, and only to bring a pool that
    is outside the band back in: moving data to trade a 1% imbalance for another costs more
    than it gives. A current primary is left alone unless it is the only copy (moving it costs
    a read-only window, and its replicas balance the bytes as well). Once both stages have
    nothing left to do the result is a fixed point: placing it again moves nothing."""
    npool = len(cap)
    size = [e["size"] for e in entries]
    total = sum(size[i] * len(chosen[i]) for i in order)
    if total <= 0:
        return
    dcap = {}
    for p in range(npool):
        dcap[dom[p]] = dcap.get(dom[p], 0) + cap[p]
    share = _shares(dcap, total, sum(size))
    target = [share[dom[p]] * cap[p] / dcap[dom[p]] for p in range(npool)]
    hi = [min(target[p] * (1 + tol), cap[p]) for p in range(npool)]
    lo = [target[p] * (1 - tol) for p in range(npool)]
    exact = [min(target[p], cap[p]) for p in range(npool)]
    budget = float("inf") if budget is None else budget

    inv = [1.0 / t for t in target]
    by_dev = []

    def best(i, s, ch, c, dc, nc, bound):
        """The destination for copy c of dataset i, or None. Deviations are computed exactly
        as by_dev's keys are after a move (the same float operations) and must drop by more
        than rounding noise, so no tie can ping-pong."""
        fit, taken = [], None
        for key, p in by_dev:
            d0 = key - 1
            if d0 >= bound:
                break
            if p == c or used[p] + s > hi[p]:
                continue
            if taken is None:
                taken = {dom[x] for x in ch if x != c}
            if dom[p] in taken:
                continue
            worst = (dc if dc > -d0 else -d0) - _EPS
            d1 = (used[p] + s) * inv[p] - 1
            if nc < worst and -worst < d1 < worst:
                fit.append(p)
        pool = [p for p in fit if used[p] + s <= exact[p]] or fit
        if not pool:
            return None
        r = ranks.get(i)
        if r is not None and len(pool) * 4 > npool:
            ok = set(pool)
            return next(p for p in r if p in ok)
        return max(pool, key=lambda p: _draw(hd[i], hps[p], invw[p]))

    for stage in (0, 1):
        moved = True
        while moved:
            moved = False
            rooms = [hi[p] - used[p] for p in range(npool)]
            room = max(rooms)
            by_dev[:] = sorted((used[p] * inv[p], p) for p in range(npool))
            for i in order:
                s = size[i]
                if s <= 0 or s > room:
                    continue
                ch = chosen[i]
                for c in list(ch):
                    if used[c] <= target[c] or used[c] - s < lo[c] or c in pinned[i]:
                        continue
                    old = c in existing[i]
                    if old and (stage == 0 or budget < s or (c == cur_prim[i] and len(ch) > 1)):
                        continue
                    dc = used[c] * inv[c] - 1
                    nc = abs((used[c] - s) * inv[c] - 1)
                    # Destinations are scanned from the most under-filled up; from `bound` on
                    # none can do: one at or above the source's deviation only gets worse, a
                    # move leaving the source at nc needs one deeper than nc below its target,
                    # and in stage 1 one of the two must be outside the band.
                    bound = dc
                    if stage == 1 and dc <= tol:
                        bound = min(bound, -tol)
                    if nc >= dc:
                        bound = min(bound, -nc)
                    if by_dev[0][0] - 1 >= bound:
                        continue
                    b = best(i, s, ch, c, dc, nc, bound)
                    if b is None:
                        continue
                    ch[ch.index(c)] = b
                    by_dev.remove((used[c] * inv[c], c))
                    by_dev.remove((used[b] * inv[b], b))
                    used[c] -= s
                    used[b] += s
                    bisect.insort(by_dev, (used[c] * inv[c], c))
                    bisect.insort(by_dev, (used[b] * inv[b], b))
                    rooms[c], rooms[b] = hi[c] - used[c], hi[b] - used[b]
                    if old and b not in existing[i]:
                        budget -= s
                    moved = True
                    room = max(rooms)
                    if s > room:
                        break


def _human(n):
    n = float(n)
    for unit in "BKMGTP":
        if abs(n) < 1024 or unit == "P":
            return "%d%s" % (n, unit) if unit == "B" else "%.1f%s" % (n, unit)
        n /= 1024
    return "%.1fP" % n


# --- the plan ---------------------------------------------------------------------------

def _ssh(host, command, *args):
    """``ssh HOST command args...`` as one POSIX shell line. ``command`` is a constant of this
    module; ``args`` are names, checked before (host, pool and dataset names: letters, digits,
    ``_ . : - /`` and, in dataset names only, spaces). Plain names stay bare; with a space, the
    remote command goes in double quotes and the names in single quotes inside them, so each
    shell (the local one, then the remote one ssh hands the joined words to) parses its layer."""
    if _SAFE.match("".join(args)):
        return "ssh %s %s %s" % (host, command, " ".join(args))
    return 'ssh %s "%s %s"' % (host, command, " ".join(map(shlex.quote, args)))


def _ssh_plain(host, command, *args):
    """_ssh when every name of the dataset is known to be plain."""
    return "ssh %s %s %s" % (host, command, " ".join(args))


def _is_pool_id(value):
    if not isinstance(value, str):
        return False
    host, sep, pool = value.partition(":")
    return bool(sep and _HOST.match(host) and _POOL.match(pool))


def _fs(pool_id, ds):
    return "%s/%s" % (pool_id.split(":", 1)[1], ds)


def _host(pool_id):
    return pool_id.split(":", 1)[0]


class _Snaps:
    """Snapshot names for one dataset in one plan: helix-place-RUN-1, -2, ... (each send gets
    its own, so concurrent sends of one dataset never collide)."""

    def __init__(self, run):
        self.run, self.n = run, 0

    def next(self):
        self.n += 1
        return "%s-%s-%d" % (SNAP_PREFIX, self.run, self.n)


def _create_cmds(ssh, ds, pool):
    return [ssh(_host(pool), "zfs create -p -o %s=%s" % (ROLE_PROP, PRIMARY), _fs(pool, ds))]


def _copy_cmds(ssh, ds, src, dst, snaps):
    """A new replica: full send of a fresh snapshot, then an incremental to catch up with what
    was written during the (long) full send; received unmounted, resumable, then read-only."""
    s1, s2 = snaps.next(), snaps.next()
    sfs, dfs, sh, dh = _fs(src, ds), _fs(dst, ds), _host(src), _host(dst)
    cmds = [ssh(sh, "zfs snapshot -r", "%s@%s" % (sfs, s1))]
    if "/" in ds:
        cmds.append(ssh(dh, "zfs create -p", dfs.rsplit("/", 1)[0]))
    cmds += [
        ssh(sh, "zfs send -w -R", "%s@%s" % (sfs, s1)) + " | " +
        ssh(dh, "zfs receive -u -s", dfs),
        ssh(sh, "zfs snapshot -r", "%s@%s" % (sfs, s2)),
        ssh(sh, "zfs send -w -R -I", "@" + s1, "%s@%s" % (sfs, s2)) + " | " +
        ssh(dh, "zfs receive -u -s", dfs),
        ssh(dh, "zfs set readonly=on %s=%s" % (ROLE_PROP, REPLICA), dfs),
    ]
    return cmds, s2


def _final_sync_cmds(ssh, ds, src, dst, snaps, base):
    """The last incremental from the demoted primary: from ``base`` when this plan made the
    copy, else from the newest snapshot the new primary has (replication kept it current)."""
    snap = snaps.next()
    sfs, dfs, sh, dh = _fs(src, ds), _fs(dst, ds), _host(src), _host(dst)
    cmds = [ssh(sh, "zfs snapshot -r", "%s@%s" % (sfs, snap))]
    recv = ssh(dh, "zfs receive -u -s", dfs)
    if base:
        cmds.append(ssh(sh, "zfs send -w -R -I", "@" + base, "%s@%s" % (sfs, snap)) + " | " + recv)
    else:
        cmds.append("base=$(%s | tail -n 1 | cut -d@ -f2)" % ssh(
            dh, "zfs list -H -d 1 -t snapshot -o name -s createtxg", dfs))
        cmds.append("%s | %s" % (ssh(sh, "zfs send -w -R -I @${base}", "%s@%s" % (sfs, snap)), recv))
    # Until here the demoted copy holds the newest writes (see observed_copies).
    cmds.append(ssh(sh, "zfs set %s=%s" % (ROLE_PROP, REPLICA), sfs))
    return cmds


def _roles_of(value):
    """A dataset's copies, ``{pool: role}`` or a list (primary first) -> ``{pool: role}``."""
    if isinstance(value, dict):
        return dict(value)
    prim, reps = _copies_of(value)
    out = {r: REPLICA for r in reps}
    if prim:
        out[prim] = PRIMARY
    return out


def _target_of(value):
    """A target entry, a list (primary first) or ``{pool: role}`` -> list, primary first."""
    if isinstance(value, dict):
        prim, reps = _copies_of(value)
        return ([prim] if prim else []) + reps
    return list(value or [])


def plan(catalog, current, target, roles=None, max_per_host=1, max_per_domain=2, topo=None, run="plan"):
    """(catalog, current ``{dataset: {pool: role}}``, target ``{dataset: [pools]}`` primary
    first) -> waves: a list of lists of steps. The steps of one wave may run concurrently; a
    wave starts when the previous one has finished.

    roles: optional ``{dataset: {pool: role}}`` naming the target's primary (overrides the
    "first is primary" convention). topo: topology() output, for the failure domains of the
    per-domain cap (without it each host is its own domain). run: the run id in snapshot names.

    A step: ``kind`` (create, create_copy, demote, final_sync, promote, drop_copy), ``dataset``,
    ``pool`` (the copy it acts on), ``source`` (sends), ``bytes``, ``reason`` (recovery or
    rebalance), ``commands`` (the shell commands an operator would run, in order).

    Ordering: a dataset's new copies exist before any of its copies is dropped, so its count
    never goes below min(what it has, its target's k), and k >= min_copies. A primary switch
    is demote, then final_sync, then promote, in three consecutive waves: never two writers,
    and the read-only window is one incremental long. Recovery (datasets below k copies or
    without a primary; those below min_copies first) is scheduled entirely before rebalance.
    Per wave at most ``max_per_host`` sends touch a host and ``max_per_domain`` a domain (a
    send counts for its source and its destination; property changes and destroys are not
    capped). Datasets not in ``target`` are never touched: leaving the catalog destroys
    nothing. Re-planning with current == target gives no waves."""
    if not _is_int(max_per_host) or max_per_host < 1 or not _is_int(max_per_domain) or max_per_domain < 1:
        raise PlanError("max_per_host and max_per_domain must be integers >= 1")
    if not isinstance(run, str) or not _RUN.match(run):
        raise PlanError("run %r must be letters, digits, _ . : - (it goes into snapshot names)" % (run,))
    entries = {e["name"]: e for e in parse_catalog(catalog)}
    topo = _as_topology(topo) if topo is not None else None
    current = current or {}
    roles = roles or {}

    doms = {}

    def domain(pool):
        d = doms.get(pool)
        if d is None:
            d = doms[pool] = topo["pools"][pool]["domain"] if topo is not None and pool in topo["pools"] \
                else "host " + _host(pool)
        return d

    steps = []  # the public step dicts; what the scheduler needs about step s is in meta[s]
    meta = []
    lines = []

    def add(kind, ds, pool, cls, prio, deps=(), source=None, nbytes=0, commands=()):
        steps.append({"kind": kind, "dataset": ds, "pool": pool, "source": source, "bytes": nbytes,
                      "reason": "recovery" if cls == 0 else "rebalance", "commands": commands})
        if source is None or kind not in SENDS:
            where = ((), ())
        else:
            where = (tuple(sorted({_host(pool), _host(source)})), tuple(sorted({domain(pool), domain(source)})))
        meta.append((kind, cls, prio, list(deps)) + where)
        return len(steps) - 1

    for ds in sorted(target):
        e = entries.get(ds)
        tgt = _target_of(target[ds])
        if e is None:
            lines.append("dataset %s: in the target but not in the catalog" % ds)
            continue
        if not tgt or len(set(tgt)) != len(tgt) or not all(_is_pool_id(p) for p in tgt):
            lines.append("dataset %s: target %r must be distinct \"host:pool\" ids" % (ds, target[ds]))
            continue
        want_prim = [p for p, r in (roles.get(ds) or {}).items() if r == PRIMARY]
        if len(want_prim) > 1 or (want_prim and want_prim[0] not in tgt):
            lines.append("dataset %s: roles must name one primary among the target's pools" % ds)
            continue
        pt = want_prim[0] if want_prim else tgt[0]
        if len(tgt) < e["min_copies"]:
            lines.append("dataset %s: the target has %d copies, fewer than its min_copies (%d)" % (ds, len(tgt), e["min_copies"]))
            continue
        cur = _roles_of(current.get(ds))
        if not all(_is_pool_id(p) for p in cur):
            lines.append("dataset %s: current %r must be \"host:pool\" ids" % (ds, current[ds]))
            continue
        ssh = _ssh_plain if _SAFE.match(ds) else _ssh  # pool ids are checked plain
        prims = sorted(p for p, r in cur.items() if r == PRIMARY)
        if len(prims) > 1:
            lines.append("dataset %s: %d copies claim to be primary (%s); resolve that by hand first" % (
                ds, len(prims), ", ".join(prims)))
            continue
        pc = prims[0] if prims else None
        size = e["size"]
        adds = [p for p in [pt] + [p for p in tgt if p != pt] if p not in cur]
        drops = sorted(p for p in cur if p not in tgt)
        short = max(0, len(tgt) - len(cur))  # copies missing: the first `short` adds are recovery
        urgency = (len(cur) >= e["min_copies"], len(cur))  # below min_copies first, then fewest copies
        snaps = _Snaps(run)

        def prio(cls):
            return (urgency if cls == 0 else (), -size, ds, len(steps))

        made, last_snap = {}, {}
        if not cur:
            made[pt] = add("create", ds, pt, 0, prio(0), commands=_create_cmds(ssh, ds, pt))
            adds = adds[1:]
            src = pt
            short -= 1
        else:
            src = pc or (pt if pt in cur else sorted(cur)[0])
        for n, p in enumerate(adds):
            cls = 0 if n < short or (cur and pc is None and p == pt) else 1  # a lost primary's successor: recovery
            cmds, last_snap[p] = _copy_cmds(ssh, ds, src, p, snaps)
            made[p] = add("create_copy", ds, p, cls, prio(cls), deps=[made[src]] if src in made else [],
                          source=src, nbytes=size, commands=cmds)
        last = []
        if cur and pc is None:
            # the primary is gone: promote the chosen survivor (no old writer to demote)
            last = [add("promote", ds, pt, 0, prio(0), deps=[made[pt]] if pt in made else [],
                        commands=[ssh(_host(pt), "zfs set readonly=off %s=%s" % (ROLE_PROP, PRIMARY), _fs(pt, ds))])]
        elif pc is not None and pc != pt:
            d = add("demote", ds, pc, 1, prio(1), deps=[made[pt]] if pt in made else [],
                    commands=[ssh(_host(pc), "zfs set readonly=on %s=%s" % (ROLE_PROP, DEMOTED), _fs(pc, ds))])
            f = add("final_sync", ds, pt, 1, prio(1), deps=[d], source=pc, nbytes=0,
                    commands=_final_sync_cmds(ssh, ds, pc, pt, snaps, last_snap.get(pt)))
            last = [add("promote", ds, pt, 1, prio(1), deps=[f],
                        commands=[ssh(_host(pt), "zfs set readonly=off %s=%s" % (ROLE_PROP, PRIMARY), _fs(pt, ds))])]
        for p in drops:
            # source: the primary kept, which must hold the dropped copy's newest snapshot (by guid)
            add("drop_copy", ds, p, 1, prio(1), deps=sorted(set(made.values())) + last, source=pt,
                commands=[ssh(_host(p), "zfs destroy -r", _fs(p, ds))])
    if lines:
        raise PlanError(_join(lines))
    return _schedule(steps, meta, max_per_host, max_per_domain)


def _schedule(steps, meta, max_host, max_dom):
    """Steps with dependencies -> waves. Recovery steps first, every one of them, then the
    rebalance steps. Within a class, each wave takes ready steps in priority order (most
    at-risk dataset, then largest, then name): property changes and destroys at once, sends
    while their hosts and domains have room; a demote only when its final_sync fits in the
    next wave, so a primary switch takes exactly three waves.

    meta[s] = (kind, class, priority, deps, hosts, domains): hosts and domains of sends only."""
    n = len(steps)
    succ = [[] for s in range(n)]
    for s in range(n):
        for d in meta[s][3]:
            succ[d].append(s)
    wave_of = [None] * n
    left = [len(m[3]) for m in meta]
    waves, loads = [], []
    ndoms = len({d for m in meta for d in m[5]})

    def load(w):
        """Wave w's sends per host and per domain, and the hosts and domains that are full."""
        while len(loads) <= w:
            loads.append(({}, {}, set(), set()))
            waves.append([])
        return loads[w]

    def fits(w, s):
        busy, full = load(w)[2:]
        return not any(h in busy for h in meta[s][4]) and not any(d in full for d in meta[s][5])

    def take(w, s):
        wave_of[s] = w
        hc, dc, busy, full = load(w)
        waves[w].append(s)
        for h in meta[s][4]:
            hc[h] = hc.get(h, 0) + 1
            if hc[h] >= max_host:
                busy.add(h)
        for d in meta[s][5]:
            dc[d] = dc.get(d, 0) + 1
            if dc[d] >= max_dom:
                full.add(d)
        for t in succ[s]:
            left[t] -= 1

    def ready_wave(s, start):
        return max([start] + [wave_of[d] + 1 for d in meta[s][3]])

    start = 0
    for cls in (0, 1):
        members = [s for s in range(n) if meta[s][1] == cls]
        if not members:
            continue
        future = {}
        for s in members:
            if left[s] == 0:
                future.setdefault(ready_wave(s, start), []).append(s)
        remaining, w = len(members), start
        buckets, demotes = {}, []
        while remaining:
            newly = []
            for s in future.pop(w, ()):
                kind = meta[s][0]
                if wave_of[s] is not None:
                    continue
                if kind in SENDS:
                    heapq.heappush(buckets.setdefault(meta[s][5], []), (meta[s][2], s))
                elif kind == "demote":
                    demotes.append(s)
                else:  # no data moves: all of them, now
                    take(w, s)
                    remaining -= 1
                    newly.append(s)
            waiting = []
            for s in sorted(demotes, key=lambda s: meta[s][2]):
                f = succ[s][0]
                if fits(w + 1, f):
                    p = succ[f][0]
                    take(w, s)
                    take(w + 1, f)
                    take(w + 2, p)
                    remaining -= 3
                    newly += [s, f, p]
                else:
                    waiting.append(s)
            demotes = waiting
            # Sends: the best ready one first, among those whose domains both have room (one
            # heap per domain pair, merged through a heap of their heads).
            busy, full = load(w)[2:]
            heads = [(b[0][0], key) for key, b in buckets.items() if b and key[0] not in full and key[-1] not in full]
            heapq.heapify(heads)
            skipped = []
            while heads and len(full) < ndoms:
                key = heapq.heappop(heads)[1]
                if key[0] in full or key[-1] in full:
                    continue
                b = buckets[key]
                item = heapq.heappop(b)
                hosts = meta[item[1]][4]
                if hosts[0] not in busy and hosts[-1] not in busy:
                    take(w, item[1])
                    remaining -= 1
                    newly.append(item[1])
                else:
                    skipped.append((key, item))
                if b and key[0] not in full and key[-1] not in full:
                    heapq.heappush(heads, (b[0][0], key))
            for key, item in skipped:
                heapq.heappush(buckets[key], item)
            for s in newly:
                for t in succ[s]:
                    if left[t] == 0 and wave_of[t] is None and meta[t][1] == cls:
                        future.setdefault(ready_wave(t, start), []).append(t)
            w += 1
            if w > start + 4 * n + 8:  # each wave places at least one step; this can't trigger
                raise PlanError("internal error: the scheduler made no progress")
        start = len(waves)
    rank = {k: j for j, k in enumerate(KINDS)}
    return [[steps[s] for s in sorted(wave, key=lambda s: (rank[meta[s][0]], steps[s]["dataset"], steps[s]["pool"]))]
            for wave in waves if wave]


def simulate(current, waves):
    """Apply the steps in order to ``current`` (``{dataset: {pool: role}}``); -> the state after
    each step, same shape. A demoted primary is a "replica" (read-only). Raises PlanError
    on a step that can't run: a send from a missing copy, a second primary, dropping the
    primary or a missing copy ..."""
    state = {ds: _roles_of(v) for ds, v in (current or {}).items()}
    out = []
    for w, wave in enumerate(waves):
        for st in wave:
            ds, pool, kind = st["dataset"], st["pool"], st["kind"]
            c = dict(state.get(ds, {}))
            where = "wave %d, %s %s on %s: " % (w, kind, ds, pool)
            if kind == "create":
                if c:
                    raise PlanError(where + "the dataset already has copies")
                c[pool] = PRIMARY
            elif kind == "create_copy":
                if st["source"] not in c or pool in c:
                    raise PlanError(where + "needs the source copy and no copy yet at the destination")
                c[pool] = REPLICA
            elif kind == "demote":
                if c.get(pool) != PRIMARY:
                    raise PlanError(where + "is not the primary")
                c[pool] = REPLICA
            elif kind == "final_sync":
                if c.get(st["source"]) != REPLICA or pool not in c:
                    raise PlanError(where + "needs a demoted source and an existing destination")
            elif kind == "promote":
                if pool not in c or any(r == PRIMARY for p, r in c.items() if p != pool):
                    raise PlanError(where + "the copy is missing or another primary is still writable")
                c[pool] = PRIMARY
            elif kind == "drop_copy":
                if c.get(pool) != REPLICA:
                    raise PlanError(where + "drops a missing copy or the primary")
                del c[pool]
            else:
                raise PlanError(where + "unknown step kind")
            state = dict(state)
            state[ds] = c
            out.append(state)
    return out


# --- capacity ---------------------------------------------------------------------------

SLOP_SHIFT = 5  # spa_slop_shift: ZFS keeps 1/32 of the pool back
SLOP_MIN = 128 << 20  # spa_min_slop
SLOP_MAX = 128 << 30  # spa_max_slop (OpenZFS 2.x)
_PARITY = {"stripe": 0, "mirror": 0, "raidz1": 1, "raidz2": 2, "raidz3": 3, "raidz": 1}


def usable_bytes(layout, disks, disk_bytes, ashift=12, recordsize=131072, reservation=0, headroom=1.0, vdevs=1):
    """The bytes a pool gives datasets: ``vdevs`` vdevs of ``disks`` disks each.

    raidz: one ``recordsize`` block takes D = ceil(recordsize / sector) data sectors plus
    parity * ceil(D / (disks - parity)) parity sectors, rounded up to a multiple of parity + 1
    sectors (vdev_raidz_asize: the padding that keeps free gaps usable); the data fraction is D
    over that. mirror: one disk's worth per vdev. Then ZFS's slop space (spa_get_slop_space:
    pool/32, at most 128 GiB, at least 128 MiB or half the pool), the ``reservation``, and the
    snapshot ``headroom`` multiple (1.5 keeps a third free for snapshots). Approximate within
    ZFS's labels and metaslab rounding (about 0.5%). -> a dict of every intermediate number."""
    layout = str(layout).lower()
    if layout not in _PARITY:
        raise PlanError("layout %r: one of stripe, mirror, raidz1, raidz2, raidz3" % (layout,))
    parity = _PARITY[layout]
    if layout == "raidz":
        layout = "raidz1"
    for what, v in (("disks", disks), ("ashift", ashift), ("vdevs", vdevs)):
        if not _is_int(v) or v < 1:
            raise PlanError("%s must be an integer >= 1" % what)
    try:
        disk_bytes, recordsize, reservation = _size(disk_bytes), _size(recordsize), _size(reservation)
    except ValueError:
        raise PlanError("disk_bytes, recordsize and reservation must be sizes")
    if isinstance(headroom, bool) or not isinstance(headroom, (int, float)) or headroom < 1:
        raise PlanError("headroom must be a number >= 1 (1.5 keeps a third of the space for snapshots)")
    if layout.startswith("raidz") and disks < parity + 2:
        raise PlanError("%s needs at least %d disks" % (layout, parity + 2))
    if layout == "mirror" and disks < 2:
        raise PlanError("mirror needs at least 2 disks")
    sector = 1 << ashift
    raw = disks * disk_bytes * vdevs
    data = -(-recordsize // sector)
    par = pad = 0
    if parity:
        par = parity * -(-data // (disks - parity))
        pad = -(data + par) % (parity + 1)
        fraction = float(data) / (data + par + pad)
        after = disks * disk_bytes * data // (data + par + pad) * vdevs  # exact: no float rounding
    elif layout == "mirror":
        fraction = 1.0 / disks
        after = disk_bytes * vdevs
    else:
        fraction = 1.0
        after = raw
    slop = max(min(after >> SLOP_SHIFT, SLOP_MAX), min(after >> 1, SLOP_MIN))
    avail = max(0, after - slop - reservation)
    return {"layout": layout, "disks": disks, "vdevs": vdevs, "disk_bytes": disk_bytes, "raw": raw,
            "sector": sector, "recordsize": recordsize, "data_sectors": data, "parity_sectors": par,
            "pad_sectors": pad, "alloc_sectors": data + par + pad, "data_fraction": fraction,
            "after_redundancy": after, "slop": slop, "reservation": reservation, "available": avail,
            "headroom": headroom, "usable": int(avail / headroom)}


def placement_table(target, topo, catalog):
    """Rows (dicts) per host, per domain and a total: copies, primaries, bytes, capacity, percent
    (bytes / capacity). Hosts and domains without copies are listed too."""
    topo = _as_topology(topo)
    sizes = {e["name"]: e["size"] for e in parse_catalog(catalog)}
    per = {}
    for ds in sorted(target):
        for n, p in enumerate(_target_of(target[ds])):
            if p not in topo["pools"]:
                raise PlanError("dataset %s: pool %s is not in the topology" % (ds, p))
            h = topo["pools"][p]["host"]
            r = per.setdefault(h, [0, 0, 0])
            r[0] += 1
            r[1] += n == 0
            r[2] += sizes.get(ds, 0)
    rows = []

    def row(level, name, dom, copies, prims, nbytes, capacity):
        rows.append({"level": level, "name": name, "domain": dom, "copies": copies, "primaries": prims,
                     "bytes": nbytes, "capacity": capacity,
                     "percent": round(100.0 * nbytes / capacity, 1) if capacity else 0.0})

    tot = [0, 0, 0, 0]
    for d in sorted(topo["domains"]):
        dsum = [0, 0, 0, 0]
        for h in sorted(topo["domains"][d]["hosts"]):
            c, pr, b = per.get(h, [0, 0, 0])
            capacity = sum(topo["pools"][p]["capacity"] for p in topo["hosts"][h]["pools"])
            row("host", h, d, c, pr, b, capacity)
            dsum = [dsum[0] + c, dsum[1] + pr, dsum[2] + b, dsum[3] + capacity]
        row("domain", d, d, *dsum)
        tot = [a + b for a, b in zip(tot, dsum)]
    row("total", "all", "", *tot)
    return rows


def render_table(rows):
    """placement_table rows -> a fixed-width text table (sizes in K/M/G/T, powers of 1024)."""
    head = ("", "name", "domain", "copies", "primaries", "bytes", "capacity", "used %")
    body = [(r["level"], r["name"], r["domain"], str(r["copies"]), str(r["primaries"]), _human(r["bytes"]),
             _human(r["capacity"]), "%.1f" % r["percent"]) for r in rows]
    width = [max(len(x[j]) for x in [head] + body) for j in range(len(head))]
    lines = []
    for x in [head] + body:
        cells = [x[j].ljust(width[j]) if j < 3 else x[j].rjust(width[j]) for j in range(len(head))]
        lines.append("  ".join(cells).rstrip())
    return "\n".join(lines) + "\n"


# --- what the nodes have ----------------------------------------------------------------

def observed_copies(observed, topo, names):
    """What helix.zfs.zfs_info read on each host, ``[{host, datasets: [{name, properties}]}]``,
    -> ``{dataset: {pool id: role}}`` for the catalog's ``names``. A copy is ``POOL/NAME`` on one
    of the host's topology pools; its role is its helix:role property (``demoted`` counts as
    primary: see the note below). A dataset none of whose
    copies says primary but exactly one of which is writable (one made before helix managed it)
    has that one as its primary."""
    topo = _as_topology(topo)
    names = set(names)
    found, writable = {}, {}
    for seen in observed or []:
        host = seen.get("host")
        for d in seen.get("datasets") or []:
            pool, _sep, rest = d["name"].partition("/")
            pid = "%s:%s" % (host, pool)
            if pid not in topo["pools"] or rest not in names:
                continue
            props = d.get("properties") or {}
            role = (props.get(ROLE_PROP) or {}).get("value")
            # "demoted": a primary switch broke off after the demotion; that copy still holds the
            # newest writes, so it counts as the primary and the next plan syncs from it.
            found.setdefault(rest, {})[pid] = PRIMARY if role in (PRIMARY, DEMOTED) else REPLICA
            if (props.get("readonly") or {}).get("value") == "off":
                writable.setdefault(rest, []).append(pid)
    for ds, copies in found.items():
        if PRIMARY not in copies.values() and len(writable.get(ds, [])) == 1:
            copies[writable[ds][0]] = PRIMARY
    return found
