# Copyright (c) helix.zfs contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""migration_estimate, phase_estimate and human_duration: migrate_node.yml's check-mode
estimates, defined in module_utils/_estimate.py (human_duration in _units.py, with the other
durations)."""

from __future__ import annotations

from ansible.errors import AnsibleFilterError

from ansible_collections.helix.zfs.plugins.module_utils import _estimate
from ansible_collections.helix.zfs.plugins.module_utils._errors import PlanError
from ansible_collections.helix.zfs.plugins.module_utils._units import human_duration


def migration_estimate(pairs, streams, sources, throughput, small_delta, cutover_steps):
    try:
        return _estimate.node_estimate(pairs, streams, sources, throughput, small_delta, cutover_steps)
    except PlanError as e:
        raise AnsibleFilterError(str(e))


def phase_estimate(per_host, hosts, serial):
    try:
        return _estimate.phase_estimate(per_host, hosts, serial)
    except PlanError as e:
        raise AnsibleFilterError(str(e))


class FilterModule:
    def filters(self):
        return {"migration_estimate": migration_estimate, "phase_estimate": phase_estimate,
                "human_duration": human_duration}
