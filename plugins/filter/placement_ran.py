# Copyright (c) helix.zfs contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""placement_ran: a placement step and its tasks' results -> the lines the plan printed for it."""

from __future__ import annotations

from ansible.errors import AnsibleFilterError

from ansible_collections.helix.zfs.plugins.module_utils import _placement


def placement_ran(step, parts):
    if not isinstance(step, dict) or "id" not in step or not isinstance(parts, list):
        raise AnsibleFilterError("placement_ran: give a step of helix.zfs.placement_plan's waves and a list of [host, result]")
    return _placement.ran(step, parts)


class FilterModule:
    def filters(self):
        return {"placement_ran": placement_ran}
