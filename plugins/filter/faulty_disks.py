# Copyright (c) helix.zfs contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""faulty_disks: helix.zfs.zpool_info's pools -> the disks whose error counters passed a threshold,
which of them may go offline without losing the vdev's redundancy, and a spare for each."""

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


def faulty_disks(pools, threshold=1, kinds=_KINDS):
    """[pool] -> [{pool, device, state, errors, total, offline, spare, why}], one per leaf disk
    whose error counters (of ``kinds``) add up to at least ``threshold``. ``offline`` is false
    when taking the disk out would leave its vdev without a full copy of the data (then ``why``
    says so); ``spare`` is an AVAIL spare of the pool for it, each spare given out once."""
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
                # Slots are the top vdev's children; a spare-N or replacing-N slot holds two disks.
                slots = top.get("children") or [top]
                missing = sum(1 for c in slots if c.get("state") != "ONLINE")
                busy = [c.get("name") for c in slots if c is not top and c.get("children")]
                for slot in slots:
                    for d in _leaves(slot):
                        errors = {k: int((d.get("errors") or {}).get(k) or 0) for k in _KINDS}
                        total = sum(errors[k] for k in kinds)
                        if total < threshold or d.get("state") in ("OFFLINE", "REMOVED", "UNAVAIL"):
                            continue
                        if busy:
                            # Until the spare or replacement has resilvered and is detached, the
                            # vdev's redundancy is unclear: take nothing else out.
                            ok, why = False, "a disk of its vdev is being replaced (%s): let that finish first" % busy[0]
                        else:
                            # A disk already FAULTED is missing already; an ONLINE one would be one more.
                            more = 1 if d.get("state") == "ONLINE" else 0
                            ok = missing + more <= _tolerates(top, slots)
                            missing += more if ok else 0
                            why = None if ok else "its %s vdev would have no full copy of the data left" % (
                                top.get("type") if top.get("children") else "single-disk")
                        spare = None
                        if ok and spares and cls == "data":
                            s = spares.pop(0)
                            spare = s.get("path") or s["name"]
                        out.append({"pool": pool["name"], "device": d.get("path") or d["name"], "state": d.get("state"),
                                    "errors": errors, "total": total, "offline": ok, "spare": spare, "why": why})
    return out


class FilterModule:
    def filters(self):
        return {"faulty_disks": faulty_disks}
