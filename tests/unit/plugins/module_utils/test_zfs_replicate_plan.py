"""The replication planner (_zfs_replicate_plan): a source and a target listing (one ``zfs list -Hp
-o <COLUMNS>`` each, here written by hand in that tab format and read by ``parse_list``) and the
task's options in, the streams to send (or PlanError) out. Pure logic, no zfs."""
import pytest
from hypothesis import given, strategies as st

from ansible_collections.helix.zfs.plugins.module_utils import _zfs_replicate_plan as rplan
from ansible_collections.helix.zfs.plugins.module_utils._errors import PlanError
from ansible_collections.helix.zfs.plugins.module_utils._read import parse_list

# COLUMNS: name type guid createtxg userrefs clones written encryption receive_resume_token logicalreferenced
# keystatus


def fs(name, written=0, encryption="off", token="-", kind="filesystem", keystatus="-"):
    return "\t".join([name, kind, "9", "1", "-", "-", str(written), encryption, token, "-", keystatus])


def snap(name, txg, guid=None, userrefs=0, clones="-"):
    """A snapshot row; its guid defaults to one derived from its txg, so bookmarks can point at it."""
    return "\t".join([name, "snapshot", guid or "1%d" % txg, str(txg), str(userrefs), clones, "4096", "-", "-",
                      "8192", "-"])


def mark(name, txg, guid=None):
    return "\t".join([name, "bookmark", guid or "1%d" % txg, str(txg), "-", "-", "-", "-", "-", "-", "-"])


def listing(*rows):
    return parse_list("\n".join(rows) + "\n", rplan.COLUMNS)


def opts(**kw):
    out = {"flags": [], "send_decrypted": False, "exclude_properties": [], "receive_properties": {},
           "rollback": False}
    out.update(kw)
    return out


RECV = ["zfs", "receive", "-s", "-u", "bk/a"]


# ---------------------------------------------------------------------------- COLUMNS, FLAGS

def test_columns_extend_the_snapshot_planner_base_with_the_replication_properties():
    assert rplan.COLUMNS == ["name", "type", "guid", "createtxg", "userrefs", "clones", "written", "encryption",
                             "receive_resume_token", "logicalreferenced", "keystatus"]
    assert rplan.FLAGS == {"large_blocks": "-L", "embedded": "-e", "compressed": "-c"}


def test_parse_list_with_columns_keeps_the_replication_properties():
    out = listing(fs("bk/a", written=512, encryption="aes-256-gcm", token="1-abc-def"),
                  fs("bk/b"), snap("bk/a@s", 7, guid="42"))
    assert out["datasets"]["bk/a"]["props"] == {"encryption": "aes-256-gcm", "receive_resume_token": "1-abc-def"}
    assert out["datasets"]["bk/a"]["written"] == 512
    assert out["datasets"]["bk/b"]["props"] == {"encryption": "off"}  # "-" columns are left out
    assert out["snaps"]["bk/a"][0]["props"] == {"logicalreferenced": "8192"}
    assert out["snaps"]["bk/a"][0]["guid"] == "42"


# ---------------------------------------------------------------------------- pairs

TREE_ROWS = [fs("tank"), fs("tank/app"), fs("tank/app/db"), fs("tank/app/db/log"), fs("tank/app/zz"),
             fs("tank/app/cache", kind="volume"), fs("tank/apple"), fs("tank/apple/x"), fs("tank/ap")]
TREE = listing(*TREE_ROWS)


def test_pairs_root_only():
    assert rplan.pairs(TREE, "tank/app", "bk/app", False) == [("tank/app", "bk/app")]
    assert rplan.pairs(TREE, "tank", "bk", False) == [("tank", "bk")]


def test_pairs_recursive_parents_first_mapped_by_suffix():
    assert rplan.pairs(TREE, "tank/app", "bk/app", True) == [
        ("tank/app", "bk/app"),
        ("tank/app/cache", "bk/app/cache"),
        ("tank/app/db", "bk/app/db"),
        ("tank/app/zz", "bk/app/zz"),          # depth before name: before tank/app/db/log
        ("tank/app/db/log", "bk/app/db/log"),
    ]


def test_pairs_do_not_depend_on_the_listing_order():
    assert rplan.pairs(listing(*reversed(TREE_ROWS)), "tank/app", "bk/app", True) == \
        rplan.pairs(TREE, "tank/app", "bk/app", True)


def test_pairs_map_to_a_target_root_at_another_depth():
    assert rplan.pairs(TREE, "tank/app/db", "backup/hosts/h1/db", True) == [
        ("tank/app/db", "backup/hosts/h1/db"), ("tank/app/db/log", "backup/hosts/h1/db/log")]
    assert rplan.pairs(TREE, "tank/apple", "bk", True) == [("tank/apple", "bk"), ("tank/apple/x", "bk/x")]


def test_pairs_leave_out_a_sibling_with_a_common_prefix():
    got = [s for s, _t in rplan.pairs(TREE, "tank/app", "bk/app", True)]
    assert "tank/apple" not in got and "tank/apple/x" not in got and "tank/ap" not in got
    assert all(s == "tank/app" or s.startswith("tank/app/") for s in got)


def test_pairs_whole_pool():
    got = rplan.pairs(TREE, "tank", "bk", True)
    assert got[0] == ("tank", "bk")
    assert sorted(got) == sorted((n, "bk" + n[len("tank"):]) for n in TREE["datasets"])
    depths = [s.count("/") for s, _t in got]
    assert depths == sorted(depths)


def test_pairs_of_a_missing_root_are_empty():
    assert rplan.pairs(TREE, "tank/nope", "bk/nope", True) == []
    assert rplan.pairs(listing(), "tank", "bk", False) == []


# ---------------------------------------------------------------------------- encrypted, send_flags

@pytest.mark.parametrize("encryption, want", [
    ("off", False), ("-", False), ("aes-256-gcm", True), ("aes-128-ccm", True),
])
def test_encrypted(encryption, want):
    assert rplan.encrypted(listing(fs("tank/a", encryption=encryption)), "tank/a") is want


PLAIN_AND_CRYPT = listing(fs("tank/plain"), fs("tank/crypt", encryption="aes-256-gcm"))
ALL_FLAGS = ["compressed", "large_blocks", "embedded"]


def test_send_flags_unencrypted_keep_the_chosen_flags_in_order():
    assert rplan.send_flags(PLAIN_AND_CRYPT, "tank/plain", ALL_FLAGS, False) == ["-c", "-L", "-e"]
    assert rplan.send_flags(PLAIN_AND_CRYPT, "tank/plain", ["embedded", "large_blocks"], False) == ["-e", "-L"]
    assert rplan.send_flags(PLAIN_AND_CRYPT, "tank/plain", [], False) == []
    assert rplan.send_flags(PLAIN_AND_CRYPT, "tank/plain", ALL_FLAGS, True) == ["-c", "-L", "-e"]


def test_send_flags_encrypted_are_raw_first_without_c():
    assert rplan.send_flags(PLAIN_AND_CRYPT, "tank/crypt", ALL_FLAGS, False) == ["-w", "-L", "-e"]
    assert rplan.send_flags(PLAIN_AND_CRYPT, "tank/crypt", ["embedded", "compressed"], False) == ["-w", "-e"]
    assert rplan.send_flags(PLAIN_AND_CRYPT, "tank/crypt", ["compressed"], False) == ["-w"]
    assert rplan.send_flags(PLAIN_AND_CRYPT, "tank/crypt", [], False) == ["-w"]


def test_send_flags_encrypted_with_send_decrypted_are_the_plain_flags():
    assert rplan.send_flags(PLAIN_AND_CRYPT, "tank/crypt", ALL_FLAGS, True) == ["-c", "-L", "-e"]
    assert rplan.send_flags(PLAIN_AND_CRYPT, "tank/crypt", [], True) == []


# ---------------------------------------------------------------------------- common_base

SRC_ROWS = [fs("tank/a"), snap("tank/a@a", 10, "101"), snap("tank/a@b", 20, "102"), snap("tank/a@c", 30, "103")]


def base(src_rows, tgt_rows):
    t, s = rplan.common_base(listing(*src_rows), listing(*tgt_rows), "tank/a", "bk/a")
    return (t and t["name"], s and s["name"])


def test_common_base_is_the_newest_common_by_name_and_guid():
    # Received snapshots get the target's own txgs; only names and guids are shared.
    assert base(SRC_ROWS, [fs("bk/a"), snap("bk/a@a", 5, "101"), snap("bk/a@b", 6, "102")]) == ("bk/a@b", "tank/a@b")
    assert base(SRC_ROWS, [fs("bk/a"), snap("bk/a@a", 5, "101")]) == ("bk/a@a", "tank/a@a")
    assert base(SRC_ROWS, [fs("bk/a"), snap("bk/a@a", 5, "101"), snap("bk/a@b", 6, "102"),
                           snap("bk/a@c", 7, "103")]) == ("bk/a@c", "tank/a@c")


def test_common_base_returns_the_listing_items():
    src = listing(*SRC_ROWS)
    tgt = listing(fs("bk/a"), snap("bk/a@b", 6, "102"))
    t, s = rplan.common_base(src, tgt, "tank/a", "bk/a")
    assert t is tgt["snaps"]["bk/a"][0] and s is src["snaps"]["tank/a"][1]


def test_common_base_same_name_different_guid_is_not_common():
    assert base(SRC_ROWS, [fs("bk/a"), snap("bk/a@a", 5, "101"), snap("bk/a@b", 6, "999")]) == ("bk/a@a", "tank/a@a")
    assert base(SRC_ROWS, [fs("bk/a"), snap("bk/a@b", 6, "999")]) == (None, None)


def test_common_base_same_guid_different_name_is_not_common():
    assert base(SRC_ROWS, [fs("bk/a"), snap("bk/a@renamed", 6, "102")]) == (None, None)


def test_common_base_newer_target_snapshots_the_source_lacks_are_skipped():
    assert base(SRC_ROWS, [fs("bk/a"), snap("bk/a@a", 5, "101"), snap("bk/a@local", 9, "555")]) == \
        ("bk/a@a", "tank/a@a")


def test_common_base_none():
    assert base(SRC_ROWS, [fs("bk/a"), snap("bk/a@x", 5, "201")]) == (None, None)
    assert base(SRC_ROWS, [fs("bk/a")]) == (None, None)
    assert base(SRC_ROWS, []) == (None, None)
    assert base([fs("tank/a")], [fs("bk/a"), snap("bk/a@a", 5, "101")]) == (None, None)


def test_common_base_a_source_bookmark_with_the_guid_and_name_counts():
    src = [fs("tank/a"), mark("tank/a#b", 20, "102"), snap("tank/a@c", 30, "103")]
    assert base(src, [fs("bk/a"), snap("bk/a@a", 5, "101"), snap("bk/a@b", 6, "102")]) == ("bk/a@b", "tank/a#b")


def test_common_base_a_bookmark_under_another_name_does_not_count():
    src = [fs("tank/a"), snap("tank/a@a", 10, "101"), mark("tank/a#sent-b", 20, "102"), snap("tank/a@c", 30, "103")]
    assert base(src, [fs("bk/a"), snap("bk/a@a", 5, "101"), snap("bk/a@b", 6, "102")]) == ("bk/a@a", "tank/a@a")


def test_common_base_a_snapshot_beats_a_bookmark_of_the_same_guid():
    src = SRC_ROWS + [mark("tank/a#b", 20, "102"), mark("tank/a#a", 10, "101")]
    tgt = [fs("bk/a"), snap("bk/a@a", 5, "101"), snap("bk/a@b", 6, "102")]
    assert base(src, tgt) == ("bk/a@b", "tank/a@b")
    assert base(list(reversed(src)), tgt) == ("bk/a@b", "tank/a@b")


def test_common_base_a_renamed_snapshot_does_not_hide_a_matching_bookmark():
    src = [fs("tank/a"), snap("tank/a@b-renamed", 20, "102"), mark("tank/a#b", 20, "102"), snap("tank/a@c", 30, "103")]
    assert base(src, [fs("bk/a"), snap("bk/a@b", 6, "102")]) == ("bk/a@b", "tank/a#b")


# ---------------------------------------------------------------------------- plan_pair

def plan(src_rows, tgt_rows, **kw):
    return rplan.plan_pair(listing(*src_rows), listing(*tgt_rows), "tank/a", "bk/a", opts(**kw))


def sends(steps):
    return [s.get("send") or s["argv"] for s in steps]


def test_plan_pair_without_a_source_snapshot_is_an_error():
    with pytest.raises(PlanError, match=r"^tank/a has no snapshot to send; take one first "
                                        r"\(helix\.zfs\.zfs_snapshot\)$"):
        plan([fs("tank/a"), fs("tank/b"), snap("tank/b@x", 3)], [])
    with pytest.raises(PlanError, match=r"no snapshot to send"):  # not even when the target is there
        plan([fs("tank/a"), mark("tank/a#x", 3)], [fs("bk/a"), snap("bk/a@x", 1, "13")])


def test_plan_pair_new_target_full_of_the_oldest_then_incremental_to_the_newest():
    src = listing(*SRC_ROWS)
    steps = rplan.plan_pair(src, listing(fs("bk")), "tank/a", "bk/a", opts(flags=["large_blocks", "compressed"]))
    a, _b, c = src["snaps"]["tank/a"]
    assert steps == [
        {"kind": "full", "send": ["zfs", "send", "-L", "-c", "tank/a@a"], "recv": RECV, "snapshot": a},
        {"kind": "incremental", "send": ["zfs", "send", "-L", "-c", "-I", "tank/a@a", "tank/a@c"], "recv": RECV,
         "snapshot": c},
    ]


def test_plan_pair_new_target_with_one_snapshot_is_one_full_send():
    steps = plan([fs("tank/a"), snap("tank/a@only", 10)], [])
    assert [(s["kind"], s["send"], s["snapshot"]["name"]) for s in steps] == \
        [("full", ["zfs", "send", "tank/a@only"], "tank/a@only")]


def test_plan_pair_new_target_ignores_source_bookmarks():
    steps = plan([fs("tank/a"), mark("tank/a#old", 5), snap("tank/a@a", 10), snap("tank/a@b", 20)], [])
    assert sends(steps) == [["zfs", "send", "tank/a@a"], ["zfs", "send", "-I", "tank/a@a", "tank/a@b"]]


def test_plan_pair_new_encrypted_target_is_sent_raw():
    steps = plan([fs("tank/a", encryption="aes-256-gcm"), snap("tank/a@a", 10), snap("tank/a@b", 20)], [],
                 flags=["compressed", "embedded"])
    assert sends(steps) == [["zfs", "send", "-w", "-e", "tank/a@a"],
                            ["zfs", "send", "-w", "-e", "-I", "tank/a@a", "tank/a@b"]]


def test_plan_pair_receive_argv():
    kw = {"exclude_properties": ["mountpoint", "sharenfs"],
          "receive_properties": {"readonly": "on", "canmount": "off", "com.example:note": "two words"}}
    want = ["zfs", "receive", "-s", "-u", "-x", "mountpoint", "-x", "sharenfs",
            "-o", "canmount=off", "-o", "com.example:note=two words", "-o", "readonly=on", "bk/a"]
    assert [s["recv"] for s in plan(SRC_ROWS, [], **kw)] == [want, want]
    incremental = plan(SRC_ROWS, [fs("bk/a"), snap("bk/a@a", 5, "101")], **kw)
    assert [s["recv"] for s in incremental] == [want]


def test_plan_pair_target_up_to_date_sends_nothing():
    tgt = [fs("bk/a"), snap("bk/a@a", 5, "101"), snap("bk/a@b", 6, "102"), snap("bk/a@c", 7, "103")]
    assert plan(SRC_ROWS, tgt) == []
    assert plan(SRC_ROWS, [fs("bk/a"), snap("bk/a@c", 7, "103")], rollback=True) == []


def test_plan_pair_incremental_from_the_common_snapshot():
    src = listing(*SRC_ROWS)
    tgt = listing(fs("bk/a"), snap("bk/a@a", 5, "101"))
    steps = rplan.plan_pair(src, tgt, "tank/a", "bk/a", opts(flags=["embedded"]))
    assert steps == [{"kind": "incremental", "send": ["zfs", "send", "-e", "-I", "tank/a@a", "tank/a@c"],
                      "recv": RECV, "snapshot": src["snaps"]["tank/a"][-1]}]
    assert sends(plan(SRC_ROWS, [fs("bk/a"), snap("bk/a@a", 5, "101"), snap("bk/a@b", 6, "102")])) == \
        [["zfs", "send", "-I", "tank/a@b", "tank/a@c"]]


def test_plan_pair_incremental_from_a_bookmark_uses_i():
    src = [fs("tank/a"), mark("tank/a#a", 10, "101"), mark("tank/a#b", 20, "102"), snap("tank/a@c", 30, "103"),
           snap("tank/a@d", 40, "104")]
    steps = plan(src, [fs("bk/a"), snap("bk/a@a", 5, "101"), snap("bk/a@b", 6, "102")])
    assert [(s["kind"], s["send"], s["snapshot"]["name"]) for s in steps] == \
        [("incremental", ["zfs", "send", "-i", "tank/a#b", "tank/a@d"], "tank/a@d")]


def test_plan_pair_incremental_encrypted_is_raw():
    src = [fs("tank/a", encryption="aes-256-gcm")] + SRC_ROWS[1:]
    assert sends(plan(src, [fs("bk/a"), snap("bk/a@b", 6, "102")], flags=ALL_FLAGS)) == \
        [["zfs", "send", "-w", "-L", "-e", "-I", "tank/a@b", "tank/a@c"]]
    assert sends(plan(src, [fs("bk/a"), snap("bk/a@b", 6, "102")], flags=ALL_FLAGS, send_decrypted=True)) == \
        [["zfs", "send", "-c", "-L", "-e", "-I", "tank/a@b", "tank/a@c"]]


@pytest.mark.parametrize("tgt", [
    [fs("bk/a")],
    [fs("bk/a"), snap("bk/a@x", 5, "201")],
    [fs("bk/a"), snap("bk/a@a", 5, "999"), snap("bk/a@b", 6, "998")],  # same names, other guids
])
def test_plan_pair_target_without_a_common_snapshot_is_an_error(tgt):
    with pytest.raises(PlanError, match=r"^target bk/a exists but shares no snapshot \(by name and guid\) with "
                                        r"tank/a; nothing was sent\. Receive into a new dataset, or destroy the "
                                        r"target first\.$"):
        plan(SRC_ROWS, tgt)
    with pytest.raises(PlanError, match="shares no snapshot"):  # rollback does not help
        plan(SRC_ROWS, tgt, rollback=True)


DIVERGED = [fs("bk/a"), snap("bk/a@a", 5, "101"), snap("bk/a@b", 6, "102"), snap("bk/a@local1", 8, "501"),
            snap("bk/a@c", 9, "999")]  # @c: the source's name, not its guid


def test_plan_pair_diverged_by_newer_target_snapshots_is_an_error():
    with pytest.raises(PlanError, match=r"^target bk/a has diverged \(snapshots newer than the common b: local1, "
                                        r"c\)\. Nothing was sent\. Set rollback: true to roll it back to b, "
                                        r"destroying them\.$"):
        plan(SRC_ROWS, DIVERGED)


def test_plan_pair_diverged_by_written_bytes_is_an_error():
    tgt = [fs("bk/a", written=4096), snap("bk/a@a", 5, "101"), snap("bk/a@b", 6, "102")]
    with pytest.raises(PlanError, match=r"^target bk/a has diverged \(4096 bytes written since b\)\. Nothing was "
                                        r"sent\. Set rollback: true"):
        plan(SRC_ROWS, tgt)
    with pytest.raises(PlanError, match=r"\(4096 bytes written since c\).*rollback: true"):  # even when up to date
        plan(SRC_ROWS, [fs("bk/a", written=4096), snap("bk/a@c", 7, "103")])


def test_plan_pair_written_on_a_target_without_the_newest_common_is_still_newer_snapshots():
    tgt = [fs("bk/a", written=4096), snap("bk/a@a", 5, "101"), snap("bk/a@local", 8, "501")]
    with pytest.raises(PlanError, match=r"snapshots newer than the common a: local\)"):
        plan(SRC_ROWS, tgt)


def test_plan_pair_rollback_then_incremental():
    src = listing(*SRC_ROWS)
    steps = rplan.plan_pair(src, listing(*DIVERGED), "tank/a", "bk/a", opts(rollback=True))
    assert steps == [
        {"kind": "rollback", "argv": ["zfs", "rollback", "-r", "bk/a@b"], "destroys": ["bk/a@local1", "bk/a@c"]},
        {"kind": "incremental", "send": ["zfs", "send", "-I", "tank/a@b", "tank/a@c"], "recv": RECV,
         "snapshot": src["snaps"]["tank/a"][-1]},
    ]


def test_plan_pair_rollback_of_written_bytes_destroys_nothing():
    tgt = [fs("bk/a", written=4096), snap("bk/a@a", 5, "101"), snap("bk/a@b", 6, "102")]
    assert plan(SRC_ROWS, tgt, rollback=True) == [
        {"kind": "rollback", "argv": ["zfs", "rollback", "-r", "bk/a@b"], "destroys": []},
        {"kind": "incremental", "send": ["zfs", "send", "-I", "tank/a@b", "tank/a@c"], "recv": RECV,
         "snapshot": listing(*SRC_ROWS)["snaps"]["tank/a"][-1]},
    ]
    # Already at the newest: the rollback alone.
    assert sends(plan(SRC_ROWS, [fs("bk/a", written=1), snap("bk/a@c", 7, "103")], rollback=True)) == \
        [["zfs", "rollback", "-r", "bk/a@c"]]


def test_plan_pair_rollback_to_a_bookmark_base_then_i():
    src = [fs("tank/a"), mark("tank/a#b", 20, "102"), snap("tank/a@c", 30, "103")]
    tgt = [fs("bk/a"), snap("bk/a@b", 6, "102"), snap("bk/a@local", 8, "501")]
    assert sends(plan(src, tgt, rollback=True)) == [["zfs", "rollback", "-r", "bk/a@b"],
                                                    ["zfs", "send", "-i", "tank/a#b", "tank/a@c"]]


def test_plan_pair_no_rollback_step_when_not_diverged():
    steps = plan(SRC_ROWS, [fs("bk/a"), snap("bk/a@a", 5, "101")], rollback=True)
    assert [s["kind"] for s in steps] == ["incremental"]


def test_plan_pair_never_sends_backwards_from_a_newer_bookmark():
    src = [fs("tank/a"), snap("tank/a@a", 10, "101"), mark("tank/a#b", 20, "102")]  # tank/a@b destroyed
    tgt = [fs("bk/a"), snap("bk/a@a", 5, "101"), snap("bk/a@b", 6, "102")]
    try:
        steps = plan(src, tgt)
    except PlanError:
        return  # a clear refusal is fine too
    assert steps == []  # the target already has everything the source can send


@pytest.mark.parametrize("newer", [snap("bk/a@local", 8, "501", userrefs=1),
                                   snap("bk/a@local", 8, "501", clones="bk/clone")])
def test_plan_pair_refuses_to_roll_back_over_held_or_cloned_snapshots(newer):
    with pytest.raises(PlanError, match=r"bk/a@local"):
        plan(SRC_ROWS, [fs("bk/a"), snap("bk/a@b", 6, "102"), newer], rollback=True)


# ---------------------------------------------------------------------------- parse_token_contents

TOKEN_OUTPUT = """\
resume token contents:
nvlist version: 0
\tobject = 0x6
\toffset = 0x2e0000
\tbytes = 0x2e3ac8
\ttoguid = 0x8bd3c4e4ad2c1f0b
\ttoname = tank/a@helix_20261122T000000Z_hourly
\tembedok = 1
\tlargeblockok = 1
\tcompressok = 1
\trawok = 1
full send of tank/a@helix_20261122T000000Z_hourly estimated size is 1.52M
total estimated size is 1.52M
"""


def test_parse_token_contents():
    assert rplan.parse_token_contents(TOKEN_OUTPUT) == {
        "object": "0x6", "offset": "0x2e0000", "bytes": "0x2e3ac8", "toguid": "0x8bd3c4e4ad2c1f0b",
        "toname": "tank/a@helix_20261122T000000Z_hourly", "embedok": "1", "largeblockok": "1",
        "compressok": "1", "rawok": "1"}


def test_parse_token_contents_incremental_with_spaces_and_no_rawok():
    out = rplan.parse_token_contents("resume token contents:\nnvlist version: 0\n"
                                     "        fromguid = 0x1111\n        object = 0x80\n"
                                     "        toguid = 0x2222\n        toname = bk/a@b\n  compressok = 1\n"
                                     "incremental send of bk/a@b estimated size is 12K\n")
    assert out == {"fromguid": "0x1111", "object": "0x80", "toguid": "0x2222", "toname": "bk/a@b",
                   "compressok": "1"}
    assert "rawok" not in out


@pytest.mark.parametrize("text", [
    "",
    "cannot resume send: kernel modules must be upgraded to receive this stream.\n",
    "nvlist version: 0\ntotal estimated size is 0\n\n",
    "toname=bk/a@b\n",  # not the " = " zfs prints
])
def test_parse_token_contents_ignores_other_lines(text):
    assert rplan.parse_token_contents(text) == {}


# ---------------------------------------------------------------------------- properties

NAMES = st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789_-.:", min_size=1, max_size=10)


@st.composite
def chains(draw):
    """(names, guids, source txgs, target txgs) of one chain of snapshots, oldest first."""
    names = draw(st.lists(NAMES, min_size=1, max_size=15, unique=True))
    n = len(names)
    guids = draw(st.lists(st.integers(min_value=1, max_value=2 ** 64 - 1), min_size=n, max_size=n, unique=True))
    txgs = []
    for side in range(2):
        steps = draw(st.lists(st.integers(min_value=1, max_value=10 ** 6), min_size=n, max_size=n))
        txgs.append([sum(steps[:i + 1]) + side for i in range(n)])
    return names, [str(g) for g in guids], txgs[0], txgs[1]


@given(chain=chains(), data=st.data())
def test_plan_pair_sends_from_the_targets_last_snapshot_to_the_newest(chain, data):
    names, guids, stxgs, ttxgs = chain
    k = data.draw(st.integers(min_value=1, max_value=len(names)), label="target holds")
    kw = {"flags": data.draw(st.lists(st.sampled_from(sorted(rplan.FLAGS)), unique=True), label="flags"),
          "rollback": data.draw(st.booleans(), label="rollback")}
    src = [fs("tank/a", encryption=data.draw(st.sampled_from(["off", "aes-256-gcm"]), label="encryption"))]
    src += [snap("tank/a@" + n, t, g) for n, g, t in zip(names, guids, stxgs)]
    tgt = [fs("bk/a")] + [snap("bk/a@" + n, t, g) for n, g, t in zip(names[:k], guids[:k], ttxgs[:k])]
    steps = plan(src, tgt, **kw)
    assert all(s["kind"] != "rollback" for s in steps)
    if k == len(names):
        assert steps == []
        return
    assert len(steps) == 1
    (step,) = steps
    assert step["kind"] == "incremental" and step["recv"] == RECV
    assert step["send"][:2] == ["zfs", "send"]
    assert step["send"][-3:] == ["-I", "tank/a@" + names[k - 1], "tank/a@" + names[-1]]
    assert (step["snapshot"]["name"], step["snapshot"]["guid"]) == ("tank/a@" + names[-1], guids[-1])


@given(chain=chains(), data=st.data())
def test_plan_pair_falls_back_to_bookmarks_of_destroyed_snapshots(chain, data):
    """The source bookmarks every snapshot and keeps a random subset of them (always the newest)."""
    names, guids, stxgs, ttxgs = chain
    n = len(names)
    k = data.draw(st.integers(min_value=1, max_value=n), label="target holds")
    kept = data.draw(st.lists(st.booleans(), min_size=n - 1, max_size=n - 1), label="kept") + [True]
    src = [fs("tank/a")] + [mark("tank/a#" + nm, t, g) for nm, g, t in zip(names, guids, stxgs)]
    src += [snap("tank/a@" + nm, t, g) for nm, g, t, keep in zip(names, guids, stxgs, kept) if keep]
    tgt = [fs("bk/a")] + [snap("bk/a@" + nm, t, g) for nm, g, t in zip(names[:k], guids[:k], ttxgs[:k])]
    steps = plan(src, tgt)
    if k == n:
        assert steps == []
        return
    want = ["-I", "tank/a@" + names[k - 1]] if kept[k - 1] else ["-i", "tank/a#" + names[k - 1]]
    assert sends(steps) == [["zfs", "send"] + want + ["tank/a@" + names[-1]]]


# ---------------------------------------------------------------------------- refusals, file names

@pytest.mark.parametrize("source, target, same", [
    ("tank/a", "tank/a", True), ("tank/a", "tank/a/b", True), ("tank/a/b", "tank/a", True),
    ("tank/a", "tank", True), ("tank/a", "tank/ab", False), ("tank/a", "tank2/a", False),
])
def test_same_tree(source, target, same):
    assert rplan.same_tree(source, target) is same


def test_stream_file_names_keep_look_alike_datasets_apart():
    names = {rplan.stream_file_name(ds, "s1") for ds in ("tank/a_b", "tank/a/b", "tank_a/b", "tank_a_b")}
    assert len(names) == 4
    assert rplan.stream_file_name("tank/a/b", "s2", "tank/a/b@s1") == "tank%a%b@s2%from@s1.zstream"
    # A bookmark base and a snapshot base of one name are different streams.
    assert rplan.stream_file_name("t/a", "s2", "t/a#s1") != rplan.stream_file_name("t/a", "s2", "t/a@s1")
    # A snapshot named like another's "from" part can't produce the same file.
    assert rplan.stream_file_name("t/a", "x-from-y") != rplan.stream_file_name("t/a", "x", "t/a@y")


@given(st.lists(st.tuples(st.from_regex(r"[a-z][a-z0-9_./-]{0,12}", fullmatch=True),
                          st.from_regex(r"[a-z0-9_.:-]{1,6}", fullmatch=True)), min_size=2, max_size=6, unique=True))
def test_stream_file_names_are_injective(streams):
    assert len({rplan.stream_file_name(ds, snap) for ds, snap in streams}) == len(streams)


def _snaps(ds, *items):
    """(short, guid, txg, userrefs) -> listing snapshots of ds."""
    return [{"name": "%s@%s" % (ds, s), "short": s, "guid": g, "txg": t, "userrefs": u, "clones": [],
             "dataset": ds} for s, g, t, u in items]


def test_pruned_on_source_drops_only_what_the_source_pruned_below_the_common_one():
    # Issue 16 (A7): received snapshots were never pruned, so replicas grew without bound.
    src = {"snaps": {"p/a": _snaps("p/a", ("s3", "g3", 30, 0), ("s4", "g4", 40, 0))}, "bookmarks": {}}
    tgt = {"snaps": {"t/a": _snaps("t/a", ("s1", "g1", 1, 0), ("s2", "g2", 2, 1), ("x", "gx", 3, 0),
                                   ("s3", "g3", 4, 0), ("s4", "g4", 5, 0))}, "bookmarks": {}}
    # s1 and the target's own x go; s2 is held; s3 is on the source; s4 is the common one.
    assert [t["short"] for t in rplan.pruned_on_source(src, tgt, "p/a", "t/a")] == ["s1", "x"]
    # No common snapshot: nothing to judge by, nothing goes.
    assert rplan.pruned_on_source({"snaps": {"p/a": []}, "bookmarks": {}}, tgt, "p/a", "t/a") == []


# ---------------------------------------------------------------------------- verification

def test_guid_chain_holds_when_every_common_name_has_the_same_guid_and_the_newest_is_there():
    src = listing(*SRC_ROWS)
    assert rplan.guid_chain_breaks(src, listing(fs("bk/a"), snap("bk/a@b", 5, "102"), snap("bk/a@c", 6, "103")),
                                   "tank/a", "bk/a") == []


def test_guid_chain_names_an_older_snapshot_with_another_guid():
    src = listing(*SRC_ROWS)
    tgt = listing(fs("bk/a"), snap("bk/a@b", 5, "999"), snap("bk/a@c", 6, "103"))
    assert rplan.guid_chain_breaks(src, tgt, "tank/a", "bk/a") == [("tank/a@b", "102", "999")]


def test_guid_chain_names_a_missing_newest():
    src = listing(*SRC_ROWS)
    tgt = listing(fs("bk/a"), snap("bk/a@b", 5, "102"))
    assert rplan.guid_chain_breaks(src, tgt, "tank/a", "bk/a") == [("tank/a@c", "103", None)]


def test_content_verify_of_a_raw_encrypted_source_needs_the_targets_key_loaded():
    src = listing(fs("tank/c", encryption="aes-256-gcm"), fs("tank/c/k", encryption="aes-256-gcm"), fs("tank/p"))
    tgt = listing(fs("bk/c", encryption="aes-256-gcm", keystatus="available"))
    todo = [("tank/c", "bk/c"), ("tank/c/k", "bk/c/k"), ("tank/p", "bk/p")]
    assert rplan.unreadable_for_content(src, tgt, todo, False) == ["bk/c/k"]
    assert rplan.unreadable_for_content(src, tgt, todo, True) == []
    locked = listing(fs("bk/c", encryption="aes-256-gcm", keystatus="unavailable"))
    assert rplan.unreadable_for_content(src, locked, todo[:1], False) == ["bk/c"]


def test_a_volume_is_received_without_the_filesystem_only_properties():
    o = opts(exclude_properties=["mountpoint", "com.example:x"], receive_properties={"canmount": "noauto",
                                                                                     "readonly": "on"})
    assert rplan.receive_argv("bk/v", o, volume=True) == ["zfs", "receive", "-s", "-u", "-x", "com.example:x",
                                                          "-o", "readonly=on", "bk/v"]
    steps = plan([fs("tank/a", kind="volume"), snap("tank/a@a", 10)], [], receive_properties={"canmount": "noauto"})
    assert steps[0]["recv"] == ["zfs", "receive", "-s", "-u", "bk/a"]


def test_stale_bookmarks_are_those_past_the_newest_few_never_the_newest_sent():
    marks = [{"name": "t/a#%d" % i, "guid": str(i)} for i in range(5)]
    assert [b["name"] for b in rplan.stale_bookmarks(marks, 2, "4")] == ["t/a#0", "t/a#1", "t/a#2"]
    assert [b["name"] for b in rplan.stale_bookmarks(marks, 2, "1")] == ["t/a#0", "t/a#2"]
    assert rplan.stale_bookmarks(marks, 0, "4") == [] and rplan.stale_bookmarks(marks, 5, "4") == []


def test_yaml_booleans_in_receive_properties_are_zfs_words():
    o = opts(receive_properties={"readonly": True, "atime": False})
    assert rplan.receive_argv("bk/a", o) == ["zfs", "receive", "-s", "-u", "-o", "atime=off", "-o", "readonly=on", "bk/a"]


REQUEST = {"source": "tank/a", "target": "bk/a", "target_host": None, "restore_from": None, "keep_bookmarks": 10,
           "hold": None}


@pytest.mark.parametrize("change, words", [
    ({"source": "tank/a@s"}, "invalid source dataset name"),
    ({"target": "bk//a"}, "invalid target dataset name"),
    ({"keep_bookmarks": -1}, "keep_bookmarks must be 0"),
    ({"hold": "-r"}, "invalid hold tag"),
    ({"target_host": "-oProxyCommand=x"}, "invalid target_host"),
    ({"target": "tank/a/b"}, "in the same tree on this host"),
])
def test_check_request_names_the_wrong_option(change, words):
    with pytest.raises(PlanError, match=words):
        rplan.check_request(dict(REQUEST, **change))


def test_check_request_takes_a_good_request_and_a_peer_may_use_the_same_name():
    rplan.check_request(REQUEST)
    rplan.check_request(dict(REQUEST, target="tank/a", target_host="lab2"))


@pytest.mark.parametrize("spec, clock, rate", [
    (None, (12, 0), None),
    ("20M", (3, 7), 20 << 20),
    ({"08:00-20:00": "20M"}, (8, 0), 20 << 20),
    ({"08:00-20:00": "20M"}, (20, 0), None),
    ({"22:00-06:00": "1M", "08:00-20:00": "20M"}, (23, 30), 1 << 20),
    ({"22:00-06:00": "1M"}, (5, 59), 1 << 20),
    ({"22:00-06:00": "1M"}, (6, 0), None),
    ({"00:00-24:00": "5M", "12:00-13:00": "1M"}, (12, 30), 1 << 20),  # overlapping: the smaller
])
def test_bandwidth_by_time_of_day(spec, clock, rate):
    assert rplan.bandwidth_now(spec, clock) == rate


@pytest.mark.parametrize("spec, words", [
    ("fast", "not a size"), ({"8-20": "1M"}, "HH:MM-HH:MM"), ({"08:00-08:00": "1M"}, "span of a day"),
    ({"08:00-25:00": "1M"}, "span of a day"), ("0", "positive"),
])
def test_bad_bandwidth_is_refused(spec, words):
    with pytest.raises(PlanError, match=words):
        rplan.bandwidth_now(spec, (0, 0))
