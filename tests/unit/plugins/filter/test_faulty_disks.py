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


def brief(got):
    return [(d["device"], d["action"], d["spare"]) for d in got]


def test_a_disk_with_a_spare_is_replaced_and_stays_attached():
    # Before issue 16 (A8) the same disk was planned offline and replaced in one go, which
    # took the resilver's source away.
    p = pool([mirror(disk("/f1", checksum=12), disk("/f2", checksum=1))], spare=[disk("/s1", state="AVAIL")])
    assert faulty_disks([p], 10) == [{
        "pool": "tank", "device": "/f1", "state": "ONLINE", "errors": {"read": 0, "write": 0, "checksum": 12},
        "total": 12, "action": "replace", "offline": False, "spare": "/s1", "why": None}]


def test_the_old_disk_is_detached_once_the_spare_has_resilvered():
    slot = {"name": "spare-0", "type": "spare", "state": "ONLINE",
            "children": [disk("/f1", checksum=12), disk("/s1")]}
    p = pool([mirror(slot, disk("/f2"))], spare=[disk("/s1", state="INUSE")])
    assert brief(faulty_disks([p], 1)) == [("/f1", "detach", "/s1")]
    p["scan"] = {"function": "resilver", "state": "scanning"}
    got = faulty_disks([p], 1)
    assert brief(got) == [("/f1", "keep", None)] and "while /s1 takes its place" in got[0]["why"]


def test_one_action_per_vdev_per_run():
    p = pool([mirror(disk("/f1", read=3), disk("/f2", write=5), disk("/f3"))], spare=[disk("/s1", state="AVAIL")])
    got = faulty_disks([p], 1)
    assert brief(got) == [("/f2", "replace", "/s1"), ("/f1", "keep", None)]
    assert "one disk per vdev" in got[1]["why"]


def test_raidz2_two_erroring_disks_only_one_goes_offline():
    # Before issue 16 (A8) both went, leaving the raidz2 with no redundancy.
    top = {"name": "raidz2-0", "type": "raidz", "parity": 2, "state": "ONLINE",
           "children": [disk("/a"), disk("/b", checksum=4), disk("/c", checksum=5), disk("/d")]}
    assert brief(faulty_disks([pool([top])], 4)) == [("/c", "offline", None), ("/b", "keep", None)]


def test_offline_only_when_redundancy_is_left():
    two_way = pool([mirror(disk("/f1", read=3), disk("/f2"))])
    got = faulty_disks([two_way], 1)
    assert brief(got) == [("/f1", "keep", None)] and "without redundancy" in got[0]["why"]
    three_way = pool([mirror(disk("/f1", read=3), disk("/f2"), disk("/f3"))])
    assert brief(faulty_disks([three_way], 1)) == [("/f1", "offline", None)]
    raidz2_degraded = {"name": "raidz2-0", "type": "raidz", "parity": 2, "state": "DEGRADED",
                       "children": [disk("/a", state="FAULTED"), disk("/b", checksum=4), disk("/c"), disk("/d")]}
    got = faulty_disks([pool([raidz2_degraded])], 4)
    assert brief(got) == [("/b", "keep", None), ("/a", "keep", None)] and "without redundancy" in got[0]["why"]
    assert "taken it out already (FAULTED)" in got[1]["why"]


def test_single_disk_vdev_never_goes_offline():
    got = faulty_disks([pool([disk("/f1", checksum=100)])], 1)
    assert got[0]["action"] == "keep" and "single-disk vdev" in got[0]["why"]


def test_a_faulted_disk_without_a_spare_is_reported():
    got = faulty_disks([pool([mirror(disk("/f1", state="FAULTED", read=9), disk("/f2"), disk("/f3"))])], 1)
    assert brief(got) == [("/f1", "keep", None)] and "FAULTED" in got[0]["why"]


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
    # /s1, the spare, has errors of its own: /f1 stays until that is dealt with.
    assert brief(got) == [("/f1", "keep", None), ("/f2", "keep", None), ("/s1", "keep", None)]
    assert "while /s1 takes its place" in got[0]["why"]
    assert all("being replaced (spare-0)" in d["why"] for d in got[1:])


@pytest.mark.parametrize("state", ["REMOVED", "UNAVAIL", "FAULTED"])
def test_a_disk_zfs_took_out_counts_whatever_its_counters(state):
    # Issue 19: an unplugged disk (QEMU device_del in the lab) is REMOVED with no errors counted;
    # before, it was never found, so faulty_disks.yml left the pool degraded with a spare idle.
    p = pool([mirror(disk("/f1", state=state), disk("/f2"))], spare=[disk("/s1", state="AVAIL")])
    got = faulty_disks([p], 10)
    assert brief(got) == [("/f1", "replace", "/s1")] and got[0]["total"] == 0
    no_spare = faulty_disks([pool([mirror(disk("/f1", state=state), disk("/f2"))])], 10)
    assert brief(no_spare) == [("/f1", "keep", None)] and state in no_spare[0]["why"]
    slot = {"name": "spare-0", "type": "spare", "state": "DEGRADED", "children": [disk("/f1", state=state), disk("/s1")]}
    assert brief(faulty_disks([pool([mirror(slot, disk("/f2"))], spare=[disk("/s1", state="INUSE")])], 10)) == [("/f1", "detach", "/s1")]
