"""helix.zfs.zpool on real pools: every operation through check / apply / apply again /
check again, with the state read back from the host's own zpool."""
import json
import os

import pytest

from conftest import converge, run_module, sh


def status(pool):
    """The host's view: zpool status -P as text (it differs whenever the layout or a disk
    state changes), or '' when the pool is not imported."""
    return sh("zpool status -P %s 2>/dev/null" % pool, check=False)


def vdev_tree(pool):
    """{class: [(type, [leaf paths])]} straight from zpool status -j on the host."""
    doc = json.loads(sh("zpool status -j -P %s" % pool))["pools"][pool]

    def tops(group):
        out = []
        for v in group.values():
            kids = v.get("vdevs")
            out.append((v.get("vdev_type"), [k.get("path") for k in kids.values()] if kids else [v.get("path")]))
        return out
    root = next(iter(doc["vdevs"].values()))
    return {"data": tops(root.get("vdevs", {})), "log": tops(doc.get("logs", {})),
            "cache": tops(doc.get("l2cache", {})), "spare": tops(doc.get("spares", {})),
            "special": tops(doc.get("special", {})), "dedup": tops(doc.get("dedup", {}))}


def p1(d):
    return d + "-part1"


def real(d):
    return os.path.realpath(d)


def test_create_mirror_with_properties_and_match_any_device_path(disks):
    d = disks
    args = {"name": "htz", "vdevs": [{"type": "mirror", "disks": d[:2]}],
            "properties": {"ashift": 12, "autotrim": True, "comment": "helix"},
            "filesystem_properties": {"compression": "lz4", "atime": "off"}}
    check, applied = converge("zpool", args, lambda: status("htz"))
    assert check["commands"] == [["zpool", "create", "-o", "ashift=12", "-o", "autotrim=on",
                                  "-o", "comment=helix", "-O", "atime=off", "-O", "compression=lz4",
                                  "htz", "mirror"] + d[:2]]
    assert vdev_tree("htz")["data"] == [("mirror", [p1(d[0]), p1(d[1])])]
    props = dict(line.split("\t") for line in sh("zpool get -Hp -o property,value ashift,autotrim,comment htz").splitlines())
    assert props == {"ashift": "12", "autotrim": "on", "comment": "helix"}
    assert sh("zfs get -Hp -o value compression,atime htz").split() == ["lz4", "off"]
    assert applied["pool"]["vdevs"]["data"][0]["type"] == "mirror"
    # The same disks by their kernel names (/dev/vdb...) are the same layout: no change.
    same = dict(args, vdevs=[{"type": "mirror", "disks": [real(x) for x in d[:2]]}])
    for check_mode in (True, False):
        r = run_module("zpool", same, check=check_mode)
        assert (r["changed"], r["commands"]) == (False, []), r


def test_raidz1_of_nine_with_two_cache_and_mirrored_log(disks, tmp_path):
    d = disks
    logs = []
    for i in (1, 2):
        f = "/var/tmp/htz-log%d" % i
        sh("rm -f %s && truncate -s 256M %s" % (f, f))
        logs.append(f)
    args = {"name": "htz", "vdevs": [{"type": "raidz1", "disks": d[:9]}],
            "cache": d[9:11], "log": [{"type": "mirror", "disks": logs}], "spare": [d[11]]}
    converge("zpool", args, lambda: status("htz"))
    t = vdev_tree("htz")
    assert t["data"] == [("raidz", [p1(x) for x in d[:9]])]
    assert t["log"] == [("mirror", logs)]
    assert t["cache"] == [("disk", [p1(d[9])]), ("disk", [p1(d[10])])]
    assert t["spare"] == [("disk", [p1(d[11])])]
    # Dropping a cache device, the spare and the log removes them (never data vdevs).
    smaller = dict(args, cache=d[9:10], spare=[], log=[])
    check, _applied = converge("zpool", smaller, lambda: status("htz"))
    assert sorted(c[3] if len(c) == 4 else c[3:] for c in check["commands"])[0] is not None
    t = vdev_tree("htz")
    assert (t["cache"], t["spare"], t["log"]) == ([("disk", [p1(d[9])])], [], [])
    assert t["data"] == [("raidz", [p1(x) for x in d[:9]])]


def test_draid_special_and_dedup(disks):
    d = disks
    args = {"name": "htz", "vdevs": [{"type": "draid1", "disks": d[:5], "data": 2, "spares": 1}],
            "special": [{"type": "mirror", "disks": d[5:7]}], "dedup": [{"type": "mirror", "disks": d[7:9]}]}
    check, _applied = converge("zpool", args, lambda: status("htz"))
    assert "draid1:2d:5c:1s" in check["commands"][0]
    t = vdev_tree("htz")
    assert [p for _t, p in t["data"]] == [[p1(x) for x in d[:5]]]
    assert t["special"] == [("mirror", [p1(d[5]), p1(d[6])])]
    assert t["dedup"] == [("mirror", [p1(d[7]), p1(d[8])])]


def test_add_a_vdev_and_refuse_to_drop_one(disks):
    d = disks
    base = {"name": "htz", "vdevs": [{"type": "mirror", "disks": d[:2]}]}
    assert run_module("zpool", base)["changed"]
    grown = {"name": "htz", "vdevs": [{"type": "mirror", "disks": d[:2]}, {"type": "mirror", "disks": d[2:4]}]}
    check, _applied = converge("zpool", grown, lambda: status("htz"))
    assert check["commands"] == [["zpool", "add", "htz", "mirror", d[2], d[3]]]
    # The diff names the disks as declared, not by kernel names (/dev/vdX), which change.
    assert check["diff"]["after"]["layout"]["data"] == ["mirror(%s, %s)" % tuple(d[:2]), "mirror(%s, %s)" % tuple(d[2:4])]
    assert "/dev/vd" not in json.dumps(check["diff"])
    assert vdev_tree("htz")["data"] == [("mirror", [p1(d[0]), p1(d[1])]), ("mirror", [p1(d[2]), p1(d[3])])]
    before = status("htz")
    r = run_module("zpool", base)
    assert r["failed"] and "allow_vdev_removal" in r["msg"] and "mirror-1" in r["msg"]
    assert p1(d[2]) in r["msg"] and "/dev/vd" not in r["msg"], r["msg"]
    assert status("htz") == before
    # With the option, the vdev's data is evacuated and it goes.
    check, _applied = converge("zpool", dict(base, allow_vdev_removal=True, wait=True), lambda: status("htz"))
    assert check["commands"] == [["zpool", "remove", "htz", "mirror-1"]]
    assert vdev_tree("htz")["data"][0] == ("mirror", [p1(d[0]), p1(d[1])])
    assert [t for t, _p in vdev_tree("htz")["data"]] in (["mirror"], ["mirror", None], ["mirror", "indirect"])


def test_replace_a_disk(disks):
    d = disks
    run_module("zpool", {"name": "htz", "vdevs": [{"type": "mirror", "disks": d[:2]}]})
    args = {"name": "htz", "replace": [{"old": d[1], "new": d[2]}], "wait": True}
    check, _applied = converge("zpool", args, lambda: status("htz"))
    assert check["commands"] == [["zpool", "replace", "htz", d[1], d[2]]]
    assert vdev_tree("htz")["data"] == [("mirror", [p1(d[0]), p1(d[2])])]


def test_replace_with_a_hot_spare_keeps_the_declared_layout_unchanged(disks):
    d = disks
    layout = {"name": "htz", "vdevs": [{"type": "mirror", "disks": d[:2]}], "spare": [d[2]]}
    run_module("zpool", layout)
    args = {"name": "htz", "replace": [{"old": d[1], "new": d[2]}], "wait": True}
    check, _applied = converge("zpool", args, lambda: status("htz"))
    assert check["commands"] == [["zpool", "replace", "htz", d[1], d[2]]]
    doc = json.loads(sh("zpool status -j -P htz"))["pools"]["htz"]
    assert next(iter(doc["spares"].values()))["state"] == "INUSE"
    # While the spare stands in for d2, the declaration (and it plus the replace) is unchanged.
    for a in (layout, dict(layout, **args)):
        r = run_module("zpool", a)
        assert (r.get("failed"), r["changed"], r["commands"]) == (None, False, []), r
    # Detaching the old disk makes the spare a member: the pool is healthy, and the new layout
    # (the spare in the mirror, no spares left) is what is declared from then on.
    check, _applied = converge("zpool", {"name": "htz", "detach": [d[1]]}, lambda: status("htz"))
    assert check["commands"] == [["zpool", "detach", "htz", d[1]]]
    assert sh("zpool list -H -o health htz").strip() == "ONLINE"
    r = run_module("zpool", {"name": "htz", "vdevs": [{"type": "mirror", "disks": [d[0], d[2]]}], "spare": []})
    assert (r.get("failed"), r["changed"]) == (None, False), r


def test_attach_then_detach(disks):
    d = disks
    run_module("zpool", {"name": "htz", "vdevs": [{"disks": [d[0]]}]})
    converge("zpool", {"name": "htz", "attach": [{"device": d[0], "new": d[1]}], "wait": True},
             lambda: status("htz"))
    assert vdev_tree("htz")["data"] == [("mirror", [p1(d[0]), p1(d[1])])]
    converge("zpool", {"name": "htz", "detach": [d[1]]}, lambda: status("htz"))
    assert vdev_tree("htz")["data"] == [("disk", [p1(d[0])])]


def test_offline_then_online(disks):
    d = disks
    run_module("zpool", {"name": "htz", "vdevs": [{"type": "mirror", "disks": d[:2]}]})
    converge("zpool", {"name": "htz", "offline": [d[1]]}, lambda: status("htz"))
    assert "OFFLINE" in sh("zpool status -P htz | grep %s" % p1(d[1]))
    converge("zpool", {"name": "htz", "online": [d[1]], "wait": True}, lambda: status("htz"))
    assert "ONLINE" in sh("zpool status -P htz | grep %s" % p1(d[1]))


def test_pool_properties_change_and_normalize(disks):
    run_module("zpool", {"name": "htz", "vdevs": [{"disks": [disks[0]]}]})
    args = {"name": "htz", "properties": {"autoexpand": True, "comment": "rack 4"}}
    check, _applied = converge("zpool", args, lambda: sh("zpool get -Hp -o value autoexpand,comment htz"))
    assert check["commands"] == [["zpool", "set", "autoexpand=on", "htz"], ["zpool", "set", "comment=rack 4", "htz"]]
    assert sh("zpool get -Hp -o value autoexpand,comment htz").splitlines() == ["on", "rack 4"]
    # "on" and true are the same value; an active feature is enabled.
    r = run_module("zpool", {"name": "htz", "properties": {"autoexpand": "on", "feature@async_destroy": "enabled"}})
    assert (r["changed"], r["commands"]) == (False, [])
    # The diff shows only what changes (it once showed ashift: 12 -> '12', for a pool made with
    # ashift 12: the pool property is 0 when none was given).
    run_module("zpool", {"name": "htdiff", "vdevs": [{"disks": [disks[1]]}], "properties": {"ashift": 12}})
    r = run_module("zpool", {"name": "htdiff", "properties": {"ashift": "12", "comment": "rack 5"}}, check=True, diff=True)
    assert r["commands"] == [["zpool", "set", "comment=rack 5", "htdiff"]], r
    before, after = r["diff"]["before"]["properties"], r["diff"]["after"]["properties"]
    assert before["ashift"] == after["ashift"] == 12 and after["comment"] == "rack 5", r["diff"]


def test_ashift_of_existing_vdevs_is_a_clear_error(disks):
    run_module("zpool", {"name": "htz", "vdevs": [{"disks": [disks[0]]}], "properties": {"ashift": 9}})
    r = run_module("zpool", {"name": "htz", "properties": {"ashift": 12}})
    assert r["failed"] and "ashift is fixed" in r["msg"] and "ashift 9" in r["msg"]


def test_export_then_import(disks):
    run_module("zpool", {"name": "htz", "vdevs": [{"type": "mirror", "disks": disks[:2]}]})
    converge("zpool", {"name": "htz", "state": "exported"}, lambda: status("htz"))
    assert status("htz") == ""
    _check, applied = converge("zpool", {"name": "htz", "state": "imported", "import_dirs": ["/dev/disk/by-id"]},
                               lambda: status("htz"))
    assert applied["pool"]["state"] == "ONLINE"
    assert vdev_tree("htz")["data"] == [("mirror", [p1(disks[0]), p1(disks[1])])]
    # By GUID (for two exported pools of one name), under an alternate root.
    guid = applied["pool"]["guid"]
    run_module("zpool", {"name": "htz", "state": "exported"})
    args = {"name": "htz", "state": "imported", "import_guid": guid, "altroot": "/mnt/htalt",
            "import_dirs": ["/dev/disk/by-id"]}
    check, _applied = converge("zpool", args, lambda: status("htz"))
    assert check["commands"] == [["zpool", "import", "-d", "/dev/disk/by-id", "-R", "/mnt/htalt", guid, "htz"]]
    assert sh("zpool get -Hp -o value guid,altroot htz").split() == [guid, "/mnt/htalt"]
    assert sh("zfs get -Hp -o value mountpoint htz").strip() == "/mnt/htalt/htz"


def test_present_over_an_exported_pool_is_refused_and_imported_converges_the_rest(disks):
    # Seen after a reboot: state present over an exported pool's disks planned zpool create,
    # and force_devices would have made it over the data. imported then skipped scrub and wait.
    run_module("zpool", {"name": "htz", "vdevs": [{"type": "mirror", "disks": disks[:2]}]})
    sh("echo data > /htz/note && zpool export htz")
    for name, force in (("htz", False), ("htz", True), ("htnew", True)):  # same name, or only its disks
        for check_mode in (True, False):
            r = run_module("zpool", {"name": name, "force_devices": force,
                                     "vdevs": [{"type": "mirror", "disks": disks[:2]}]}, check=check_mode)
            assert r.get("failed") and "exported pool htz" in r["msg"] and "state: imported" in r["msg"], r
    assert status("htz") == "" and "pool: htz" in sh("zpool import -d /dev/disk/by-id")
    r = run_module("zpool", {"name": "htz", "state": "imported", "import_dirs": ["/dev/disk/by-id"],
                             "scrub": "start", "wait": True})
    assert r["commands"] == [["zpool", "import", "-d", "/dev/disk/by-id", "htz"], ["zpool", "scrub", "htz"]], r
    assert (r["pool"]["scan"]["function"], r["pool"]["scan"]["state"]) == ("scrub", "finished")
    assert sh("cat /htz/note") == "data\n"


def test_destroy_needs_force(disks):
    run_module("zpool", {"name": "htz", "vdevs": [{"disks": [disks[0]]}]})
    sh("zfs create htz/keep")
    before = status("htz")
    for check_mode in (True, False):
        r = run_module("zpool", {"name": "htz", "state": "absent"}, check=check_mode)
        assert r["failed"] and "force=true" in r["msg"] and "htz/keep" in r["msg"], r
    assert status("htz") == before
    converge("zpool", {"name": "htz", "state": "absent", "force": True}, lambda: status("htz"))
    assert status("htz") == ""


def test_scrub_and_trim_and_wait(disks):
    run_module("zpool", {"name": "htz", "vdevs": [{"disks": [disks[0]]}]})
    r = run_module("zpool", {"name": "htz", "scrub": "start", "wait": True})
    assert r["changed"] and r["commands"] == [["zpool", "scrub", "htz"]]
    assert (r["pool"]["scan"]["function"], r["pool"]["scan"]["state"]) == ("scrub", "finished")
    r = run_module("zpool", {"name": "htz", "trim": "start", "wait": True})
    assert r["changed"] and r["commands"] == [["zpool", "trim", "htz"]]
    trim = json.loads(sh("zpool status -j -t htz"))["pools"]["htz"]
    leaf = next(iter(next(iter(trim["vdevs"].values()))["vdevs"].values()))
    assert leaf.get("trim_state", "").upper() in ("COMPLETE", "FINISHED"), leaf


@pytest.mark.parametrize("args,words", [
    ({"vdevs": [{"type": "raidz9", "disks": ["/dev/null"]}]}, ["type", "raidz9"]),
    ({"vdevs": [{"type": "raidz2", "disks": "D0,D1"}]}, ["raidz2 needs at least 3 disks"]),
    ({"vdevs": [{"type": "mirror", "disks": ["/dev/disk/by-id/virtio-helix-nosuch", "D0"]}]}, ["nosuch"]),
    ({"vdevs": [{"type": "mirror", "disks": "D0,D1"}]}, ["D1 is in pool htother"]),
], ids=["unknown-type", "raidz-too-few", "missing-device", "disk-in-another-pool"])
def test_bad_input_is_a_clear_error_and_changes_nothing(disks, args, words):
    sh("zpool create -f htother %s" % disks[1])
    spec = json.loads(json.dumps(args).replace("D0", disks[0]).replace("D1", disks[1]).replace("D2", disks[2]))
    for v in spec.get("vdevs", []):
        if isinstance(v["disks"], str):
            v["disks"] = v["disks"].split(",")
    words = [w.replace("D0", disks[0]).replace("D1", disks[1]) for w in words]
    before = sh("zpool status -P")
    for check_mode in (True, False):
        r = run_module("zpool", dict(spec, name="htz"), check=check_mode)
        assert r.get("failed"), r
        text = r["msg"] + r.get("stderr", "")
        assert all(w in text for w in words), text
    assert sh("zpool status -P") == before
