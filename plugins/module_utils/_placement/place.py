# Copyright (c) helix.zfs contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Where every dataset's copies should live: weighted rendezvous hashing with a failure-domain
skip, stickiness, then a byte-balance pass (the package's docstring says why)."""

from __future__ import annotations

import bisect
import hashlib
import math
import operator
import struct

from ansible_collections.helix.zfs.plugins.module_utils._errors import PlanError
from ansible_collections.helix.zfs.plugins.module_utils._placement.capacity import human
from ansible_collections.helix.zfs.plugins.module_utils._placement.catalog import (
    DEFAULT_TOLERANCE,
    copies_of,
    covers,
    is_int,
    join_lines,
    parse_catalog,
)
from ansible_collections.helix.zfs.plugins.module_utils._placement.topology import as_topology

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
    topo = as_topology(topo)
    current = current or {}
    if max_move_bytes is not None and (not is_int(max_move_bytes) or max_move_bytes < 0):
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
        cp, reps = copies_of(current.get(name[i]))
        for p in ([cp] if cp else []) + reps:
            if p in index:
                existing[i].add(index[p])
        if cp in index:
            cur_prim[i] = index[cp]
        ch, taken, bad = chosen[i], set(), []
        pins = list(e["pin"])
        if e["primary"]:
            cover = [p for p in pins if covers(p, e["primary"])]
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
                len(ch), k, human(s))
    if errors:
        raise PlanError(join_lines(["dataset %s: %s" % (name[i], errors[i]) for i in sorted(errors, key=name.__getitem__)]))

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
