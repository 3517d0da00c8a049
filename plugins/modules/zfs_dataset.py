#!/usr/bin/python
# Copyright (c) helix.zfs contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: zfs_dataset
short_description: Converge ZFS filesystems and volumes, many per task, with keys that never touch disk
version_added: 0.1.0
description:
  - Creates, changes, renames, clones, promotes and destroys ZFS filesystems and volumes.
  - One task handles any number of datasets (O(datasets)). Their current state is read with
    one C(zfs get) whatever their number, and only the differences are applied.
  - Property values are normalized before they are compared - C(10G) is C(10737418240),
    V(true) is V(on), C(none) is C(0) for quotas, C(compression=on) is C(lz4) and
    C(encryption=on) is C(aes-256-gcm) - so a converged dataset is never set again.
  - Property sources are respected. A property not declared is left alone. A value that
    already matches by inheritance is not made local (unless O(localize=true)). V(inherit) as a
    value, or a name in O(inherit), resets a local value with C(zfs inherit).
  - Creation-only properties (V(encryption), V(keyformat), V(pbkdf2iters), V(casesensitivity),
    V(normalization), V(utf8only), V(volblocksize)) are set at creation; a different value later
    is an error naming the property, never a change.
  - Encryption keys are given in O(key) and O(new_key) (no_log) and piped to zfs on stdin with
    C(keylocation=prompt), never in argv, a file, the logs or the result.
  - Nothing is destroyed unless declared V(absent). Descendants need O(recursive), dependent
    clones O(destroy_dependents); the result lists exactly what went (C(zfs destroy -nvp)).
extends_documentation_fragment:
  - helix.zfs.attributes
attributes:
  check_mode:
    support: full
  diff_mode:
    support: full
  idempotent:
    support: full
options:
  name:
    description: The dataset, for a single-dataset task. Use O(datasets) for many.
    type: str
  state: &state
    description: V(present) creates or converges; V(absent) destroys.
    type: str
    choices: [present, absent]
    default: present
  type: &type
    description: Filesystem or volume (a volume needs V(volsize) in O(properties), unless a clone).
    type: str
    choices: [filesystem, volume]
    default: filesystem
  properties: &properties
    description:
      - Properties to converge. User properties (C(com.example:tag)) too.
      - The value V(inherit) resets a local value to the inherited one.
    type: dict
    default: {}
  inherit: &inherit
    description: Properties to reset to their inherited value (C(zfs inherit)) when set locally.
    type: list
    elements: str
    default: []
  localize: &localize
    description: Set a declared value locally even when it already holds by inheritance.
    type: bool
    default: false
  key: &key
    description:
      - The encryption key, for creating an encrypted dataset and for O(key_loaded=true).
      - With V(keyformat=raw) give the 32 key bytes hex-encoded (64 characters); with V(hex), 64 hex
        characters; with V(passphrase), 8 to 512 characters.
    type: str
  key_loaded: &key_loaded
    description:
      - V(true) loads the key (O(key)) at the encryption root if it is not loaded, then, if the
        dataset is not mounted, mounts it and its children that mount by themselves (C(zfs mount
        -R)). A V(canmount=noauto) dataset (every replica) is mounted too, as O(key_loaded=true) asks
        for it by name. A dataset whose key is already loaded but that is not mounted is mounted
        the same way. V(canmount=off), V(mountpoint=none) or V(legacy) and volumes are not mounted.
      - V(false) unmounts it and unloads the key.
    type: bool
  new_key: &new_key
    description:
      - Change the key (C(zfs change-key)) to this one, in the dataset's key format. A no-op when
        the new key already opens the dataset (checked with C(zfs load-key -n)).
    type: str
  origin: &origin
    description: Create the dataset as a clone of this snapshot.
    type: str
  promote: &promote
    description: Promote the dataset if it is a clone (C(zfs promote)).
    type: bool
    default: false
  rename_from: &rename_from
    description: If O(name) does not exist and this does, rename it to O(name).
    type: str
  sparse: &sparse
    description: Create a volume without a reservation (C(-s)).
    type: bool
    default: false
  recursive: &recursive
    description: With O(state=absent), also destroy descendants (C(-r)).
    type: bool
    default: false
  destroy_dependents: &destroy_dependents
    description: With O(state=absent), also destroy dependent clones anywhere (C(-R)).
    type: bool
    default: false
  datasets:
    description:
      - Many datasets in one task, each with the options of a single-dataset task.
    type: list
    elements: dict
    suboptions:
      name:
        description: The dataset.
        type: str
        required: true
      state: *state
      type: *type
      properties: *properties
      inherit: *inherit
      localize: *localize
      key: *key
      key_loaded: *key_loaded
      new_key: *new_key
      origin: *origin
      promote: *promote
      rename_from: *rename_from
      sparse: *sparse
      recursive: *recursive
      destroy_dependents: *destroy_dependents
  report:
    description:
      - Which declared datasets RV(datasets) lists. V(all) lists every one.
      - V(changed) lists only the datasets the task changed (or in check mode would change).
        For hundreds of datasets it keeps the registered result and the job log small (an AWX
        job stores every task result), and it makes a no-op task about 1.5 s faster at 1,000
        datasets (see C(bench/results/zfs_dataset_many.md)). M(helix.zfs.zfs_info) reads the
        full state when it is needed.
    type: str
    choices: [all, changed]
    default: all
author:
  - helix.zfs developers (!UNKNOWN)
seealso:
  - module: helix.zfs.zpool
"""

EXAMPLES = r"""
- name: A tenant's datasets with quotas, in one task
  helix.zfs.zfs_dataset:
    datasets:
      - name: tank/tenants/acme
        properties: {quota: 10G, compression: "on", "com.example:tenant": acme}
      - name: tank/tenants/acme/db
        properties: {sync: always, recordsize: 16K}
      - name: tank/tenants/acme/logs
        properties: {sync: standard}

- name: A 1 GiB sparse volume
  helix.zfs.zfs_dataset:
    name: tank/vols/vm1
    type: volume
    sparse: true
    properties: {volsize: 1G, volblocksize: 16K}

- name: Reset a tenant's sync setting to what it inherits
  helix.zfs.zfs_dataset:
    name: tank/tenants/acme/logs
    inherit: [sync]

- name: An encrypted dataset whose key is piped to zfs, never written anywhere
  helix.zfs.zfs_dataset:
    name: tank/secret
    properties: {encryption: "on", keyformat: hex}
    key: "{{ '0123456789abcdef' * 4 }}"

- name: Destroy a tenant and its descendants
  helix.zfs.zfs_dataset:
    name: tank/tenants/acme
    state: absent
    recursive: true
"""

RETURN = r"""
commands:
  description:
    - The zfs commands the task ran, or in check mode would run, in order (the plan). Keys are
      piped on stdin and appear nowhere in them.
  returned: always
  type: list
  elements: list
  sample: [["zfs", "set", "quota=10G", "tank/tenants/acme"]]
destroyed:
  description: Everything the destroys took, or in check mode would take (from C(zfs destroy -nvp)).
  returned: always
  type: list
  elements: str
datasets:
  description:
    - The declared datasets (with O(report=changed), only those changed) as they are after the
      task (in check mode, as they were) - each with
      C(name), C(exists), and C(properties) holding the declared and always-read properties, each
      with C(value), C(source) (V(local), V(default), V(inherited), V(received), V(temporary),
      V(none)) and C(from) (the dataset inherited from).
  returned: always
  type: list
  elements: dict
diff:
  description: Per dataset, the declared properties before and after.
  returned: when diff mode is on
  type: dict
"""


from ansible.module_utils.basic import AnsibleModule

from ansible_collections.helix.zfs.plugins.module_utils import _read
from ansible_collections.helix.zfs.plugins.module_utils import _zfs_dataset_plan as plan
from ansible_collections.helix.zfs.plugins.module_utils import _zfs_get
from ansible_collections.helix.zfs.plugins.module_utils._zfs_cli import run_module

# The options of one dataset: top-level for a single-dataset task, and per O(datasets) item.
PER_DATASET = plan.OPTIONS


def run(module, cli):
    p = module.params
    ds = plan.declared(p["datasets"] if p["datasets"] is not None else [p], PER_DATASET)
    props = plan.props_to_read(ds)
    names = [d["name"] for d in ds] + [d["rename_from"] for d in ds if d["rename_from"]]
    current, missing = _zfs_get.read(cli, names, props)
    keys, changing = {}, set()  # keys: {name: {"key": bytes, "new_key": bytes}}, fed on stdin
    for d in ds:
        name, exists = d["name"], d["name"] not in missing
        src = current.get(name) or current.get(d["rename_from"] or "", {})
        kf = (d["properties"].get("keyformat") or (src.get("keyformat") or {}).get("value"))
        mine = keys[name] = {}
        if d["key"] is not None and kf not in (None, "none", "-"):
            mine["key"] = plan.key_bytes(name, d["key"], kf)
        elif d["key"] is not None and not exists:
            raise plan.PlanError("%s: key given, but no keyformat declared" % name)
        if d["new_key"] is not None and exists:
            mine["new_key"] = plan.key_bytes(name, d["new_key"], kf)
            if key_differs(cli, name, mine["new_key"]):
                changing.add(name)
    cmds, diffs = plan.plan_all(ds, current, missing, changing)
    destroyed = []
    for cmd in cmds:
        if cmd.get("dry_run"):
            a = cmd["argv"]
            _rc, out, _err = cli.run(a[:2] + ["-nvp"] + a[2:])
            destroyed += _read.parse_destroy_dry_run(out)
    if cmds and not module.check_mode:
        for cmd in cmds:
            cli.run(cmd["argv"], data=keys[cmd["name"]].get(cmd["stdin_key"]) if cmd.get("stdin_key") else None)
        current, missing = _zfs_get.read(cli, [d["name"] for d in ds], props)
    touched = set(diffs) | set(c["name"] for c in cmds)
    result = {
        "changed": bool(cmds),
        "commands": [c["argv"] for c in cmds],
        "destroyed": destroyed,
        "datasets": [{"name": d["name"], "exists": d["name"] not in missing,
                      "properties": current.get(d["name"], {})}
                     for d in ds if p["report"] == "all" or d["name"] in touched],
    }
    if module._diff and diffs:
        result["diff"] = {"before": {n: v["before"] for n, v in diffs.items()},
                          "after": {n: v["after"] for n, v in diffs.items()}}
    return result


def key_differs(cli, name, new_key):
    """Does new_key not open the dataset yet? (zfs load-key -n checks a key, changing nothing.)"""
    rc, _out, _err = cli.run(["zfs", "load-key", "-n", name], data=new_key, ok_rcs=(0, 1, 255))
    return rc != 0


def main():
    item = dict(name=dict(type="str", required=True), **PER_DATASET)
    spec = dict(name=dict(type="str"), report=dict(type="str", default="all", choices=["all", "changed"]),
                datasets=dict(type="list", elements="dict", options=item), **PER_DATASET)
    module = AnsibleModule(argument_spec=spec, supports_check_mode=True,
                           required_one_of=[("name", "datasets")],
                           mutually_exclusive=[("name", "datasets")])
    run_module(module, lambda cli: run(module, cli))


if __name__ == "__main__":
    main()
