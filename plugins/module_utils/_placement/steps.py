# Copyright (c) helix.zfs contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""The plan: (current copies, target) -> steps (create, create_copy, cutover, promote,
drop_copy) with their dependencies, scheduled into waves within the per-host and per-domain
caps. The steps are data: playbooks/tasks/placement_step.yml runs them."""

from __future__ import annotations

import heapq
import re

from ansible_collections.helix.zfs.plugins.module_utils._props import PRIMARY, REPLICA
from ansible_collections.helix.zfs.plugins.module_utils._errors import PlanError
from ansible_collections.helix.zfs.plugins.module_utils._placement.catalog import (
    copies_of,
    is_int,
    join_lines,
    parse_catalog,
)
from ansible_collections.helix.zfs.plugins.module_utils._placement.topology import as_topology, is_pool_id, parents, pool_fs, pool_host

SNAP_PREFIX = "helix-place"

# Step kinds in the order they are listed within a wave.
KINDS = ("create", "create_copy", "cutover", "promote", "drop_copy")

# Steps that stream data: the only ones that count against the per-host and per-domain caps.
# The others are property changes or a destroy (ZFS frees asynchronously), seconds each.
SENDS = frozenset(("create_copy", "cutover"))
_RUN = re.compile(r"^[A-Za-z0-9_.:-]+$")


class _Snaps:
    """Snapshot names for one dataset in one plan: helix-place-RUN-1, -2, ... (each send gets
    its own, so concurrent sends of one dataset never collide). The step carries its name, and
    the executor (playbooks/tasks/placement_step.yml) takes exactly that snapshot."""

    def __init__(self, run):
        self.run, self.n = run, 0

    def next(self):
        self.n += 1
        return "%s-%s-%d" % (SNAP_PREFIX, self.run, self.n)


def roles_of(value):
    """A dataset's copies, ``{pool: role}`` or a list (primary first) -> ``{pool: role}``."""
    if isinstance(value, dict):
        return dict(value)
    prim, reps = copies_of(value)
    out = {r: REPLICA for r in reps}
    if prim:
        out[prim] = PRIMARY
    return out


def target_of(value):
    """A target entry, a list (primary first) or ``{pool: role}`` -> list, primary first."""
    if isinstance(value, dict):
        prim, reps = copies_of(value)
        return ([prim] if prim else []) + reps
    return list(value or [])


def plan(catalog, current, target, roles=None, max_per_host=1, max_per_domain=2, topo=None, run="plan"):
    """(catalog, current ``{dataset: {pool: role}}``, target ``{dataset: [pools]}`` primary
    first) -> waves: a list of lists of steps. The steps of one wave may run concurrently; a
    wave starts when the previous one has finished.

    roles: optional ``{dataset: {pool: role}}`` naming the target's primary (overrides the
    "first is primary" convention). topo: topology() output, for the failure domains of the
    per-domain cap (without it each host is its own domain). run: the run id in snapshot names.

    A step: ``kind`` (create, create_copy, cutover, promote, drop_copy), ``dataset``, ``pool``
    (the copy it acts on), ``host``, ``fs`` and ``parents`` (its host, its name there and the
    datasets above it), ``runner`` (the host whose round runs it: a send's source, else the
    least busy host of its wave), ``source``, ``source_host``, ``source_fs`` (sends; for a drop,
    the primary kept), ``snapshot`` (the one a send takes), ``bytes``, ``reason`` (recovery or
    rebalance); ``commands.fill`` adds ``id`` and ``commands`` (what the modules will run).

    Ordering: a dataset's new copies exist before any of its copies is dropped, so its count
    never goes below min(what it has, its target's k), and k >= min_copies. A primary switch
    is one cutover step (demote, final incremental, verify, mark, promote: never two writers,
    and the read-only window is one incremental long); a lost primary's successor is promoted. Recovery (datasets below k copies or
    without a primary; those below min_copies first) is scheduled entirely before rebalance.
    Per wave at most ``max_per_host`` sends touch a host and ``max_per_domain`` a domain (a
    send counts for its source and its destination; property changes and destroys are not
    capped). Datasets not in ``target`` are never touched: leaving the catalog destroys
    nothing. Re-planning with current == target gives no waves."""
    if not is_int(max_per_host) or max_per_host < 1 or not is_int(max_per_domain) or max_per_domain < 1:
        raise PlanError("max_per_host and max_per_domain must be integers >= 1")
    if not isinstance(run, str) or not _RUN.match(run):
        raise PlanError("run %r must be letters, digits, _ . : - (it goes into snapshot names)" % (run,))
    entries = {e["name"]: e for e in parse_catalog(catalog)}
    topo = as_topology(topo) if topo is not None else None
    current = current or {}
    roles = roles or {}

    doms = {}

    def domain(pool):
        d = doms.get(pool)
        if d is None:
            d = doms[pool] = topo["pools"][pool]["domain"] if topo is not None and pool in topo["pools"] \
                else "host " + pool_host(pool)
        return d

    steps = []  # the public step dicts; what the scheduler needs about step s is in meta[s]
    meta = []
    lines = []

    def add(kind, ds, pool, cls, prio, deps=(), source=None, nbytes=0, snapshot=None):
        # runner: the host whose round runs this step in a wave (_spread_runners sets it for the
        # steps that are not sends)
        steps.append({"kind": kind, "dataset": ds, "pool": pool, "host": pool_host(pool), "fs": pool_fs(pool, ds),
                      "runner": pool_host(source) if kind in SENDS else pool_host(pool),
                      "parents": parents(pool, ds), "source": source,
                      "source_host": pool_host(source) if source else None,
                      "source_fs": pool_fs(source, ds) if source else None, "snapshot": snapshot,
                      "bytes": nbytes, "reason": "recovery" if cls == 0 else "rebalance"})
        if source is None or kind not in SENDS:
            where = ((), ())
        else:
            where = (tuple(sorted({pool_host(pool), pool_host(source)})), tuple(sorted({domain(pool), domain(source)})))
        meta.append((kind, cls, prio, list(deps)) + where)
        return len(steps) - 1

    for ds in sorted(target):
        e = entries.get(ds)
        tgt = target_of(target[ds])
        if e is None:
            lines.append("dataset %s: in the target but not in the catalog" % ds)
            continue
        if not tgt or len(set(tgt)) != len(tgt) or not all(is_pool_id(p) for p in tgt):
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
        cur = roles_of(current.get(ds))
        if not all(is_pool_id(p) for p in cur):
            lines.append("dataset %s: current %r must be \"host:pool\" ids" % (ds, current[ds]))
            continue
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

        made = {}
        if not cur:
            made[pt] = add("create", ds, pt, 0, prio(0))
            adds = adds[1:]
            src = pt
            short -= 1
        else:
            src = pc or (pt if pt in cur else sorted(cur)[0])
        for n, p in enumerate(adds):
            cls = 0 if n < short or (cur and pc is None and p == pt) else 1  # a lost primary's successor: recovery
            snap = snaps.next()
            made[p] = add("create_copy", ds, p, cls, prio(cls), deps=[made[src]] if src in made else [],
                          source=src, nbytes=size, snapshot=snap)
        last = []
        if cur and pc is None:
            # the primary is gone: promote the chosen survivor (no old writer to demote)
            last = [add("promote", ds, pt, 0, prio(0), deps=[made[pt]] if pt in made else [])]
        elif pc is not None and pc != pt:
            snap = snaps.next()
            last = [add("cutover", ds, pt, 1, prio(1), deps=[made[pt]] if pt in made else [], source=pc,
                        snapshot=snap)]
        for p in drops:
            # source: the primary kept, which must hold the dropped copy's newest snapshot (by guid)
            add("drop_copy", ds, p, 1, prio(1), deps=sorted(set(made.values())) + last, source=pt)
    if lines:
        raise PlanError(join_lines(lines))
    hosts = sorted({h for h, _p in (pid.split(":", 1) for pid in topo["pools"])}) if topo is not None else None
    return _spread_runners(_schedule(steps, meta, max_per_host, max_per_domain), hosts)


def _spread_runners(waves, hosts=None):
    """A wave runs in rounds, each host one step per round, so the busiest host sets its length.
    A send is run by its source; a step that moves no data (create, promote, drop_copy: each
    command names its host) goes to the host with the fewest steps in that wave, its own host
    first on a tie, so such steps share a round instead of queueing on one host."""
    for wave in waves:
        load = {}
        for st in wave:
            if st["kind"] in SENDS:
                load[st["runner"]] = load.get(st["runner"], 0) + 1
        pool = hosts or sorted({st["host"] for st in wave} | set(load))
        for st in wave:
            if st["kind"] not in SENDS:
                st["runner"] = min(pool, key=lambda h: (load.get(h, 0), h != st["host"], h))
                load[st["runner"]] = load.get(st["runner"], 0) + 1
    return waves


def _schedule(steps, meta, max_host, max_dom):
    """Steps with dependencies -> waves. Recovery steps first, every one of them, then the
    rebalance steps. Within a class, each wave takes ready steps in priority order (most
    at-risk dataset, then largest, then name): property changes and destroys at once, sends
    (copies and cut-overs) while their hosts and domains have room.

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
        buckets = {}
        while remaining:
            newly = []
            for s in future.pop(w, ()):
                kind = meta[s][0]
                if wave_of[s] is not None:
                    continue
                if kind in SENDS:
                    heapq.heappush(buckets.setdefault(meta[s][5], []), (meta[s][2], s))
                else:  # no data moves: all of them, now
                    take(w, s)
                    remaining -= 1
                    newly.append(s)
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
