# Copyright (c) helix.zfs contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""The monitoring collector's metrics: (parsed zpool/zfs state, the snapshot schedules, now) ->
a node_exporter textfile in Prometheus' text exposition format. Pure functions, no I/O.

The collector (roles/node_runtime/files/helix_zfs_textfile.py) makes four calls - the argvs below -
and hands their parsed output here: ``zpool list -Hp``, ``zpool status -j`` (parsed by
_zpool_status), one ``zfs list`` of filesystems and volumes, one of snapshots and bookmarks
(parsed by _read.parse_list). Series are per pool, vdev, dataset and scheduled
class, never per snapshot. Ages are not computed here: timestamps go out, and the alert rules
compare them with ``time()``, so a stale file can't look fresh.
"""

from __future__ import annotations

from ansible_collections.helix.zfs.plugins.module_utils import _read
from ansible_collections.helix.zfs.plugins.module_utils import _snapshot_policy as policy
from ansible_collections.helix.zfs.plugins.module_utils import _zfs_snapshot_plan as plan
from ansible_collections.helix.zfs.plugins.module_utils._props import PRIMARY, REPLICA, ROLE_PROP, parse_value
from ansible_collections.helix.zfs.plugins.module_utils._zpool_status import VDEV_GROUPS

POOL_STATES = ("ONLINE", "DEGRADED", "FAULTED", "OFFLINE", "UNAVAIL", "REMOVED", "SUSPENDED")
POOL_COLUMNS = ("name", "size", "allocated", "free", "fragmentation")
DATASET_COLUMNS = ("name", "used", "available", "referenced", "quota", "refquota", ROLE_PROP)
# parse_list's columns, plus creation: a bookmark keeps its snapshot's, a received snapshot its
# source's, so both date what was sent.
SNAPSHOT_COLUMNS = plan.columns(("creation",), written=False)

# name -> (type, help), in output order.
METRICS = {
    "pool_health": ("gauge", "1 for the pool's current state (zpool status), 0 for the others."),
    "pool_size_bytes": ("gauge", "Pool size (zpool list), parity included."),
    "pool_allocated_bytes": ("gauge", "Space allocated in the pool (zpool list)."),
    "pool_free_bytes": ("gauge", "Free space in the pool (zpool list)."),
    "pool_capacity_ratio": ("gauge", "Allocated over size, 0 to 1."),
    "pool_fragmentation_ratio": ("gauge", "Free-space fragmentation, 0 to 1."),
    "pool_data_errors": ("gauge", "Permanent data errors the pool knows of (zpool status -v lists the files)."),
    "pool_scrub_in_progress": ("gauge", "1 while a scrub runs (not paused)."),
    "pool_scrub_end_timestamp_seconds": (
        "gauge", "When the last scrub finished; 0 when zpool status shows none finished (never, canceled, or a resilver since)."),
    "pool_scrub_errors": ("gauge", "Errors the last (or running) scrub found."),
    "vdev_state": ("gauge", "1, labelled with the vdev's state (zpool status), for each vdev below the root."),
    "vdev_errors_total": ("counter", "Read, write and checksum errors of a leaf vdev since import or zpool clear."),
    "dataset_used_bytes": ("gauge", "Space the dataset and its descendants use."),
    "dataset_available_bytes": ("gauge", "Space available to the dataset."),
    "dataset_quota_bytes": ("gauge", "The dataset's quota, when it has one."),
    "dataset_referenced_bytes": ("gauge", "Space the dataset references, for datasets with a refquota."),
    "dataset_refquota_bytes": ("gauge", "The dataset's refquota, when it has one."),
    "snapshot_newest_timestamp_seconds": (
        "gauge", "The newest scheduled snapshot of the class (the time its name records); 0 when there is none."),
    "snapshot_interval_seconds": ("gauge", "How often the schedule snapshots the class."),
    "snapshot_future_named": (
        "gauge", "Scheduled snapshots of the class named after the node's clock (a clock problem; not counted as newest)."),
    "replication_last_sent_timestamp_seconds": (
        "gauge", "Creation of the newest snapshot sent from the dataset (its newest bookmark)."),
    "replica_newest_snapshot_timestamp_seconds": (
        "gauge", "Creation of the newest snapshot received by a helix:role=replica dataset; 0 when it has none."),
    "replication_target_last_success_timestamp_seconds": (
        "gauge", "When the replication timer last brought this target up to the tree's newest snapshot; 0 never."),
    "replication_target_last_attempt_timestamp_seconds": ("gauge", "When the replication timer last tried this target."),
    "replication_target_failures": ("gauge", "The replication timer's failed runs to this target in a row (0 after a success)."),
    "replication_target_sent_bytes_total": ("counter", "Bytes the replication timer has sent to this target."),
    "replication_target_bytes_remaining": (
        "gauge", "Bytes left of the send running to this target (against zfs send -nvP's estimate); 0 when none runs."),
    "replication_hook_failures": (
        "gauge", "The replication timer's runs in a row whose snapshot step failed (a pre hook, or the snapshot); 0 after a good one."),
    "collector_success": ("gauge", "1 when every zpool/zfs call and schedule was read, else 0."),
    "collector_last_run_timestamp_seconds": ("gauge", "When the collector last ran."),
    "collector_duration_seconds": ("gauge", "How long the collector's run took."),
}


def pool_list_argv():
    return ["zpool", "list", "-Hp", "-o", ",".join(POOL_COLUMNS)]


def pool_status_argv():
    return ["zpool", "status", "-j", "--json-int"]


def dataset_list_argv():
    return ["zfs", "list", "-Hp", "-t", "filesystem,volume", "-o", ",".join(DATASET_COLUMNS)]


def snapshot_list_argv():
    return ["zfs", "list", "-Hp", "-t", "snapshot,bookmark", "-o", ",".join(SNAPSHOT_COLUMNS)]


def parse_pool_list(text):
    """``zpool list -Hp -o POOL_COLUMNS`` -> {pool: {size, allocated, free, fragmentation}};
    fragmentation is None where zpool prints ``-``."""
    return {r["name"]: {k: parse_value(k, r[k]) for k in POOL_COLUMNS[1:]} for r in _read.table(text, POOL_COLUMNS)}


def parse_datasets(text):
    """``zfs list -Hp -o DATASET_COLUMNS`` -> {dataset: {used, available, referenced, quota,
    refquota, role}}; an unset quota is 0, an unset role None."""
    out = {}
    for r in _read.table(text, DATASET_COLUMNS):
        d = {k: parse_value(k, r[k]) or 0 for k in DATASET_COLUMNS[1:-1]}
        d["role"] = parse_value(ROLE_PROP, r[ROLE_PROP])
        out[r["name"]] = d
    return out


def parse_snapshots(text):
    """``zfs list -Hp -t snapshot,bookmark -o SNAPSHOT_COLUMNS`` -> parse_list's listing."""
    return _read.parse_list(text, SNAPSHOT_COLUMNS)


def schedule(conf):
    """A snapshot_schedule configuration ({datasets, recursive, policy, prefix?, owner?}, as the
    role writes it to /etc/helix-zfs/snapshot/NAME.json) -> what the metrics need of it. Raises
    PlanError or KeyError for a bad one."""
    return {"datasets": list(conf["datasets"]), "recursive": bool(conf.get("recursive", False)),
            "classes": policy.classes_of(policy.parse_policy(conf["policy"])),
            "prefix": conf.get("prefix", "helix_"), "owner": conf.get("owner", "helix.zfs")}


def escape_label(value):
    return str(value).replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def _number(v):
    if isinstance(v, bool):
        return "1" if v else "0"
    if isinstance(v, int):
        return str(v)
    return repr(round(float(v), 6))


class Exposition:
    """Samples grouped by metric, each label set once (the first value wins: node_exporter
    rejects a whole file with a duplicate series)."""

    def __init__(self):
        self.samples = {name: {} for name in METRICS}

    def add(self, name, value, **labels):
        self.samples[name].setdefault(tuple(sorted(labels.items())), value)

    def text(self):
        out = []
        for name, (kind, text) in METRICS.items():
            if not self.samples[name]:
                continue
            full = "helix_zfs_" + name
            out += ["# HELP %s %s" % (full, text.replace("\\", "\\\\").replace("\n", "\\n")),
                    "# TYPE %s %s" % (full, kind)]
            for labels, value in sorted(self.samples[name].items()):
                lbl = ",".join('%s="%s"' % (k, escape_label(v)) for k, v in labels)
                out.append("%s%s %s" % (full, "{%s}" % lbl if lbl else "", _number(value)))
        return "\n".join(out) + "\n"


def _walk(vdevs):
    for v in vdevs:
        yield v
        yield from _walk(v.get("children", ()))


def add_pools(m, pools, sizes):
    """Pool health, space, scrub and vdev series. ``pools``: _zpool_status.parse_status();
    ``sizes``: parse_pool_list(), or None when that call failed."""
    for name, p in pools.items():
        for state in POOL_STATES + ((p["state"],) if p["state"] and p["state"] not in POOL_STATES else ()):
            m.add("pool_health", int(state == p["state"]), pool=name, state=state)
        m.add("pool_data_errors", p["error_count"], pool=name)
        s = (sizes or {}).get(name)
        if s:
            m.add("pool_size_bytes", s["size"], pool=name)
            m.add("pool_allocated_bytes", s["allocated"], pool=name)
            m.add("pool_free_bytes", s["free"], pool=name)
            m.add("pool_capacity_ratio", s["allocated"] / s["size"] if s["size"] else 0.0, pool=name)
            if s["fragmentation"] is not None:
                m.add("pool_fragmentation_ratio", s["fragmentation"] / 100.0, pool=name)
        scan = p["scan"] or {}
        scrub = scan.get("function") == "scrub"
        m.add("pool_scrub_in_progress", int(scrub and scan["state"] == "scanning" and not scan["paused"]), pool=name)
        finished = scrub and scan["state"] == "finished"
        m.add("pool_scrub_end_timestamp_seconds", (scan["end_time"] or 0) if finished else 0, pool=name)
        if scrub:
            m.add("pool_scrub_errors", scan["errors"], pool=name)
        for cls, _key in VDEV_GROUPS:
            for v in _walk(p["vdevs"][cls]):
                if v["state"]:  # 2.3.2 prints no state for a dRAID top-level vdev
                    m.add("vdev_state", 1, pool=name, vdev=v["name"], state=v["state"], **{"class": cls})
                if cls != "spare" and not v.get("children"):
                    for kind, n in sorted(v["errors"].items()):
                        m.add("vdev_errors_total", n, pool=name, vdev=v["name"], type=kind)


def add_datasets(m, datasets):
    for name, d in datasets.items():
        m.add("dataset_used_bytes", d["used"], dataset=name)
        m.add("dataset_available_bytes", d["available"], dataset=name)
        if d["quota"]:
            m.add("dataset_quota_bytes", d["quota"], dataset=name)
        if d["refquota"]:
            m.add("dataset_referenced_bytes", d["referenced"], dataset=name)
            m.add("dataset_refquota_bytes", d["refquota"], dataset=name)


def newest_scheduled(datasets, listing, schedules, now):
    """{(dataset, class): (newest time, interval, names after the clock)} over every schedule:
    the newest owned snapshot's time as its name records it (the scheduler's own clock), 0 if
    none. A name dated after ``now`` (the node's clock, give or take plan.CLOCK_SKEW) is a clock
    problem: counted apart, never the newest (it would hide a stalled schedule). A root that
    doesn't exist counts too, with 0: it is scheduled and has no snapshot."""
    out = {}
    for sch in schedules:
        # Replicas get no scheduled snapshots (theirs come from their source): no staleness either.
        scope = [ds for ds in plan.scope({"datasets": datasets}, sch["datasets"], sch["recursive"])
                 if datasets[ds].get("role") != REPLICA]
        scope += [r for r in sch["datasets"] if r not in datasets]
        for ds in scope:
            times, future = {}, {}
            for s in listing["snaps"].get(ds, []):
                parsed = policy.parse_name(sch["prefix"], s["short"])
                if parsed and (sch["owner"] is None or s["props"].get(plan.OWNER_PROP) == sch["owner"]):
                    if plan.after_clock(parsed[0], now):
                        future[parsed[1]] = future.get(parsed[1], 0) + 1
                    else:
                        times[parsed[1]] = max(times.get(parsed[1], 0), parsed[0])
            for cls, every in sch["classes"].items():
                # A dataset in two schedules: its most demanding interval, its newest snapshot.
                old_t, old_every, old_future = out.get((ds, cls), (0, every, 0))
                out[(ds, cls)] = (max(old_t, times.get(cls, 0)), min(old_every, every),
                                  max(old_future, future.get(cls, 0)))
    return out


def _creation(items):
    return max((int(i["props"].get("creation", 0)) for i in items), default=0)


def add_snapshots(m, datasets, listing, schedules, now):
    """Newest scheduled snapshot per (dataset, class), and replication: a source's newest
    bookmark (zfs_replicate bookmarks each snapshot it sends), a helix:role=replica dataset's
    newest snapshot. A dataset with bookmarks and another role (migrated, ...) is no longer
    replicated; a primary without bookmarks (a migration's target) was never a source."""
    for (ds, cls), (t, every, future) in newest_scheduled(datasets, listing, schedules, now).items():
        m.add("snapshot_newest_timestamp_seconds", t, dataset=ds, **{"class": cls})
        m.add("snapshot_interval_seconds", every, dataset=ds, **{"class": cls})
        m.add("snapshot_future_named", future, dataset=ds, **{"class": cls})
    for ds in sorted(set(datasets) | set(listing["bookmarks"])):
        role = datasets.get(ds, {}).get("role")
        marks = listing["bookmarks"].get(ds, [])
        if role == REPLICA:
            m.add("replica_newest_snapshot_timestamp_seconds", _creation(listing["snaps"].get(ds, [])), dataset=ds)
        elif marks and role in (None, PRIMARY):
            m.add("replication_last_sent_timestamp_seconds", _creation(marks), dataset=ds)


def add_replication_targets(m, states):
    """Per (tree, target), what the replication timer's last runs left (_replication.next_state);
    per tree with a snapshot step, its hooks' (next_tree_state: no ``target``)."""
    for st in states:
        if "target" not in st:
            m.add("replication_hook_failures", st.get("hook_failures", 0), dataset=st["source"])
            continue
        labels = {"dataset": st["source"], "target": st["target"]}
        m.add("replication_target_last_success_timestamp_seconds", st.get("last_success", 0), **labels)
        m.add("replication_target_last_attempt_timestamp_seconds", st.get("last_attempt", 0), **labels)
        m.add("replication_target_failures", st.get("failures", 0), **labels)
        m.add("replication_target_sent_bytes_total", st.get("sent_bytes_total", 0), **labels)
        running = st.get("running") or {}
        m.add("replication_target_bytes_remaining", max(0, running.get("estimated", 0) - running.get("bytes", 0)), **labels)


def render(now, pools=None, sizes=None, datasets=None, listing=None, schedules=(), success=True, duration=None,
           replication=()):
    """The textfile. Each input may be None (its call failed): its series are left out, and
    ``success`` should then be False so the collector alert fires."""
    m = Exposition()
    add_replication_targets(m, replication)
    if pools is not None:
        add_pools(m, pools, sizes)
    if datasets is not None:
        add_datasets(m, datasets)
        if listing is not None:
            add_snapshots(m, datasets, listing, schedules, now)
    m.add("collector_success", int(bool(success)))
    m.add("collector_last_run_timestamp_seconds", int(now))
    if duration is not None:
        m.add("collector_duration_seconds", duration)
    return m.text()
