# Copyright (c) helix.zfs contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Snapshot schedules and retention: which snapshots to create and which to keep at time T.

Pure functions, no I/O. A policy is either classes, ``{frequent: {every: 15m, keep: 24},
hourly: {keep: 48}}`` (keep the newest N of each class), or a keep-grid string,
``6h:15m, 2d:1h, 30d:1d`` (up to 6 hours old keep one per 15 minutes, up to 2 days one per
hour, up to 30 days one per day, nothing older). Grid buckets are aligned to the epoch, so
the snapshot a bucket keeps does not change as time passes.

A snapshot's time and class come from its name, ``<prefix><YYYYmmddTHHMMSSZ>_<class>`` in UTC:
the name is the record, whatever the ``creation`` property says (so a restored or replicated
snapshot keeps its place in the schedule).
"""

from __future__ import annotations

import calendar
import re
import time

from ansible_collections.helix.zfs.plugins.module_utils._errors import PlanError
from ansible_collections.helix.zfs.plugins.module_utils._units import parse_duration

# The period a class is snapshotted at when the policy names no ``every``.
DEFAULT_EVERY = {"frequent": 900, "frequently": 900, "hourly": 3600, "daily": 86400,
                 "weekly": 7 * 86400, "monthly": 30 * 86400, "yearly": 365 * 86400}
GRID_CLASS = "grid"
_CLASS = re.compile(r"[a-z][a-z0-9]*")  # always fullmatch(): "$" would let a trailing newline in
_STAMP_RE = re.compile(r"\d{8}T\d{6}Z")
_STAMP = "%Y%m%dT%H%M%SZ"
_YEAR_10000 = 253402300800


def parse_policy(policy):
    """A policy as the user wrote it -> {"grid": [(span, interval), ...]} or
    {"classes": {name: (every, keep)}}."""
    if isinstance(policy, str):
        grid = []
        for part in policy.split(","):
            if part.count(":") != 1:
                raise PlanError("bad keep-grid entry %r: want SPAN:INTERVAL, e.g. 6h:15m" % part.strip())
            span, interval = (parse_duration(x) for x in part.split(":"))
            if interval > span:
                raise PlanError("keep-grid entry %r: the interval is longer than the span" % part.strip())
            if grid and (span <= grid[-1][0] or interval < grid[-1][1]):
                raise PlanError("keep-grid spans must grow, and intervals must not shrink: %r" % policy)
            grid.append((span, interval))
        return {"grid": grid}
    if not isinstance(policy, dict) or not policy:
        raise PlanError("a policy is a keep-grid string or a non-empty dict of classes")
    classes = {}
    for name, spec in policy.items():
        if not _CLASS.fullmatch(str(name)) or name == GRID_CLASS:
            raise PlanError("bad class name %r: lower-case letters and digits, not %r" % (name, GRID_CLASS))
        spec = {} if spec is None else spec
        if not isinstance(spec, dict):
            raise PlanError("class %s: want a dict of 'every' and 'keep', got %r" % (name, spec))
        if set(spec) - {"every", "keep"}:
            raise PlanError("class %s: only 'every' and 'keep' are allowed, got %s"
                            % (name, sorted(set(spec) - {"every", "keep"})))
        if "every" in spec:
            every = parse_duration(spec["every"])
        elif name in DEFAULT_EVERY:
            every = DEFAULT_EVERY[name]
        else:
            raise PlanError("class %s: 'every' is required (only %s have a default)"
                            % (name, ", ".join(sorted(DEFAULT_EVERY))))
        try:
            keep = int(spec.get("keep"))
        except (TypeError, ValueError):
            keep = 0
        if keep < 1 or str(spec.get("keep")).strip() != str(keep):
            raise PlanError("class %s: 'keep' is a whole number of at least 1" % name)
        classes[name] = (every, keep)
    return {"classes": classes}


def classes_of(policy):
    """{class: every} for the classes a policy snapshots."""
    if "grid" in policy:
        return {GRID_CLASS: min(i for _s, i in policy["grid"])}
    return {c: every for c, (every, _keep) in policy["classes"].items()}


def snapshot_name(prefix, cls, now):
    return "%s%s_%s" % (prefix, time.strftime(_STAMP, time.gmtime(now)), cls)


def parse_name(prefix, name):
    """The (time, class) an owned snapshot name records, or None for any other name."""
    if not name.startswith(prefix):
        return None
    stamp, sep, cls = name[len(prefix):].partition("_")
    if not sep or not _CLASS.fullmatch(cls) or not _STAMP_RE.fullmatch(stamp):
        return None
    try:
        return calendar.timegm(time.strptime(stamp, _STAMP)), cls
    except ValueError:
        return None


def parse_time(text):
    """``2026-11-22T05:15:00Z`` (UTC) or epoch seconds -> epoch seconds."""
    text = str(text).strip()
    if re.fullmatch(r"\d+(\.\d+)?", text):
        value = int(float(text))
        if value >= _YEAR_10000:  # time.gmtime() can't name it
            raise PlanError("bad time %r: epoch seconds before the year 10000" % text)
        return value
    for fmt in ("%Y-%m-%dT%H:%M:%SZ", "%Y-%m-%dT%H:%MZ", _STAMP):
        try:
            return calendar.timegm(time.strptime(text, fmt))
        except ValueError:
            pass
    raise PlanError("bad time %r: want UTC like 2026-11-22T05:15:00Z, or epoch seconds" % text)


def slot_start(now, every):
    """The start of the slot of length ``every`` that ``now`` falls in (slots aligned to the epoch)."""
    return now - now % every


def due(snaps, policy, now):
    """The classes that need a snapshot now: none of theirs falls in the current slot of their
    period. By slot, not by age: a run a few seconds late or early still takes one snapshot per
    slot (by age, "every 15m" snapshotted every 30 minutes). A class whose snapshots all come from
    later slots began after this one and owes nothing for it (what a drift check, which asks
    about a past ``now``, needs); the caller leaves out snapshots dated after the real clock.

    ``snaps``: dicts with ``time`` and ``class`` (owned snapshots of one dataset)."""
    out = []
    for cls, every in sorted(classes_of(policy).items()):
        start = slot_start(now, every)
        times = [s["time"] for s in snaps if s["class"] == cls]
        if not any(start <= t < start + every for t in times) and not (times and min(times) >= start + every):
            out.append(cls)
    return out


def prune(snaps, policy, now):
    """The names to destroy among one dataset's owned snapshots at time ``now``.

    ``snaps``: dicts with ``name``, ``time``, ``class`` and ``protected`` (held, or what a
    replication target still needs). Protected snapshots are never destroyed and take no
    place in a count or a bucket. The newest snapshot is never destroyed. Classes the
    policy does not name are left alone. The answer does not depend on the input order.
    """
    order = sorted(snaps, key=lambda s: (s["time"], s["name"]))  # oldest first
    newest = order[-1]["name"] if order else None
    free = [s for s in order if not s["protected"] and s["name"] != newest]
    doomed = set()
    if "grid" in policy:
        grid = policy["grid"]
        seen = set()
        for s in (s for s in free if s["class"] == GRID_CLASS):
            age = now - s["time"]
            slot = next((i for i, (span, _iv) in enumerate(grid) if age < span), None)
            if slot is None:
                doomed.add(s["name"])
                continue
            bucket = (slot, s["time"] // grid[slot][1])
            if bucket in seen:  # the oldest in a bucket stays; later ones go
                doomed.add(s["name"])
            seen.add(bucket)
    else:
        for cls, (_every, keep) in policy["classes"].items():
            mine = [s for s in order if s["class"] == cls and not s["protected"]]
            doomed.update(s["name"] for s in mine[:-keep] if s["name"] != newest)
    return sorted(doomed)
