"""The zpool planner (_zpool_plan) on pools recorded from real OpenZFS 2.3.2: declared state in,
zpool commands (or PlanError) out. Identity keys are faked: a whole-disk path matches its -part1."""
import json
import re

import pytest

from ansible_collections.helix.zfs.plugins.module_utils import _zpool_plan as plan
from ansible_collections.helix.zfs.plugins.module_utils._errors import PlanError
from ansible_collections.helix.zfs.plugins.module_utils._zpool_status import parse_pool_properties, parse_status


def key(path):
    return re.sub(r"-part1$", "", path)


def d(*ns):
    return ["/dev/disk/by-id/virtio-helix-d%d" % n for n in ns]


(D1, D2, D3, D4, D5, D6, D7, D8, D9, D10, D11, D12, D13, D14) = d(*range(1, 15))


def declared(**classes):
    """The rich fixture's own layout as the module would declare it, with classes overridden."""
    out = {"data": [{"type": "mirror", "disks": d(1, 2)}, {"type": "raidz", "disks": d(3, 4, 5)}],
           "special": [{"type": "mirror", "disks": d(6, 7)}], "dedup": [{"disks": d(8)}],
           "log": [{"type": "mirror", "disks": d(9, 10)}], "cache": d(11), "spare": d(12)}
    out.update(classes)
    return {c: (v if v is None or c in ("cache", "spare") else plan.expand(v)) for c, v in out.items()}


@pytest.fixture
def pools(fixture_text):
    def read(name):
        return parse_status(json.loads(fixture_text("zpool", "status-%s.json" % name)))
    return read


@pytest.fixture
def rich(pools):
    return pools("rich")["htrich"]


def layout_cmds(pool, desired, allow_vdev_removal=False, force=False):
    return plan.layout_commands(pool["name"], plan.current_layout(pool, key), desired, key,
                                allow_vdev_removal, force)


def device_cmds(pool, force=False, **ops):
    return plan.device_commands(pool["name"], plan.device_states(pool, key), ops, key, force)


# ---------------------------------------------------------------------------- current state

def test_current_layout_of_rich_pool(rich):
    def vdev(kind, name, *n):
        return {"type": kind, "name": name, "disks": d(*n), "slots": [{x} for x in d(*n)]}
    assert plan.current_layout(rich, key) == {
        "data": [vdev("mirror", "mirror-0", 1, 2), vdev("raidz1", "raidz1-1", 3, 4, 5)],
        "special": [vdev("mirror", "mirror-2", 6, 7)],
        "dedup": [vdev("disk", "virtio-helix-d8", 8)],
        "log": [vdev("mirror", "mirror-4", 9, 10)],
        "cache": d(11),
        "spare": d(12),
        "paths": {k: k + "-part1" for k in d(*range(1, 13))},
    }


def test_current_layout_of_draid_leaves_dspare_out_of_spares(pools):
    cur = plan.current_layout(pools("draid")["htdraid"], key)
    # the dRAID's geometry is part of its type, so a different declared geometry is a change
    assert [(v["type"], v["name"], v["disks"]) for v in cur["data"]] == [
        ("draid1:2d:5c:1s", "draid1:2d:5c:1s-0", d(1, 2, 3, 4, 5))]
    assert cur["spare"] == []
    assert cur["paths"][D5] == D5 + "-part1"


# ---------------------------------------------------------------------------- declared vdevs

@pytest.mark.parametrize("vdev, spec", [
    ({"disks": [D1]}, ("disk", [D1], [D1])),
    ({"type": "stripe", "disks": d(1, 2)}, ("disk", d(1, 2), d(1, 2))),
    ({"type": "mirror", "disks": d(1, 2)}, ("mirror", d(1, 2), ["mirror"] + d(1, 2))),
    ({"type": "raidz", "disks": d(1, 2, 3)}, ("raidz1", d(1, 2, 3), ["raidz1"] + d(1, 2, 3))),
    ({"type": "raidz2", "disks": d(1, 2, 3, 4)}, ("raidz2", d(1, 2, 3, 4), ["raidz2"] + d(1, 2, 3, 4))),
    ({"type": "draid", "disks": d(1, 2, 3, 4, 5), "data": 2, "spares": 1},
     ("draid1:2d:5c:1s", d(1, 2, 3, 4, 5), ["draid1:2d:5c:1s"] + d(1, 2, 3, 4, 5))),
    # data defaults to what is left after parity and spares, at most 8
    ({"type": "draid2", "disks": d(*range(10))},
     ("draid2:8d:10c:0s", d(*range(10)), ["draid2:8d:10c:0s"] + d(*range(10)))),
    ({"type": "draid1", "disks": d(*range(13))},
     ("draid1:8d:13c:0s", d(*range(13)), ["draid1:8d:13c:0s"] + d(*range(13)))),
    # OpenZFS accepts parity + 1 disks
    ({"type": "raidz2", "disks": d(1, 2, 3)}, ("raidz2", d(1, 2, 3), ["raidz2"] + d(1, 2, 3))),
])
def test_vdev_spec(vdev, spec):
    assert plan.vdev_spec(vdev) == spec


@pytest.mark.parametrize("vdev, message", [
    ({"type": "raid5", "disks": d(1, 2, 3)}, "unknown vdev type 'raid5'"),
    ({"type": "mirror", "disks": []}, "a mirror vdev needs disks"),
    ({"type": "mirror", "disks": [D1]}, "a mirror needs at least 2 disks"),
    ({"type": "raidz", "disks": d(1)}, "raidz1 needs at least 2 disks, got 1"),
    ({"type": "raidz3", "disks": d(1, 2, 3)}, "raidz3 needs at least 4 disks, got 3"),
    ({"type": "draid", "disks": d(1, 2, 3), "data": 2, "spares": 1}, "draid1 with 2 data, 1 spares"),
    ({"type": "draid", "disks": d(1, 2), "spares": 1}, "draid1 with 0 data"),
])
def test_vdev_spec_refuses(vdev, message):
    with pytest.raises(PlanError, match=re.escape(message)):
        plan.vdev_spec(vdev)


def test_expand_makes_a_stripe_one_vdev_per_disk():
    assert plan.expand([{"type": "stripe", "disks": d(1, 2)}, {"type": "mirror", "disks": d(3, 4)}]) == [
        {"type": "disk", "disks": [D1], "spec": [D1]},
        {"type": "disk", "disks": [D2], "spec": [D2]},
        {"type": "mirror", "disks": d(3, 4), "spec": ["mirror", D3, D4]},
    ]
    assert plan.expand(None) == []


# ---------------------------------------------------------------------------- create

def test_create_command_orders_options_and_classes():
    cmd = plan.create_command("tank", declared(), {"autotrim": "on", "ashift": "12"},
                              {"compression": "lz4", "atime": "off"}, force=True)
    assert cmd == ["zpool", "create", "-f", "-o", "ashift=12", "-o", "autotrim=on",
                   "-O", "atime=off", "-O", "compression=lz4", "tank",
                   "mirror", D1, D2, "raidz1", D3, D4, D5, "special", "mirror", D6, D7,
                   "dedup", D8, "log", "mirror", D9, D10, "cache", D11, "spare", D12]


def test_create_command_with_undeclared_classes():
    desired = declared(special=None, dedup=None, log=None, cache=None, spare=None,
                       data=[{"type": "stripe", "disks": d(1, 2)}])
    assert plan.create_command("tank", desired, {}, {}, force=False) == ["zpool", "create", "tank", D1, D2]


def test_dry_run_only_for_create_and_add():
    assert plan.dry_run(["zpool", "create", "-f", "tank", D1]) == ["zpool", "create", "-n", "-f", "tank", D1]
    assert plan.dry_run(["zpool", "add", "tank", "cache", D1]) == ["zpool", "add", "-n", "tank", "cache", D1]
    for cmd in (["zpool", "remove", "tank", "mirror-4"], ["zpool", "set", "autotrim=on", "tank"],
                ["zpool", "scrub", "tank"], ["zpool", "replace", "tank", D1, D2]):
        assert plan.dry_run(cmd) is None


def test_in_other_pools(pools):
    desired = declared(data=[{"type": "raidz", "disks": d(3, 4, 13)}], special=None, dedup=None,
                       log=None, cache=[D12 + "-part1", D13], spare=None)
    with pytest.raises(PlanError, match=r"in use: \S*d3 is in pool htrich; \S*d4 is in pool htrich; "
                                        r"\S*d12-part1 is in pool htrich$"):
        plan.in_other_pools("htnew", pools("rich"), desired, key)
    both = dict(pools("rich"), **pools("draid"))  # d1-d5 are in both recordings
    with pytest.raises(PlanError, match=r"in use: [^;]*d1 is in pool htdraid; [^;]*d2 is in pool htdraid; "):
        plan.in_other_pools("htrich", both, declared(), key)
    # the pool's own disks and unused disks are fine
    assert plan.in_other_pools("htrich", pools("rich"), declared(cache=d(11, 13)), key) is None


# ---------------------------------------------------------------------------- layout

def test_layout_unchanged_is_a_no_op(rich):
    assert layout_cmds(rich, declared()) == []


def test_undeclared_classes_are_left_alone(rich):
    desired = {c: None for c in ("data", "special", "dedup", "log", "cache", "spare")}
    assert layout_cmds(rich, desired) == []


def test_draid_layout_unchanged_is_a_no_op(pools):
    desired = declared(data=[{"type": "draid", "disks": d(1, 2, 3, 4, 5), "data": 2, "spares": 1}],
                       special=[], dedup=[], log=[], cache=[], spare=[])
    assert layout_cmds(pools("draid")["htdraid"], desired) == []  # the dspare is not removed


def test_add_vdevs(rich):
    data = declared()["data"]
    desired = declared(special=[{"type": "mirror", "disks": d(6, 7)}, {"type": "mirror", "disks": d(13, 14)}])
    desired["data"] = data + plan.expand([{"type": "mirror", "disks": d(15, 16)}])
    assert layout_cmds(rich, desired) == [
        ["zpool", "add", "htrich", "mirror"] + d(15, 16),
        ["zpool", "add", "htrich", "special", "mirror", D13, D14],
    ]
    assert layout_cmds(rich, declared(log=[{"type": "mirror", "disks": d(9, 10)}, {"disks": [D13]}]),
                       force=True) == [["zpool", "add", "-f", "htrich", "log", D13]]


def test_dropped_log_vdev_is_removed_by_name(rich):
    assert layout_cmds(rich, declared(log=[])) == [["zpool", "remove", "htrich", "mirror-4"]]


def test_cache_and_spare_devices(rich):
    # removed by the pool's own path, added by the declared one
    assert layout_cmds(rich, declared(cache=[], spare=[])) == [
        ["zpool", "remove", "htrich", D11 + "-part1"], ["zpool", "remove", "htrich", D12 + "-part1"]]
    assert layout_cmds(rich, declared(cache=[D13, D11])) == [["zpool", "add", "htrich", "cache", D13]]
    assert layout_cmds(rich, declared(cache=[D13], spare=[D14]), force=True) == [
        ["zpool", "add", "-f", "htrich", "cache", D13],
        ["zpool", "remove", "htrich", D11 + "-part1"],
        ["zpool", "add", "-f", "htrich", "spare", D14],
        ["zpool", "remove", "htrich", D12 + "-part1"],
    ]


@pytest.mark.parametrize("cls, vdevs, name", [
    ("data", [{"type": "mirror", "disks": d(1, 2)}], "raidz1-1"),
    ("special", [], "mirror-2"),
    ("dedup", [], "virtio-helix-d8"),
])
def test_dropped_vdev_needs_allow_vdev_removal(rich, cls, vdevs, name):
    desired = declared(**{cls: vdevs})
    with pytest.raises(PlanError, match=r"drops %s vdev %s .*allow_vdev_removal" % (cls, name)):
        layout_cmds(rich, desired)
    assert layout_cmds(rich, desired, allow_vdev_removal=True) == [["zpool", "remove", "htrich", name]]


@pytest.mark.parametrize("data", [
    [{"type": "mirror", "disks": d(1, 2)}, {"type": "mirror", "disks": d(3, 4, 5)}],  # raidz -> mirror
    [{"type": "mirror", "disks": d(1, 2)}, {"type": "raidz2", "disks": d(3, 4, 5, 13)}],  # parity
    [{"type": "stripe", "disks": d(1, 2)}, {"type": "raidz", "disks": d(3, 4, 5)}],  # mirror -> disks
    [{"type": "mirror", "disks": d(1, 13)}, {"type": "raidz", "disks": d(3, 4, 5)}],  # other disk
    [{"type": "mirror", "disks": d(1, 2)}, {"type": "raidz", "disks": d(3, 4, 5, 13)}],  # wider
])
def test_changed_vdev_is_refused(rich, data):
    with pytest.raises(PlanError, match=r"data vdev (mirror-0|raidz1-1) .* differs from the declared"):
        layout_cmds(rich, declared(data=data))


def test_changed_draid_geometry_is_refused(pools):
    desired = declared(data=[{"type": "draid", "disks": d(1, 2, 3, 4, 5), "data": 3}],
                       special=None, dedup=None, log=None, cache=None, spare=None)
    with pytest.raises(PlanError):
        layout_cmds(pools("draid")["htdraid"], desired)


def test_layout_with_hot_spare_in_use_is_unchanged(pools):
    assert layout_cmds(pools("resilvering")["htrich"], declared()) == []


# ---------------------------------------------------------------------------- disk operations

def test_replace(rich):
    cmds, after = device_cmds(rich, replace=[{"old": D3, "new": D13}])
    assert cmds == [["zpool", "replace", "htrich", D3, D13]]
    assert D3 not in after and after[D13] == "ONLINE"
    cmds = device_cmds(rich, force=True, replace=[{"old": D3, "new": D13}])[0]
    assert cmds == [["zpool", "replace", "-f", "htrich", D3, D13]]


def test_replace_is_a_no_op_once_done(rich, pools):
    assert device_cmds(rich, replace=[{"old": D13, "new": D3}])[0] == []  # replaced
    assert device_cmds(pools("resilvering")["htrich"], replace=[{"old": D3, "new": D12}])[0] == []  # resilvering
    with pytest.raises(PlanError, match="cannot replace .*d13 with .*d14: neither is in pool htrich"):
        device_cmds(rich, replace=[{"old": D13, "new": D14}])


def test_replace_with_available_hot_spare(rich):
    assert device_cmds(rich, replace=[{"old": D3, "new": D12}])[0] == [["zpool", "replace", "htrich", D3, D12]]


def test_attach(rich):
    cmds, after = device_cmds(rich, attach=[{"device": D1, "new": D13}])
    assert cmds == [["zpool", "attach", "htrich", D1, D13]] and after[D13] == "ONLINE"
    assert device_cmds(rich, force=True, attach=[{"device": D8, "new": D13}])[0] == [
        ["zpool", "attach", "-f", "htrich", D8, D13]]
    assert device_cmds(rich, attach=[{"device": D1, "new": D2}])[0] == []  # already beside it
    with pytest.raises(PlanError, match="d3 is already in pool htrich, in vdev raidz1-1, not beside .*d1$"):
        device_cmds(rich, attach=[{"device": D1, "new": D3}])
    with pytest.raises(PlanError, match="cannot attach to .*d13: it is not in pool htrich"):
        device_cmds(rich, attach=[{"device": D13, "new": D14}])


def test_detach(rich):
    cmds, after = device_cmds(rich, detach=[D2, D13])  # d13 is not in the pool: nothing to do
    assert cmds == [["zpool", "detach", "htrich", D2]]
    assert D2 not in after and D13 not in after and after[D1] == "ONLINE"


def test_offline_and_online(rich, pools):
    degraded = pools("degraded")["htrich"]
    cmds, after = device_cmds(rich, offline=[D2])
    assert cmds == [["zpool", "offline", "htrich", D2]]
    assert after[D2] == "OFFLINE" and after[D1] == "ONLINE" and after[D12] == "AVAIL"
    assert device_cmds(degraded, offline=[D2])[0] == []
    cmds, after = device_cmds(degraded, online=[D2])
    assert cmds == [["zpool", "online", "htrich", D2]] and after[D2] == "ONLINE"
    assert device_cmds(rich, online=[D2])[0] == []
    for op in ("offline", "online"):
        with pytest.raises(PlanError, match="cannot %s .*d13: it is not in pool htrich" % op):
            device_cmds(rich, **{op: [D13]})


def test_no_device_operations(rich):
    cmds, after = device_cmds(rich, replace=None, attach=None, detach=None, offline=None, online=None)
    assert cmds == [] and after == {k: "AVAIL" if k == D12 else "ONLINE" for k in d(*range(1, 13))}


# ---------------------------------------------------------------------------- properties and scans

def test_property_commands(fixture_text):
    rows = [line.split("\t") for line in fixture_text("zpool", "get-rich.tsv").splitlines()]
    have = parse_pool_properties(rows)["htrich"]
    assert (have["autoexpand"], have["delegation"], have["ashift"]) == ("off", "on", 0)
    active = next(p for p, v in have.items() if p.startswith("feature@") and v == "active")
    same = {"delegation": "on", "autoexpand": "off", active: "enabled",
            "altroot": "/mnt", "readonly": "on", "ashift": "0"}
    assert plan.property_commands("htrich", have, same) == []
    assert plan.property_commands("htrich", have, dict(same, autoexpand="on", ashift="12", comment="x")) == [
        ["zpool", "set", "ashift=12", "htrich"],
        ["zpool", "set", "autoexpand=on", "htrich"],
        ["zpool", "set", "comment=x", "htrich"],
    ]
    assert plan.property_commands("htrich", {"feature@x": "disabled"}, {"feature@x": "enabled"}) == [
        ["zpool", "set", "feature@x=enabled", "htrich"]]
    assert plan.property_commands("htrich", {"autotrim": True}, {"autotrim": "on"}) == []


@pytest.mark.parametrize("scan, scrub, trim, cmds", [
    (None, "start", None, [["zpool", "scrub", "p"]]),
    ({"function": "scrub", "state": "finished"}, "start", None, [["zpool", "scrub", "p"]]),
    ({"function": "scrub", "state": "scanning"}, "start", None, []),
    ({"function": "scrub", "state": "scanning"}, "stop", None, [["zpool", "scrub", "-s", "p"]]),
    ({"function": "scrub", "state": "scanning"}, "pause", None, [["zpool", "scrub", "-p", "p"]]),
    ({"function": "resilver", "state": "scanning"}, "stop", None, []),
    (None, "stop", None, []),
    (None, "pause", "start", [["zpool", "trim", "p"]]),
    (None, None, None, []),
])
def test_scan_commands(scan, scrub, trim, cmds):
    assert plan.scan_commands("p", {"scan": scan}, scrub, trim) == cmds


def test_scan_commands_on_recorded_pools(pools):
    assert plan.scan_commands("htrich", pools("degraded")["htrich"], "start", None) == [["zpool", "scrub", "htrich"]]
    assert plan.scan_commands("htrich", pools("resilvering")["htrich"], "stop", None) == []


def test_summarize(rich):
    assert plan.summarize(plan.current_layout(rich, key)) == plan.summarize(declared(), key) == {
        "data": ["mirror(%s, %s)" % (D1, D2), "raidz1(%s, %s, %s)" % (D3, D4, D5)],
        "special": ["mirror(%s, %s)" % (D6, D7)], "dedup": ["disk(%s)" % D8],
        "log": ["mirror(%s, %s)" % (D9, D10)], "cache": [D11], "spare": [D12],
    }


# ---------------------------------------------------------------------------- over an exported pool

SCAN = [{"name": "htz", "id": "81", "state": "ONLINE", "names": ["htz", "mirror-0", "vdb1", "vdc1"]}]


def _resolve(word):
    return {"vdb1": "/dev/vdb", "vdc1": "/dev/vdc"}.get(word)


def _mirror(*disks):
    return {"data": [{"type": "mirror", "disks": list(disks)}], "log": None, "special": None, "dedup": None,
            "cache": None, "spare": None}


@pytest.mark.parametrize("name, disks", [("htz", ["/dev/vdx"]), ("other", ["/dev/vdc", "/dev/vdd"])])
def test_create_over_an_exported_pool_is_refused(name, disks):
    with pytest.raises(plan.PlanError, match=r"exported pool htz \(id 81, ONLINE\).*state: imported"):
        plan.refuse_create_over_exported(name, SCAN, _mirror(*disks), lambda d: d, _resolve)


def test_create_on_other_disks_goes_ahead():
    assert plan.refuse_create_over_exported("new", SCAN, _mirror("/dev/vdd", "/dev/vde"), lambda d: d, _resolve) is None


def test_properties_after_keep_the_current_form_of_equal_values():
    # --diff once showed ashift: 12 -> '12'.
    assert plan.properties_after({"ashift": 12, "autotrim": "off"}, {"ashift": "12", "autotrim": "on"}) == {
        "ashift": 12, "autotrim": "on"}


def test_pool_property_values_are_checked_before_planning():
    # Check mode once planned zpool set autotrim=maybe, which only the apply refused.
    plan.check_properties({"ashift": 12, "autotrim": True, "failmode": "wait", "comment": "x"})
    for bad, words in (({"autotrim": "maybe"}, "autotrim=maybe is not one of on, off"),
                       ({"ashift": "13.5"}, "ashift=13.5 is not 0 or 9 to 16"),
                       ({"failmode": "retry"}, "failmode=retry")):
        with pytest.raises(plan.PlanError, match=words):
            plan.check_properties(bad)


@pytest.mark.parametrize("name, ok", [("tank", True), ("tank 2", True), ("t.a_b:c-d", True), ("bad name!", False),
                                      ("mirror", False), ("mirror2", False), ("c0t0", False), ("a/b", False),
                                      ("1tank", False), ("", False), ("t" * 256, False)])
def test_pool_names(name, ok):
    from ansible_collections.helix.zfs.plugins.module_utils._zfs_get import pool_name_ok
    assert pool_name_ok(name) is ok


def test_messages_and_diffs_name_devices_as_declared_else_as_the_pool_lists_them():
    keys = {"/dev/disk/by-id/a": "/dev/vdb", "/dev/disk/by-id/b": "/dev/vdc"}
    names = plan.display_names(keys.get, {"/dev/vdb": "/dev/disk/by-id/a-part1", "/dev/vdd": "/dev/disk/by-id/d-part1"},
                               ["/dev/disk/by-id/a"])
    assert plan.relabel("mirror of /dev/vdb, /dev/vdd and /dev/vde", names) == (
        "mirror of /dev/disk/by-id/a, /dev/disk/by-id/d-part1 and /dev/vde")
    assert plan.relabel({"devices": {"/dev/vdb": "ONLINE"}, "layout": ["mirror(/dev/vdb, /dev/vdd)"]}, names) == {
        "devices": {"/dev/disk/by-id/a": "ONLINE"}, "layout": ["mirror(/dev/disk/by-id/a, /dev/disk/by-id/d-part1)"]}


def test_a_declared_disk_missing_on_the_host_is_named_with_its_state(rich):
    # Issue 19: an unplugged disk (QEMU device_del in the lab) used to fail the layout compare
    # with "mirror-0 ... differs from the declared ...", which says nothing of the missing disk.
    leaf = rich["vdevs"]["data"][0]["children"][1]
    leaf["state"] = "REMOVED"
    want = declared(spare=d(12, 13))
    plan.refuse_missing_devices("htrich", want, rich, lambda p: True)  # all there: no error
    with pytest.raises(PlanError) as e:
        plan.refuse_missing_devices("htrich", want, rich, lambda p: p not in (D2, D13))
    msg = str(e.value)
    assert "declared disks are missing on this host: %s (REMOVED in mirror-0); %s (not in the pool)" % (D2, D13) in msg
    assert "Nothing was changed" in msg and "faulty_disks.yml" in msg
