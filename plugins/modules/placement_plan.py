#!/usr/bin/python
# Copyright (c) helix.zfs contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: placement_plan
short_description: Place dataset copies across failure domains and plan the moves, on the controller
version_added: 0.1.0
description:
  - Takes a dataset catalog (each dataset's size, copies, minimum copies and seed 001's metadata),
    the fleet's hosts with their failure domain and pools, and where copies are now, and returns
    where every copy should be and the ordered waves of steps that get there, each with the
    commands it will run. It changes nothing itself; C(playbooks/rebalance.yml) carries the waves
    out with M(helix.zfs.zfs_dataset), M(helix.zfs.zfs_snapshot) and M(helix.zfs.zfs_replicate).
  - B(Commands.) Each step's C(commands) (in RV(waves)) are the commands those modules will return
    when C(playbooks/tasks/placement_step.yml) runs the step, computed with the modules' own
    planners over what O(observed) holds (snapshots, bookmarks, properties), carried forward
    step by step. The snapshot names are fixed by O(run). Not foreseen from the read - holds an
    interrupted send placed, a receive to resume, writes or snapshots made between the plan and
    the run - may add or change commands; the run prints what each step ran.
  - B(Placement.) Weighted rendezvous hashing (Ceph's straw2 rule). Each pool draws C(ln(u)/w)
    for a dataset (u a hash of the two, w the pool's capacity), and a dataset's k copies go to
    the best-drawing pools of k distinct failure domains. The same inputs give the same
    placement; adding a pool moves copies only onto it, removing one moves only its copies.
    Copies that exist and are still valid stay (sticky). Then a greedy pass, largest datasets
    first, moves copies from pools above their byte target to pools below it, at most
    O(max_move) bytes of existing copies per run. Pins in the catalog override placement.
  - B(Plan.) A new copy is made before an old one is dropped; a dataset never has fewer copies
    than it started with, nor than its minimum; a primary switch is one V(cutover) step (demote,
    final incremental, verify, mark, promote - C(playbooks/tasks/cutover.yml), never two
    writers); recovery (missing copies) comes before balance; each wave sends
    at most O(max_per_host) streams per host and O(max_per_domain) per domain.
  - A dataset of the catalog lives on a pool as C(POOL/NAME). Who is primary is the dataset's
    C(helix:role) property (V(primary) or V(replica)).
  - Runs on the controller (C(delegate_to=localhost)); it reads nothing from the nodes. Give it
    what M(helix.zfs.zfs_info) read there in O(observed) (C(playbooks/plan.yml) shows the read).
extends_documentation_fragment:
  - helix.zfs.attributes
attributes:
  check_mode:
    support: full
    details:
      - The module only computes; it reports C(changed=false) in both modes.
  diff_mode:
    support: none
  idempotent:
    support: full
options:
  catalog:
    description:
      - The datasets. Each has V(name) (relative to the pool), V(size) (bytes or C(500G)), V(copies)
        (default 2), V(min_copies) (default 1), and optionally V(summary), V(retention)
        (V(legal), V(desired), each a day or more, like C(90d) or C(7y); C(m) is minutes), V(reproduction_cost), V(legal_framework),
        V(snapshot_policy), V(replication_policy), V(pin) (hosts or C(host:pool) the copies must
        be on) and V(primary) (a host or C(host:pool)). Unknown keys and bad values are errors,
        one line per bad entry.
    type: list
    elements: dict
    required: true
  hosts:
    description:
      - "The fleet, C({host: {domain: rack-a, pools: [{name: tank, capacity: 10T}]}}). Capacity is
        what the pool may hold (see the C(helix.zfs.usable_bytes) filter for raidz overhead,
        slop, reservation and snapshot headroom)."
    type: dict
    required: true
  observed:
    description:
      - "What M(helix.zfs.zfs_info) read on each host, C([{host: HOST, datasets: RESULT.datasets}]):
        the catalog datasets' trees on the host's pools, every type, recursive, with the properties
        C(type), C(used), C(guid), C(createtxg), C(userrefs), C(written), C(readonly), C(canmount),
        C(encryption), C(receive_resume_token), C(helix:role) and C(helix:before_cutover); and the
        datasets above them. Copies are C(POOL/NAME) of a catalog entry; the rest is what the
        commands are planned from. With less, the placement is the same but the commands are a guess."
    type: list
    elements: dict
    default: []
  max_move:
    description: At most this many bytes of existing copies moved by the balance pass per run (bytes or C(100G)). Unbounded when omitted.
    type: str
  max_per_host:
    description: Sends per host per wave.
    type: int
    default: 1
  max_per_domain:
    description: Sends per failure domain per wave.
    type: int
    default: 2
  run:
    description: The run id in the plan's snapshot names (letters, digits, and C(_), C(.), C(:) or C(-)).
    type: str
    default: plan
  addresses:
    description: "How a host reaches each other host for a send (C(helix_replication_address)), C({host: address});
      a host left out is reached by its name."
    type: dict
    default: {}
    version_added: 0.2.0
  receive_properties:
    description: The properties a new copy is received with, as the steps pass them to M(helix.zfs.zfs_replicate) (C(playbooks/vars/copies.yml)).
    type: dict
    default: {canmount: noauto}
    version_added: 0.2.0
  direct_stream:
    description: >-
      Whether the steps' sends go direct in the transport's tunnel
      (O(helix.zfs.zfs_replicate#module:direct_stream)), as the commands show them.
    type: bool
    default: false
    version_added: 0.2.0
author:
  - helix.zfs developers (!UNKNOWN)
seealso:
  - module: helix.zfs.zfs_replicate
  - module: helix.zfs.zfs_info
"""

EXAMPLES = r"""
- name: Where should two datasets' copies live on three hosts in three racks, and how to get there
  helix.zfs.placement_plan:
    catalog:
      - {name: projects/genome, size: 40G, copies: 2, legal_framework: GDPR, retention: {legal: 7y}}
      - {name: projects/scans, size: 10G, copies: 3, min_copies: 2}
    hosts:
      node-a: {domain: rack-a, pools: [{name: tank, capacity: 1T}]}
      node-b: {domain: rack-b, pools: [{name: tank, capacity: 1T}]}
      node-c: {domain: rack-c, pools: [{name: tank, capacity: 2T}]}
  delegate_to: localhost
  register: placement

- name: Print the commands, wave by wave
  ansible.builtin.debug:
    msg: "{{ placement.commands }}"
"""

RETURN = r"""
target:
  description: Where each dataset's copies should be, C(host:pool) ids, the primary first.
  returned: always
  type: dict
  sample: {projects/genome: ["node-c:tank", "node-a:tank"]}
current:
  description: "Where the copies are now, as read from O(observed), C({dataset: {host:pool: role}})."
  returned: always
  type: dict
waves:
  description:
    - The steps, in waves; the steps of one wave may run at once. Each has C(kind) (V(create),
      V(create_copy), V(cutover) (a primary switch), V(promote) (a lost primary's successor),
      V(drop_copy)), C(dataset), C(pool), C(host), C(fs) (the dataset's name on that pool),
      C(parents) (the datasets above it on that pool, outermost first), C(runner) (the host whose
      round runs it - a send's source, else the least busy host of its wave; every command
      still names its own host), C(source),
      C(source_host) and C(source_fs) (for sends; for a drop, the primary kept, which must hold
      the dropped copy's newest snapshot), C(snapshot) (the snapshot a send takes), C(bytes),
      C(reason) (V(recovery) or V(rebalance)), C(id) (its number, in the order the steps run) and
      C(commands) (C([{host, argv}]) - where each command runs and its argv, as the module that
      runs it returns it in its C(commands); zfs_replicate's send and receive are one argv joined
      by C(|)).
  returned: always
  type: list
  elements: list
run:
  description: The run id (O(run)), for the names of the snapshots the steps take.
  returned: always
  type: str
steps:
  description: How many steps the plan has; 0 once the fleet matches the placement.
  returned: always
  type: int
commands:
  description: The plan to read - a line per wave, per step (C(step ID - KIND DATASET ...)) and per command
    (C(HOST - ARGV), shell-quoted) - the same lines C(playbooks/rebalance.yml) prints for what each step ran.
  returned: always
  type: list
  elements: str
  sample: ["# wave 1", "step 1: create_copy logs (lab1:pp/logs -> lab4:pp/logs)", "  lab1: zfs snapshot -r pp/logs@helix-place-r1-1"]
table:
  description: Copies, primaries and bytes per host and per domain after the plan, as text lines.
  returned: always
  type: list
  elements: str
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.helix.zfs.plugins.module_utils import _placement as placement
from ansible_collections.helix.zfs.plugins.module_utils._units import parse_size
from ansible_collections.helix.zfs.plugins.module_utils._errors import HelixError, PlanError


def main():
    module = AnsibleModule(
        argument_spec=dict(
            catalog=dict(type="list", elements="dict", required=True),
            hosts=dict(type="dict", required=True),
            observed=dict(type="list", elements="dict", default=[]),
            max_move=dict(type="str"),
            max_per_host=dict(type="int", default=1),
            max_per_domain=dict(type="int", default=2),
            run=dict(type="str", default="plan"),
            addresses=dict(type="dict", default={}),
            receive_properties=dict(type="dict", default={"canmount": "noauto"}),
            direct_stream=dict(type="bool", default=False),
        ),
        supports_check_mode=True,
    )
    p = module.params
    try:
        catalog = placement.parse_catalog(p["catalog"])
        topo = placement.topology(p["hosts"])
        current = placement.observed_copies(p["observed"], topo, [e["name"] for e in catalog])
        try:
            max_move = None if p["max_move"] is None else parse_size(p["max_move"])
        except ValueError as e:
            raise PlanError("max_move: %s" % e)
        target = placement.place(catalog, topo, current=current, max_move_bytes=max_move)
        waves = placement.plan(catalog, current, target, max_per_host=p["max_per_host"],
                               max_per_domain=p["max_per_domain"], topo=topo, run=p["run"])
        placement.fill(waves, p["observed"], p["run"], p["addresses"], p["receive_properties"], p["direct_stream"])
        table = placement.render_table(placement.placement_table(target, topo, catalog))
    except (HelixError, ValueError) as e:
        module.fail_json(msg="placement: %s" % e)
    commands, out = [], []
    for n, wave in enumerate(waves, 1):
        commands.append("# wave %d" % n)
        out.append([])
        for st in wave:
            commands += [placement.title(st)] + ["  " + x for x in placement.lines(st["commands"])]
            out[-1].append(st)
    module.exit_json(changed=False, run=p["run"], target=target, current=current, waves=out, commands=commands,
                     steps=sum(len(w) for w in out), table=table.splitlines() if isinstance(table, str) else table)


if __name__ == "__main__":
    main()
