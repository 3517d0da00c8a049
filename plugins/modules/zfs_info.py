#!/usr/bin/python
# Copyright (c) helix.zfs contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: zfs_info
short_description: Read ZFS datasets, snapshots and bookmarks with their properties and sources
version_added: 0.1.0
description:
  - Returns the named datasets (or all of them), optionally their descendants, snapshots and
    bookmarks, each with the chosen properties and where each value comes from.
  - One C(zfs get -Hp) process whatever the number of datasets and properties.
extends_documentation_fragment:
  - helix.zfs.attributes
  - helix.zfs.attributes.INFO_MODULE
options:
  name:
    description: Datasets to read. Omit to read every dataset. Missing ones are listed in RV(missing).
    type: list
    elements: str
    aliases: [datasets]
  type:
    description: Kinds to return.
    type: list
    elements: str
    choices: [filesystem, volume, snapshot, bookmark, all]
    default: [filesystem, volume]
  recursive:
    description: Also read the descendants of O(name) (C(-r)).
    type: bool
    default: false
  depth:
    description: Read descendants down to this depth only (C(-d)); implies O(recursive).
    type: int
  properties:
    description: Properties to return; V(all) returns every one.
    type: list
    elements: str
    default: [type, used, available, referenced, mountpoint, quota, compression, encryption, keystatus, origin, createtxg, guid]
  content_digest:
    description:
      - Also return, for each snapshot read, RV(datasets[].sha256), a digest of its content - a
        filesystem's paths, modes and file bytes, a volume's blocks - the same on any host that
        holds the same snapshot. It is read through a temporary read-only clone (named
        C(POOL/helix-verify-...), destroyed afterwards), so it reads every byte of the snapshot.
      - This is how the playbooks compare a copy with its source, on each host, as root through
        Ansible, never through a replication key. An encrypted snapshot needs its key loaded.
    type: bool
    default: false
  merkle:
    description:
      - Also return, for each snapshot read, RV(datasets[].merkle), the root of its Merkle tree (a
        hash per file, symlink and directory; a volume's per 1 MiB block) and where the tree is kept
        on the node (C(/var/lib/helix-zfs/merkle), the last 8 per dataset).
      - A snapshot's tree is computed once, from a temporary read-only clone, starting from the
        dataset's newest kept tree; only the files whose metadata (object, size, mtime, ctime)
        changed since are read again. Two hosts holding the same snapshot get the same root.
      - This is how the playbooks check a replica before promoting it (C(tasks/verify_content.yml)),
        reading what changed since the last check, where O(content_digest) reads every byte.
    type: bool
    default: false
  merkle_full:
    description: With O(merkle), read every file again instead of starting from a kept tree.
    type: bool
    default: false
author:
  - helix.zfs developers (!UNKNOWN)
seealso:
  - module: helix.zfs.zfs_dataset
"""

EXAMPLES = r"""
- name: A tenant's datasets and snapshots, with where each property comes from
  helix.zfs.zfs_info:
    name: tank
    recursive: true
    type: [filesystem, snapshot]
    properties: [used, quota, compression, creation]
  register: tank_datasets

- name: Show the datasets whose compression is set locally
  ansible.builtin.debug:
    msg: "{{ tank_datasets.datasets | selectattr('properties.compression.source', 'eq', 'local')
             | map(attribute='name') | list }}"

- name: The content digest of a snapshot, to compare with its copy's on another host
  helix.zfs.zfs_info:
    name: tank@backup
    type: [snapshot]
    properties: [guid]
    content_digest: true
  register: tank_backup

- name: The Merkle root of a snapshot (reads only what changed since the last one's tree)
  helix.zfs.zfs_info:
    name: tank@backup
    type: [snapshot]
    properties: [guid]
    merkle: true
  register: tank_backup_tree
"""

RETURN = r"""
datasets:
  description:
    - The datasets, snapshots and bookmarks read, in the order zfs lists them.
    - Each C(properties) entry has C(value) (an integer where ZFS gives a number, V(null) for C(-)),
      C(source) (V(local), V(default), V(inherited), V(received), V(temporary) or V(none)) and
      C(from) (the dataset the value is inherited from). A requested user property that is not set
      is returned with C(value) V(null) and C(source) V(none).
  returned: always
  type: list
  elements: dict
  sample:
    - name: tank/a
      properties:
        quota: {value: 10737418240, source: local, from: null}
        compression: {value: lz4, source: inherited, from: tank}
  contains:
    sha256:
      description: With O(content_digest), the snapshot's content digest (snapshots only).
      returned: when O(content_digest=true), for snapshots
      type: str
      sample: 9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08
    merkle:
      description:
        - With O(merkle), the snapshot's Merkle tree (snapshots only) - C(root), C(tree) (the file
          on the node holding it), C(entries), and what computing it read (C(read_files),
          C(read_bytes), 0 when the tree was kept already) in C(seconds).
      returned: when O(merkle=true), for snapshots
      type: dict
      sample:
        root: 2c26b46b68ffc68ff99b453c1d30413413422d706483bfa0f98a5e886266e7ae
        tree: /var/lib/helix-zfs/merkle/5d41402abc4b2a76/1234567890.json
        entries: 1042
        read_files: 11
        read_bytes: 10485760
        seconds: 1.9
missing:
  description: Names in O(name) that do not exist.
  returned: always
  type: list
  elements: str
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.helix.zfs.plugins.module_utils import _content_digest, _merkle, _zfs_get
from ansible_collections.helix.zfs.plugins.module_utils._zfs_cli import run_module


def read(cli, p):
    types = "all" if "all" in p["type"] else ",".join(p["type"])
    found, missing = _zfs_get.read(cli, p["name"] or [], p["properties"], types=types,
                                   recursive=p["recursive"], depth=p["depth"])
    # A requested user property that is not set is still returned (value null, source none), so
    # a playbook can test it without checking that it exists first.
    unset = {"value": None, "source": "none", "from": None}
    for props in found.values():
        for name in p["properties"]:
            if ":" in name:
                props.setdefault(name, dict(unset))
    out = [{"name": n, "properties": props} for n, props in found.items()]
    for d in out if p["content_digest"] else ():
        if "@" in d["name"]:
            d["sha256"] = _content_digest.snapshot_digest(cli, d["name"])
    for d in out if p["merkle"] else ():
        if "@" in d["name"]:
            d["merkle"] = _merkle.snapshot_tree(cli, d["name"], full=p["merkle_full"])
    return {"changed": False, "missing": missing, "datasets": out}


def main():
    module = AnsibleModule(
        argument_spec=dict(
            name=dict(type="list", elements="str", aliases=["datasets"]),
            type=dict(type="list", elements="str", default=["filesystem", "volume"],
                      choices=["filesystem", "volume", "snapshot", "bookmark", "all"]),
            recursive=dict(type="bool", default=False),
            depth=dict(type="int"),
            properties=dict(type="list", elements="str", default=[
                "type", "used", "available", "referenced", "mountpoint", "quota", "compression",
                "encryption", "keystatus", "origin", "createtxg", "guid"]),
            content_digest=dict(type="bool", default=False),
            merkle=dict(type="bool", default=False),
            merkle_full=dict(type="bool", default=False),
        ),
        supports_check_mode=True,
    )
    run_module(module, lambda cli: read(cli, module.params))


if __name__ == "__main__":
    main()
