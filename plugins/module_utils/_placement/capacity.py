# Copyright (c) helix.zfs contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Capacity: what a pool layout can hold (raidz parity and padding, slop), and the placement
table per host and domain."""

from __future__ import annotations

from ansible_collections.helix.zfs.plugins.module_utils._errors import PlanError
from ansible_collections.helix.zfs.plugins.module_utils._placement.catalog import is_int, size_of, parse_catalog
from ansible_collections.helix.zfs.plugins.module_utils._placement.steps import target_of
from ansible_collections.helix.zfs.plugins.module_utils._placement.topology import as_topology


def human(n):
    n = float(n)
    for unit in "BKMGTP":
        if abs(n) < 1024 or unit == "P":
            return "%d%s" % (n, unit) if unit == "B" else "%.1f%s" % (n, unit)
        n /= 1024
    return "%.1fP" % n


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
        if not is_int(v) or v < 1:
            raise PlanError("%s must be an integer >= 1" % what)
    try:
        disk_bytes, recordsize, reservation = size_of(disk_bytes), size_of(recordsize), size_of(reservation)
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
    topo = as_topology(topo)
    sizes = {e["name"]: e["size"] for e in parse_catalog(catalog)}
    per = {}
    for ds in sorted(target):
        for n, p in enumerate(target_of(target[ds])):
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
    body = [(r["level"], r["name"], r["domain"], str(r["copies"]), str(r["primaries"]), human(r["bytes"]),
             human(r["capacity"]), "%.1f" % r["percent"]) for r in rows]
    width = [max(len(x[j]) for x in [head] + body) for j in range(len(head))]
    lines = []
    for x in [head] + body:
        cells = [x[j].ljust(width[j]) if j < 3 else x[j].rjust(width[j]) for j in range(len(head))]
        lines.append("  ".join(cells).rstrip())
    return "\n".join(lines) + "\n"
