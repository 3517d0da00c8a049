# Copyright (c) helix.zfs contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""usable_bytes: a pool layout -> the bytes it gives datasets (raidz parity and padding, slop,
reservation, snapshot headroom), for the placement catalog's capacities and capacity reports."""

from __future__ import annotations

from ansible.errors import AnsibleFilterError

from ansible_collections.helix.zfs.plugins.module_utils import _placement as placement
from ansible_collections.helix.zfs.plugins.module_utils._errors import HelixError


def usable_bytes(layout, disks, disk_bytes, ashift=12, recordsize=131072, reservation=0, headroom=1.0, vdevs=1):
    try:
        return placement.usable_bytes(layout, disks, disk_bytes, ashift=ashift, recordsize=recordsize,
                                      reservation=reservation, headroom=headroom, vdevs=vdevs)
    except HelixError as e:
        raise AnsibleFilterError("usable_bytes: %s" % e)


class FilterModule:
    def filters(self):
        return {"usable_bytes": usable_bytes}
