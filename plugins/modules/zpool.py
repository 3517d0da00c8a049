#!/usr/bin/python
# Copyright (c) helix.zfs contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: zpool
short_description: Create, grow, repair, import, export and destroy ZFS pools declaratively
version_added: 0.1.0
description:
  - Manages a ZFS pool - its vdev layout (data, special, dedup, log, cache and spare vdevs of any
    type, dRAID included), pool properties, disk operations (replace, attach, detach, offline,
    online), scrubs and trims, import and export.
  - Devices may be given by any path - C(/dev/disk/by-id/...), C(/dev/sdb), a partition, a file.
    They are compared by the device they resolve to, so a by-id path matches the C(-part1) ZFS
    created when it was given the whole disk.
  - The pool is read once (C(zpool status -j) and C(zpool get -Hp)), a plan of zpool commands is
    computed from it, and the plan is applied unless in check mode. C(changed), C(diff) and
    RV(commands) all come from that one plan, so check mode and an applied run never disagree.
  - In check mode, C(zpool create -n) and C(zpool add -n) validate the new vdevs without
    changing anything, so a missing device or a disk of another pool fails the check run too.
  - Nothing is destroyed unless an option says so. O(state=absent) needs O(force=true); removing
    a data, special or dedup vdev needs O(allow_vdev_removal=true).
  - Requires OpenZFS 2.3 or newer on the node.
extends_documentation_fragment:
  - helix.zfs.attributes
attributes:
  check_mode:
    support: full
  diff_mode:
    support: full
  idempotent:
    support: partial
    details:
      - Every option converges except O(scrub=start) and O(trim=start), which start a new scrub or
        trim on each run unless one is already running.
options:
  name:
    description: Pool name.
    type: str
    required: true
  state:
    description:
      - V(present) creates the pool from O(vdevs) if it does not exist, and converges layout,
        properties and disk operations if it does. A pool that is not imported but can be (by its
        name, or one on a declared device) is never created over - the task fails and points to
        V(imported), even with O(force_devices).
      - V(absent) destroys the pool, only with O(force=true); without it the task fails and says
        what it would destroy.
      - V(exported) exports the pool if it is imported.
      - V(imported) imports the pool if it is not imported (see O(import_dirs), O(import_guid),
        O(altroot), O(import_force)), then converges like V(present) in the same run. In check
        mode the plan is the import alone, as the rest can only be read once the pool is imported.
    type: str
    choices: [present, absent, exported, imported]
    default: present
  vdevs:
    description:
      - The data vdevs. Omit to leave the layout alone (disk operations and properties still apply).
      - When given, the pool's data vdevs must match; missing vdevs are added with C(zpool add).
    type: list
    elements: dict
    suboptions: &vdev
      type:
        description:
          - V(disk) or V(stripe) makes each disk its own top-level vdev; V(raidz) means V(raidz1).
          - V(draid) means V(draid1); its geometry comes from O(vdevs[].data) and O(vdevs[].spares).
        type: str
        choices: [disk, stripe, mirror, raidz, raidz1, raidz2, raidz3, draid, draid1, draid2, draid3]
        default: disk
      disks:
        description: Device paths (any path to the device) or file paths.
        type: list
        elements: str
        required: true
      data:
        description: dRAID data disks per redundancy group (default up to 8).
        type: int
      spares:
        description: dRAID distributed spares.
        type: int
        default: 0
  special:
    description: Special allocation class vdevs (metadata and small blocks), like O(vdevs).
    type: list
    elements: dict
    suboptions: *vdev
  dedup:
    description: Dedup table vdevs, like O(vdevs).
    type: list
    elements: dict
    suboptions: *vdev
  log:
    description: Separate intent log (SLOG) vdevs, like O(vdevs). Dropped log vdevs are removed.
    type: list
    elements: dict
    suboptions: *vdev
  cache:
    description: L2ARC devices. When given, extra cache devices in the pool are removed.
    type: list
    elements: str
  spare:
    description: Hot spares. When given, extra spares in the pool are removed.
    type: list
    elements: str
  properties:
    description:
      - Pool properties, set with C(-o) at creation and C(zpool set) afterwards. Values are
        normalized before they are compared (V(true) is V(on); a C(feature@...) that is V(active)
        is V(enabled)).
      - V(ashift) set here applies to vdevs added later; if an existing data vdev has another
        ashift, the task fails and says so, since only recreating the vdev could change it.
    type: dict
    default: {}
  filesystem_properties:
    description:
      - Properties of the pool's root dataset, set with C(-O) at creation only
        (for example V(compression), V(atime), V(xattr), V(acltype)). Manage them afterwards
        with helix.zfs.zfs_dataset.
    type: dict
    default: {}
  force:
    description: Allow O(state=absent) to destroy the pool.
    type: bool
    default: false
  force_devices:
    description:
      - Pass C(-f) to C(zpool create), C(add), C(replace) and C(attach) - use devices that carry
        another pool's labels, or mix replication levels (a mirror beside a raidz).
    type: bool
    default: false
  allow_vdev_removal:
    description:
      - Allow removing data, special and dedup vdevs the declared layout no longer lists
        (C(zpool remove), which evacuates their data). Log, cache and spare devices are always
        removed when dropped.
    type: bool
    default: false
  replace:
    description:
      - Replace disks; a no-op once the new disk is in the pool.
      - With a hot spare as V(new), the spare stands in for the old disk and the pool stays
        V(DEGRADED), the declared layout unchanged, until either the old disk is detached
        (O(detach)) - the spare then becomes a permanent member of the vdev, so declare it there
        and no longer in O(spare) - or the old disk is replaced by a new one, which returns the
        spare to the spares.
    type: list
    elements: dict
    suboptions:
      old:
        description: The disk to replace.
        type: str
        required: true
      new:
        description: The disk replacing it.
        type: str
        required: true
  attach:
    description: Attach a disk beside an existing one (grow a mirror, or make a disk a mirror).
    type: list
    elements: dict
    suboptions:
      device:
        description: A disk in the pool.
        type: str
        required: true
      new:
        description: The disk to attach beside it.
        type: str
        required: true
  detach:
    description: Detach disks from mirrors; a no-op for disks not in the pool.
    type: list
    elements: str
  offline:
    description: Take disks offline (for example disks with too many errors).
    type: list
    elements: str
  online:
    description: Bring offline disks back online.
    type: list
    elements: str
  scrub:
    description:
      - V(start) starts a scrub unless one is running; V(stop) and V(pause) act on a running one.
    type: str
    choices: [start, stop, pause]
  trim:
    description: V(start) starts a manual TRIM of every device that supports it.
    type: str
    choices: [start]
  wait:
    description:
      - Wait for the scrub, trim, resilver or vdev removal this task started to finish
        (C(zpool wait)). Removing a data vdev evacuates it in the background; wait for it before
        declaring the next change.
    type: bool
    default: false
  import_dirs:
    description: Directories to search for the pool's devices when importing (C(zpool import -d)).
    type: list
    elements: path
  import_guid:
    description: Import the pool with this GUID (under O(name)), for pools with the same name.
    type: str
  import_force:
    description:
      - Import with C(zpool import -f) - for a pool another host last used and did not export.
        Only when that host no longer uses it - two hosts writing one pool corrupt it.
    type: bool
    default: false
  altroot:
    description: Alternate root for O(state=imported) and creation (C(-R)).
    type: path
author:
  - helix.zfs developers (!UNKNOWN)
seealso:
  - module: helix.zfs.zpool_info
"""

EXAMPLES = r"""
- name: A RAIDZ1 of 9 disks with 2 NVMe L2ARC devices and a mirrored SLOG
  helix.zfs.zpool:
    name: tank
    vdevs:
      - type: raidz1
        disks: "{{ range(1, 10) | map('regex_replace', '^', '/dev/disk/by-id/virtio-helix-d') | list }}"
    log:
      - type: mirror
        disks: [/dev/disk/by-id/virtio-helix-d10, /dev/disk/by-id/virtio-helix-d11]
    cache: [/dev/disk/by-id/virtio-helix-d12, /dev/disk/by-id/virtio-helix-d13]
    properties:
      ashift: 12
      autotrim: "on"
    filesystem_properties:
      atime: "off"
      compression: lz4
      logbias: throughput
      redundant_metadata: most

- name: Swap a failed disk for a new one, and wait for the resilver
  helix.zfs.zpool:
    name: tank
    replace:
      - old: /dev/disk/by-id/virtio-helix-d3
        new: /dev/disk/by-id/virtio-helix-d14
    wait: true

- name: Offline a faulty disk
  helix.zfs.zpool:
    name: tank
    offline: [/dev/disk/by-id/virtio-helix-d5]

- name: Scrub and wait for it
  helix.zfs.zpool:
    name: tank
    scrub: start
    wait: true

- name: Export the pool
  helix.zfs.zpool:
    name: tank
    state: exported

- name: Import it again
  helix.zfs.zpool:
    name: tank
    state: imported
    import_dirs: [/dev/disk/by-id]

- name: Destroy it (force is required)
  helix.zfs.zpool:
    name: tank
    state: absent
    force: true
"""

RETURN = r"""
commands:
  description:
    - The zpool commands the task ran, or in check mode would run, in order (the plan).
  returned: always
  type: list
  elements: list
  sample: [["zpool", "add", "tank", "cache", "/dev/disk/by-id/virtio-helix-d13"]]
pool:
  description:
    - The pool as it is after the task (in check mode, as it was), in helix.zfs.zpool_info's
      shape - C(name), C(guid), C(state) (health), C(status), C(action), C(error_count),
      C(vdevs) (C(data), C(special), C(dedup), C(log), C(cache), C(spare)), C(scan) and
      C(properties). V(null) when the pool is absent or exported.
  returned: always
  type: dict
diff:
  description: The layout and properties before and after, in diff mode.
  returned: when diff mode is on
  type: dict
"""

import os

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.helix.zfs.plugins.module_utils import _zpool_plan as plan
from ansible_collections.helix.zfs.plugins.module_utils._devices import IdentityCache
from ansible_collections.helix.zfs.plugins.module_utils._props import zfs_words
from ansible_collections.helix.zfs.plugins.module_utils._zfs_cli import run_module
from ansible_collections.helix.zfs.plugins.module_utils._zfs_get import POOL_NAME_RULES, pool_name_ok
from ansible_collections.helix.zfs.plugins.module_utils._zpool_status import (
    parse_import_scan,
    parse_pool_properties,
    parse_status,
)


def read_pools(cli, name):
    """Every imported pool (for device clashes) and this one's properties: two processes.
    Returns (pool in zpool_info's shape or None, all pools)."""
    pools = parse_status(cli.json(["zpool", "status", "-j", "--json-int"]))
    pool = pools.get(name)
    if pool is not None:
        rows = cli.tabular(["zpool", "get", "-Hp", "-o", "name,property,value", "all", name])
        pool["properties"] = parse_pool_properties(rows).get(name, {})
    return pool, pools


def desired_layout(p):
    """The declared layout; a class whose option is not given is None (left alone)."""
    out = {}
    for cls, _kw in plan.CLASSES:
        opt = p["vdevs" if cls == "data" else cls]
        out[cls] = None if opt is None else plan.expand(opt)
    for cls, _kw in plan.DEVICE_CLASSES:
        out[cls] = None if p[cls] is None else list(p[cls])
    return out


def import_argv(p):
    """``zpool import`` searching where O(import_dirs) say (or its default places)."""
    argv = ["zpool", "import"]
    for d in p["import_dirs"] or []:
        argv += ["-d", d]
    return argv


def importable(cli, p):
    """The pools ``zpool import`` finds."""
    _rc, out, _err = cli.run(import_argv(p), ok_rcs=(0, 1))  # 1: none found
    return parse_import_scan(out)


def device_path(word):
    """A device name as ``zpool import`` prints it -> its path, or None for a vdev or group name."""
    for path in (word, "/dev/" + word, "/dev/disk/by-id/" + word):
        if path.startswith("/dev/") and os.path.exists(path):
            return path
    return None


def vdev_ashift_errors(cli, name, pool, want):
    """Creation-only: existing data vdevs keep the ashift they were made with."""
    tops = [v["name"] for v in pool["vdevs"]["data"] if v.get("guid")]
    if not tops:
        return []
    rows = cli.tabular(["zpool", "get", "-Hp", "-o", "name,value", "ashift", name] + tops)
    return ["%s has ashift %s" % (vdev, value) for vdev, value in rows
            if vdev != name and str(value) != str(want)]


def compute(cli, p, names):
    """Read once, plan, and return (pool, commands, before, after). ``names`` gets each device
    key's display name (see plan.display_names), for the messages and the diff."""
    name, state = p["name"], p["state"]
    if not pool_name_ok(name):
        raise plan.PlanError("invalid pool name %r: %s" % (name, POOL_NAME_RULES))
    plan.check_properties(p["properties"])
    key = IdentityCache()
    pool, pools = read_pools(cli, name)
    desired = desired_layout(p) if state in ("present", "imported") else None
    current = plan.current_layout(pool, key) if pool else None
    names.update(plan.display_names(key, current["paths"] if current else {},
                                    plan.declared_devices(desired) if desired else []))
    cmds = []
    if state == "absent":
        if pool is None:
            return pool, [], None, None
        if not p["force"]:
            ds = cli.tabular(["zfs", "list", "-Hp", "-r", "-o", "name,used", name])
            raise plan.PlanError(
                "refusing to destroy pool %s without force=true: it holds %d datasets using %d "
                "bytes (%s)" % (name, len(ds), int(ds[0][1]) if ds else 0,
                                ", ".join(r[0] for r in ds[:10]) + (", ..." if len(ds) > 10 else "")))
        return pool, [["zpool", "destroy", name]], {"state": "present"}, {"state": "absent"}
    if state == "exported":
        if pool is None:
            return pool, [], None, None
        return pool, [["zpool", "export", name]], {"state": "imported"}, {"state": "exported"}
    if pool is None and state == "imported":
        cmd = import_argv(p) + (["-f"] if p["import_force"] else [])
        if p["altroot"]:
            cmd += ["-R", p["altroot"]]
        cmd += [p["import_guid"] or name] + ([name] if p["import_guid"] else [])
        return pool, [cmd], {"state": "exported"}, {"state": "imported"}

    plan.in_other_pools(name, pools, desired, key)
    if pool is not None:
        plan.refuse_missing_devices(name, desired, pool, os.path.exists)
    if pool is None:
        if not desired["data"]:
            raise plan.PlanError("pool %s does not exist; give its vdevs to create it" % name)
        plan.refuse_create_over_exported(name, importable(cli, p), desired, key, device_path)
        props = dict(p["properties"])
        if p["altroot"]:
            props["altroot"] = p["altroot"]
        cmd = plan.create_command(name, desired, props, p["filesystem_properties"], p["force_devices"])
        after = {"layout": plan.summarize(desired, key), "properties": dict(p["properties"])}
        return pool, [cmd], {"state": "absent"}, after

    states = plan.device_states(pool, key)
    before = {"layout": plan.summarize(current),
              "devices": {k: v[0] for k, v in sorted(states.items())},
              "properties": {k: pool["properties"].get(k) for k in p["properties"]},
              "scan": (pool.get("scan") or {}).get("state")}
    if "ashift" in p["properties"]:
        wrong = vdev_ashift_errors(cli, name, pool, p["properties"]["ashift"])
        if wrong:
            raise plan.PlanError("ashift is fixed when a vdev is created: %s, not the declared %s. "
                                 "Only recreating those vdevs could change it."
                                 % ("; ".join(wrong), p["properties"]["ashift"]))
    renames = {key(r["old"]): key(r["new"]) for r in p["replace"] or []}
    cmds += plan.layout_commands(name, current, desired, key, p["allow_vdev_removal"],
                                 p["force_devices"], renames)
    dev_cmds, devices_after = plan.device_commands(name, states, p, key, p["force_devices"])
    cmds += dev_cmds
    cmds += plan.property_commands(name, pool["properties"], p["properties"])
    scan_cmds = plan.scan_commands(name, pool, p["scrub"], p["trim"])
    cmds += scan_cmds
    declared = plan.summarize(desired, key)
    after = {"layout": {c: (before["layout"][c] if desired[c] is None else declared[c])
                        for c in before["layout"]},
             "devices": dict(sorted(devices_after.items())),
             "properties": plan.properties_after(before["properties"], p["properties"]),
             "scan": " ".join(c[1] + ("" if len(c) == 3 else " " + c[2]) for c in scan_cmds) or before["scan"]}
    return pool, cmds, before, after


def wait_for(cli, name, cmds):
    activities = set()
    for c in cmds:
        if c[1] == "scrub" and "-s" not in c and "-p" not in c:
            activities.add("scrub")
        elif c[1] == "trim":
            activities.add("trim")
        elif c[1] in ("replace", "attach", "online"):
            activities.add("resilver")
        elif c[1] == "remove":
            activities.add("remove")  # a data vdev's removal evacuates it in the background
    if activities:
        cli.run(["zpool", "wait", "-t", ",".join(sorted(activities)), name])


def run(module, cli):
    p = module.params
    names = {}
    try:
        pool, cmds, before, after = compute(cli, p, names)
        if module.check_mode:
            for c in cmds:
                dry = plan.dry_run(c)
                if dry:
                    cli.run(dry)
    except plan.PlanError as e:
        module.fail_json(msg=plan.relabel(str(e), names))
    result = {"changed": bool(cmds), "commands": cmds, "pool": pool}
    if cmds and not module.check_mode:
        for c in cmds:
            cli.run(c)
        if cmds[0][1] == "import":  # imported: now its layout, properties and scans can be read
            try:
                _pool, rest, _before, after_rest = compute(cli, dict(p, state="present"), names)
            except plan.PlanError as e:
                module.fail_json(msg="pool %s was imported, then: %s" % (p["name"], plan.relabel(str(e), names)),
                                 changed=True, commands=cmds)
            for c in rest:
                cli.run(c)
            cmds += rest
            after = dict(after, **(after_rest or {}))
        if p["wait"]:
            wait_for(cli, p["name"], cmds)
        result["pool"] = read_pools(cli, p["name"])[0]
    if module._diff and cmds:
        result["diff"] = plan.relabel({"before": before, "after": after}, names)
    return result


def main():
    vdev = dict(type="list", elements="dict", options=dict(
        type=dict(type="str", default="disk", choices=list(plan.VDEV_TYPES)),
        disks=dict(type="list", elements="str", required=True),
        data=dict(type="int"),
        spares=dict(type="int", default=0),
    ))
    module = AnsibleModule(
        argument_spec=dict(
            name=dict(type="str", required=True),
            state=dict(type="str", default="present", choices=["present", "absent", "exported", "imported"]),
            vdevs=vdev, special=vdev, dedup=vdev, log=vdev,
            cache=dict(type="list", elements="str"),
            spare=dict(type="list", elements="str"),
            properties=dict(type="dict", default={}),
            filesystem_properties=dict(type="dict", default={}),
            force=dict(type="bool", default=False),
            force_devices=dict(type="bool", default=False),
            allow_vdev_removal=dict(type="bool", default=False),
            replace=dict(type="list", elements="dict", options=dict(
                old=dict(type="str", required=True), new=dict(type="str", required=True))),
            attach=dict(type="list", elements="dict", options=dict(
                device=dict(type="str", required=True), new=dict(type="str", required=True))),
            detach=dict(type="list", elements="str"),
            offline=dict(type="list", elements="str"),
            online=dict(type="list", elements="str"),
            scrub=dict(type="str", choices=["start", "stop", "pause"]),
            trim=dict(type="str", choices=["start"]),
            wait=dict(type="bool", default=False),
            import_dirs=dict(type="list", elements="path"),
            import_guid=dict(type="str"),
            import_force=dict(type="bool", default=False),
            altroot=dict(type="path"),
        ),
        supports_check_mode=True,
    )
    for opt in ("properties", "filesystem_properties"):
        module.params[opt] = zfs_words(module.params[opt])
    run_module(module, lambda cli: run(module, cli))


if __name__ == "__main__":
    main()
