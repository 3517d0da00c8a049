# Copyright (c) helix.zfs contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import annotations

import pytest

from ansible_collections.helix.zfs.plugins.module_utils import _estimate, _units
from ansible_collections.helix.zfs.plugins.module_utils._errors import PlanError

MIB = 1024 ** 2


def ds(name, used, written):
    return {"name": name, "properties": {"used": {"value": str(used)}, "written": {"value": str(written)}}}


SOURCES = [ds("tank/a", 900 * MIB, 2 * MIB), ds("tank/a/x", 100 * MIB, 1 * MIB), ds("tank/ab", 50 * MIB, 0),
           ds("tank/b", 300 * MIB, 5 * MIB)]


def test_sized_by_send_estimate_plus_written_else_by_used():
    pairs = [{"source": "tank/a", "target": "t/a"}, {"source": "tank/b", "target": "t/b"}]
    # As registered with failed_when: false - a failed check says failed: false, but has no "sent".
    streams = [{"item": pairs[0], "sent": [{"kind": "full"}], "bytes": 800 * MIB},
               {"item": pairs[1], "failed": False, "msg": "tank/b has no snapshot to send"}]
    got = _estimate.node_estimate(pairs, streams, SOURCES, "100M", "4M", "10s")
    # tank/a: the stream + written in tank/a and tank/a/x (not tank/ab); tank/b: its used.
    assert got["bytes"] == (800 + 3 + 300) * MIB
    assert got["sized_by"] == ["used", "zfs send -nvP"]
    assert (got["transfer_seconds"], got["window_seconds"], got["seconds"]) == (11.0, 10.0, 21.1)


def test_nothing_left_is_nothing_to_wait_for():
    assert _estimate.node_estimate([], [], SOURCES, "1G", "64M", 10)["seconds"] == 0


@pytest.mark.parametrize("args, message", [(("fast", "4M", "10s"), "not a size"), (("0", "4M", "10s"), "above 0"),
                                           (("1M", "4M", "ten"), "bad duration")])
def test_bad_input_is_a_clear_error(args, message):
    with pytest.raises(PlanError, match=message):
        _estimate.node_estimate([], [], [], *args)


@pytest.mark.parametrize("serial, want", [
    (1, [["a"], ["b"], ["c"], ["d"], ["e"]]),
    (2, [["a", "b"], ["c", "d"], ["e"]]),
    ("40%", [["a", "b"], ["c", "d"], ["e"]]),
    ("10%", [["a"], ["b"], ["c"], ["d"], ["e"]]),  # never under one host
    ([1, "50%"], [["a"], ["b", "c"], ["d", "e"]]),  # the last one repeats
    (0, [["a", "b", "c", "d", "e"]]),
])
def test_batches_follow_ansible_serial(serial, want):
    assert _estimate.batches(list("abcde"), serial) == want


def test_a_phase_takes_its_batches_slowest_node_each():
    per = {"a": {"seconds": 10}, "b": {"seconds": 30}, "c": {"seconds": 5}}
    got = _estimate.phase_estimate(per, ["a", "b", "c"], 2)
    assert got == {"batches": [{"hosts": ["a", "b"], "seconds": 30}, {"hosts": ["c"], "seconds": 5}], "seconds": 35}
    assert _estimate.phase_estimate(per, ["a", "b", "c"], 1)["seconds"] == 45


def test_human_duration():
    assert [_units.human_duration(s) for s in (0, 42.4, 65, 3725)] == ["0s", "42s", "1m 05s", "1h 02m 05s"]


def test_bad_serial():
    with pytest.raises(PlanError, match="serial"):
        _estimate.batches(["a"], "many")
