# Copyright (c) helix.zfs contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""migration_changes: a migration's datasets and what zfs_info read of their source trees -> the
zfs_dataset lists of each cut-over step (playbooks/tasks/cutover.yml), for whole trees.
migration_todo: the same pairs and both sides' state -> what is left, what resumes an interrupted
cut-over, and what must not run. Both are defined in module_utils/_cutover.py."""

from __future__ import annotations

from ansible.errors import AnsibleFilterError

from ansible_collections.helix.zfs.plugins.module_utils import _cutover
from ansible_collections.helix.zfs.plugins.module_utils._errors import PlanError


def migration_changes(pairs, seen, target_host, run, old_role=_cutover.MIGRATED):
    try:
        return _cutover.migration_changes(pairs, seen, target_host, run, old_role)
    except PlanError as e:
        raise AnsibleFilterError(str(e))


def migration_todo(pairs, sources, targets):
    try:
        return _cutover.migration_todo(pairs, sources, targets)
    except PlanError as e:
        raise AnsibleFilterError(str(e))


class FilterModule:
    def filters(self):
        return {"migration_changes": migration_changes, "migration_todo": migration_todo}
