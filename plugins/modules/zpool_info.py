#!/usr/bin/python
# Copyright (c) helix.zfs contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: zpool_info
short_description: Read ZFS pools, their vdev tree, health, capacity and scrub state
version_added: 0.1.0
description:
  - Returns every pool (or the named ones) with its full vdev tree (data, special, dedup, log,
    cache and spare vdevs), health, error counters, capacity, and the state of the last or
    running scrub or resilver.
  - Reads machine-readable output only, in three processes whatever the number of pools
    or properties - C(zpool status -j --json-int), C(zpool get -Hp) and C(zpool version -j).
  - Requires OpenZFS 2.3 or newer on the node (JSON output).
extends_documentation_fragment:
  - helix.zfs.attributes
  - helix.zfs.attributes.INFO_MODULE
options:
  name:
    description:
      - Names of the pools to read. Omit to read every imported pool.
      - A named pool that is not imported is listed in RV(missing), not an error.
    type: list
    elements: str
    aliases: [pools]
  properties:
    description:
      - Pool properties to return in each pool's RV(pools[].properties). The default is what a
        health check or a capacity report reads.
      - V(all) returns every pool property (about 100 per pool, V(feature@...) ones included).
    type: list
    elements: str
    default: [health, size, allocated, free, capacity, fragmentation, ashift]
author:
  - helix.zfs developers (!UNKNOWN)
seealso:
  - name: zpool-status(8)
    description: The command this module reads the vdev tree from.
    link: https://openzfs.github.io/openzfs-docs/man/master/8/zpool-status.8.html
"""

EXAMPLES = r"""
- name: Read every pool on the node
  helix.zfs.zpool_info:
  register: zpool_info

- name: Show each pool's health
  ansible.builtin.debug:
    msg: "{{ item.name }} is {{ item.state }}"
  loop: "{{ zpool_info.pools }}"
  loop_control:
    label: "{{ item.name }}"

- name: Read one pool's capacity and fragmentation only
  helix.zfs.zpool_info:
    name: tank
    properties: [size, allocated, free, capacity, fragmentation]
  register: tank_info

- name: Fail when the pool is not healthy or a scrub found errors
  ansible.builtin.assert:
    that:
      - tank_info.pools[0].state == 'ONLINE'
      - tank_info.pools[0].scan is none or tank_info.pools[0].scan.errors == 0
"""

RETURN = r"""
version:
  description: OpenZFS versions of the userland tools and of the loaded kernel module.
  returned: always
  type: dict
  contains:
    userland:
      description: Version of the zfs/zpool tools, without the C(zfs-) prefix.
      type: str
      sample: 2.3.2-2~bpo12+2
    kernel:
      description: Version of the loaded kernel module, without the C(zfs-kmod-) prefix.
      type: str
      sample: 2.3.2-2~bpo12+2
missing:
  description: Pools named in O(name) that are not imported on the node.
  returned: always
  type: list
  elements: str
  sample: []
pools:
  description: The pools, sorted by name.
  returned: always
  type: list
  elements: dict
  contains:
    name:
      description: Pool name.
      type: str
      sample: tank
    guid:
      description: Pool GUID, as a string (it does not fit every JSON consumer's integers).
      type: str
    state:
      description: Pool health, V(ONLINE), V(DEGRADED), V(FAULTED), V(OFFLINE), V(REMOVED) or V(UNAVAIL).
      type: str
      sample: ONLINE
    status:
      description: ZFS's explanation when the pool is not fully healthy, else V(null).
      type: str
    action:
      description: ZFS's recommended action when the pool is not fully healthy, else V(null).
      type: str
    error_count:
      description: Number of data errors ZFS knows of (C(zpool status -v) lists the files).
      type: int
    vdevs:
      description:
        - The vdev tree, by allocation class. Each is a list of top-level vdevs.
        - A vdev has C(name), C(type) (V(disk), V(file), V(mirror), V(raidz), V(draid), V(replacing),
          V(spare), V(dspare), ...), C(state), C(guid) (a string) and C(errors) (C(read), C(write),
          C(checksum)). A leaf also has C(path); a raidz or draid has C(parity); a draid has
          C(draid_data), C(draid_children) and C(draid_spares); an interior vdev has C(children).
        - OpenZFS 2.3.2 prints no type, state or guid for a dRAID vdev; the module derives the
          type and geometry from its name, and C(state) and C(guid) are V(null).
      type: dict
      contains:
        data:
          description: Normal data vdevs.
          type: list
          elements: dict
        special:
          description: Special allocation class vdevs (metadata, small blocks).
          type: list
          elements: dict
        dedup:
          description: Dedup table vdevs.
          type: list
          elements: dict
        log:
          description: Separate intent log (SLOG) vdevs.
          type: list
          elements: dict
        cache:
          description: L2ARC devices.
          type: list
          elements: dict
        spare:
          description: Hot spares, with their C(state) (V(AVAIL) or V(INUSE)).
          type: list
          elements: dict
      sample:
        data:
          - name: mirror-0
            type: mirror
            state: ONLINE
            guid: "1234"
            errors: {read: 0, write: 0, checksum: 0}
            children:
              - {name: virtio-helix-d1, type: disk, state: ONLINE, guid: "5678",
                 path: /dev/disk/by-id/virtio-helix-d1-part1, errors: {read: 0, write: 0, checksum: 0}}
        special: []
        dedup: []
        log: []
        cache: []
        spare: []
    scan:
      description:
        - The last or running scrub, resilver or error scrub; V(null) if the pool was never scanned.
        - Times are Unix seconds; C(percent) is the share of the work issued so far.
      type: dict
      contains:
        function:
          description: V(scrub), V(resilver) or V(errorscrub).
          type: str
        state:
          description: V(scanning), V(finished) or V(canceled).
          type: str
        start_time:
          description: Start, in Unix seconds.
          type: int
        end_time:
          description: End, in Unix seconds (V(null) while scanning).
          type: int
        errors:
          description: Errors the scan found.
          type: int
        examined:
          description: Bytes examined (scanned) so far.
          type: int
        issued:
          description: Bytes issued for verification or repair so far.
          type: int
        to_examine:
          description: Bytes to examine in all.
          type: int
        percent:
          description: Share examined, 0 to 100.
          type: float
    properties:
      description:
        - The pool properties asked for in O(properties), as numbers where ZFS gives numbers
          (sizes in bytes, capacity and fragmentation in percent) and V(null) for C(-).
      type: dict
      sample: {size: 3154116608, allocated: 135168, free: 3153981440, capacity: 0, health: ONLINE}
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.helix.zfs.plugins.module_utils._zfs_cli import run_module
from ansible_collections.helix.zfs.plugins.module_utils._zpool_status import (
    parse_pool_properties,
    parse_status,
    parse_version,
)


DEFAULT_PROPERTIES = ("health", "size", "allocated", "free", "capacity", "fragmentation", "ashift")


def read(cli, names, properties):
    pools = parse_status(cli.json(["zpool", "status", "-j", "--json-int"]))
    wanted = sorted(pools) if not names else [n for n in names if n in pools]
    if wanted:
        rows = cli.tabular(["zpool", "get", "-Hp", "-o", "name,property,value",
                            ",".join(properties)] + wanted)
        props = parse_pool_properties(rows)
        for n in wanted:
            pools[n]["properties"] = props.get(n, {})
    return {
        "changed": False,
        "version": parse_version(cli.json(["zpool", "version", "-j"])),
        "pools": [pools[n] for n in wanted],
        "missing": [n for n in names or [] if n not in pools],
    }


def main():
    module = AnsibleModule(
        argument_spec=dict(
            name=dict(type="list", elements="str", aliases=["pools"]),
            properties=dict(type="list", elements="str", default=list(DEFAULT_PROPERTIES)),
        ),
        supports_check_mode=True,
    )
    p = module.params
    run_module(module, lambda cli: read(cli, p["name"], p["properties"]))


if __name__ == "__main__":
    main()
