# Copyright (c) helix.zfs contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""to_bytes: a size in the collection's one grammar (_units) -> bytes, for roles that work
sizes out (Ansible's human_to_bytes reads 10GiB otherwise than ZFS, or not at all)."""

from __future__ import annotations

from ansible.errors import AnsibleFilterError

from ansible_collections.helix.zfs.plugins.module_utils._units import parse_size


def to_bytes(value):
    try:
        return parse_size(value)
    except ValueError as e:
        raise AnsibleFilterError("to_bytes: %s" % e)


class FilterModule:
    def filters(self):
        return {"to_bytes": to_bytes}
