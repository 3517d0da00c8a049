"""Reading datasets (_zfs_get): the ``zfs get -Hp -o name,property,value,source`` parser on
output recorded from real OpenZFS 2.3.2, and read()'s argv and stderr handling with a fake cli."""
import pytest

from ansible_collections.helix.zfs.plugins.module_utils import _read
from ansible_collections.helix.zfs.plugins.module_utils import _zfs_get as zg
from ansible_collections.helix.zfs.plugins.module_utils._errors import ZfsCommandError

HEAD = ["zfs", "get", "-Hp", "-o", "name,property,value,source"]
MISSING = "cannot open 'tp/nosuch': dataset does not exist\n"


def prop(value, source="local", frm=None):
    return {"value": value, "source": source, "from": frm}


class FakeCli:
    """Answers every run() with one (rc, stdout, stderr) and records what it was asked."""

    def __init__(self, rc=0, out="", err=""):
        self.answer = (rc, out, err)
        self.calls = []

    def run(self, argv, **kwargs):
        self.calls.append((list(argv), kwargs))
        return self.answer


# ---------------------------------------------------------------------------- parse_source

@pytest.mark.parametrize("source, parsed", [
    ("local", ("local", None)), ("default", ("default", None)), ("received", ("received", None)),
    ("temporary", ("temporary", None)), ("-", ("none", None)),
    ("inherited from tp/a", ("inherited", "tp/a")), ("inherited from tp", ("inherited", "tp")),
    ("inherited from tp/a/b-c_d.e:f", ("inherited", "tp/a/b-c_d.e:f")),
])
def test_parse_source(source, parsed):
    assert _read.parse_source(source) == parsed


# ---------------------------------------------------------------------------- parse_rows

def test_parse_rows_of_recorded_output(fixture_text):
    assert _read.parse_get(fixture_text("zfs", "get-basic.tsv")) == {
        "tp/a": {
            "quota": prop(1073741824),
            "compression": prop("on", "default"),
            "com.example:tag": prop("x"),
            "mountpoint": prop("/tp/a", "default"),
        },
        "tp/a/b": {
            "quota": prop(0, "default"),
            "compression": prop("on", "default"),
            "com.example:tag": prop("x", "inherited", "tp/a"),
            "mountpoint": prop("/tp/a/b", "default"),
        },
    }


def test_parse_rows_byte_counts_are_ints_and_the_rest_strings(fixture_text):
    rows = _read.parse_get(fixture_text("zfs", "get-basic.tsv"))
    assert isinstance(rows["tp/a"]["quota"]["value"], int)
    assert isinstance(rows["tp/a/b"]["quota"]["value"], int)
    assert all(isinstance(rows[n][p]["value"], str) for n in rows for p in ("compression", "mountpoint"))


def test_parse_rows_leaves_out_unset_user_property_but_keeps_the_dataset():
    rows = _read.parse_get("tp/a\tcom.example:unset\t-\t-\ntp/a\tquota\t0\tdefault\n")
    assert rows == {"tp/a": {"quota": prop(0, "default")}}
    assert _read.parse_get("tp/a\tcom.example:unset\t-\t-\n") == {"tp/a": {}}


def test_parse_rows_keeps_dash_of_native_property_as_none():
    rows = _read.parse_get("tp/c\torigin\t-\t-\ntp/c\tkeystatus\t-\t-\n")
    assert rows == {"tp/c": {"origin": prop(None, "none"), "keystatus": prop(None, "none")}}


def test_parse_rows_user_property_set_to_dash_locally_is_kept():
    # only value AND source "-" means unset; a local "-" is a real value
    assert _read.parse_get("tp/a\tcom.example:tag\t-\tlocal\n") == {"tp/a": {"com.example:tag": prop(None)}}


def test_parse_rows_other_sources_and_identifiers():
    rows = _read.parse_get(
        "tp/c\torigin\ttp/a@s1\t-\n"
        "tp/c\tatime\toff\ttemporary\n"
        "tp/c\tcompression\tzstd\treceived\n"
        "tp/c\tguid\t00123456789\t-\n"
        "tp/c\tused\t98304\t-\n")
    assert rows["tp/c"] == {
        "origin": prop("tp/a@s1", "none"),
        "atime": prop("off", "temporary"),
        "compression": prop("zstd", "received"),
        "guid": prop("00123456789", "none"),  # an identifier: kept as text, leading zeros too
        "used": prop(98304, "none"),
    }


def test_parse_rows_value_with_spaces_is_kept_whole():
    rows = _read.parse_get("tp/a\tcom.example:note\ttwo words here\tlocal\n")
    assert rows["tp/a"]["com.example:note"] == prop("two words here")


def test_parse_rows_ignores_blank_lines_and_empty_text():
    assert _read.parse_get("") == {}
    assert _read.parse_get("\n\ntp/a\tquota\t0\tdefault\n\n") == {"tp/a": {"quota": prop(0, "default")}}


def test_parse_rows_value_with_a_tab():
    rows = _read.parse_get("tp/a\tcom.example:note\ta\tb\tlocal\n")
    assert rows["tp/a"]["com.example:note"] == prop("a\tb")


# ---------------------------------------------------------------------------- read

def test_read_builds_one_zfs_get_for_every_name_and_property(fixture_text):
    cli = FakeCli(0, fixture_text("zfs", "get-basic.tsv"))
    rows, missing = zg.read(cli, ["tp/a", "tp/a/b"], ["quota", "compression", "com.example:tag", "mountpoint"])
    assert cli.calls == [(HEAD + ["-t", "filesystem,volume", "quota,compression,com.example:tag,mountpoint",
                                  "tp/a", "tp/a/b"], {"ok_rcs": (0, 1)})]
    assert rows == _read.parse_get(fixture_text("zfs", "get-basic.tsv"))
    assert missing == []


@pytest.mark.parametrize("kwargs, middle", [
    ({"recursive": True}, ["-r"]),
    ({"depth": 1}, ["-d", "1"]),
    ({"depth": 0}, ["-d", "0"]),
    ({"depth": 2, "recursive": True}, ["-d", "2"]),  # a depth already bounds the recursion
    ({"types": "filesystem"}, []),
])
def test_read_argv_options(kwargs, middle):
    cli = FakeCli()
    zg.read(cli, ("tp",), ("type",), **kwargs)
    types = kwargs.get("types", "filesystem,volume")
    assert cli.calls[0][0] == HEAD + middle + ["-t", types, "type", "tp"]


def test_read_without_names_reads_every_dataset():
    cli = FakeCli()
    assert zg.read(cli, [], ["quota"]) == ({}, [])
    assert cli.calls[0][0] == HEAD + ["-t", "filesystem,volume", "quota"]


def test_read_takes_missing_names_from_stderr(fixture_text):
    cli = FakeCli(1, fixture_text("zfs", "get-basic.tsv"), MISSING)
    rows, missing = zg.read(cli, ["tp/a", "tp/nosuch", "tp/a/b"], ["quota"])
    assert missing == ["tp/nosuch"]
    assert sorted(rows) == ["tp/a", "tp/a/b"]


def test_read_all_missing_in_order():
    err = "cannot open 'tp/x': dataset does not exist\n  cannot open 'tp/a b': dataset does not exist  \n\n"
    assert zg.read(FakeCli(1, "", err), ["tp/x", "tp/a b"], ["quota"]) == ({}, ["tp/x", "tp/a b"])


def test_read_missing_with_rc_0_is_still_missing():
    assert zg.read(FakeCli(0, "", MISSING), ["tp/nosuch"], ["quota"]) == ({}, ["tp/nosuch"])


def test_read_ignores_blank_stderr_lines():
    assert zg.read(FakeCli(0, "tp/a\tquota\t0\tdefault\n", "\n   \n"), ["tp/a"], ["quota"]) == (
        {"tp/a": {"quota": prop(0, "default")}}, [])


@pytest.mark.parametrize("err", [
    "cannot open 'tp/a@s': operation not applicable to datasets of this type\n",
    "bad property list: invalid property 'nosuch'\n",
    MISSING + "internal error: out of memory\n",
    "cannot open 'tp/a': permission denied\n",
])
def test_read_unexpected_stderr_raises(err):
    cli = FakeCli(1, "", err)
    with pytest.raises(ZfsCommandError) as e:
        zg.read(cli, ["tp/a"], ["quota"])
    assert e.value.msg.startswith("zfs get failed: ")
    assert "dataset does not exist" not in e.value.msg
    assert e.value.msg[len("zfs get failed: "):] in err
    assert (e.value.cmd, e.value.rc, e.value.stderr) == (cli.calls[0][0], 1, err)


def test_read_failing_without_any_message_raises():
    with pytest.raises(ZfsCommandError, match=r"^zfs get failed: rc=1$") as e:
        zg.read(FakeCli(1, "tp/a\tquota\t0\tdefault\n", ""), ["tp/a"], ["quota"])
    assert e.value.stdout == "tp/a\tquota\t0\tdefault\n"


# ---------------------------------------------------------------------------- over ssh

def test_ssh_mux_notice_is_not_the_commands_stderr():
    # Recorded in the lab (fleet stage under Mitogen): the guest's ControlMaster was closing,
    # ssh said so, connected on its own and ran the command, which found no dataset.
    from ansible_collections.helix.zfs.plugins.module_utils._zfs_cli import SshZfsCli
    err = "muxclient: master hello exchange failed\n" + MISSING
    cli = SshZfsCli(module=None, host="lab1")
    assert cli.command_stderr(err) == MISSING
    assert cli.command_stderr("ControlSocket /run/ssh-ab already exists, disabling multiplexing\n") == ""
    _out, missing = zg.run_tolerating_missing(FakeCli(1, "", cli.command_stderr(err)), HEAD + ["tp/nosuch"])
    assert missing == ["tp/nosuch"]


@pytest.mark.parametrize("host, ok", [
    ("lab2", True), ("root@node-b1.example", True), ("10.0.0.7", True), ("fe80::1", True),
    ("-oProxyCommand=touch /tmp/x", False), ("-p2222", False), ("a b", False), ("", False), ("host;id", False),
])
def test_ssh_host_ok(host, ok):
    from ansible_collections.helix.zfs.plugins.module_utils._zfs_cli import ssh_host_ok
    assert ssh_host_ok(host) is ok


@pytest.mark.parametrize("name, ok", [
    ("tank", True), ("tank/a b/c", True), ("tank/a.b:c-d_e", True), ("t" + "/x" * 127, True),
    ("tank/..", False), ("tank/./a", False), ("tank/a/", False), ("tank//a", False), ("tank/ a", False),
    ("tank/a ", False), ("t" + "/x" * 128, False), ("mirror1/a", False), ("raidz", False), ("log", False),
    ("logs", True), ("c0t0d0/a", False), ("1tank", False), ("tank@s", False), ("tank#b", False),
    ("tank/a\n", False), ("", False),
])
def test_dataset_name_ok(name, ok):
    assert zg.dataset_name_ok(name) is ok
