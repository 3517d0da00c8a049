# Copyright (c) helix.zfs contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""The topology (hosts, failure domains, pools and their capacities), pool ids ``host:pool``,
and what the info modules read on the hosts as ``{dataset: {pool: role}}``."""

from __future__ import annotations

from ansible_collections.helix.zfs.plugins.module_utils._props import DEMOTED, PRIMARY, REPLICA, ROLE_PROP
from ansible_collections.helix.zfs.plugins.module_utils._errors import PlanError
from ansible_collections.helix.zfs.plugins.module_utils._placement.catalog import HOST_NAME, POOL_NAME, join_lines, size_of


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
        if not isinstance(host, str) or not HOST_NAME.match(host):
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
            if not isinstance(pname, str) or not POOL_NAME.match(pname):
                bad.append("pool #%d: name %r is not a pool name" % (j, pname))
                continue
            if pname in mine:
                bad.append("pool %s is listed twice" % pname)
                continue
            try:
                capacity = size_of(p.get("capacity"))
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
        raise PlanError(join_lines(lines))
    return {"pools": pools, "hosts": hs, "domains": doms}


def as_topology(topo):
    if isinstance(topo, dict) and set(topo) == {"pools", "hosts", "domains"} and isinstance(topo["pools"], dict):
        return topo
    return topology(topo)


def is_pool_id(value):
    if not isinstance(value, str):
        return False
    host, sep, pool = value.partition(":")
    return bool(sep and HOST_NAME.match(host) and POOL_NAME.match(pool))


def pool_fs(pool_id, ds):
    return "%s/%s" % (pool_id.split(":", 1)[1], ds)


def pool_host(pool_id):
    return pool_id.split(":", 1)[0]


def observed_copies(observed, topo, names):
    """What helix.zfs.zfs_info read on each host, ``[{host, datasets: [{name, properties}]}]``,
    -> ``{dataset: {pool id: role}}`` for the catalog's ``names``. A copy is ``POOL/NAME`` on one
    of the host's topology pools; its role is its helix:role property (``demoted`` counts as
    primary: see the note below). A dataset none of whose
    copies says primary but exactly one of which is writable (one made before helix managed it)
    has that one as its primary."""
    topo = as_topology(topo)
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


def parents(pool_id, ds):
    """The datasets above POOL/NAME, outermost first (a receive or a create needs them)."""
    parts = ds.split("/")[:-1]
    return [pool_fs(pool_id, "/".join(parts[:i])) for i in range(1, len(parts) + 1)]
