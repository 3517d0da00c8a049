# Copyright (c) helix.zfs contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""merkle_differing: the paths two kept trees disagree on, from slurped JSON text or objects."""
import json

from ansible_collections.helix.zfs.plugins.filter.merkle_differing import merkle_differing


def test_paths_that_differ_or_are_on_one_side():
    a = {"nodes": {".": ["r", 1, 0, 0, 0], "f": ["x", 2, 1, 0, 0], "g": ["y", 3, 1, 0, 0]}}
    b = {"nodes": {".": ["r", 1, 0, 0, 0], "f": ["z", 2, 1, 0, 0], "h": ["y", 4, 1, 0, 0]}}
    assert merkle_differing(json.dumps(a), json.dumps(b)) == ["f", "g", "h"]
    assert merkle_differing(a, b, 2) == ["f", "g"]
    assert merkle_differing(a, a) == []
