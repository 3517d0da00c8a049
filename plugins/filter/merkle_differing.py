# Copyright (c) helix.zfs contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""merkle_differing: the paths where two Merkle trees (module_utils/_merkle.py) differ."""

from __future__ import annotations

import json

from ansible_collections.helix.zfs.plugins.module_utils import _merkle


def merkle_differing(source, target, limit=20):
    """Both trees as kept on their nodes (JSON text, as ansible.builtin.slurp reads it, decoded)."""
    a, b = (json.loads(t) if isinstance(t, str) else t for t in (source, target))
    return _merkle.differing(a["nodes"], b["nodes"], limit)


class FilterModule:
    def filters(self):
        return {"merkle_differing": merkle_differing}
