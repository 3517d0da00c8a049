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


def _tolerates(top):
    """How many of a top-level vdev's disks may be missing: a mirror all but one, a raidz its parity."""
    n = len(_leaves(top))
    if top.get("type") == "mirror":
        return n - 1
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
                leaves = _leaves(top)
                missing = sum(1 for d in leaves if d.get("state") != "ONLINE")
                for d in leaves:
                    errors = {k: int((d.get("errors") or {}).get(k) or 0) for k in _KINDS}
                    total = sum(errors[k] for k in kinds)
                    if total < threshold or d.get("state") in ("OFFLINE", "REMOVED", "UNAVAIL"):
                        continue
                    # A disk already FAULTED is missing already; an ONLINE one would be one more.
                    more = 0 if d.get("state") != "ONLINE" else 1
                    ok = missing + more <= _tolerates(top)
                    if ok:
                        missing += more
                    spare = None
                    if ok and spares and cls == "data":
                        s = spares.pop(0)
                        spare = s.get("path") or s["name"]
                    out.append({"pool": pool["name"], "device": d.get("path") or d["name"], "state": d.get("state"),
                                "errors": errors, "total": total, "offline": ok, "spare": spare,
                                "why": None if ok else "its %s vdev would have no full copy of the data left"
                                % (top.get("type") if top.get("children") else "single-disk")})
    return out


class FilterModule:
    def filters(self):
        return {"faulty_disks": faulty_disks}
