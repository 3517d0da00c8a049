# Copyright (c) helix.zfs contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import annotations

import pytest
from ansible.errors import AnsibleFilterError

from ansible_collections.helix.zfs.plugins.filter.faulty_disks import faulty_disks


def disk(path, state="ONLINE", read=0, write=0, checksum=0):
    return {"name": path, "path": path, "type": "file", "state": state,
            "errors": {"read": read, "write": write, "checksum": checksum}}


def pool(data, spare=(), name="tank"):
    return {"name": name, "state": "ONLINE", "vdevs": {"data": data, "spare": list(spare), "log": []}}


def mirror(*kids):
    return {"name": "mirror-0", "type": "mirror", "state": "ONLINE", "children": list(kids)}


def test_mirror_disk_past_threshold_goes_offline_with_a_spare():
    p = pool([mirror(disk("/f1", checksum=12), disk("/f2", checksum=1))], spare=[disk("/s1", state="AVAIL")])
    assert faulty_disks([p], 10) == [{
        "pool": "tank", "device": "/f1", "state": "ONLINE", "errors": {"read": 0, "write": 0, "checksum": 12},
        "total": 12, "offline": True, "spare": "/s1", "why": None}]


def test_both_sides_of_a_mirror_bad_only_the_first_may_go():
    p = pool([mirror(disk("/f1", read=3), disk("/f2", write=5))], spare=[disk("/s1", state="AVAIL")])
    got = faulty_disks([p], 1)
    assert [(d["device"], d["offline"], d["spare"]) for d in got] == [("/f1", True, "/s1"), ("/f2", False, None)]
    assert "no full copy" in got[1]["why"]


def test_single_disk_vdev_never_goes_offline():
    got = faulty_disks([pool([disk("/f1", checksum=100)])], 1)
    assert got[0]["offline"] is False and "single-disk vdev" in got[0]["why"]


def test_raidz2_tolerates_two_and_a_faulted_disk_counts_as_missing():
    top = {"name": "raidz2-0", "type": "raidz", "parity": 2, "state": "DEGRADED",
           "children": [disk("/a", state="FAULTED", read=9), disk("/b", checksum=4), disk("/c", checksum=4), disk("/d")]}
    got = faulty_disks([pool([top])], 4)
    # /a is already missing; /b makes two missing (allowed); /c would make three.
    assert [(d["device"], d["offline"]) for d in got] == [("/a", True), ("/b", True), ("/c", False)]


def test_spares_are_given_once_and_only_avail_ones():
    p = pool([mirror(disk("/f1", read=2), disk("/f2")), mirror(disk("/g1", read=2), disk("/g2"))],
             spare=[disk("/s0", state="INUSE"), disk("/s1", state="AVAIL")])
    assert [d["spare"] for d in faulty_disks([p], 1)] == ["/s1", None]


def test_offline_disks_and_kinds_and_threshold():
    p = pool([mirror(disk("/f1", state="OFFLINE", read=50), disk("/f2", checksum=3, read=1))])
    assert faulty_disks([p], 5) == faulty_disks([p], 2, ["read"]) == []
    assert [d["total"] for d in faulty_disks([p], 3, ["checksum"])] == [3]


@pytest.mark.parametrize("args", [("nope",), ([], 0), ([], "x"), ([], 1, ["bogus"])])
def test_bad_input_is_a_clear_error(args):
    with pytest.raises(AnsibleFilterError, match="faulty_disks"):
        faulty_disks(*args)


def test_a_disk_in_a_spare_slot_is_left_alone_and_the_slot_counts_once():
    spare_slot = {"name": "spare-0", "type": "spare", "state": "ONLINE",
                  "children": [disk("/f1", state="FAULTED", checksum=40), disk("/s1", checksum=2)]}
    p = pool([mirror(spare_slot, disk("/f2", checksum=5))])
    got = faulty_disks([p], 1)
    assert [(d["device"], d["offline"]) for d in got] == [("/f1", False), ("/s1", False), ("/f2", False)]
    assert all("being replaced (spare-0)" in d["why"] for d in got)
