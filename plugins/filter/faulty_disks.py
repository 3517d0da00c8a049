# Copyright (c) helix.zfs contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""faulty_disks: helix.zfs.zpool_info's pools -> the disks whose error counters passed a threshold,
or that ZFS took out (removed, unavailable, faulted), and what to do with each: replace by a spare (kept attached while it resilvers), detach once the
spare has resilvered, offline when its vdev keeps redundancy without it, or keep."""

from __future__ import annotations

from ansible.errors import AnsibleFilterError

_CLASSES = ("data", "special", "dedup", "log")
_KINDS = ("read", "write", "checksum")


def _leaves(vdev):
    kids = vdev.get("children") or []
    if not kids:
        return [vdev]
    return [leaf for k in kids for leaf in _leaves(k)]


def _tolerates(top, slots):
    """How many of a top-level vdev's slots may be missing: a mirror all but one, a raidz its parity."""
    if top.get("type") == "mirror":
        return len(slots) - 1
    if top.get("type") in ("raidz", "draid"):
        return int(top.get("parity") or 1)
    return 0


def _resilvering(pool):
    scan = pool.get("scan") or {}
    return scan.get("function") == "resilver" and scan.get("state") == "scanning"


# ZFS took the disk out: it was unplugged or stopped answering (REMOVED, UNAVAIL) or it failed
# (FAULTED). Such a disk is dealt with whatever its counters say (a disk that disappeared has
# none). OFFLINE is someone's decision, so it is left alone.
_GONE = ("REMOVED", "UNAVAIL", "FAULTED")


def _faulty(d, threshold, kinds):
    """(errors, total) of a leaf disk past the threshold or gone, else None."""
    errors = {k: int((d.get("errors") or {}).get(k) or 0) for k in _KINDS}
    total = sum(errors[k] for k in kinds)
    if d.get("state") == "OFFLINE" or (total < threshold and d.get("state") not in _GONE):
        return None
    return errors, total


def _plan_vdev(pool, cls, top, spares, threshold, kinds):
    """The faulty disks of one top-level vdev, each with its action. One action per vdev per
    run: the next run sees the pool as that action left it."""
    slots = top.get("children") or [top]
    missing = sum(1 for c in slots if c.get("state") != "ONLINE")
    # A spare-N or replacing-N slot holds the old disk and the one taking its place.
    busy = [c for c in slots if c is not top and c.get("children")]
    found = []
    for slot in slots:
        for d in _leaves(slot):
            hit = _faulty(d, threshold, kinds)
            if hit:
                found.append((slot, d) + hit)
    found.sort(key=lambda f: -f[3])  # the worst disk first
    acted = False
    out = []
    for slot, d, errors, total in found:
        action, spare, why = "keep", None, None
        name = d.get("path") or d["name"]
        if busy:
            # zpool lists the old disk first in its slot, then the one taking its place.
            kids = busy[0]["children"]
            new = kids[-1]
            if d is not kids[0] or slot is not busy[0]:
                why = "a disk of its vdev is being replaced (%s): let that finish first" % busy[0]["name"]
            elif busy[0]["name"].startswith("spare") and not acted and not _resilvering(pool) \
                    and new.get("state") == "ONLINE" and not _faulty(new, threshold, kinds):
                # The spare has resilvered: detaching the old disk makes the spare the vdev's own.
                action, spare = "detach", new.get("path") or new["name"]
            else:
                why = "kept attached while %s takes its place" % (new.get("path") or new["name"])
        elif acted:
            why = "one disk per vdev at a time: rerun once the first is dealt with"
        elif spares and cls == "data":
            # Replace, but keep the disk attached: ZFS still reads what it can from it.
            s = spares.pop(0)
            action, spare = "replace", s.get("path") or s["name"]
        elif d.get("state") != "ONLINE":
            why = "ZFS has taken it out already (%s) and the pool has no spare for it" % d.get("state")
        elif _tolerates(top, slots) - (missing + 1) >= 1:
            action = "offline"
        else:
            why = "its %s vdev would be left without redundancy" % (
                top.get("type") if top.get("children") else "single-disk")
        acted = acted or action != "keep"
        out.append({"pool": pool["name"], "device": name, "state": d.get("state"), "errors": errors,
                    "total": total, "action": action, "offline": action == "offline", "spare": spare,
                    "why": why})
    return out


def faulty_disks(pools, threshold=1, kinds=_KINDS):
    """[pool] -> [{pool, device, state, errors, total, action, offline, spare, why}], one per leaf
    disk whose error counters (of ``kinds``) add up to at least ``threshold``, or whose state is
    REMOVED, UNAVAIL or FAULTED. ``action`` is
    ``replace`` (by ``spare``; the disk stays attached while the spare resilvers), ``detach``
    (the spare has resilvered), ``offline`` (its vdev keeps redundancy without it) or ``keep``
    (``why`` says why). At most one action per top-level vdev per run."""
    if not isinstance(pools, list):
        raise AnsibleFilterError("faulty_disks: input must be zpool_info's pools list, not %r" % (pools,))
    try:
        threshold = int(threshold)
    except (TypeError, ValueError):
        raise AnsibleFilterError("faulty_disks: threshold must be an integer, not %r" % (threshold,))
    bad = set(kinds) - set(_KINDS)
    if threshold < 1 or bad:
        raise AnsibleFilterError("faulty_disks: threshold must be >= 1 and kinds among %s" % ", ".join(_KINDS))
    out = []
    for pool in pools:
        vdevs = pool.get("vdevs") or {}
        spares = [s for s in vdevs.get("spare") or [] if s.get("state") == "AVAIL"]
        for cls in _CLASSES:
            for top in vdevs.get(cls) or []:
                out += _plan_vdev(pool, cls, top, spares, threshold, kinds)
    return out


class FilterModule:
    def filters(self):
        return {"faulty_disks": faulty_disks}
