# Copyright (c) helix.zfs contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""replication_config and replication_behind: the helix.zfs.replication role's timer
configuration and its check-mode report, defined in module_utils/_replication.py."""

from __future__ import annotations

from ansible.errors import AnsibleFilterError

from ansible_collections.helix.zfs.plugins.module_utils import _replication
from ansible_collections.helix.zfs.plugins.module_utils._errors import PlanError


def replication_config(trees, addresses, ssh_options, receive_properties, parallel, state_dir, received=()):
    try:
        return _replication.node_config(trees, addresses, ssh_options, receive_properties, parallel, state_dir,
                                        received)
    except PlanError as e:
        raise AnsibleFilterError(str(e))


def replication_behind(plan):
    return _replication.behind(plan)


class FilterModule:
    def filters(self):
        return {"replication_config": replication_config, "replication_behind": replication_behind}
