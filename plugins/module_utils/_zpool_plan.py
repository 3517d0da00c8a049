# Copyright (c) helix.zfs contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""The zpool module's decision logic: (current pool, desired pool) -> [zpool commands].

Pure functions, no I/O: devices arrive already resolved to identity keys (see _devices.py),
so the plan can be unit-tested on recorded status output. The module applies the plan's
commands in order; ``changed``, ``diff`` and the returned ``commands`` all come from it.
"""

from __future__ import annotations

import json
import re

from ansible_collections.helix.zfs.plugins.module_utils._props import normalize_value
from ansible_collections.helix.zfs.plugins.module_utils._errors import PlanError

# Allocation classes with their zpool keyword (data vdevs have none).
CLASSES = (("data", None), ("special", "special"), ("dedup", "dedup"), ("log", "log"))
# Devices lists (not vdevs).
DEVICE_CLASSES = (("cache", "cache"), ("spare", "spare"))
VDEV_TYPES = ("disk", "stripe", "mirror", "raidz", "raidz1", "raidz2", "raidz3",
              "draid", "draid1", "draid2", "draid3")
# Pool properties that only `zpool create`/`zpool import` take: never compared afterwards.
CREATE_ONLY = frozenset(("altroot", "readonly"))


# ---------------------------------------------------------------------------- desired state

def vdev_spec(v):
    """One declared vdev -> (kind, [devices], spec words for zpool create/add)."""
    kind = v.get("type") or "disk"
    if kind not in VDEV_TYPES:
        raise PlanError("unknown vdev type %r; use one of %s" % (kind, ", ".join(VDEV_TYPES)))
    disks = list(v.get("disks") or [])
    if not disks:
        raise PlanError("a %s vdev needs disks" % kind)
    if kind == "raidz":
        kind = "raidz1"
    if kind.startswith("raidz"):
        parity = int(kind[-1])
        if len(disks) < parity + 1:
            raise PlanError("%s needs at least %d disks, got %d: %s"
                            % (kind, parity + 1, len(disks), ", ".join(disks)))
        return kind, disks, [kind] + disks
    if kind.startswith("draid"):
        parity = int(kind[5:] or v.get("parity") or 1)
        data = v.get("data") or min(8, len(disks) - parity - (v.get("spares") or 0))
        spares = v.get("spares") or 0
        children = v.get("children") or len(disks)
        if children != len(disks) or data < 1 or data + parity > children - spares:
            raise PlanError("draid%d with %d data, %d spares needs more than %d disks (has %d)"
                            % (parity, data, spares, data + parity + spares - 1, len(disks)))
        # The geometry is part of the type: a different one over the same disks is a change.
        spec = "draid%d:%dd:%dc:%ds" % (parity, data, children, spares)
        return spec, disks, [spec] + disks
    if kind == "mirror":
        if len(disks) < 2:
            raise PlanError("a mirror needs at least 2 disks, got %s" % disks)
        return kind, disks, ["mirror"] + disks
    # disk / stripe: one top-level vdev per disk
    return "disk", disks, list(disks)


def expand(vdevs):
    """Declared vdevs of one class -> top-level vdevs (a stripe becomes one vdev per disk)."""
    out = []
    for v in vdevs or []:
        kind, disks, spec = vdev_spec(v)
        if kind == "disk":
            out += [{"type": "disk", "disks": [d], "spec": [d]} for d in disks]
        else:
            out.append({"type": kind, "disks": disks, "spec": spec})
    return out


# ---------------------------------------------------------------------------- current state

def _top_type(v):
    if v["type"] == "raidz":
        return "raidz%d" % (v.get("parity") or 1)
    if v["type"] == "draid":
        return "draid%d:%dd:%dc:%ds" % (v.get("parity") or 1, v.get("draid_data") or 0,
                                        v.get("draid_children") or 0, v.get("draid_spares") or 0)
    return v["type"]


def leaves(v):
    kids = v.get("children")
    return [v] if not kids else [x for k in kids for x in leaves(k)]


def slots(v, key):
    """A top-level vdev's member slots, each the set of keys that may fill it. While a hot
    spare stands in (spare-N) or a replace runs (replacing-N), either disk fills the slot,
    so an unchanged declaration stays unchanged through a resilver."""
    if v.get("type") in ("spare", "replacing"):
        return [{key(x["path"]) for x in leaves(v) if x.get("path")}]
    kids = v.get("children")
    if not kids:
        return [{key(v["path"])}] if v.get("path") else []
    return [sl for k in kids for sl in slots(k, key)]


def current_layout(pool, key):
    """zpool_info's pool -> {class: [{type, name, disks, slots}]} plus devices and paths."""
    out = {}
    for cls, _kw in CLASSES:
        out[cls] = []
        for v in pool["vdevs"][cls]:
            if v.get("type") in ("indirect", "hole"):
                continue  # what a removed vdev leaves behind: no disks, nothing to declare
            sl = slots(v, key)
            if v["type"] not in ("mirror", "raidz", "draid"):  # a single-disk top-level vdev
                sl = [set().union(*sl)] if sl else []
            disks = []
            for slot in sl:  # in the pool's order
                disks += [k for k in sorted(slot) if k not in disks]
            out[cls].append({"type": _top_type(v), "name": v["name"], "slots": sl, "disks": disks})
    for cls, _kw in DEVICE_CLASSES:
        # dRAID's distributed spares belong to their dRAID vdev, not to the spare list.
        out[cls] = [key(x["path"]) for x in pool["vdevs"][cls]
                    if x.get("path") and x.get("type") != "dspare"]
    # Commands must name a device as the pool knows it, not by our identity key.
    out["paths"] = {key(x["path"]): x["path"] for group in pool["vdevs"].values()
                    for top in group for x in leaves(top) if x.get("path")}
    return out


def device_states(pool, key):
    """{identity key: (state, top-level vdev name, class)} for every leaf in the pool. A hot
    spare in use is listed where it stands in, not as a spare."""
    out = {}
    for cls, group in pool["vdevs"].items():
        for top in group:
            for leaf in leaves(top):
                if leaf.get("path"):
                    k = key(leaf["path"])
                    if cls != "spare" or k not in out:
                        out[k] = (leaf.get("state"), top["name"], cls)
    return out


def _matches(have, keys):
    """Do the declared keys fill exactly the vdev's slots?"""
    if len(keys) != len(have["slots"]):
        return False
    left = set(keys)
    for sl in have["slots"]:
        hit = sl & left
        if not hit:
            return False
        left -= {sorted(hit)[0]}
    return not left


# ---------------------------------------------------------------------------- the plan

def in_other_pools(name, pools, desired, key):
    """Declared devices that another imported pool already uses -> PlanError naming it.
    (zpool itself only says the device 'is in use and contains a unknown filesystem'.)"""
    owner = {}
    for other, pool in pools.items():
        if other != name:
            for group in pool["vdevs"].values():
                for top in group:
                    for leaf in leaves(top):
                        if leaf.get("path"):
                            owner[key(leaf["path"])] = other
    clashes = ["%s is in pool %s" % (d, owner[key(d)]) for d in declared_devices(desired)
               if key(d) in owner]
    if clashes:
        raise PlanError("devices already in use: %s" % "; ".join(clashes))


def refuse_missing_devices(name, desired, pool, exists):
    """An imported pool's declared devices that are not on this host (unplugged, dead, renamed)
    -> PlanError naming each with what zpool status says of it. Without this the layout compare
    fails on it with a message about changing vdevs. ``exists`` tells whether a path exists."""
    missing = [d for d in declared_devices(desired) if not exists(d)]
    if not missing:
        return
    # ZFS lists a whole disk it partitioned by its partition 1.
    seen = {leaf["path"]: (leaf.get("state"), top["name"]) for group in pool["vdevs"].values()
            for top in group for leaf in leaves(top) if leaf.get("path")}
    said = []
    for d in missing:
        state, top = seen.get(d) or seen.get(d + "-part1") or (None, None)
        said.append("%s (%s)" % (d, "%s in %s" % (state, top) if state else "not in the pool"))
    raise PlanError(
        "pool %s: declared disk%s missing on this host: %s; the pool runs on the others (%s). Nothing "
        "was changed. playbooks/faulty_disks.yml puts a hot spare in its place and, once resilvered, "
        "detaches it (or give zpool's replace option a new disk); then declare the disk that took "
        "its place." % (name, "s are" if len(missing) > 1 else " is", "; ".join(said), pool.get("state") or "?"))


def refuse_create_over_exported(name, importable, desired, key, resolve):
    """A pool that is not imported is about to be created: refuse when an importable pool (from
    the ``zpool import`` scan) has this name or sits on a declared device. Creating it would
    destroy that pool's data (with force_devices, silently). ``resolve`` maps a name from the
    scan to a device path, or None when it isn't one."""
    mine = {key(d) for d in declared_devices(desired)}
    for pool in importable:
        on = sorted({n for n in pool["names"] if resolve(n) and key(resolve(n)) in mine})
        if pool["name"] == name or on:
            raise PlanError(
                "pool %s is not imported, but an exported pool %s (id %s, %s)%s can be imported; nothing was "
                "changed. Use state: imported to import it (import_force: true if another host last used it), "
                "or destroy it on purpose first." % (
                    name, pool["name"], pool["id"], pool["state"], " is on " + ", ".join(on) if on else ""))


_DEV_PATH = re.compile(r"/dev/[\w.:+-]+(?:/[\w.:+-]+)*")


def display_names(key, pool_paths, declared):
    """Device key -> the name users know it by: as declared, else as the pool lists it (keys are
    kernel names such as /dev/vdb, which change between boots)."""
    names = dict(pool_paths)
    names.update({key(d): d for d in declared})
    return names


def relabel(value, names):
    """A message or a diff with each device key replaced by its display name."""
    if isinstance(value, str):
        return _DEV_PATH.sub(lambda m: names.get(m.group(0), m.group(0)), value)
    return json.loads(relabel(json.dumps(value), names))


def declared_devices(desired):
    out = []
    for cls, _kw in CLASSES:
        for v in desired[cls] or []:
            out += v["disks"]
    for cls, _kw in DEVICE_CLASSES:
        out += desired[cls] or []
    return out


def create_command(name, desired, props, fs_props, force):
    cmd = ["zpool", "create"]
    if force:
        cmd.append("-f")
    for k, v in sorted(props.items()):
        cmd += ["-o", "%s=%s" % (k, v)]
    for k, v in sorted(fs_props.items()):
        cmd += ["-O", "%s=%s" % (k, v)]
    cmd.append(name)
    for cls, kw in CLASSES:
        for v in desired[cls] or []:
            cmd += ([kw] if kw else []) + v["spec"]
    for cls, kw in DEVICE_CLASSES:
        if desired[cls]:
            cmd += [kw] + desired[cls]
    return cmd


def layout_commands(name, current, desired, key, allow_vdev_removal, force, renames=None):
    """Commands that take the current layout to the declared one, or PlanError.
    ``renames`` maps the key of a disk being replaced to its replacement's, so a declaration
    may name either while the replace is planned or running."""
    cmds = []
    renames = renames or {}

    def canon(d):
        return renames.get(key(d), key(d))
    add = ["zpool", "add"] + (["-f"] if force else []) + [name]
    for cls, kw in CLASSES:
        if desired[cls] is None:
            continue  # not declared: left alone
        cur = list(current[cls])
        for want in desired[cls]:
            keys = {canon(d) for d in want["disks"]}
            match = [c for c in cur if keys & {renames.get(k, k) for k in c["disks"]}]
            if not match:
                cmds.append(add + ([kw] if kw else []) + want["spec"])
                continue
            have = match[0]
            cur.remove(have)
            have_canon = dict(have, slots=[{renames.get(k, k) for k in sl} for sl in have["slots"]])
            if have["type"] != want["type"] or not _matches(have_canon, keys) or len(match) > 1:
                raise PlanError(
                    "%s vdev %s (%s of %s) differs from the declared %s of %s; changing a vdev's "
                    "type or disks in place would need recreating it. Use the replace, attach "
                    "and detach options for disk changes." % (
                        cls, have["name"], have["type"], ", ".join(sorted(have["disks"])),
                        want["type"], ", ".join(sorted(keys))))
        for extra in cur:  # declared layout has fewer vdevs of this class
            if cls == "log" or allow_vdev_removal:
                cmds.append(["zpool", "remove", name, extra["name"]])
            else:
                raise PlanError(
                    "the declared layout drops %s vdev %s (%s of %s); removing a %s vdev moves "
                    "its data and is refused unless allow_vdev_removal is true" % (
                        cls, extra["name"], extra["type"], ", ".join(sorted(extra["disks"])), cls))
    for cls, kw in DEVICE_CLASSES:
        if desired[cls] is None:
            continue
        have = set(current[cls])
        want = desired[cls]
        missing = [d for d in want if key(d) not in have]
        if missing:
            cmds.append(add + [kw] + missing)
        wanted_keys = {key(d) for d in want}
        extra = sorted(current["paths"][d] for d in have if d not in wanted_keys)
        if extra:
            cmds.append(["zpool", "remove", name] + extra)
    return cmds


# Values zpool takes for common pool properties, checked before planning so check mode plans
# only what an apply can run (zpool itself checks the rest).
_ON_OFF_POOL = ("autoexpand", "autoreplace", "autotrim", "listsnapshots", "multihost", "readonly", "delegation")
_POOL_CHOICES = dict({p: ("on", "off") for p in _ON_OFF_POOL}, failmode=("wait", "continue", "panic"))


def check_properties(props):
    """Pool property values zpool would refuse, as a PlanError before anything is planned."""
    wrong = ["%s=%s is not one of %s" % (k, v, ", ".join(_POOL_CHOICES[k])) for k, v in sorted(props.items())
             if k in _POOL_CHOICES and normalize_value(k, v) not in _POOL_CHOICES[k]]
    if "ashift" in props and normalize_value("ashift", props["ashift"]) not in [str(n) for n in [0] + list(range(9, 17))]:
        wrong.append("ashift=%s is not 0 or 9 to 16" % props["ashift"])
    if wrong:
        raise PlanError("invalid pool property values: %s. Nothing was changed." % "; ".join(wrong))


def property_commands(name, current_props, desired_props):
    cmds = []
    for prop, want in sorted(desired_props.items()):
        if prop in CREATE_ONLY:
            continue
        have = current_props.get(prop)
        if prop.startswith("feature@") and want == "enabled" and have == "active":
            continue  # an active feature is enabled
        if normalize_value(prop, have) != normalize_value(prop, want):
            cmds.append(["zpool", "set", "%s=%s" % (prop, want), name])
    return cmds


def properties_after(current_props, desired_props):
    """The properties as a diff shows them after the task: a declared value equal to the
    current one (``12`` and ``"12"``, ``on`` and ``true``) keeps the current value's form, so
    only what changes shows as a change."""
    out = {}
    for prop, want in desired_props.items():
        have = current_props.get(prop)
        out[prop] = have if normalize_value(prop, have) == normalize_value(prop, want) else want
    return out


def device_commands(name, states, ops, key, force):
    """Explicit disk operations: replace, attach, detach, offline, online. Each is a no-op
    once its effect is visible in the pool, so re-running the task changes nothing.
    Returns (commands, {device key: state} as they will be after them)."""
    cmds = []
    after = {k: v[0] for k, v in states.items()}
    f = ["-f"] if force else []
    for r in ops.get("replace") or []:
        old, new = key(r["old"]), key(r["new"])
        if new in states and states[new][2] != "spare":
            continue  # replaced, or resilvering onto it (an AVAIL hot spare is not yet in use)
        if old not in states:
            raise PlanError("cannot replace %s with %s: neither is in pool %s" % (r["old"], r["new"], name))
        cmds.append(["zpool", "replace"] + f + [name, r["old"], r["new"]])
        after[new] = after.pop(old)
    for a in ops.get("attach") or []:
        dev, new = key(a["device"]), key(a["new"])
        if dev not in states:
            raise PlanError("cannot attach to %s: it is not in pool %s" % (a["device"], name))
        if new in states:
            if states[new][1] != states[dev][1]:
                raise PlanError("%s is already in pool %s, in vdev %s, not beside %s"
                                % (a["new"], name, states[new][1], a["device"]))
            continue
        cmds.append(["zpool", "attach"] + f + [name, a["device"], a["new"]])
        after[new] = "ONLINE"
    for d in ops.get("detach") or []:
        if key(d) in states:
            cmds.append(["zpool", "detach", name, d])
            after.pop(key(d), None)
    for d in ops.get("offline") or []:
        if key(d) not in states:
            raise PlanError("cannot offline %s: it is not in pool %s" % (d, name))
        if states[key(d)][0] != "OFFLINE":
            cmds.append(["zpool", "offline", name, d])
            after[key(d)] = "OFFLINE"
    for d in ops.get("online") or []:
        if key(d) not in states:
            raise PlanError("cannot online %s: it is not in pool %s" % (d, name))
        if states[key(d)][0] == "OFFLINE":
            cmds.append(["zpool", "online", name, d])
            after[key(d)] = "ONLINE"
    return cmds, after


def scan_commands(name, pool, scrub, trim):
    cmds = []
    scan = pool.get("scan") or {}
    scanning = scan.get("state") == "scanning" and scan.get("function") == "scrub"
    paused = scanning and scan.get("paused")
    if scrub == "start" and (not scanning or paused):
        cmds.append(["zpool", "scrub", name])  # starts, or resumes a paused scrub
    elif scrub == "stop" and scanning:
        cmds.append(["zpool", "scrub", "-s", name])
    elif scrub == "pause" and scanning and not paused:
        cmds.append(["zpool", "scrub", "-p", name])
    if trim == "start":
        cmds.append(["zpool", "trim", name])
    return cmds


def summarize(layout, key=lambda d: d):
    """A layout (current: disks are keys; declared: paths, given ``key``) for diff mode."""
    out = {}
    for cls, _kw in CLASSES:
        out[cls] = ["%s(%s)" % (v["type"], ", ".join(key(d) for d in v["disks"]))
                    for v in layout[cls] or []]
    for cls, _kw in DEVICE_CLASSES:
        out[cls] = [key(d) for d in layout[cls] or []]
    return out


def dry_run(cmd):
    """The -n form of a create/add command (validates devices without changing anything)."""
    if cmd[:2] in (["zpool", "create"], ["zpool", "add"]):
        return cmd[:2] + ["-n"] + cmd[2:]
    return None
