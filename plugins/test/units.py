# Copyright (c) helix.zfs contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""size and duration: whether a value reads in the collection's one grammar of each (_units), so
the roles' preflights accept exactly what the modules and the node's programs do."""

from __future__ import annotations

from ansible_collections.helix.zfs.plugins.module_utils._errors import HelixError
from ansible_collections.helix.zfs.plugins.module_utils._units import parse_duration, parse_size


def size(value):
    try:
        parse_size(value)
    except ValueError:
        return False
    return True


def duration(value):
    try:
        parse_duration(value)
    except HelixError:
        return False
    return True


class TestModule:
    def tests(self):
        return {"size": size, "duration": duration}
