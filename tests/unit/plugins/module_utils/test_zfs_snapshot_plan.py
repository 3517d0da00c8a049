"""The snapshot planner (_zfs_snapshot_plan): one ``zfs list -Hp -o <columns(tags)>`` listing (here
written by hand in that tab format), the request and time T in, zfs commands (or PlanError) out.
Pure logic, no zfs."""
import time

import pytest
from hypothesis import given, strategies as st

from ansible_collections.helix.zfs.plugins.module_utils._read import parse_list
from ansible_collections.helix.zfs.plugins.module_utils import _snapshot_policy as sp
from ansible_collections.helix.zfs.plugins.module_utils import _zfs_snapshot_plan as plan
from ansible_collections.helix.zfs.plugins.module_utils._errors import PlanError
from ansible_collections.helix.zfs.plugins.module_utils._zfs_snapshot_plan import ARG_LIMIT

APP, ENV = "com.example:app", "com.example:env"
COLS = plan.columns([ENV, APP])
M, H, D = 60, 3600, 86400
T0 = 1795305600  # 2026-11-22T00:00:00Z
OWNER = "helix.zfs"


def fs(name, written=0, kind="filesystem", txg=1):
    return "\t".join([name, kind, "9%d" % txg, str(txg), "-", "-", str(written), "-", "-", "-"])


def snap(name, txg, userrefs=0, clones="", owner="-", app="-", env="-", guid=None):
    """A snapshot row; its guid defaults to one derived from its txg, so bookmarks can point at it."""
    return "\t".join([name, "snapshot", guid or "1%d" % txg, str(txg), str(userrefs), clones, "4096", owner, app, env])


def mark(name, txg, guid=None):
    return "\t".join([name, "bookmark", guid or "1%d" % txg, str(txg), "-", "-", "-", "-", "-", "-"])


def listing(*rows):
    return parse_list("\n".join(rows) + "\n", COLS)


def names(items):
    return [s["name"] for s in items]


# ---------------------------------------------------------------------------- columns, parse_list

def test_columns():
    assert COLS == ["name", "type", "guid", "createtxg", "userrefs", "clones", "written", "helix:owner", APP, ENV]
    assert plan.columns([]) == ["name", "type", "guid", "createtxg", "userrefs", "clones", "written", "helix:owner"]
    assert plan.columns(["b:x", "a:y", "helix:owner", "a:y"])[7:] == ["helix:owner", "a:y", "b:x"]


LISTING = (
    "tp\tfilesystem\t111\t1\t-\t-\t98304\t-\t-\t-\n"
    "tp/a\tfilesystem\t222\t5\t-\t-\t0\t-\t-\t-\n"
    "tp/vol\tvolume\t333\t6\t-\t-\t8192\t-\t-\t-\n"
    "tp/a@b\tsnapshot\t402\t20\t2\ttp/c1,tp/c2\t4096\thelix.zfs\tv\t-\n"
    "tp/a@a\tsnapshot\t401\t10\t0\t\t0\t-\t-\tprod\n"
    "tp/a@c\tsnapshot\t403\t20\t-\t-\t-\t-\t-\t-\n"
    "\n"
    "tp/a#a\tbookmark\t401\t10\t-\t-\t-\t-\t-\t-\n"
    "tp/vol@x\tsnapshot\t404\t30\t0\t\t0\t-\t-\t-\n"
    "tp/a#z\tbookmark\t399\t3\t-\t-\t-\t-\t-\t-\n"
)


def test_parse_list():
    out = parse_list(LISTING, COLS)
    assert out["datasets"] == {"tp": {"type": "filesystem", "written": 98304, "guid": "111", "props": {}},
                               "tp/a": {"type": "filesystem", "written": 0, "guid": "222", "props": {}},
                               "tp/vol": {"type": "volume", "written": 8192, "guid": "333", "props": {}}}
    assert sorted(out["snaps"]) == ["tp/a", "tp/vol"] and sorted(out["bookmarks"]) == ["tp/a"]
    a, b, c = out["snaps"]["tp/a"]  # oldest first: by createtxg, then name
    assert a == {"name": "tp/a@a", "dataset": "tp/a", "short": "a", "guid": "401", "txg": 10, "userrefs": 0,
                 "clones": [], "props": {ENV: "prod"}}
    assert b == {"name": "tp/a@b", "dataset": "tp/a", "short": "b", "guid": "402", "txg": 20, "userrefs": 2,
                 "clones": ["tp/c1", "tp/c2"], "props": {"helix:owner": "helix.zfs", APP: "v"}}
    assert (c["short"], c["txg"], c["userrefs"], c["clones"], c["props"]) == ("c", 20, 0, [], {})
    assert names(out["snaps"]["tp/vol"]) == ["tp/vol@x"]
    assert [(m["name"], m["short"], m["dataset"], m["guid"], m["txg"]) for m in out["bookmarks"]["tp/a"]] == \
        [("tp/a#z", "z", "tp/a", "399", 3), ("tp/a#a", "a", "tp/a", "401", 10)]


def test_parse_list_keeps_tabs_in_the_last_column():
    out = parse_list("tp/a\tfilesystem\t1\t1\t-\t-\t0\t-\t-\t-\n"
                     "tp/a@s\tsnapshot\t2\t2\t0\t\t0\t-\t-\ta\tb\tc\n", COLS)
    assert out["snaps"]["tp/a"][0]["props"] == {ENV: "a\tb\tc"}


def test_parse_list_empty():
    assert parse_list("", COLS) == {"datasets": {}, "snaps": {}, "bookmarks": {}}
    assert parse_list("\n\n", COLS) == {"datasets": {}, "snaps": {}, "bookmarks": {}}


@given(txgs=st.lists(st.integers(min_value=1, max_value=10**9), min_size=1, max_size=30, unique=True),
       data=st.data())
def test_parse_list_orders_snapshots_by_txg_whatever_the_row_order(txgs, data):
    rows = [fs("tp/a")] + [snap("tp/a@s%d" % t, t) for t in txgs] + [mark("tp/a#m%d" % t, t) for t in txgs]
    out = parse_list("\n".join(data.draw(st.permutations(rows))), COLS)
    assert [s["txg"] for s in out["snaps"]["tp/a"]] == sorted(txgs)
    assert [s["txg"] for s in out["bookmarks"]["tp/a"]] == sorted(txgs)


# ---------------------------------------------------------------------------- scope, find

SCOPED = listing(fs("tp"), fs("tp/a"), fs("tp/a/b"), fs("tp/a/b/c"), fs("tp/ab"), fs("tp/z", kind="volume"))


@pytest.mark.parametrize("roots, recursive, want", [
    (["tp/a"], False, ["tp/a"]),
    (["tp/a"], True, ["tp/a", "tp/a/b", "tp/a/b/c"]),  # not tp/ab
    (["tp"], True, ["tp", "tp/a", "tp/a/b", "tp/a/b/c", "tp/ab", "tp/z"]),
    (["tp/z", "tp/a/b"], False, ["tp/a/b", "tp/z"]),
    (["tp/a", "tp/a/b"], True, ["tp/a", "tp/a/b", "tp/a/b/c"]),
    (["tp/nope"], True, []),
])
def test_scope(roots, recursive, want):
    assert plan.scope(SCOPED, roots, recursive) == want


def test_find():
    out = listing(fs("tp/a"), fs("tp/b"), snap("tp/a@x", 10), snap("tp/b@y", 11))
    assert plan.find(out, "tp/a@x")["txg"] == 10
    assert plan.find(out, "tp/a@y") is None
    assert plan.find(out, "tp/c@x") is None


# ---------------------------------------------------------------------------- chunks, destroy_commands

def test_chunks_fit_in_one_call():
    assert plan.chunks(["zfs", "hold", "t"], ["tp/a@1", "tp/a@2"]) == [["zfs", "hold", "t", "tp/a@1", "tp/a@2"]]
    assert plan.chunks(["zfs", "hold", "t"], []) == []
    assert plan.chunks(["zfs", "destroy"], ["a", "b"], joiner=",".join) == [["zfs", "destroy", "a,b"]]


def test_chunks_split_at_the_limit():
    items = ["n%03d" % i + "x" * 995 for i in range(250)]  # 999 characters, 1000 with its separator
    out = plan.chunks(["zfs", "hold", "t"], items)
    # "zfs hold t " counts too: 99 names of 1000 characters fit under ARG_LIMIT with it.
    assert [len(c) - 3 for c in out] == [99, 99, 52]
    assert all(c[:3] == ["zfs", "hold", "t"] for c in out)
    assert [n for c in out for n in c[3:]] == items


def test_chunks_put_an_oversized_name_alone():
    big = "x" * (ARG_LIMIT + 10)
    assert plan.chunks(["h"], ["a", big, "b"]) == [["h", "a"], ["h", big], ["h", "b"]]


@given(lengths=st.lists(st.integers(min_value=1, max_value=40000), max_size=40))
def test_chunks_keep_every_name_once_in_order_and_split_only_when_needed(lengths):
    items = ["%d-" % i + "x" * n for i, n in enumerate(lengths)]
    out = plan.chunks(["zfs", "release", "t"], items)
    assert [n for c in out for n in c[3:]] == items
    sizes = [sum(len(n) + 1 for n in c) for c in out]  # the head counts too, as on a command line
    assert all(s <= ARG_LIMIT or len(c) == 4 for s, c in zip(sizes, out))
    for size, following in zip(sizes, out[1:]):  # greedy: the next name would not have fitted
        assert size + len(following[3]) + 1 > ARG_LIMIT


def destroyed_by(cmds):
    """The full names a list of zfs destroy calls destroys."""
    out = []
    for argv in cmds:
        assert argv[:2] == ["zfs", "destroy"] and len(argv) == 3
        ds, _at, shorts = argv[2].partition("@")
        out += ["%s@%s" % (ds, s) for s in shorts.split(",")]
    return out


def item(full):
    ds, _at, short = full.partition("@")
    return {"name": full, "dataset": ds, "short": short}


def test_destroy_commands_one_call_per_dataset_in_order():
    gone = [item(n) for n in ("tp/a@x", "tp/b@y", "tp/a@z", "tp/c@w")]
    assert plan.destroy_commands(gone) == [["zfs", "destroy", "tp/a@x,z"], ["zfs", "destroy", "tp/b@y"],
                                           ["zfs", "destroy", "tp/c@w"]]
    assert plan.destroy_commands([]) == []


MANY = [item("tp/a@%09d" % i) for i in range(20000)] + [item("tp/b/" + "d" * 200 + "@s%06d" % i) for i in range(15000)]


def test_destroy_commands_split_keep_every_name_once():
    cmds = plan.destroy_commands(MANY)
    assert len(cmds) > 2
    gone = destroyed_by(cmds)
    assert sorted(gone) == sorted(names(MANY)) and len(set(gone)) == len(gone)
    assert gone == names(MANY)  # the given order, dataset by dataset


def test_destroy_commands_joined_argument_stays_within_the_limit():
    assert max(len(argv[2]) for argv in plan.destroy_commands(MANY)) <= ARG_LIMIT


def test_destroy_program_one_call_per_pool_names_in_order():
    gone = [item(n) for n in ("tp/a@x", "op/b@y", "tp/a/c@z", "tp@w")]
    head = ["zfs", "program", "-j"]
    assert plan.destroy_commands(gone, program=True) == [
        head + ["tp", "/dev/stdin", "--", "tp/a@x", "tp/a/c@z", "tp@w"], head + ["op", "/dev/stdin", "--", "op/b@y"]]
    assert plan.destroy_commands([], program=True) == []


def test_destroy_program_split_keeps_every_name_once_within_the_limit():
    cmds = plan.destroy_commands(MANY, program=True)
    assert len(cmds) > 1 and all(c[:6] == ["zfs", "program", "-j", "tp", "/dev/stdin", "--"] for c in cmds)
    assert [n for c in cmds for n in c[6:]] == names(MANY)
    assert max(sum(len(a) + 1 for a in c) for c in cmds) <= plan.PROGRAM_ARG_LIMIT
    assert max(len(c) - 6 for c in cmds) <= plan.PROGRAM_BATCH


def test_destroy_program_split_by_count(monkeypatch):
    monkeypatch.setattr(plan, "PROGRAM_BATCH", 3)
    gone = [item("tp/a@s%d" % i) for i in range(7)]
    cmds = plan.destroy_commands(gone, program=True)
    assert [c[6:] for c in cmds] == [["tp/a@s0", "tp/a@s1", "tp/a@s2"], ["tp/a@s3", "tp/a@s4", "tp/a@s5"], ["tp/a@s6"]]


def test_program_failures():
    assert plan.program_failures({"return": {"failed": {}, "destroyed": True}}) == ({}, True)
    assert plan.program_failures({"return": {"failed": {"tp/a@x": 16}, "destroyed": False}}) == ({"tp/a@x": 16}, False)
    assert plan.program_failures({}) == ({}, False)


# ---------------------------------------------------------------------------- check_destroyable

def test_check_destroyable():
    out = listing(fs("tp/a"), snap("tp/a@ok", 1), snap("tp/a@held", 2, userrefs=2),
                  snap("tp/a@cloned", 3, clones="tp/c1,tp/c2"))
    plan.check_destroyable([plan.find(out, "tp/a@ok")], "")
    with pytest.raises(PlanError, match=r"^tp/a@held is held \(2 hold\(s\)\); release it first, or leave it out\. "
                                        r"Nothing was changed\.$"):
        plan.check_destroyable(out["snaps"]["tp/a"], "")
    with pytest.raises(PlanError, match=r"^tp/a@cloned has clones \(tp/c1, tp/c2\); promote or destroy them first\. "
                                        r"Nothing was changed\. \(why\)$"):
        plan.check_destroyable([plan.find(out, "tp/a@cloned")], " (why)")


# ---------------------------------------------------------------------------- expand_range

RANGE = listing(fs("tp/a"), fs("tp/b"), snap("tp/a@d", 40), snap("tp/a@a", 10), snap("tp/a@c", 30),
                snap("tp/a@b", 20), snap("tp/b@a", 15), snap("tp/b@z", 25))


@pytest.mark.parametrize("full, want", [
    ("tp/a@b%c", ["b", "c"]),
    ("tp/a@a%d", ["a", "b", "c", "d"]),
    ("tp/a@b%b", ["b"]),
    ("tp/a@%b", ["a", "b"]),      # open start: from the oldest
    ("tp/a@c%", ["c", "d"]),      # open end: to the newest
    ("tp/b@a%", ["a", "z"]),
    ("tp/a@x%y", []),             # both named ends gone: already destroyed
    ("tp/a@x%", []),              # the only named end gone
    ("tp/a@%y", []),
    ("tp/none@a%b", []),
])
def test_expand_range(full, want):
    ds = full.partition("@")[0]
    assert names(plan.expand_range(RANGE, full)) == ["%s@%s" % (ds, s) for s in want]


@pytest.mark.parametrize("full, missing", [("tp/a@b%y", "y"), ("tp/a@x%c", "x"), ("tp/b@a%d", "d")])
def test_expand_range_one_end_gone_is_an_error(full, missing):
    with pytest.raises(PlanError, match=r"^range %s: %s does not exist \(and the other end does\)$" % (full, missing)):
        plan.expand_range(RANGE, full)


# ---------------------------------------------------------------------------- tag_commands, hold_commands

def test_tag_commands_converge_only_what_differs_merged_per_value():
    out = listing(fs("tp/a"), snap("tp/a@a", 1, app="v", env="prod"), snap("tp/a@b", 2), snap("tp/a@c", 3, app="w"),
                  snap("tp/a@d", 4, app="v", env="dev"))
    targets = ["tp/a@a", "tp/a@b", "tp/a@c", "tp/a@d", "tp/a@missing"]
    assert plan.tag_commands(targets, {APP: "v", ENV: "prod"}, out) == [
        ["zfs", "set", "com.example:app=v", "tp/a@b", "tp/a@c"],
        ["zfs", "set", "com.example:env=prod", "tp/a@b", "tp/a@c", "tp/a@d"],
    ]
    assert plan.tag_commands(["tp/a@a"], {APP: "v", ENV: "prod"}, out) == []
    assert plan.tag_commands(targets, {}, out) == []
    assert plan.tag_commands(["tp/a@missing"], {APP: "v"}, out) == []


def test_hold_commands():
    holds = {"tp/a@x": {"keep", "old"}, "tp/a@y": {"old"}}
    targets = ["tp/a@x", "tp/a@y", "tp/a@z"]
    assert plan.hold_commands(targets, holds, ["keep", "new"], ["old", "gone"]) == [
        ["zfs", "hold", "keep", "tp/a@y", "tp/a@z"],
        ["zfs", "hold", "new", "tp/a@x", "tp/a@y", "tp/a@z"],
        ["zfs", "release", "old", "tp/a@x", "tp/a@y"],
    ]
    assert plan.hold_commands(["tp/a@x"], holds, ["keep"], ["gone"]) == []
    assert plan.hold_commands([], holds, ["keep"], ["old"]) == []


# ---------------------------------------------------------------------------- create_commands

def test_create_commands():
    tags = {"b:x": "1", "a:y": "two words"}
    assert plan.create_commands(["tp/a@s", "tp/b@s"], tags) == \
        [["zfs", "snapshot", "-o", "a:y=two words", "-o", "b:x=1", "tp/a@s", "tp/b@s"]]
    assert plan.create_commands(["tp/a@s"], {}) == [["zfs", "snapshot", "tp/a@s"]]
    assert plan.create_commands(["tp@s", "tp/a@s", "tp/a/b@s"], tags, recursive_roots=["tp@s"]) == \
        [["zfs", "snapshot", "-r", "-o", "a:y=two words", "-o", "b:x=1", "tp@s"]]
    assert plan.create_commands([], tags) == []
    assert plan.create_commands([], tags, recursive_roots=["tp@s"]) == []


# ---------------------------------------------------------------------------- rollback

def roll(*extra, written=0):
    return listing(fs("tp/a", written=written), fs("tp/b", written=4096), snap("tp/a@a", 10), snap("tp/a@b", 20),
                   snap("tp/b@late", 90), mark("tp/a#early", 5), *extra)


def test_rollback_to_a_missing_snapshot_is_an_error():
    with pytest.raises(PlanError, match=r"^cannot roll back tp/a: tp/a@nope does not exist\. Nothing was changed\.$"):
        plan.rollback(roll(), "tp/a", "nope", True)


def test_rollback_to_the_newest_with_nothing_written_is_a_no_op():
    assert plan.rollback(roll(), "tp/a", "b", False) == ([], [])
    assert plan.rollback(roll(), "tp/a", "b", True) == ([], [])
    assert plan.rollback(roll(mark("tp/a#late", 30)), "tp/a", "b", False) == ([], [])


def test_rollback_to_the_newest_after_writes():
    assert plan.rollback(roll(written=4096), "tp/a", "b", False) == ([["zfs", "rollback", "tp/a@b"]], [])


def test_rollback_past_newer_snapshots_is_refused_without_destroy_newer():
    listing_ = roll(snap("tp/a@c", 30), snap("tp/a@d", 40))
    with pytest.raises(PlanError, match=r"^cannot roll back tp/a to @b: newer snapshots or bookmarks exist \(c, d\)\. "
                                        r"Set destroy_newer: true to destroy them\. Nothing was changed\.$"):
        plan.rollback(listing_, "tp/a", "b", False)
    with pytest.raises(PlanError, match=r"newer snapshots or bookmarks exist \(b\)"):
        plan.rollback(roll(written=4096), "tp/a", "a", False)


def test_rollback_with_destroy_newer_destroys_newer_snapshots_and_bookmarks():
    listing_ = roll(snap("tp/a@c", 30), snap("tp/a@d", 40), mark("tp/a#c", 30), mark("tp/a#x", 35))
    assert plan.rollback(listing_, "tp/a", "b", True) == (
        [["zfs", "rollback", "-r", "tp/a@b"]], ["tp/a@c", "tp/a@d", "tp/a#c", "tp/a#x"])
    assert plan.rollback(roll(), "tp/a", "a", True) == ([["zfs", "rollback", "-r", "tp/a@a"]], ["tp/a@b"])


def test_rollback_with_only_newer_bookmarks_uses_r():
    assert plan.rollback(roll(mark("tp/a#late", 30), written=1), "tp/a", "b", True) == (
        [["zfs", "rollback", "-r", "tp/a@b"]], ["tp/a#late"])


def test_rollback_refuses_to_destroy_newer_bookmarks_without_destroy_newer():
    with pytest.raises(PlanError):
        plan.rollback(roll(mark("tp/a#cursor", 30), written=1), "tp/a", "b", False)


@pytest.mark.parametrize("newer, message", [
    (snap("tp/a@c", 30, userrefs=1), r"^tp/a@c is held \(1 hold\(s\)\)"),
    (snap("tp/a@c", 30, clones="tp/clone"), r"^tp/a@c has clones \(tp/clone\)"),
])
def test_rollback_refuses_held_or_cloned_newer_snapshots(newer, message):
    with pytest.raises(PlanError, match=message):
        plan.rollback(roll(newer), "tp/a", "b", True)


# ---------------------------------------------------------------------------- schedule

def owned(ds, t, cls, txg, owner=OWNER, **kw):
    return snap("%s@%s" % (ds, sp.snapshot_name("helix_", cls, t)), txg, owner=owner, **kw)


HOURLY_DAILY = sp.parse_policy({"hourly": {"keep": 2}, "daily": {"keep": 2}})


def test_schedule_creates_the_due_classes_with_utc_names():
    out = listing(fs("tp/a"), fs("tp/b"), owned("tp/a", T0 - 30 * M, "hourly", 10), owned("tp/a", T0 - D, "daily", 5))
    assert plan.schedule(out, ["tp/a", "tp/b"], HOURLY_DAILY, T0 + 5 * H + 15 * M, "helix_", OWNER, True, False) == (
        {"daily": ["tp/a@helix_20261122T051500Z_daily", "tp/b@helix_20261122T051500Z_daily"],
         "hourly": ["tp/a@helix_20261122T051500Z_hourly", "tp/b@helix_20261122T051500Z_hourly"]}, [])
    # By slot, not by age: 10 minutes before T0 tp/a's hourly (23:30) and daily (00:00 that day)
    # are in their current slots; 10 minutes after, a new hour and a new day began.
    assert plan.schedule(out, ["tp/a"], HOURLY_DAILY, T0 - 10 * M, "helix_", OWNER, True, True) == ({}, [])
    assert plan.schedule(out, ["tp/a"], HOURLY_DAILY, T0 + 10 * M, "helix_", OWNER, True, False) == (
        {"daily": ["tp/a@helix_20261122T001000Z_daily"], "hourly": ["tp/a@helix_20261122T001000Z_hourly"]}, [])


def test_schedule_grid_creates_grid_snapshots():
    pol = sp.parse_policy("6h:15m, 2d:1h")
    out = listing(fs("tp/a"), owned("tp/a", T0 - 14 * M, "grid", 10))
    assert plan.schedule(out, ["tp/a"], pol, T0 - 30, "helix_", OWNER, True, True) == ({}, [])
    assert plan.schedule(out, ["tp/a"], pol, T0 + M, "helix_", OWNER, True, True) == (
        {"grid": ["tp/a@helix_20261122T000100Z_grid"]}, [])


def test_schedule_create_false_and_prune_false():
    pol = sp.parse_policy({"hourly": {"keep": 1}})
    out = listing(fs("tp/a"), owned("tp/a", T0 - 3 * H, "hourly", 10), owned("tp/a", T0 - 2 * H, "hourly", 11))
    assert plan.schedule(out, ["tp/a"], pol, T0, "helix_", OWNER, False, False) == ({}, [])
    assert names(plan.schedule(out, ["tp/a"], pol, T0, "helix_", OWNER, False, True)[1]) == \
        ["tp/a@helix_20261121T210000Z_hourly"]
    assert plan.schedule(out, ["tp/a"], pol, T0, "helix_", OWNER, True, False) == (
        {"hourly": ["tp/a@helix_20261122T000000Z_hourly"]}, [])


def test_schedule_does_not_create_a_name_that_exists_unowned():
    pol = sp.parse_policy({"hourly": {"keep": 1}})
    out = listing(fs("tp/a"), owned("tp/a", T0, "hourly", 10, owner="someone.else"))
    assert plan.schedule(out, ["tp/a"], pol, T0, "helix_", OWNER, True, True) == ({}, [])


OWNERSHIP = listing(
    fs("tp/a"),
    owned("tp/a", T0 - 5 * H, "hourly", 5, owner="-"),             # our prefix, no owner
    owned("tp/a", T0 - 4 * H, "hourly", 6, owner="someone.else"),  # our prefix, another owner
    owned("tp/a", T0 - 3 * H, "hourly", 7),
    owned("tp/a", T0 - 2 * H, "hourly", 8),
    owned("tp/a", T0 - 30 * D, "daily", 9),                        # a class the policy does not name
    snap("tp/a@manual", 10),
    snap("tp/a@zfs-auto-snap_hourly-2026-11-21-2200", 11, owner=OWNER),
    owned("tp/a", T0 - H, "hourly", 12),
)


def test_schedule_prunes_only_snapshots_with_our_owner():
    pol = sp.parse_policy({"hourly": {"keep": 1}})
    create, destroy = plan.schedule(OWNERSHIP, ["tp/a"], pol, T0, "helix_", OWNER, True, True)
    assert create == {"hourly": ["tp/a@helix_20261122T000000Z_hourly"]}
    assert names(destroy) == ["tp/a@helix_20261121T210000Z_hourly", "tp/a@helix_20261121T220000Z_hourly",
                              "tp/a@helix_20261121T230000Z_hourly"]
    assert plan.destroy_commands(destroy) == [["zfs", "destroy", "tp/a@helix_20261121T210000Z_hourly,"
                                               "helix_20261121T220000Z_hourly,helix_20261121T230000Z_hourly"]]


def test_schedule_without_owner_goes_by_prefix_alone():
    pol = sp.parse_policy({"hourly": {"keep": 1}})
    _create, destroy = plan.schedule(OWNERSHIP, ["tp/a"], pol, T0, "helix_", None, False, True)
    assert names(destroy) == ["tp/a@helix_20261121T190000Z_hourly", "tp/a@helix_20261121T200000Z_hourly",
                              "tp/a@helix_20261121T210000Z_hourly", "tp/a@helix_20261121T220000Z_hourly"]


def test_schedule_protects_held_cloned_and_cursor_snapshots():
    pol = sp.parse_policy({"hourly": {"keep": 1}})
    out = listing(
        fs("tp/a"),
        owned("tp/a", T0 - 6 * H, "hourly", 10),                     # has a bookmark, but not the newest one
        owned("tp/a", T0 - 5 * H, "hourly", 11, userrefs=1),         # held
        owned("tp/a", T0 - 4 * H, "hourly", 12, clones="tp/clone"),  # cloned
        owned("tp/a", T0 - 3 * H, "hourly", 13),                     # the replication cursor
        owned("tp/a", T0 - 2 * H, "hourly", 14),
        owned("tp/a", T0 - H, "hourly", 15),                         # the newest
        mark("tp/a#sent-1", 10), mark("tp/a#sent-2", 13),
    )
    _create, destroy = plan.schedule(out, ["tp/a"], pol, T0, "helix_", OWNER, False, True)
    assert names(destroy) == ["tp/a@helix_20261121T180000Z_hourly", "tp/a@helix_20261121T220000Z_hourly"]
    # Held and cloned ones take no place in the count: with keep 1, the newest stays.
    assert plan.check_destroyable(destroy, "") is None


def test_schedule_never_destroys_the_newest_owned_even_past_the_grid():
    pol = sp.parse_policy("6h:15m")
    out = listing(fs("tp/a"), owned("tp/a", T0 - 9 * D, "grid", 10), owned("tp/a", T0 - 8 * D, "grid", 11))
    create, destroy = plan.schedule(out, ["tp/a"], pol, T0, "helix_", OWNER, False, True)
    assert (create, names(destroy)) == ({}, ["tp/a@helix_20261113T000000Z_grid"])


def test_schedule_each_dataset_on_its_own():
    pol = sp.parse_policy({"hourly": {"keep": 1}})
    out = listing(fs("tp/a"), fs("tp/a/b"),
                  owned("tp/a", T0 - 2 * H, "hourly", 10), owned("tp/a/b", T0 - 3 * H, "hourly", 11),
                  owned("tp/a/b", T0, "hourly", 12))
    create, destroy = plan.schedule(out, ["tp/a", "tp/a/b"], pol, T0 + 30 * M, "helix_", OWNER, True, True)
    assert create == {"hourly": ["tp/a@helix_20261122T003000Z_hourly"]}
    assert names(destroy) == ["tp/a@helix_20261121T220000Z_hourly", "tp/a/b@helix_20261121T210000Z_hourly"]


@pytest.mark.parametrize("policy", [{"hourly": {"keep": 3}, "daily": {"keep": 2}}, "6h:15m, 2d:1h, 30d:1d"])
def test_schedule_applied_then_rerun_at_the_same_time_is_a_no_op(policy):
    pol = sp.parse_policy(policy)
    rows = [fs("tp/a"), fs("tp/b")]
    txg = 1
    for now in range(T0, T0 + 3 * D + 1, 20 * M):
        cur = listing(*rows)
        create, destroy = plan.schedule(cur, ["tp/a", "tp/b"], pol, now, "helix_", OWNER, True, True)
        gone = set(names(destroy))
        assert not gone & {n for ns in create.values() for n in ns}
        rows = [r for r in rows if r.split("\t", maxsplit=1)[0] not in gone]
        for cls in sorted(create):
            for full in create[cls]:
                txg += 1
                rows.append(snap(full, txg, owner=OWNER))
        assert plan.schedule(listing(*rows), ["tp/a", "tp/b"], pol, now, "helix_", OWNER, True, True) == ({}, [])
    final = listing(*rows)["snaps"]["tp/a"]
    if isinstance(policy, dict):
        assert len(final) == 5  # 3 hourly + 2 daily
    else:  # every 20-minute snapshot of the last 6 hours (one per 15-minute bucket), fewer before
        assert len([s for s in final if sp.parse_name("helix_", s["short"])[0] > now - 6 * H]) == 18
        assert 18 < len(final) < 100


def test_policy_commands_create_owned_then_destroy_in_one_program():
    pol = sp.parse_policy({"hourly": {"keep": 1}})
    cmds, created, doomed = plan.policy_commands(OWNERSHIP, ["tp/a"], pol, T0, "helix_", OWNER, {"helix:x": "1"},
                                                 True, True, True)
    assert created == ["tp/a@helix_20261122T000000Z_hourly"]
    assert cmds[0] == ["zfs", "snapshot", "-o", "helix:owner=%s" % OWNER, "-o", "helix:x=1",
                       "tp/a@helix_20261122T000000Z_hourly"]
    assert cmds[1][:6] == ["zfs", "program", "-j", "tp", "/dev/stdin", "--"] and cmds[1][6:] == names(doomed)
    assert len(cmds) == 2


def test_schedule_a_snapshot_named_after_the_clock_counts_for_nothing():
    # One helix_<future>_hourly name once stopped the class for good, silently.
    pol = sp.parse_policy({"hourly": {"keep": 2}})
    out = listing(fs("tp/a"), owned("tp/a", T0 + 30 * D, "hourly", 10))
    assert plan.schedule(out, ["tp/a"], pol, T0, "helix_", OWNER, True, False, clock=T0) == (
        {"hourly": ["tp/a@helix_20261122T000000Z_hourly"]}, [])
    assert plan.from_the_future(out, ["tp/a"], "helix_", OWNER, T0) == ["tp/a@helix_20261222T000000Z_hourly"]
    assert plan.from_the_future(out, ["tp/a"], "helix_", OWNER, T0 + 30 * D) == []


def test_schedule_drift_check_owes_nothing_for_slots_before_the_first_snapshot():
    # The drift check asks about now - grace; a schedule installed after that slot began owes
    # nothing for it. A later missed slot is drift.
    pol = sp.parse_policy({"frequent": {"every": "15m", "keep": 9}})
    out = listing(fs("tp/a"), owned("tp/a", T0 + 16 * M, "frequent", 10))
    assert plan.schedule(out, ["tp/a"], pol, T0 + 14 * M, "helix_", OWNER, True, False, clock=T0 + 19 * M) == ({}, [])
    assert plan.schedule(out, ["tp/a"], pol, T0 + 40 * M, "helix_", OWNER, True, False, clock=T0 + 45 * M) == (
        {"frequent": ["tp/a@helix_20261122T004000Z_frequent"]}, [])


def test_schedule_leaves_replicas_alone():
    pol = sp.parse_policy({"hourly": {"keep": 2}})
    out = listing(fs("tp/a"), fs("tp/r"), fs("tp/ro"), fs("tp/recv"))
    out["datasets"]["tp/r"]["props"]["helix:role"] = "replica"
    out["datasets"]["tp/ro"]["props"]["readonly"] = "on"
    out["datasets"]["tp/recv"]["props"]["receive_resume_token"] = "1-abc"  # mid-receive: zfs says busy
    assert plan.schedule(out, ["tp/a", "tp/r", "tp/ro", "tp/recv"], pol, T0, "helix_", OWNER, True, True) == (
        {"hourly": ["tp/a@helix_20261122T000000Z_hourly"]}, [])


def test_columns_with_the_schedule_extras_keep_tags_last():
    assert plan.columns({"helix:x": "1"}, written=False, extra=plan.SCHEDULE_COLUMNS)[-5:] == [
        "receive_resume_token", "helix:role", "helix:schedule", plan.OWNER_PROP, "helix:x"]


def test_a_schedule_prunes_only_its_own_and_labels_what_it_takes():
    pol = sp.parse_policy({"hourly": {"keep": 1}})
    cols = plan.columns({}, written=False, extra=plan.SCHEDULE_COLUMNS)
    rows = ["tp/a\tfilesystem\t1\t1\t-\t-\toff\t-\t-\t-\t-"]
    for i, sched in enumerate(("other", "-", "mine")):  # 21:00, 22:00, 23:00 the day before T0
        rows.append("tp/a@helix_%s_hourly\tsnapshot\t%d\t%d\t0\t\t-\t-\t-\t%s\t%s" % (
            time.strftime("%Y%m%dT%H%M%SZ", time.gmtime(T0 - (3 - i) * 3600)), 10 + i, 10 + i, sched, OWNER))
    out = parse_list("\n".join(rows) + "\n", cols)
    cmds, _created, doomed = plan.policy_commands(out, ["tp/a"], pol, T0, "helix_", OWNER, {}, True, True, False,
                                                  sched="mine")
    # The unlabelled one and its own older one go; the other schedule's stays.
    assert [s["name"] for s in doomed] == ["tp/a@helix_20261121T220000Z_hourly", "tp/a@helix_20261121T230000Z_hourly"]
    assert cmds[0] == ["zfs", "snapshot", "-o", "helix:owner=%s" % OWNER, "-o", "helix:schedule=mine",
                       "tp/a@helix_20261122T000000Z_hourly"]


def test_tagged_is_the_newest_snapshot_with_every_tag():
    out = listing(fs("tp/a"), snap("tp/a@r1", 10, app="v1", env="prod"), snap("tp/a@r2", 20, app="v1"),
                  snap("tp/a@r3", 30, app="v2", env="prod"))
    assert plan.tagged(out, "tp/a", {APP: "v1"}) == "r2"
    assert plan.tagged(out, "tp/a", {APP: "v1", ENV: "prod"}) == "r1"
    with pytest.raises(PlanError, match="none of its snapshots has %s=v9" % APP):
        plan.tagged(out, "tp/a", {APP: "v9"})
