# Copyright (c) helix.zfs contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""How long a migration will take, worked out before it runs (migrate_node.yml's check mode):
each node's bytes to send over a throughput, its read-only window, and a phase's total for the
play's ``serial`` (its hosts go in batches, a batch as slow as its slowest node)."""

from __future__ import annotations

import math

from ansible_collections.helix.zfs.plugins.module_utils._errors import PlanError
from ansible_collections.helix.zfs.plugins.module_utils._units import parse_duration, parse_size


def _prop(d, name):
    v = ((d.get("properties") or {}).get(name) or {}).get("value")
    return int(v) if v not in (None, "-", "") else 0


def _seconds(value):
    return int(value) if isinstance(value, int) and not isinstance(value, bool) else parse_duration(value)


def node_estimate(pairs, streams, sources, throughput, small_delta, cutover_steps):
    """pairs: [{source, target}] left to migrate; streams: zfs_replicate's check-mode results per
    pair (``item`` the pair, ``sent`` and ``bytes`` from zfs send -nvP; without ``sent`` the check
    failed: a source with no snapshot yet); sources: zfs_info's datasets of the source trees (``used``, ``written``).
    -> {bytes, sized_by, transfer_seconds, window_seconds, seconds}.

    A stream's size covers the newest snapshot; what was written since (``written`` of each
    dataset in the tree) goes in the run's first snapshot too. A source with no snapshot is sized
    by its ``used``. The window is the final incremental (under ``small_delta``: the rounds stop
    once one sends less) over the throughput, plus ``cutover_steps``, the cut-over's own steps."""
    try:
        rate = parse_size(throughput)
        small = parse_size(small_delta)
    except ValueError as e:
        raise PlanError("migration estimate: %s" % e)
    if rate <= 0:
        raise PlanError("migration estimate: the throughput must be above 0 bytes a second")
    steps = _seconds(cutover_steps)
    by_source = {(r.get("item") or {}).get("source"): r for r in streams or []}
    total, sized_by = 0, set()
    for pair in pairs:
        top = pair["source"]
        tree = [d for d in sources if d["name"] == top or d["name"].startswith(top + "/")]
        res = by_source.get(top) or {}
        # A check that failed (no snapshot yet; failed_when: false keeps failed false) has no "sent".
        if res.get("failed") or "sent" not in res:
            total += next((_prop(d, "used") for d in tree if d["name"] == top), 0)
            sized_by.add("used")
        else:
            total += int(res["bytes"]) + sum(_prop(d, "written") for d in tree)
            sized_by.add("zfs send -nvP")
    transfer = total / rate
    window = (small / rate + steps) if pairs else 0
    return {"bytes": total, "sized_by": sorted(sized_by), "transfer_seconds": round(transfer, 1),
            "window_seconds": round(window, 1), "seconds": round(transfer + window, 1)}


def batches(hosts, serial):
    """Ansible's ``serial`` (a number, a percentage such as ``"25%"``, or a list of them, the
    last one repeating) -> the hosts in their batches."""
    steps = serial if isinstance(serial, list) else [serial]
    if not steps:
        raise PlanError("serial is an empty list")
    out, i, k = [], 0, 0
    while i < len(hosts):
        s = str(steps[min(k, len(steps) - 1)]).strip()
        try:
            n = max(1, int(math.floor(len(hosts) * float(s[:-1]) / 100))) if s.endswith("%") else int(s)
        except ValueError:
            raise PlanError("serial %r is not a number or a percentage" % (s,))
        n = len(hosts) if n <= 0 else n  # serial 0 runs every host at once, as Ansible does
        out.append(hosts[i:i + n])
        i, k = i + n, k + 1
    return out


def phase_estimate(per_host, hosts, serial):
    """per_host: {host: node_estimate's result}; hosts in play order -> {batches: [{hosts, seconds}],
    seconds}: each batch takes as long as its slowest node, the batches one after another."""
    out = []
    for batch in batches(hosts, serial):
        out.append({"hosts": batch, "seconds": max((per_host.get(h) or {}).get("seconds", 0) for h in batch)})
    return {"batches": out, "seconds": round(sum(b["seconds"] for b in out), 1)}
