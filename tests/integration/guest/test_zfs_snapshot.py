"""helix.zfs.zfs_snapshot on real datasets: check / apply / apply again / check again, with the
state read back from the host's own zfs."""
import calendar
import json
import subprocess
import time

import pytest

from conftest import converge, run_module, sh

T0 = calendar.timegm((2026, 11, 21, 0, 0, 0))  # the simulated day starts here, UTC


@pytest.fixture
def pool(forced_disks):
    sh("zpool create -f -O mountpoint=/hts hts %s" % forced_disks[0])
    sh("zfs create hts/app && zfs create hts/app/db && zfs create hts/app/files && zfs create hts/other")
    return "hts"


def snaps(root="hts"):
    """name, createtxg and tags of every snapshot under root, from the host."""
    return lambda: sh("zfs list -Hp -t snapshot -o name,createtxg,helix:git_sha,helix:owner -s createtxg -r %s"
                      % root, check=False)


def names(root="hts"):
    return sorted(line.split("\t")[0] for line in snaps(root)().splitlines())


def stamp(t):
    return time.strftime("%Y%m%dT%H%M%SZ", time.gmtime(t))


def test_atomic_tagged_snapshot_of_many_datasets(pool, zfs_calls):
    args = {"datasets": ["hts/app/db", "hts/app/files", "hts/other"], "name": "deploy-1",
            "properties": {"helix:git_sha": "4f2a9c1", "helix:helm_revision": 42}}
    check, applied = converge("zfs_snapshot", args, snaps())
    assert applied["commands"] == [["zfs", "snapshot", "-o", "helix:git_sha=4f2a9c1", "-o", "helix:helm_revision=42",
                                    "hts/app/db@deploy-1", "hts/app/files@deploy-1", "hts/other@deploy-1"]]
    assert check["created"] == applied["created"] == sorted(applied["snapshots"])
    rows = [line.split("\t") for line in snaps()().splitlines()]
    assert [r[0] for r in rows] == ["hts/app/db@deploy-1", "hts/app/files@deploy-1", "hts/other@deploy-1"]
    assert len({r[1] for r in rows}) == 1, "not one transaction: %s" % rows  # the same createtxg
    assert {r[2] for r in rows} == {"4f2a9c1"}
    assert sh("zfs get -Hp -o value helix:helm_revision hts/other@deploy-1").strip() == "42"
    # Every run reads with one zfs list; the apply ran one zfs snapshot for all three.
    assert zfs_calls.count(["zfs", "snapshot"]) == 1
    assert zfs_calls.count(["zfs", "list"]) == 4


def test_recursive_is_one_zfs_snapshot_r_and_covers_new_children(pool):
    _check, applied = converge("zfs_snapshot", {"datasets": ["hts/app"], "recursive": True, "name": "pre"}, snaps())
    assert applied["commands"] == [["zfs", "snapshot", "-r", "hts/app@pre"]]
    assert names() == ["hts/app/db@pre", "hts/app/files@pre", "hts/app@pre"]
    # A child made later gets the missing snapshot alone.
    sh("zfs create hts/app/new")
    _check, applied = converge("zfs_snapshot", {"datasets": ["hts/app"], "recursive": True, "name": "pre"}, snaps())
    assert applied["commands"] == [["zfs", "snapshot", "hts/app/new@pre"]]


def test_tags_on_an_existing_snapshot_are_converged(pool):
    sh("zfs snapshot -o helix:git_sha=old hts/app/db@rel hts/other@rel")
    args = {"snapshots": ["hts/app/db@rel", "hts/other@rel"], "properties": {"helix:git_sha": "new"}}
    _check, applied = converge("zfs_snapshot", args, snaps())
    assert applied["commands"] == [["zfs", "set", "helix:git_sha=new", "hts/app/db@rel", "hts/other@rel"]]
    assert applied["created"] == []


def holds():
    return lambda: sh("zfs holds -H -r hts/app@h | cut -f1,2 | sort", check=False)


def test_hold_and_release(pool):
    sh("zfs snapshot -r hts/app@h")
    targets = ["hts/app@h", "hts/app/db@h"]
    _check, applied = converge("zfs_snapshot", {"snapshots": targets, "hold": ["migration", "keep"]}, holds())
    assert applied["commands"] == [["zfs", "hold", "migration"] + targets, ["zfs", "hold", "keep"] + targets]
    assert holds()().split("\n").count("hts/app@h\tkeep") == 1
    assert applied["diff"]["after"]["hts/app@h"] == {"holds": ["keep", "migration"]}
    _check, applied = converge("zfs_snapshot", {"snapshots": targets, "release": ["migration"]}, holds())
    assert applied["commands"] == [["zfs", "release", "migration"] + targets]
    assert holds()().split() == ["hts/app/db@h", "keep", "hts/app@h", "keep"]
    # Held snapshots are not destroyed: a clear error, nothing changed.
    r = run_module("zfs_snapshot", {"snapshots": targets, "state": "absent"})
    assert r["failed"] and "is held" in r["msg"] and "Nothing was changed" in r["msg"]
    assert "hts/app@h" in names()


def test_rollback(pool):
    # atime off: host_state's ls would otherwise write an atime update, which ZFS counts in
    # "written", so the run after the rollback could see a write since @good (seen in CI).
    sh("zfs set atime=off hts/app/files")
    sh("zfs snapshot hts/app/files@good && echo bad > /hts/app/files/x && zpool sync hts")  # written > 0
    args = {"datasets": ["hts/app/files"], "name": "good", "state": "rolled_back"}
    _check, applied = converge("zfs_snapshot", args, lambda: sh("ls /hts/app/files"))
    assert applied["commands"] == [["zfs", "rollback", "hts/app/files@good"]]
    assert sh("ls /hts/app/files") == ""
    # Newer snapshots: refused unless destroy_newer; check mode lists what would go.
    sh("echo bad > /hts/app/files/y && zfs snapshot hts/app/files@later && zfs bookmark hts/app/files@later "
       "hts/app/files#cursor && zfs snapshot hts/app/files@latest")
    r = run_module("zfs_snapshot", args)
    assert r["failed"] and "newer snapshots or bookmarks exist (later, latest, cursor)" in r["msg"] and "destroy_newer" in r["msg"]
    assert names("hts/app/files") == ["hts/app/files@good", "hts/app/files@later", "hts/app/files@latest"]
    args["destroy_newer"] = True
    check, applied = converge("zfs_snapshot", args, snaps("hts/app/files"))
    assert check["destroyed"] == applied["destroyed"] == [
        "hts/app/files@later", "hts/app/files@latest", "hts/app/files#cursor"]
    assert applied["commands"] == [["zfs", "rollback", "-r", "hts/app/files@good"]]
    assert names("hts/app/files") == ["hts/app/files@good"]
    assert sh("zfs list -H -t bookmark -o name -r hts", check=False) == ""


def test_rollback_by_tag(pool):
    # Issue 16 (C23): seed 000 tags snapshots with the git SHA "enabling point-in-time rollbacks";
    # a rollback named the snapshot only.
    sh("zfs set atime=off hts/app/db && zfs snapshot -o helix:git_sha=aaa hts/app/db@d1 && echo x > /hts/app/db/x "
       "&& zfs snapshot -o helix:git_sha=bbb hts/app/db@d2 && echo y > /hts/app/db/y && zpool sync hts")
    args = {"datasets": ["hts/app/db"], "properties": {"helix:git_sha": "aaa"}, "state": "rolled_back",
            "destroy_newer": True}
    _check, applied = converge("zfs_snapshot", args, snaps("hts/app/db"))
    assert applied["commands"] == [["zfs", "rollback", "-r", "hts/app/db@d1"]] and applied["snapshots"] == ["hts/app/db@d1"]
    assert names("hts/app/db") == ["hts/app/db@d1"] and sh("ls /hts/app/db") == ""
    r = run_module("zfs_snapshot", dict(args, properties={"helix:git_sha": "ccc"}))
    assert r["failed"] and "none of its snapshots has helix:git_sha=ccc" in r["msg"]


def test_destroy_named_and_ranges_batched(pool):
    for i in range(8):
        sh("zfs snapshot hts/app/db@s%d" % i)
    sh("zfs snapshot hts/other@s0")
    args = {"snapshots": ["hts/app/db@s1", "hts/app/db@s3%s5", "hts/other@s0", "hts/other@never"], "state": "absent",
            "destroy_with": "destroy"}
    check, applied = converge("zfs_snapshot", args, snaps())
    assert applied["commands"] == [["zfs", "destroy", "hts/app/db@s1,s3,s4,s5"], ["zfs", "destroy", "hts/other@s0"]]
    assert check["destroyed"] == applied["destroyed"] == [
        "hts/app/db@s1", "hts/app/db@s3", "hts/app/db@s4", "hts/app/db@s5", "hts/other@s0"]
    assert names() == ["hts/app/db@s0", "hts/app/db@s2", "hts/app/db@s6", "hts/app/db@s7"]
    # An open range from s6 on, and the same snapshot name across a tree.
    sh("zfs snapshot -r hts/app@gone")
    args = {"snapshots": ["hts/app/db@s6%"], "state": "absent", "destroy_with": "destroy"}
    _check, applied = converge("zfs_snapshot", args, snaps())
    assert applied["destroyed"] == ["hts/app/db@s6", "hts/app/db@s7", "hts/app/db@gone"]
    _check, applied = converge("zfs_snapshot", {"datasets": ["hts/app"], "recursive": True, "name": "gone",
                                                "state": "absent", "destroy_with": "destroy"}, snaps())
    assert applied["commands"] == [["zfs", "destroy", "hts/app@gone"], ["zfs", "destroy", "hts/app/files@gone"]]
    assert names() == ["hts/app/db@s0", "hts/app/db@s2"]


def _simulate_day(ds):
    """96 owned snapshots 15 minutes apart (controlled names), two held, one foreign-owned,
    one of another prefix, and a bookmark on the newest-but-three (a replication cursor)."""
    script = ["zfs snapshot -o helix:owner=helix.zfs %s@helix_%s_frequent" % (ds, stamp(T0 + i * 900))
              for i in range(96)]
    script += ["zfs snapshot -o helix:owner=someone-else %s@helix_%s_frequent" % (ds, stamp(T0 + 5)),
               "zfs snapshot %s@autosnap_2026-11-21_00:00:00_frequently" % ds,
               "zfs hold keep %s@helix_%s_frequent" % (ds, stamp(T0 + 10 * 900)),
               "zfs hold keep %s@helix_%s_frequent" % (ds, stamp(T0 + 50 * 900)),
               "zfs bookmark %s@helix_%s_frequent %s#cursor" % (ds, stamp(T0 + 92 * 900), ds)]
    sh(" && ".join(script))


def test_retention_a_day_of_15_minute_snapshots(pool):
    _simulate_day("hts/app/db")
    now = T0 + 96 * 900  # the next day, 00:00 UTC
    args = {"datasets": ["hts/app/db"], "policy": {"frequent": {"every": "15m", "keep": 24}},
            "now": str(now), "create": False}
    check, applied = converge("zfs_snapshot", args, lambda: "\n".join(names()))
    kept_owned = ["hts/app/db@helix_%s_frequent" % stamp(T0 + i * 900) for i in [10, 50] + list(range(71, 96))]
    # 24 kept by count (72-95), plus the held 10 and 50 and the bookmark cursor 92 (in the 24
    # anyway), plus 71: the cursor takes no place in the count, so one more stays.
    expected = sorted(kept_owned + ["hts/app/db@helix_%s_frequent" % stamp(T0 + 5),
                                    "hts/app/db@autosnap_2026-11-21_00:00:00_frequently"])
    assert names("hts/app/db") == expected
    assert len(check["destroyed"]) == 96 + 2 - len(expected)
    assert applied["commands"][0][:2] == ["zfs", "program"] and len(applied["commands"]) == 1  # one batch
    assert applied["created"] == []


def test_retention_keep_grid(pool):
    _simulate_day("hts/app/files")
    now = T0 + 96 * 900
    args = {"datasets": ["hts/app/files"], "policy": "6h:1h, 1d:6h", "now": str(now), "create": False}
    # Grid snapshots are class "grid": the simulated day's "frequent" ones are out of its scope.
    r = run_module("zfs_snapshot", args, check=True)
    assert (r["changed"], r["destroyed"]) == (False, [])
    sh("zfs list -H -t snapshot -o name -r hts/app/files | xargs -n1 zfs release keep 2>/dev/null; "
       "zfs destroy -r hts/app/files@%; zfs destroy hts/app/files#cursor", check=False)
    sh(" && ".join("zfs snapshot -o helix:owner=helix.zfs hts/app/files@helix_%s_grid" % stamp(T0 + i * 900)
                   for i in range(96)))
    check, applied = converge("zfs_snapshot", args, lambda: "\n".join(names()))
    # Younger than 6 h (after 18:00): the oldest of each hour, so 18:15 (18:00 is exactly 6 h
    # old, in the next span), 19:00 ... 23:00. Younger than 1 day: the oldest of each epoch-aligned
    # 6 hours, 00:15 (00:00 is exactly 1 day old: gone), 06:00, 12:00, 18:00. The newest, 23:45, stays.
    keep = [T0 + m * 60 for m in (15, 360, 720, 1080, 1095, 1140, 1200, 1260, 1320, 1380, 1425)]
    assert names("hts/app/files") == sorted("hts/app/files@helix_%s_grid" % stamp(t) for t in keep)


def test_a_snapshot_named_after_the_clock_does_not_stop_the_schedule(pool):
    # One helix_<future>_frequent snapshot once meant the class was never due again, silently.
    future = "hts/other@helix_20990101T000000Z_frequent"
    sh("zfs snapshot -o helix:owner=helix.zfs %s" % future)
    args = {"datasets": ["hts/other"], "policy": {"frequent": {"every": "15m", "keep": 4}}, "prune": False,
            "now": str(int(time.time()))}  # fixed, so a slot boundary can't pass between the runs
    check = run_module("zfs_snapshot", args, check=True)
    assert len(check["created"]) == 1 and check["future"] == [future], check
    applied = run_module("zfs_snapshot", args)
    assert applied["created"] == check["created"] and applied["future"] == [future]
    assert applied["created"][0] in names() and future in names()
    assert run_module("zfs_snapshot", args)["created"] == []


def test_schedule_leaves_replicas_alone(pool):
    # A recursive schedule over a migration target once snapshotted its replicas: the next
    # incremental failed as diverged, and the snapshots hid the replication lag.
    sh("zfs set helix:role=replica hts/app/db && zfs set readonly=on hts/other")
    # And a dataset mid-receive (a broken-off resumable full receive): "dataset is busy" made the
    # one atomic zfs snapshot fail for every dataset.
    sh("head -c 4M /dev/urandom > /hts/app/files/blob && zfs snapshot hts/app/files@x && "
       "(zfs send hts/app/files@x | head -c 2000000 | zfs receive -s -u hts/incoming; true) && "
       "zfs destroy hts/app/files@x")
    assert sh("zfs get -H -o value receive_resume_token hts/incoming").strip() != "-"
    args = {"datasets": ["hts"], "recursive": True, "policy": {"hourly": {"keep": 2}}, "now": str(T0)}
    _check, applied = converge("zfs_snapshot", args, snaps())
    assert sorted(n.split("@")[0] for n in applied["created"]) == ["hts", "hts/app", "hts/app/files"]
    assert [n for n in names() if n.startswith(("hts/app/db@", "hts/other@", "hts/incoming@"))] == []


def test_nested_schedules_prune_only_their_own(pool):
    # Issue 16 (A6): a schedule over hts/app/db with keep 3 pruned the dailies a recursive
    # schedule over hts/app keeps 10 of. Labelled by schedule, each prunes only its own.
    sh(" && ".join("zfs snapshot -r -o helix:owner=helix.zfs -o helix:schedule=parent hts/app@helix_%s_daily"
                   % stamp(T0 + d * 86400) for d in range(10)))
    child = {"datasets": ["hts/app/db"], "policy": {"daily": {"keep": 3}}, "now": str(T0 + 10 * 86400 + 60)}
    # What happened before: unlabelled, the child's policy takes the parent's dailies as its own.
    assert len(run_module("zfs_snapshot", child, check=True)["destroyed"]) == 8
    parents = names("hts/app/db")
    _check, applied = converge("zfs_snapshot", dict(child, schedule="child"), snaps())
    assert applied["destroyed"] == [] and applied["created"] == ["hts/app/db@helix_%s_daily" % stamp(T0 + 10 * 86400 + 60)]
    assert names("hts/app/db") == sorted(parents + applied["created"]) and len(parents) == 10


def test_a_schedule_run_waits_for_its_pool_lock(pool):
    # Issue 16 (A6): two runs at once planned from the same listing. The lock is per pool and
    # held from the read to the last command; a holder's own snapshot lands first.
    sh("setsid flock /run/lock/helix-zfs-snapshot-hts.lock sh -c 'sleep 3; zfs snapshot hts/app@holder' "
       ">/dev/null 2>&1 < /dev/null &")
    time.sleep(0.5)
    r = run_module("zfs_snapshot", {"datasets": ["hts/app"], "policy": {"hourly": {"keep": 2}}, "schedule": "s"})
    txg = dict(line.split("\t")[::-1] for line in sh("zfs list -Hp -t snapshot -o createtxg,name hts/app").splitlines())
    assert int(txg["hts/app@holder"]) < int(txg[r["created"][0]]), txg


def test_schedule_creates_only_when_due_with_utc_names(pool, zfs_calls):
    now = T0 + 3600
    args = {"datasets": ["hts/app"], "recursive": True, "now": str(now),
            "policy": {"frequent": {"every": "15m", "keep": 4}, "hourly": {"keep": 2}},
            "properties": {"helix:git_sha": "abc"}}
    _check, applied = converge("zfs_snapshot", args, snaps())
    tree = ["hts/app", "hts/app/db", "hts/app/files"]
    assert applied["commands"] == [
        ["zfs", "snapshot", "-o", "helix:git_sha=abc", "-o", "helix:owner=helix.zfs"]
        + ["%s@helix_20261121T010000Z_frequent" % d for d in tree],
        ["zfs", "snapshot", "-o", "helix:git_sha=abc", "-o", "helix:owner=helix.zfs"]
        + ["%s@helix_20261121T010000Z_hourly" % d for d in tree]]
    for minutes, due in ((10, []), (15, ["frequent"]), (30, ["frequent"]), (45, ["frequent"]),
                         (60, ["frequent", "hourly"]), (75, ["frequent"]), (120, ["frequent", "hourly"])):
        r = run_module("zfs_snapshot", dict(args, now=str(now + minutes * 60)))
        created = sorted({n.rsplit("_", 1)[1] for n in r["created"]})
        assert created == due, (minutes, r["created"])
    # At 3:00: 4 frequent and 2 hourly per dataset; nothing else.
    per_ds = [n for n in names() if n.startswith("hts/app/db@")]
    assert len([n for n in per_ds if n.endswith("_frequent")]) == 4
    assert [n for n in per_ds if n.endswith("_hourly")] == [
        "hts/app/db@helix_20261121T020000Z_hourly", "hts/app/db@helix_20261121T030000Z_hourly"]
    del zfs_calls[:]
    run_module("zfs_snapshot", dict(args, now=str(now + 135 * 60)))
    assert zfs_calls.count(["zfs", "list"]) == 1


@pytest.mark.parametrize("args,words", [
    ({"datasets": ["hts/app"], "policy": "6h"}, "bad keep-grid entry"),
    ({"datasets": ["hts/app"], "policy": "15m:6h"}, "the interval is longer than the span"),
    ({"datasets": ["hts/app"], "policy": {"hourly": {"keep": 0}}}, "'keep' is a whole number of at least 1"),
    ({"datasets": ["hts/app"], "policy": {"hourly": {"keep": 2, "every": "1 fortnight"}}}, "bad duration"),
    ({"datasets": ["hts/app@x"], "name": "y"}, "invalid dataset name"),
    ({"datasets": ["hts/app"], "name": "a@b"}, "invalid snapshot name"),
    ({"snapshots": ["hts/app@a@b"]}, "invalid snapshot"),
    ({"snapshots": ["hts/app"]}, "invalid snapshot"),
    ({"datasets": ["hts/app"], "name": "nosuch", "state": "rolled_back"}, "hts/app@nosuch does not exist"),
    ({"datasets": ["hts/app"], "state": "rolled_back"}, "needs name (the snapshot) or properties"),
    ({"datasets": ["hts/nosuch"], "name": "x"}, "no such dataset: hts/nosuch"),
    ({"datasets": ["hts/app"], "name": "x", "properties": {"compression": "lz4"}}, "tags are user properties"),
    ({"datasets": ["hts/app"], "policy": {"hourly": {"keep": 2}}, "now": "yesterday"}, "bad time"),
    # zfs hold -r TAG SNAP: the tag would be an option.
    ({"snapshots": ["hts/app@a"], "hold": ["-r"]}, "invalid hold tag"),
    # Once an OverflowError's traceback.
    ({"datasets": ["hts/app"], "policy": {"hourly": {"keep": 2}}, "now": "100000000000000000000"}, "year 10000"),
    ({"datasets": ["hts/.."], "name": "x"}, "invalid dataset name"),
    ({"datasets": ["hts/app"], "policy": {"hourly": {"keep": 2}}, "schedule": "-x"}, "invalid schedule name"),
], ids=["grid-no-interval", "grid-inverted", "keep-0", "bad-every", "at-in-dataset", "at-in-name",
        "two-ats", "no-at", "unknown-rollback-target", "rollback-needs-a-target", "missing-dataset", "non-user-tag", "bad-now", "dash-hold-tag",
        "now-overflow", "dot-dot", "bad-schedule"])
def test_bad_input_is_a_clear_error_and_changes_nothing(pool, args, words):
    sh("zfs snapshot hts/app@a")
    before = snaps()()
    r = run_module("zfs_snapshot", args)
    assert r.get("failed") and words in r["msg"], r
    assert snaps()() == before


def test_destroy_program_is_one_transaction_for_every_dataset(pool, zfs_calls):
    sh("for i in 1 2 3; do zfs snapshot -r hts@s$i; done")
    args = {"snapshots": ["hts/app/db@s1%s2", "hts/other@s2", "hts@s1"], "state": "absent"}
    before = {ln.split("\t")[0]: ln.split("\t")[1] for ln in snaps()().splitlines()}
    check, applied = converge("zfs_snapshot", args, snaps())
    assert applied["commands"] == [["zfs", "program", "-j", "hts", "/dev/stdin", "--", "hts@s1",
                                    "hts/app/db@s1", "hts/app/db@s2", "hts/other@s2"]]
    assert check["destroyed"] == applied["destroyed"] == ["hts@s1", "hts/app/db@s1", "hts/app/db@s2", "hts/other@s2"]
    left = set(names())
    assert left == set(before) - set(applied["destroyed"])
    assert zfs_calls.count(["zfs", "program"]) == 1 and zfs_calls.count(["zfs", "destroy"]) == 0


def test_destroy_program_is_all_or_nothing(pool):
    """The script itself: one held snapshot in the batch and nothing goes (the module refuses
    held snapshots before it runs; this is the guard for a hold placed in between)."""
    from ansible_collections.helix.zfs.plugins.module_utils._zfs_snapshot_plan import DESTROY_PROGRAM
    sh("zfs snapshot hts/app@a && zfs snapshot hts/app@b && zfs hold keep hts/app@b")
    r = subprocess.run(["zfs", "program", "-j", "hts", "/dev/stdin", "--", "hts/app@a", "hts/app@b"],
                       input=DESTROY_PROGRAM, capture_output=True, text=True, check=True)
    ret = json.loads(r.stdout)["return"]
    assert ret["destroyed"] is False and ret["failed"] == {"hts/app@b": 16}  # EBUSY
    assert names("hts/app") == ["hts/app@a", "hts/app@b"]
    sh("zfs release keep hts/app@b")
