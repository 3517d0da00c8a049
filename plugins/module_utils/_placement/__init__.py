# Copyright (c) helix.zfs contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""The placement planner: (dataset catalog, topology, current copies) -> where every dataset's
copies should live, and the ordered waves of steps (with their shell commands) that get there.

Pure functions, no I/O. The caller reads the catalog (YAML), the topology (inventory vars) and
the current copies (the info modules), and hands them here.

Placement is weighted rendezvous hashing (HRW, Ceph's straw2 rule) with a failure-domain skip:
each pool draws ``ln(u)/w`` for a dataset (u from a hash of the dataset and the pool, w the
pool's capacity), pools are walked from the largest draw, a pool whose domain already holds a
copy (or that has no room) is skipped, and the walk stops at k copies. Why this base:

- it needs no stored state to be deterministic: the same catalog and inventory give the same
  placement on any controller;
- adding a pool moves only copies onto it, removing one moves only its copies, spread by
  weight: the minimum possible movement;
- the domain skip gives k distinct domains by construction.

Its weaknesses are covered by two more layers. Stickiness: a copy that exists and is still valid
is kept, so a run never moves data just because the hash would now choose differently, and
re-running after convergence plans nothing. A byte-balance pass: hashing balances copy counts
on average only, not bytes (sizes are lognormal), and not exactly with unequal weights, so a
greedy pass (largest datasets first, never overshooting a pool's target) moves copies from
pools above their byte target to pools below it, as Ceph's upmap balancer and Helix's WAGED
do. Copies that don't exist yet move for free, so a first placement and the refill after a
lost host are balanced at no transfer cost; existing copies move only to bring a pool back
within a tolerance band around its target, bounded in bytes per run.

The package, by job: ``catalog`` (the entries), ``topology`` (hosts, domains, pools, what was
read), ``place`` (where copies go), ``steps`` (the plan and its waves), ``commands`` (what
each step's modules will run, shown as the plan), ``capacity`` (pool sizes and the table). The names below are its interface.
"""

from __future__ import annotations

from ansible_collections.helix.zfs.plugins.module_utils._placement.capacity import placement_table, render_table, usable_bytes
from ansible_collections.helix.zfs.plugins.module_utils._placement.commands import READ_PROPERTIES, fill, lines, ran, title
from ansible_collections.helix.zfs.plugins.module_utils._placement.catalog import DEFAULT_TOLERANCE, parse_catalog
from ansible_collections.helix.zfs.plugins.module_utils._placement.place import place
from ansible_collections.helix.zfs.plugins.module_utils._placement.steps import KINDS, SENDS, plan
from ansible_collections.helix.zfs.plugins.module_utils._placement.topology import observed_copies, topology

__all__ = ["DEFAULT_TOLERANCE", "KINDS", "READ_PROPERTIES", "SENDS", "fill", "lines", "observed_copies", "parse_catalog",
           "place", "placement_table", "plan", "ran", "render_table", "title", "topology", "usable_bytes"]
