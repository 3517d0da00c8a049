"""The dataset planner (_zfs_dataset_plan): declared datasets and current properties (as
_read.parse_get reads them, here from real OpenZFS 2.3.2 output) in, zfs commands (or
PlanError) out. Pure logic, no zfs."""
import re

import pytest
from hypothesis import given, strategies as st

from ansible_collections.helix.zfs.plugins.module_utils import _zfs_dataset_plan as plan
from ansible_collections.helix.zfs.plugins.module_utils._props import normalize_value, parse_value
from ansible_collections.helix.zfs.plugins.module_utils._errors import PlanError
from ansible_collections.helix.zfs.plugins.module_utils._read import parse_get as parse_rows

KEY = "correct horse battery staple"


def prop(value, source="local", frm=None):
    return {"value": value, "source": source, "from": frm}


def ds(name="tp/a", **kw):
    """A declared dataset with every option filled in, as declared() makes it."""
    out = dict(name=name, state="present", type="filesystem", properties={}, inherit=[], localize=False,
               key=None, key_loaded=None, new_key=None, origin=None, promote=False, rename_from=None,
               sparse=False, recursive=False, destroy_dependents=False)
    out.update(kw)
    return out


@pytest.fixture
def rows(fixture_text):
    return parse_rows(fixture_text("zfs", "get-basic.tsv"))


def argvs(cmds):
    return [c["argv"] for c in cmds]


def converge(d, current, exists=True, renamed_from_exists=False):
    """plan_one's commands' argvs only."""
    return argvs(plan.plan_one(d, current, exists, renamed_from_exists)[0])


# ---------------------------------------------------------------------------- same

@pytest.mark.parametrize("p, current, wanted", [
    ("quota", 10737418240, "10G"), ("quota", 0, "none"), ("refquota", 1073741824, "1024M"),
    ("recordsize", 131072, "128K"), ("compression", "on", "lz4"), ("compression", "lz4", "on"),
    ("encryption", "aes-256-gcm", "on"), ("checksum", "on", "fletcher4"), ("dedup", "sha256", "on"),
    ("mountpoint", "/tp/a", "/tp/a/"), ("mountpoint", "/", "/"), ("mountpoint", "/", "//"),
    ("keylocation", "file:///k", "file:///k/"), ("xattr", "on", "sa"), ("atime", "off", "off"),
    ("copies", 2, "2"), ("com.example:tag", "x", "x"), ("origin", None, None),
])
def test_same(p, current, wanted):
    assert plan.same(p, current, wanted)


@pytest.mark.parametrize("p, current, wanted", [
    ("quota", 10737418240, "11G"), ("quota", 0, "1K"), ("compression", "on", "zstd"),
    ("compression", "off", "lz4"), ("encryption", "aes-256-gcm", "aes-128-ccm"),
    ("encryption", "off", "on"), ("mountpoint", "/tp/a", "/tp/b"), ("mountpoint", "/tp/a", "none"),
    ("atime", "on", "off"), ("com.example:tag", "x", "X"), ("com.example:tag", None, "x"),
    ("sync", "standard", "always"), ("checksum", "on", "sha256"), ("dedup", "on", "fletcher4"),
])
def test_not_same(p, current, wanted):
    assert not plan.same(p, current, wanted)


# ---------------------------------------------------------------------------- check_names

@pytest.mark.parametrize("name", sorted(plan.READ_ONLY))
def test_check_names_refuses_each_read_only_property(name):
    with pytest.raises(PlanError, match=r"^read-only properties can't be set: %s$" % name):
        plan.check_names({name: "x", "quota": "1G"})


def test_check_names_lists_every_read_only_property_sorted():
    with pytest.raises(PlanError, match=r"^read-only properties can't be set: type, used$"):
        plan.check_names({"used": "1", "quota": "1G", "type": "volume"})


def test_check_names_allows_settable_and_user_properties():
    assert plan.check_names({"quota": "1G", "encryption": "on", "volsize": "1G", "com.example:used": "y"}) is None
    assert plan.check_names({}) is None


# ---------------------------------------------------------------------------- create

def test_create_filesystem_sorted_options():
    cmds, before, after = plan.plan_one(
        ds(properties={"quota": "1G", "compression": "lz4", "com.example:tag": "x"}), {}, False, False)
    assert cmds == [{"argv": ["zfs", "create", "-p", "-o", "com.example:tag=x", "-o", "compression=lz4",
                              "-o", "quota=1G", "tp/a"], "stdin_key": None}]
    assert before == {"state": "absent"}
    assert after == {"state": "present", "properties": {"quota": "1G", "compression": "lz4", "com.example:tag": "x"}}


def test_create_without_properties():
    assert converge(ds(), {}, exists=False) == [["zfs", "create", "-p", "tp/a"]]


def test_create_leaves_inherit_values_out():
    assert converge(ds(properties={"sync": "inherit", "atime": "off"}), {}, exists=False) == [
        ["zfs", "create", "-p", "-o", "atime=off", "tp/a"]]


@pytest.mark.parametrize("sparse, flags", [(False, []), (True, ["-s"])])
def test_create_volume(sparse, flags):
    d = ds("tp/v", type="volume", sparse=sparse, properties={"volsize": "1G", "volblocksize": "16K"})
    assert converge(d, {}, exists=False) == [
        ["zfs", "create", "-p"] + flags + ["-V", "1G", "-o", "volblocksize=16K", "tp/v"]]


def test_create_volume_needs_volsize():
    with pytest.raises(PlanError, match=r"^tp/v: a volume needs volsize$"):
        plan.plan_one(ds("tp/v", type="volume", properties={"volblocksize": "16K"}), {}, False, False)


def test_volsize_of_a_filesystem_is_not_a_volume_size():
    # -V only for volumes: a filesystem's volsize would be refused by zfs, not turned into a volume
    assert converge(ds(properties={"quota": "1G"}), {}, exists=False) == [
        ["zfs", "create", "-p", "-o", "quota=1G", "tp/a"]]


def test_clone():
    d = ds("tp/c", origin="tp/a@s1", properties={"quota": "1G", "mountpoint": "/srv/c"})
    assert converge(d, {}, exists=False) == [
        ["zfs", "clone", "-p", "-o", "mountpoint=/srv/c", "-o", "quota=1G", "tp/a@s1", "tp/c"]]


def test_volume_clone_applies_its_declared_volsize():
    d = ds("tp/vc", type="volume", origin="tp/v@s1", properties={"volsize": "2G"})
    cmds = converge(d, {}, exists=False)
    assert cmds[0][:2] == ["zfs", "clone"]
    assert any(arg in ("volsize=2G", "2G") for argv in cmds for arg in argv)


def test_create_encrypted_pipes_the_key():
    d = ds("tp/s", key=KEY, properties={"encryption": "on", "keyformat": "passphrase"})
    cmds, before, after = plan.plan_one(d, {}, False, False)
    assert cmds == [{"argv": ["zfs", "create", "-p", "-o", "encryption=on", "-o", "keyformat=passphrase",
                              "-o", "keylocation=prompt", "tp/s"], "stdin_key": "key"}]
    assert KEY not in repr(cmds) and KEY not in repr(before) and KEY not in repr(after)


def test_clone_with_key_keeps_it_out_of_argv():
    cmds = plan.plan_one(ds("tp/s2", origin="tp/s@s1", key=KEY), {}, False, False)[0]
    assert cmds == [{"argv": ["zfs", "clone", "-p", "-o", "keylocation=prompt", "tp/s@s1", "tp/s2"],
                     "stdin_key": "key"}]
    assert not any(KEY in arg for arg in cmds[0]["argv"])


def test_create_argv_directly():
    assert plan.create_argv(ds("tp/v", type="volume", properties={"volsize": 1073741824})) == [
        "zfs", "create", "-p", "-V", "1073741824", "tp/v"]


# ---------------------------------------------------------------------------- converge

def test_converged_dataset_is_a_no_op(rows):
    d = ds(properties={"quota": "1G", "compression": "lz4", "com.example:tag": "x", "mountpoint": "/tp/a/"})
    assert plan.plan_one(d, rows["tp/a"], True, False) == ([], None, None)


@pytest.mark.parametrize("props", [
    {"quota": "1073741824"}, {"quota": 1073741824}, {"quota": "1024M"}, {"quota": "1GiB"},
    {"compression": "on"}, {"compression": "lz4"}, {"mountpoint": "/tp/a"}, {"mountpoint": "/tp/a//"},
])
def test_values_in_other_forms_are_no_ops(rows, props):
    assert plan.property_changes("tp/a", rows["tp/a"], props, [], False) == ([], [])


def test_quota_none_is_zero(rows):
    assert plan.property_changes("tp/a/b", rows["tp/a/b"], {"quota": "none"}, [], False) == ([], [])
    assert plan.property_changes("tp/a", rows["tp/a"], {"quota": "none"}, [], False) == (["quota=none"], [])


def test_encryption_on_matches_the_cipher_it_means():
    current = {"encryption": prop("aes-256-gcm", "local"), "keyformat": prop("passphrase")}
    assert plan.property_changes("tp/s", current, {"encryption": "on", "keyformat": "passphrase"}, [], False) == (
        [], [])


def test_changed_properties_in_one_zfs_set(rows):
    d = ds(properties={"quota": "2G", "compression": "zstd", "atime": "off", "com.example:tag": "y",
                       "mountpoint": "/tp/a"})
    cmds, before, after = plan.plan_one(d, rows["tp/a"], True, False)
    assert argvs(cmds) == [["zfs", "set", "atime=off", "com.example:tag=y", "compression=zstd", "quota=2G", "tp/a"]]
    # values not set locally say where they come from
    assert before == {"properties": {"atime": None, "com.example:tag": "x", "compression": "on (default)",
                                     "mountpoint": "/tp/a (default)", "quota": 1073741824},
                      "keystatus": None, "origin": None, "key": "current"}
    assert after == {"properties": {"atime": "off", "com.example:tag": "y", "compression": "zstd",
                                    "mountpoint": "/tp/a", "quota": "2G"},
                     "keystatus": None, "origin": None, "key": "current"}


def test_inherited_matching_value_is_left_inherited(rows):
    assert plan.property_changes("tp/a/b", rows["tp/a/b"], {"com.example:tag": "x", "compression": "lz4"},
                                 [], False) == ([], [])


def test_localize_sets_inherited_and_default_matching_values(rows):
    props = {"com.example:tag": "x", "compression": "lz4", "quota": "0"}
    assert converge(ds("tp/a/b", properties=props, localize=True), rows["tp/a/b"]) == [
        ["zfs", "set", "com.example:tag=x", "compression=lz4", "quota=0", "tp/a/b"]]


def test_localize_leaves_local_values_alone(rows):
    assert plan.property_changes("tp/a", rows["tp/a"], {"quota": "1G", "com.example:tag": "x"}, [], True) == ([], [])


def test_localize_never_sets_creation_only_properties():
    current = {"encryption": prop("aes-256-gcm", "inherited", "tp/s"), "compression": prop("on", "received")}
    assert plan.property_changes("tp/s/c", current, {"encryption": "on", "compression": "on"}, [], True) == (
        ["compression=on"], [])


def test_inherit_value_resets_only_local_or_received(rows):
    assert converge(ds(properties={"com.example:tag": "inherit", "compression": "inherit"}), rows["tp/a"]) == [
        ["zfs", "inherit", "com.example:tag", "tp/a"]]
    # inherited, default or not set at all: nothing to reset
    props = {"com.example:tag": "inherit", "compression": "inherit", "com.example:other": "inherit"}
    assert converge(ds("tp/a/b", properties=props), rows["tp/a/b"]) == []


@pytest.mark.parametrize("source, resets", [
    ("local", ["sync"]), ("received", ["sync"]), ("inherited", []), ("default", []),
    ("temporary", []), ("none", []),
])
def test_inherit_list_by_source(source, resets):
    current = {"sync": prop("always", source, "tp" if source == "inherited" else None)}
    assert plan.property_changes("tp/a", current, {}, ["sync"], False) == ([], resets)
    assert plan.property_changes("tp/a", current, {"sync": "inherit"}, [], False) == ([], resets)


def test_inherit_list_one_command_per_property_sorted_without_duplicates(rows):
    current = dict(rows["tp/a"], sync=prop("always"), atime=prop("off", "received"))
    inherit = ["sync", "quota", "atime", "compression", "com.example:tag", "nosuch"]
    cmds = converge(ds(properties={"sync": "inherit"}, inherit=inherit), current)
    assert cmds == [["zfs", "inherit", p, "tp/a"] for p in ("atime", "com.example:tag", "quota", "sync")]


def test_set_comes_before_inherit(rows):
    cmds = converge(ds(properties={"atime": "off"}, inherit=["quota"]), rows["tp/a"])
    assert cmds == [["zfs", "set", "atime=off", "tp/a"], ["zfs", "inherit", "quota", "tp/a"]]


def test_value_and_inherit_for_one_property_is_refused():
    with pytest.raises(PlanError, match="sync"):
        plan.property_changes("tp/a", {"sync": prop("always")}, {"sync": "always"}, ["sync"], False)


def test_numeric_looking_user_property_is_idempotent():
    current = parse_rows("tp/a\tcom.example:id\t007\tlocal\n")["tp/a"]
    assert plan.property_changes("tp/a", current, {"com.example:id": "007"}, [], False) == ([], [])


# ---------------------------------------------------------------------------- creation-only

@pytest.mark.parametrize("p, have, want", [
    ("volblocksize", 16384, "8K"), ("encryption", "off", "on"), ("encryption", "aes-256-gcm", "aes-128-gcm"),
    ("casesensitivity", "sensitive", "insensitive"), ("normalization", "none", "formD"),
    ("utf8only", "off", "on"), ("keyformat", "passphrase", "hex"), ("pbkdf2iters", 350000, "1000000"),
])
def test_creation_only_difference_is_an_error(p, have, want):
    current = {p: prop(have), "quota": prop(0, "default")}
    with pytest.raises(PlanError) as e:
        plan.property_changes("tp/a", current, {p: want, "quota": "1G"}, [], False)
    assert str(e.value).startswith("tp/a: %s is %s, declared %s; " % (p, have, want))
    assert "fixed when the dataset is created" in str(e.value)
    with pytest.raises(PlanError):
        plan.plan_one(ds(properties={p: want, "quota": "1G"}), current, True, False)


def test_creation_only_unset_is_named_unset():
    with pytest.raises(PlanError, match=r"^tp/a: utf8only is unset, declared on; "):
        plan.property_changes("tp/a", {}, {"utf8only": "on"}, [], False)


def test_every_creation_only_difference_is_named():
    current = {"casesensitivity": prop("sensitive"), "volblocksize": prop(16384)}
    with pytest.raises(PlanError, match=r"^tp/v: casesensitivity is sensitive, declared mixed; "
                                        r"volblocksize is 16384, declared 8K; "):
        plan.property_changes("tp/v", current, {"volblocksize": "8K", "casesensitivity": "mixed"}, [], False)


def test_creation_only_same_in_other_form_is_fine():
    current = {"volblocksize": prop(16384), "encryption": prop("aes-256-gcm")}
    assert plan.property_changes("tp/v", current, {"volblocksize": "16K", "encryption": "on"}, [], False) == (
        [], [])


# ---------------------------------------------------------------------------- type

@pytest.mark.parametrize("declared, actual", [("filesystem", "volume"), ("volume", "filesystem")])
def test_type_mismatch_is_an_error(declared, actual):
    d = ds("tp/x", type=declared, properties={"volsize": "1G"} if declared == "volume" else {})
    with pytest.raises(PlanError, match=r"^tp/x is a %s, declared a %s$" % (actual, declared)):
        plan.plan_one(d, {"type": prop(actual, "none")}, True, False)


def test_matching_type_is_fine():
    assert plan.plan_one(ds("tp/v", type="volume", properties={"volsize": "1G"}),
                         {"type": prop("volume", "none"), "volsize": prop(1073741824)}, True, False) == ([], None, None)


# ---------------------------------------------------------------------------- destroy

@pytest.mark.parametrize("recursive, dependents, flags", [
    (False, False, []), (True, False, ["-r"]), (False, True, ["-R"]), (True, True, ["-R"]),
])
def test_absent_destroys(rows, recursive, dependents, flags):
    d = ds(state="absent", recursive=recursive, destroy_dependents=dependents, properties={"quota": "2G"})
    cmds, before, after = plan.plan_one(d, rows["tp/a"], True, False)
    assert cmds == [{"argv": ["zfs", "destroy"] + flags + ["tp/a"], "dry_run": True}]
    assert (before, after) == ({"state": "present"}, {"state": "absent"})


def test_absent_and_gone_is_a_no_op():
    assert plan.plan_one(ds(state="absent", recursive=True), {}, False, False) == ([], None, None)
    # even when its rename_from exists: absent is about the declared name
    assert plan.plan_one(ds(state="absent", rename_from="tp/old"), {}, False, True) == ([], None, None)


# ---------------------------------------------------------------------------- rename

def test_rename_then_converge_under_the_new_name(rows):
    d = ds("tp/new/a", rename_from="tp/a", properties={"quota": "2G", "compression": "lz4"})
    cmds, before, after = plan.plan_one(d, rows["tp/a"], False, True)
    assert argvs(cmds) == [["zfs", "rename", "-p", "tp/a", "tp/new/a"], ["zfs", "set", "quota=2G", "tp/new/a"]]
    assert (before, after) == ({"name": "tp/a"}, {"name": "tp/new/a"})


def test_rename_when_new_name_exists_does_nothing(rows):
    assert plan.plan_one(ds(rename_from="tp/old", properties={"quota": "1G"}), rows["tp/a"], True, True) == (
        [], None, None)


def test_rename_from_missing_creates():
    assert converge(ds(rename_from="tp/old"), {}, exists=False, renamed_from_exists=False) == [
        ["zfs", "create", "-p", "tp/a"]]


# ---------------------------------------------------------------------------- keys

def keyed(status):
    return {"encryption": prop("aes-256-gcm"), "keyformat": prop("passphrase"),
            "keystatus": prop(status, "none"), "encryptionroot": prop("tp/s", "none")}


def test_load_key_pipes_the_key():
    cmds = plan.plan_one(ds("tp/s", key=KEY, key_loaded=True), keyed("unavailable"), True, False)[0]
    assert cmds == [{"argv": ["zfs", "load-key", "tp/s"], "stdin_key": "key"}]
    assert KEY not in repr(cmds)


def test_load_key_without_key_is_an_error():
    with pytest.raises(PlanError, match=r"^tp/s: loading its key needs key$"):
        plan.plan_one(ds("tp/s", key_loaded=True), keyed("unavailable"), True, False)


def test_unload_key():
    assert converge(ds("tp/s", key_loaded=False), keyed("available")) == [["zfs", "unload-key", "tp/s"]]


@pytest.mark.parametrize("key_loaded, status", [
    (True, "available"), (False, "unavailable"), (None, "available"), (None, "unavailable"),
    (True, None), (False, None),  # not encrypted: keystatus reads "-"
])
def test_key_already_as_declared(key_loaded, status):
    assert converge(ds("tp/s", key=KEY, key_loaded=key_loaded), keyed(status)) == []


def test_key_status_when_unencrypted_from_recorded_output(rows):
    current = dict(rows["tp/a"], **parse_rows("tp/a\tkeystatus\t-\t-\n")["tp/a"])
    assert converge(ds(key_loaded=True), current) == []
    assert converge(ds(key_loaded=False), current) == []


# ---------------------------------------------------------------------------- promote

@pytest.mark.parametrize("origin, promote, cmds", [
    ("tp/a@s1", True, [["zfs", "promote", "tp/c"]]), (None, True, []), ("-", True, []),
    ("tp/a@s1", False, []),
])
def test_promote_only_a_clone(origin, promote, cmds):
    assert converge(ds("tp/c", promote=promote), {"origin": prop(origin, "none")}) == cmds


def test_promote_from_recorded_output():
    current = parse_rows("tp/c\torigin\ttp/a@s1\t-\ntp/b\torigin\t-\t-\n")
    assert converge(ds("tp/c", promote=True), current["tp/c"]) == [["zfs", "promote", "tp/c"]]
    assert converge(ds("tp/b", promote=True), current["tp/b"]) == []


# ---------------------------------------------------------------------------- change-key

def test_change_key_when_the_module_found_the_new_key_does_not_open_it():
    cmds, before, after = plan.plan_one(ds("tp/s", new_key=KEY), keyed("available"), True, False, change_key=True)
    assert cmds == [{"argv": ["zfs", "change-key", "-o", "keylocation=prompt", "tp/s"], "stdin_key": "new_key"}]
    assert KEY not in repr(cmds)
    assert (before["key"], after["key"]) == ("current", "new")


def test_no_change_key_unless_flagged():
    assert plan.plan_one(ds("tp/s", new_key=KEY), keyed("available"), True, False) == ([], None, None)


# ---------------------------------------------------------------------------- everything at once, diff

def test_every_kind_of_change_in_order(rows):
    current = dict(rows["tp/a"], **keyed("unavailable"), origin=prop("tp/z@s", "none"))
    d = ds(properties={"quota": "3G", "sync": "inherit"}, inherit=["com.example:tag"], key=KEY, key_loaded=True,
           promote=True, new_key="another passphrase")
    cmds, before, after = plan.plan_one(d, current, True, False, change_key=True)
    # keyed() makes tp/s the encryption root: keys load there, not on tp/a
    assert argvs(cmds) == [["zfs", "set", "quota=3G", "tp/a"], ["zfs", "inherit", "com.example:tag", "tp/a"],
                           ["zfs", "load-key", "tp/s"], ["zfs", "change-key", "-o", "keylocation=prompt", "tp/a"],
                           ["zfs", "promote", "tp/a"]]
    assert [c.get("stdin_key") for c in cmds] == [None, None, "key", "new_key", None]
    assert before == {"properties": {"com.example:tag": "x", "quota": 1073741824, "sync": None},
                      "keystatus": "unavailable", "origin": "tp/z@s", "key": "current", "mounted": None}
    assert after == {"properties": {"com.example:tag": "(inherited)", "quota": "3G", "sync": None},
                     "keystatus": "available", "origin": None, "key": "new", "mounted": None}
    assert KEY not in repr((cmds, before, after)) and "another passphrase" not in repr((cmds, before, after))


def mountable(status, mounted, canmount="on"):
    return dict(keyed(status), mounted=prop(mounted, "none"), canmount=prop(canmount, "default"),
                mountpoint=prop("/tp/s", "default"))


@pytest.mark.parametrize("canmount, mounts", [
    ("on", [["zfs", "mount", "-R", "tp/s"]]),
    ("noauto", [["zfs", "mount", "tp/s"], ["zfs", "mount", "-R", "tp/s"]]),
    ("off", []),
])
def test_loading_a_key_mounts_the_dataset_and_its_children(canmount, mounts):
    cmds, before, after = plan.plan_one(ds("tp/s", key=KEY, key_loaded=True), mountable("unavailable", "no", canmount),
                                        True, False)
    assert argvs(cmds) == [["zfs", "load-key", "tp/s"]] + mounts
    assert (before["mounted"], after["mounted"]) == ("no", "yes" if mounts else "no")


def test_key_loaded_on_an_unmounted_dataset_whose_key_is_loaded_mounts_it():
    assert converge(ds("tp/s", key_loaded=True), mountable("available", "no")) == [["zfs", "mount", "-R", "tp/s"]]
    assert converge(ds("tp/s", key_loaded=True), mountable("available", "yes")) == []


def test_diff_of_unload_key():
    cmds, before, after = plan.plan_one(ds("tp/s", key_loaded=False), keyed("available"), True, False)
    assert argvs(cmds) == [["zfs", "unload-key", "tp/s"]]
    assert (before["keystatus"], after["keystatus"]) == ("available", "unavailable")
    assert before["properties"] == after["properties"] == {}


# ---------------------------------------------------------------------------- view

def test_view(rows):
    assert plan.view(rows["tp/a"], {"quota": "2G", "atime": "off", "compression": "inherit"}) == {
        "atime": None, "compression": "on (default)", "quota": 1073741824}
    assert plan.view(rows["tp/a/b"], ["com.example:tag"]) == {"com.example:tag": "x (inherited from tp/a)"}
    assert list(plan.view(rows["tp/a"], ["quota", "atime", "compression"])) == ["atime", "compression", "quota"]
    assert plan.view({}, {}) == {}


# ---------------------------------------------------------------------------- property tests

SIZE = st.one_of(st.builds("{0}{1}".format, st.integers(min_value=0, max_value=2**40),
                           st.sampled_from(["", "K", "M", "G", "k", "KiB"])), st.just("none"))
SETTABLE = {
    "quota": SIZE, "refquota": SIZE, "reservation": SIZE, "special_small_blocks": SIZE,
    "recordsize": st.sampled_from(["4K", "16K", "128K", "131072", "1M"]),
    "compression": st.sampled_from(["on", "off", "lz4", "zstd", "zstd-3", "gzip-9", "zle"]),
    "checksum": st.sampled_from(["on", "off", "fletcher4", "sha256", "blake3"]),
    "dedup": st.sampled_from(["on", "off", "sha256", "verify", "sha256,verify"]),
    "atime": st.sampled_from(["on", "off"]), "sync": st.sampled_from(["standard", "always", "disabled"]),
    "xattr": st.sampled_from(["on", "off", "sa", "dir"]), "copies": st.sampled_from(["1", "2", "3"]),
    "mountpoint": st.one_of(st.sampled_from(["none", "legacy", "/", "/srv/x/"]),
                            st.from_regex(r"\A(/[a-z0-9_]{1,8}){1,3}/?\Z")),
    "encryption": st.sampled_from(["on", "off", "aes-256-gcm", "aes-128-ccm"]),
    "volblocksize": st.sampled_from(["8K", "16K", "16384"]),
    "com.example:tag": st.text(max_size=12).filter(lambda v: v != "inherit"),
}
# what zfs -Hp reads back for a value just set (sizes in bytes, xattr=sa as "on", no trailing /)
READ_BACK = sorted(p for p in SETTABLE if ":" not in p)
SOURCES = st.sampled_from(["local", "default", "inherited", "received", "temporary", "none"])


def settable(names=tuple(sorted(SETTABLE))):
    return st.lists(st.sampled_from(names), unique=True, max_size=len(names)).flatmap(
        lambda ks: st.fixed_dictionaries({k: SETTABLE[k] for k in ks}))


def read_back(p, value):
    text = normalize_value(p, value)
    if p == "mountpoint" and text.startswith("/"):
        text = text.rstrip("/") or "/"
    return parse_value(p, text)


@given(props=settable(), localize=st.booleans())
def test_declared_values_set_locally_are_a_no_op(props, localize):
    current = {p: prop(v) for p, v in props.items()}
    assert plan.property_changes("tp/a", current, props, [], localize) == ([], [])
    assert plan.plan_one(ds(properties=props, localize=localize), current, True, False) == ([], None, None)


@given(props=settable(READ_BACK), localize=st.booleans())
def test_declared_values_as_zfs_reads_them_back_are_a_no_op(props, localize):
    current = {p: prop(read_back(p, v)) for p, v in props.items()}
    assert plan.property_changes("tp/a", current, props, [], localize) == ([], [])


def outcome(props, current, inherit, localize):
    try:
        return plan.property_changes("tp/a", current, props, inherit, localize)
    except PlanError as e:
        return str(e)


@given(props=settable(), values=settable(), sources=st.dictionaries(st.sampled_from(sorted(SETTABLE)), SOURCES),
       inherit=st.lists(st.sampled_from(sorted(SETTABLE)), unique=True), inherits=st.lists(st.booleans()),
       localize=st.booleans(), data=st.data())
def test_property_changes_do_not_depend_on_order(props, values, sources, inherit, inherits, localize, data):
    props = dict(props, **{p: "inherit" for p, flag in zip(sorted(props), inherits) if flag})
    current = {p: prop(v, sources.get(p, "local")) for p, v in values.items()}
    first = outcome(props, current, inherit, localize)
    shuffled = data.draw(st.permutations(sorted(props)))
    again = outcome({p: props[p] for p in shuffled}, dict(reversed(list(current.items()))),
                    data.draw(st.permutations(inherit)), localize)
    assert again == first
    if not isinstance(first, str):
        sets, resets = first
        assert [s.split("=", 1)[0] for s in sets] == sorted(s.split("=", 1)[0] for s in sets)
        assert resets == sorted(set(resets))
        assert not set(s.split("=", 1)[0] for s in sets) & set(resets) - set(inherit)


def test_batch_merges_identical_changes_into_one_process():
    cmds = [{"argv": ["zfs", "set", "quota=1G", "sync=always", "tp/a"]},
            {"argv": ["zfs", "create", "-p", "tp/new"]},
            {"argv": ["zfs", "set", "quota=1G", "sync=always", "tp/b"]},
            {"argv": ["zfs", "set", "quota=2G", "tp/c"]},
            {"argv": ["zfs", "inherit", "sync", "tp/d"]},
            {"argv": ["zfs", "inherit", "sync", "tp/e"]},
            {"argv": ["zfs", "load-key", "tp/s"], "stdin_key": "key"}]
    assert [c["argv"] for c in plan.batch(cmds)] == [
        ["zfs", "create", "-p", "tp/new"],
        ["zfs", "set", "quota=1G", "sync=always", "tp/a", "tp/b"],
        ["zfs", "set", "quota=2G", "tp/c"],
        ["zfs", "inherit", "sync", "tp/d", "tp/e"],
        ["zfs", "load-key", "tp/s"]]
    assert plan.batch([]) == []


def test_props_to_read_only_what_the_options_need():
    plain = ds(properties={"quota": "1G"}, inherit=["sync"])
    assert plan.props_to_read([plain]) == ["quota", "sync", "type"]
    keyed_d = ds("tp/s", key_loaded=False)
    assert set(plan.KEY_PROPS) <= set(plan.props_to_read([plain, keyed_d]))
    assert "origin" in plan.props_to_read([ds("tp/c", promote=True)])


@pytest.mark.parametrize("props, words", [
    ({"quota": "lots"}, "quota=lots is not a size"),
    ({"recordsize": "big"}, "recordsize=big is not a size"),
    ({"atime": "sometimes"}, "atime=sometimes is not one of on, off"),
    ({"canmount": "yes"}, "canmount=yes is not one of on, off, noauto"),
    ({"compression": "brotli"}, "compression=brotli is not a compression ZFS knows"),
])
def test_values_zfs_would_refuse_are_errors_before_planning(props, words):
    with pytest.raises(plan.PlanError, match=re.escape(words)):
        plan.check_names(props)


@pytest.mark.parametrize("props", [
    {"quota": "none"}, {"quota": "10G"}, {"refreservation": "0"}, {"atime": "off"}, {"canmount": "noauto"},
    {"compression": "zstd-3"}, {"compression": "on"}, {"quota": "inherit"}, {"helix:anything": "x y"},
    {"refreservation": "auto"},
])
def test_good_values_pass(props):
    assert plan.check_names(props) is None


# ---------------------------------------------------------------------------- declared, key_bytes

def test_declared_fills_every_option_and_leaves_the_task_alone():
    task = {"name": "tp/a", "properties": {"readonly": True}, "state": "present"}
    out = plan.declared([task], {"state": None, "properties": None, "key": None})
    assert out == [{"name": "tp/a", "state": "present", "properties": {"readonly": "on"}, "key": None}]
    assert task["properties"] == {"readonly": True}  # a new dict: the task's input is not changed


@pytest.mark.parametrize("items, why", [
    ([{"name": "tp/a b@"}], "invalid dataset name"),
    ([{"name": "tp/a"}, {"name": "tp/a"}], "declared twice: tp/a"),
])
def test_declared_refuses_bad_names_and_duplicates(items, why):
    with pytest.raises(PlanError, match=why):
        plan.declared(items, {"properties": None})


@pytest.mark.parametrize("key, keyformat, want", [
    ("ab" * 32, "raw", bytes.fromhex("ab" * 32)),
    ("ab" * 32, "hex", ("ab" * 32 + "\n").encode()),
    ("correct horse", "passphrase", b"correct horse\n"),
])
def test_key_bytes_is_what_zfs_reads_on_stdin(key, keyformat, want):
    assert plan.key_bytes("tp/s", key, keyformat) == want


@pytest.mark.parametrize("key, keyformat", [("ab", "raw"), ("zz" * 32, "hex"), ("short", "passphrase")])
def test_key_bytes_refuses_a_key_of_the_wrong_length_without_showing_it(key, keyformat):
    with pytest.raises(PlanError) as e:
        plan.key_bytes("tp/s", key, keyformat)
    assert str(e.value).startswith("tp/s: ") and key not in str(e.value)
