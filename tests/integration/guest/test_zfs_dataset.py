"""helix.zfs.zfs_dataset on real datasets: check / apply / apply again / check again, with the
state read back from the host's own zfs."""
import subprocess

import pytest

from conftest import converge, run_module, sh

HEXKEY = "5f3c" * 16  # 64 hex characters, found nowhere else on the host


@pytest.fixture
def pool(forced_disks):
    sh("zpool create -f -O mountpoint=/htd htd %s" % forced_disks[0])
    return "htd"


def get(ds, props):
    """{prop: (value, source)} from the host."""
    out = sh("zfs get -Hp -o property,value,source %s %s" % (",".join(props), ds), check=False)
    return {p: (v, s) for p, v, s in (line.split("\t") for line in out.splitlines())}


def state():
    """The host's view of every dataset and snapshot under htd, as one comparable string."""
    return lambda: sh("zfs list -Hp -t all -o name,quota,compression,sync,volsize,keystatus,mounted,origin,"
                      "com.example:tag -r htd", check=False)


def test_create_with_properties_then_same_values_in_other_forms(pool):
    args = {"name": "htd/t1", "properties": {"quota": "10G", "compression": "on", "com.example:tag": "a"}}
    check, applied = converge("zfs_dataset", args, state())
    assert check["commands"] == [["zfs", "create", "-p", "-o", "com.example:tag=a", "-o", "compression=on",
                                  "-o", "quota=10G", "htd/t1"]]
    assert get("htd/t1", ["quota", "compression", "com.example:tag"]) == {
        "quota": ("10737418240", "local"), "compression": ("on", "local"), "com.example:tag": ("a", "local")}
    # 10G as bytes, compression=on as the algorithm it means: converged already.
    for same in ({"quota": "10737418240"}, {"quota": 10737418240}, {"compression": "lz4"},
                 {"quota": "10240M", "compression": True}):
        for check_mode in (True, False):
            r = run_module("zfs_dataset", {"name": "htd/t1", "properties": same}, check=check_mode)
            assert (r.get("failed"), r["changed"], r["commands"]) == (None, False, []), (same, r)


def test_change_properties_and_user_properties(pool):
    run_module("zfs_dataset", {"name": "htd/t1", "properties": {"quota": "1G", "com.example:tag": "a"}})
    args = {"name": "htd/t1", "properties": {"quota": "2G", "sync": "always", "com.example:tag": "b"}}
    check, applied = converge("zfs_dataset", args, state())
    assert check["commands"] == [["zfs", "set", "com.example:tag=b", "quota=2G", "sync=always", "htd/t1"]]
    assert applied["diff"]["before"]["htd/t1"]["properties"]["quota"] == 1073741824
    assert get("htd/t1", ["quota", "sync", "com.example:tag"]) == {
        "quota": ("2147483648", "local"), "sync": ("always", "local"), "com.example:tag": ("b", "local")}


def test_inherit_resets_local_values_and_inherited_matches_stay_inherited(pool):
    run_module("zfs_dataset", {"datasets": [{"name": "htd/p", "properties": {"compression": "zstd"}},
                                            {"name": "htd/p/c", "properties": {"sync": "always"}}]})
    # Declaring the inherited value does not turn it into a local one.
    r = run_module("zfs_dataset", {"name": "htd/p/c", "properties": {"compression": "zstd"}})
    assert (r["changed"], r["commands"]) == (False, [])
    assert get("htd/p/c", ["compression"]) == {"compression": ("zstd", "inherited from htd/p")}
    converge("zfs_dataset", {"name": "htd/p/c", "inherit": ["sync"]}, state())
    assert get("htd/p/c", ["sync"])["sync"] == ("standard", "default")
    sh("zfs set sync=disabled htd/p/c")
    check, _applied = converge("zfs_dataset", {"name": "htd/p/c", "properties": {"sync": "inherit"}}, state())
    assert check["commands"] == [["zfs", "inherit", "sync", "htd/p/c"]]
    # localize: make the inherited value local when asked.
    check, _applied = converge("zfs_dataset", {"name": "htd/p/c", "properties": {"compression": "zstd"},
                                               "localize": True}, lambda: str(get("htd/p/c", ["compression"])))
    assert get("htd/p/c", ["compression"]) == {"compression": ("zstd", "local")}


def test_volume_create_and_resize(pool):
    args = {"name": "htd/v", "type": "volume", "sparse": True, "properties": {"volsize": "64M", "volblocksize": "16K"}}
    check, _applied = converge("zfs_dataset", args, state())
    assert check["commands"][0][:6] == ["zfs", "create", "-p", "-s", "-V", "64M"]
    got = get("htd/v", ["volsize", "volblocksize", "refreservation"])
    assert (got["volsize"][0], got["volblocksize"][0], got["refreservation"][0]) == ("67108864", "16384", "0")
    converge("zfs_dataset", dict(args, properties={"volsize": "128M", "volblocksize": "16K"}), state())
    assert get("htd/v", ["volsize"])["volsize"][0] == str(128 * 2**20)


def test_creation_only_difference_is_a_clear_error(pool):
    run_module("zfs_dataset", {"name": "htd/v", "type": "volume", "properties": {"volsize": "64M", "volblocksize": "16K"}})
    before = state()()
    for check_mode in (True, False):
        r = run_module("zfs_dataset", {"name": "htd/v", "type": "volume",
                                       "properties": {"volsize": "64M", "volblocksize": "8K"}}, check=check_mode)
        assert r["failed"] and "volblocksize is 16384, declared 8K" in r["msg"], r
    assert state()() == before


def test_encryption_on_with_a_hex_key_load_unload_and_no_key_leaks(pool):
    args = {"name": "htd/sec", "properties": {"encryption": "on", "keyformat": "hex"}, "key": HEXKEY}
    check, applied = converge("zfs_dataset", args, state())
    assert "keylocation=prompt" in check["commands"][0]
    assert get("htd/sec", ["encryption", "keystatus", "keylocation", "mounted"]) == {
        "encryption": ("aes-256-gcm", "-"), "keystatus": ("available", "-"),
        "keylocation": ("prompt", "local"), "mounted": ("yes", "-")}
    sh("echo hello > /htd/sec/file && zfs create htd/sec/child && zfs create -o canmount=noauto htd/sec/replica")
    # Unloading unmounts first; loading mounts again, the children that mount by themselves too.
    check, _applied = converge("zfs_dataset", {"name": "htd/sec", "key_loaded": False}, state())
    assert check["commands"] == [["zfs", "unmount", "htd/sec"], ["zfs", "unload-key", "htd/sec"]]
    assert get("htd/sec", ["keystatus", "mounted"]) == {"keystatus": ("unavailable", "-"), "mounted": ("no", "-")}
    check, _applied = converge("zfs_dataset", {"name": "htd/sec", "key_loaded": True, "key": HEXKEY}, state())
    assert check["commands"] == [["zfs", "load-key", "htd/sec"], ["zfs", "mount", "-R", "htd/sec"]]
    assert sh("zfs get -H -o value mounted htd/sec htd/sec/child htd/sec/replica").split() == ["yes", "yes", "no"]
    assert sh("cat /htd/sec/file").strip() == "hello"
    # A canmount=noauto dataset (a replica) is mounted when key_loaded: true names it.
    check, _applied = converge("zfs_dataset", {"name": "htd/sec/replica", "key_loaded": True}, state())
    assert check["commands"] == [["zfs", "mount", "htd/sec/replica"], ["zfs", "mount", "-R", "htd/sec/replica"]]
    assert sh("zfs get -H -o value mounted htd/sec/replica").strip() == "yes"
    # The key is in no result, no file under /tmp, /var or /root, no process argv, no log.
    results = [check, applied, run_module("zfs_dataset", args), run_module("zfs_dataset", args, check=True)]
    assert all(HEXKEY not in repr(r) for r in results)
    hits = subprocess.run(["grep", "-rlsa", "--", HEXKEY, "/tmp", "/var", "/root", "/run", "/etc"],
                          capture_output=True, text=True, check=False).stdout.split()
    hits = [h for h in hits if "/helix-tests/tests/" not in h]  # this test file itself
    assert hits == []
    assert HEXKEY not in sh("cat /proc/[0-9]*/cmdline 2>/dev/null | tr '\\0' ' '", check=False)
    assert HEXKEY not in sh("journalctl --no-pager 2>/dev/null", check=False)


def test_change_key(pool):
    run_module("zfs_dataset", {"name": "htd/sec", "properties": {"encryption": "on", "keyformat": "hex"}, "key": HEXKEY})
    new = "a1b2" * 16
    check, _applied = converge("zfs_dataset", {"name": "htd/sec", "new_key": new},
                               lambda: sh("zfs get -Hp -o value keystatus htd/sec") + str(
                                   subprocess.run("echo %s | zfs load-key -n htd/sec" % new, shell=True,
                                                  capture_output=True, check=False).returncode))
    assert check["commands"] == [["zfs", "change-key", "-o", "keylocation=prompt", "htd/sec"]]
    assert subprocess.run("echo %s | zfs load-key -n htd/sec" % new, shell=True, check=False).returncode == 0


def test_clone_promote_rename(pool):
    run_module("zfs_dataset", {"name": "htd/src"})
    sh("echo data > /htd/src/f && zfs snapshot htd/src@s1")
    converge("zfs_dataset", {"name": "htd/clone", "origin": "htd/src@s1", "properties": {"readonly": "on"}}, state())
    assert get("htd/clone", ["origin", "readonly"]) == {"origin": ("htd/src@s1", "-"), "readonly": ("on", "local")}
    converge("zfs_dataset", {"name": "htd/clone", "promote": True}, state())
    assert get("htd/src", ["origin"])["origin"][0] == "htd/clone@s1"
    converge("zfs_dataset", {"name": "htd/renamed", "rename_from": "htd/clone"}, state())
    assert sh("zfs list -H -o name htd/renamed").strip() == "htd/renamed"
    assert sh("zfs list -H -o name htd/clone", check=False) == ""


def test_destroy_with_and_without_dependants(pool):
    run_module("zfs_dataset", {"datasets": [{"name": "htd/a"}, {"name": "htd/a/b"}]})
    before = state()()
    r = run_module("zfs_dataset", {"name": "htd/a", "state": "absent"})
    assert r["failed"] and "htd/a" in r["msg"] and "-r" in r["stderr"], r
    assert state()() == before
    check, applied = converge("zfs_dataset", {"name": "htd/a", "state": "absent", "recursive": True}, state())
    assert sorted(check["destroyed"]) == ["htd/a", "htd/a/b"] == sorted(applied["destroyed"])
    # A clone elsewhere depends on a snapshot: -R is needed, and it lists the clone.
    run_module("zfs_dataset", {"name": "htd/x"})
    sh("zfs snapshot htd/x@s && zfs clone htd/x@s htd/y")
    r = run_module("zfs_dataset", {"name": "htd/x", "state": "absent", "recursive": True})
    assert r["failed"]
    check, _applied = converge("zfs_dataset", {"name": "htd/x", "state": "absent", "destroy_dependents": True},
                               state())
    assert set(check["destroyed"]) >= {"htd/x", "htd/x@s", "htd/y"}


def test_many_datasets_one_read_and_batched_changes(pool, zfs_calls):
    items = [{"name": "htd/m/%03d" % i, "properties": {"quota": "1G", "com.example:i": str(i)}} for i in range(60)]
    converge("zfs_dataset", {"datasets": items}, lambda: sh("zfs list -H -o name -r htd | wc -l"))
    del zfs_calls[:]
    r = run_module("zfs_dataset", {"datasets": items})
    assert (r["changed"], zfs_calls) == (False, [["zfs", "get"]])
    # One new quota for all 60: one zfs set, then one read back.
    del zfs_calls[:]
    r = run_module("zfs_dataset", {"datasets": [dict(i, properties=dict(i["properties"], quota="2G")) for i in items]})
    assert r["commands"] == [["zfs", "set", "quota=2G"] + [i["name"] for i in items]]
    assert zfs_calls == [["zfs", "get"], ["zfs", "set"], ["zfs", "get"]]
    assert sh("zfs get -Hp -o value quota -r htd/m | sort -u").split() == ["0", str(2 * 2**30)]
    assert [d["name"] for d in r["datasets"]] == [i["name"] for i in items]  # report: all (default)
    # report: changed lists only what changed: nothing on a no-op, the one changed dataset after.
    items = [dict(i, properties=dict(i["properties"], quota="2G")) for i in items]
    items[7]["properties"]["quota"] = "3G"
    r = run_module("zfs_dataset", {"datasets": items, "report": "changed"}, check=True)
    assert [(d["name"], d["properties"]["quota"]["value"]) for d in r["datasets"]] == [("htd/m/007", 2 * 2**30)]
    r = run_module("zfs_dataset", {"datasets": items, "report": "changed"})
    assert [(d["name"], d["properties"]["quota"]["value"]) for d in r["datasets"]] == [("htd/m/007", 3 * 2**30)]
    r = run_module("zfs_dataset", {"datasets": items, "report": "changed"})
    assert (r["changed"], r["datasets"]) == (False, [])


def test_a_name_with_spaces(pool):
    # Valid in ZFS; once refused with a message that didn't say why.
    converge("zfs_dataset", {"name": "htd/two words", "properties": {"quota": "1G"}},
             lambda: sh("zfs get -Hp -o value quota 'htd/two words' 2>/dev/null; true"))
    assert sh("zfs get -Hp -o value quota 'htd/two words'").strip() == str(2**30)


def test_a_failure_after_a_change_says_what_ran(pool):
    # Issue 16 (A14): a batch that created one dataset and then failed said changed=false, no commands.
    # A mountpoint nothing can be mounted on: only zfs create finds out.
    r = run_module("zfs_dataset", {"datasets": [
        {"name": "htd/good"}, {"name": "htd/m", "properties": {"mountpoint": "/proc/helix"}}]})
    assert r.get("failed") and r["changed"] is True, r
    assert [c[-1] for c in r["commands"]] == ["htd/good", "htd/m"], r
    assert r["rc"] and sh("zfs list -H -o name htd/good").strip() == "htd/good"


@pytest.mark.parametrize("args,words", [
    ({"name": "htd/bad@name"}, "invalid dataset name"),
    ({"name": "/htd/x"}, "invalid dataset name"),
    ({"name": "htd/x", "properties": {"nosuchprop": "1"}}, "invalid property 'nosuchprop'"),
    ({"name": "htd/x", "properties": {"used": "1G"}}, "read-only properties can't be set: used"),
    ({"name": "htd/x", "properties": {"encryption": "on", "keyformat": "hex"}, "key": "abc"},
     "a hex key is 64 hexadecimal characters"),
    ({"name": "htd/x", "properties": {"encryption": "on", "keyformat": "raw"}, "key": "00" * 31},
     "a raw key is 32 bytes"),
    # Once a ValueError's traceback.
    ({"name": "htd/x", "properties": {"encryption": "on", "keyformat": "raw"}, "key": "é" * 64},
     "a raw key is 32 bytes"),
    # Check mode once planned zfs set quota=lots, which only the apply refused.
    ({"name": "htd", "properties": {"quota": "lots"}}, "quota=lots is not a size"),
    ({"name": "htd", "properties": {"atime": "sometimes"}}, "atime=sometimes is not one of on, off"),
], ids=["at-sign", "leading-slash", "unknown-property", "read-only", "short-hex-key", "short-raw-key",
        "non-ascii-raw-key", "quota-not-a-size", "atime-not-on-off"])
def test_bad_input_is_a_clear_error_and_changes_nothing(pool, args, words):
    before = state()()
    for check_mode in (True, False):
        r = run_module("zfs_dataset", args, check=check_mode)
        assert r.get("failed") and words in r["msg"], r
    assert state()() == before


@pytest.mark.parametrize("keyformat,key,extra", [
    ("raw", "0f1e" * 16, {}),  # 32 bytes, given hex-encoded
    ("passphrase", "correct horse battery staple", {"pbkdf2iters": "100000"}),
], ids=["raw", "passphrase"])
def test_encryption_key_formats(pool, keyformat, key, extra):
    props = dict({"encryption": "aes-256-gcm", "keyformat": keyformat}, **extra)
    args = {"name": "htd/k", "properties": props, "key": key}
    converge("zfs_dataset", args, state())
    assert get("htd/k", ["keyformat", "keystatus", "mounted"]) == {
        "keyformat": (keyformat, "-"), "keystatus": ("available", "-"), "mounted": ("yes", "-")}
    converge("zfs_dataset", {"name": "htd/k", "key_loaded": False}, state())
    converge("zfs_dataset", {"name": "htd/k", "key_loaded": True, "key": key}, state())
    assert get("htd/k", ["keystatus"])["keystatus"][0] == "available"


def test_keylocation_file_is_zfs_reading_the_users_file(pool, tmp_path):
    keyfile = tmp_path / "k.hex"
    keyfile.write_text("9d8c" * 16)
    args = {"name": "htd/f", "properties": {"encryption": "on", "keyformat": "hex",
                                            "keylocation": "file://%s" % keyfile}}
    check, _applied = converge("zfs_dataset", args, state())
    assert "-o" in check["commands"][0] and "keylocation=file://%s" % keyfile in check["commands"][0]
    assert get("htd/f", ["keylocation", "keystatus"]) == {
        "keylocation": ("file://%s" % keyfile, "local"), "keystatus": ("available", "-")}
