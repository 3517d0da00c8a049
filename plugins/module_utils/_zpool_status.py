# Copyright (c) helix.zfs contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Parsers for zpool's machine-readable output: ``zpool status -j --json-int``,
``zpool get -Hp`` and ``zpool version -j`` (OpenZFS 2.3+). Pure functions, no I/O.
"""

from __future__ import annotations

import re

from ansible_collections.helix.zfs.plugins.module_utils._props import parse_value

# (our allocation class, the key zpool status -j uses); "data" is the root vdev's children.
VDEV_GROUPS = (("data", None), ("special", "special"), ("dedup", "dedup"),
               ("log", "logs"), ("cache", "l2cache"), ("spare", "spares"))

_RAIDZ = re.compile(r"^raidz(\d)-\d+$")
# OpenZFS 2.3.2 prints a dRAID top-level vdev without vdev_type, state or guid, so its
# type and geometry come from its name: draid<parity>:<data>d:<children>c:<spares>s-<id>.
_DRAID = re.compile(r"^draid(\d+):(\d+)d:(\d+)c:(\d+)s-\d+$")


def _int(v, default=0):
    try:
        return int(v)
    except (TypeError, ValueError):
        return default


def _text(s):
    """zpool's status/action paragraphs, as one line."""
    return " ".join(s.split()) if s else None


def parse_vdev(v):
    """One vdev of ``zpool status -j`` (and its children) in helix.zfs's shape."""
    name = v["name"]
    node = {
        "name": name,
        "type": v.get("vdev_type"),
        "state": v.get("state"),
        "guid": str(v["guid"]) if "guid" in v else None,
        "errors": {k: _int(v.get(k + "_errors")) for k in ("read", "write", "checksum")},
    }
    m = _DRAID.match(name)
    if m:
        node["type"] = "draid"
        node["parity"], node["draid_data"], node["draid_children"], node["draid_spares"] = (
            int(g) for g in m.groups())
    elif node["type"] == "raidz":
        m = _RAIDZ.match(name)
        node["parity"] = int(m.group(1)) if m else None
    if "path" in v:
        node["path"] = v["path"]
    children = [parse_vdev(c) for c in v.get("vdevs", {}).values()]
    if children:
        node["children"] = children
    return node


def parse_scan(s):
    if not s:
        return None
    to_examine, skipped, issued = _int(s.get("to_examine")), _int(s.get("skipped")), _int(s.get("issued"))
    state = s.get("state", "").lower()
    if state == "finished":
        percent = 100.0
    else:
        todo = max(to_examine - skipped, 1)
        percent = round(min(100.0, 100.0 * issued / todo), 2)
    return {
        "function": s.get("function", "").lower(),
        "state": state,
        "start_time": _int(s.get("start_time"), None),
        "end_time": _int(s.get("end_time"), None) or None,
        "errors": _int(s.get("errors")),
        "examined": _int(s.get("examined")),
        "issued": issued,
        "to_examine": to_examine,
        "percent": percent,
        "paused": state == "scanning" and _int(s.get("scrub_pause")) > 0,
    }


def parse_pool(p):
    root = next(iter(p["vdevs"].values()))
    vdevs = {}
    for group, key in VDEV_GROUPS:
        src = root.get("vdevs", {}) if key is None else p.get(key, {})
        vdevs[group] = [parse_vdev(v) for v in src.values()]
    guid = p.get("pool_guid", root.get("guid"))  # 2.3.2 omits pool_guid for some pools
    return {
        "name": p["name"],
        "guid": str(guid) if guid is not None else None,
        "state": p.get("state"),
        "status": _text(p.get("status")),
        "action": _text(p.get("action")),
        "error_count": _int(p.get("error_count")),
        "vdevs": vdevs,
        "scan": parse_scan(p.get("scan_stats")),
    }


def parse_status(doc):
    """``zpool status -j --json-int`` -> {pool name: pool}."""
    return {name: parse_pool(p) for name, p in (doc.get("pools") or {}).items()}


def parse_pool_properties(rows):
    """Rows of ``zpool get -Hp -o name,property,value`` -> {pool: {property: value}}."""
    out = {}
    for name, prop, value in rows:
        out.setdefault(name, {})[prop] = parse_value(prop, value)
    return out


def parse_version(doc):
    """``zpool version -j`` -> {userland, kernel} without the zfs-/zfs-kmod- prefixes."""
    v = doc.get("zfs_version", {})
    return {
        "userland": re.sub(r"^zfs-", "", v.get("userland", "")),
        "kernel": re.sub(r"^zfs-kmod-", "", v.get("kernel", "")),
    }


def parse_import_scan(text):
    """``zpool import`` (the scan; no JSON form in OpenZFS 2.3) -> [{name, id, state, names}]:
    each importable pool and the words of its config section (vdev, group and device names as
    printed; the caller keeps those that are devices)."""
    out, cur, in_config = [], None, False
    for line in text.splitlines():
        key, sep, value = line.strip().partition(":")
        if sep and key == "pool" and not line.startswith("\t"):
            cur = {"name": value.strip(), "id": None, "state": None, "names": []}
            out.append(cur)
            in_config = False
        elif cur is None:
            continue
        elif sep and key in ("id", "state") and not in_config:
            cur[key] = value.strip()
        elif sep and key == "config" and not value.strip():
            in_config = True
        elif in_config and line.strip():
            if sep and not line.startswith(("\t", "  ")):  # a later "errors:"-style key ends it
                in_config = False
            else:
                cur["names"].append(line.split()[0])
    return out
