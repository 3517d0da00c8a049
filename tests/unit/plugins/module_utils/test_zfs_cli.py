# Copyright (c) helix.zfs contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The CLI layer's journal: what a module run changed, failed or not (issue 16, A14)."""
from __future__ import annotations

import pytest

from ansible_collections.helix.zfs.plugins.module_utils._errors import ZfsCommandError
from ansible_collections.helix.zfs.plugins.module_utils._zfs_cli import SshZfsCli, ZfsCli, writes


@pytest.mark.parametrize("argv, changes", [
    (["zfs", "list", "-Hp"], False), (["zfs", "get", "all", "t"], False), (["zfs", "send", "t@a"], False),
    (["zpool", "status", "-j"], False), (["zpool", "import"], False), (["zpool", "import", "-d", "/dev"], False),
    (["zfs", "program", "-n", "t", "-"], False),
    (["zfs", "create", "t/a"], True), (["zfs", "set", "quota=1G", "t/a"], True), (["zfs", "program", "t", "-"], True),
    (["zpool", "import", "-d", "/dev", "t"], True), (["zpool", "import", "t"], True), (["zfs", "receive", "t/a"], True),
])
def test_which_commands_change_something(argv, changes):
    assert writes(argv) is changes


class Module:
    """Enough of AnsibleModule for ZfsCli.run: each command's rc from a table."""

    def __init__(self, rcs):
        self.rcs = rcs

    def get_bin_path(self, name, required=False):
        return "/sbin/" + name

    def run_command(self, cmd, **kw):
        rc = max([rc for word, rc in self.rcs.items() if word in " ".join(cmd)] or [0])
        return rc, "", "boom" if rc else ""


def test_the_journal_keeps_what_ran_before_a_failure_local_and_remote():
    m = Module({"destroy": 1})
    local, remote = ZfsCli(m), SshZfsCli(m, "lab2")
    local.run(["zfs", "list"])
    assert (local.journal.ran, local.journal.changed) == ([], False)
    local.run(["zfs", "create", "t/a"])
    with pytest.raises(ZfsCommandError):
        remote.run(["zfs", "destroy", "t/b"])
    assert remote.journal is local.journal
    assert local.journal.ran == [["zfs", "create", "t/a"], ["ssh", "lab2", "zfs", "destroy", "t/b"]]
    assert local.journal.changed is True


def test_a_failed_write_alone_changed_nothing():
    cli = ZfsCli(Module({"create": 1}))
    with pytest.raises(ZfsCommandError):
        cli.run(["zfs", "create", "t/a"])
    assert (cli.journal.ran, cli.journal.changed) == ([["zfs", "create", "t/a"]], False)


def test_the_one_ssh_builder_quotes_each_argument_and_puts_the_host_after_a_double_dash():
    cli = SshZfsCli(Module({}), "root@lab2", ["-c", "aes128-gcm@openssh.com"])
    head = ["/sbin/ssh", "-o", "BatchMode=yes", "-o", "ServerAliveInterval=10", "-o", "ServerAliveCountMax=3",
            "-c", "aes128-gcm@openssh.com", "--", "root@lab2"]
    assert cli.ssh_argv(["zfs", "receive", "-u", "bk/a b"]) == head + ["env LC_ALL=C LANG=C zfs receive -u 'bk/a b'"]
    assert cli.ssh_argv(["zfs", "receive", "bk/a"], buffer="1G; rm -rf /") == head + [
        "mbuffer -q -s 128k -m '1G; rm -rf /' | env LC_ALL=C LANG=C zfs receive bk/a"]


def test_tabular_reads_rows_through_the_reader_layer():
    class Rows(Module):
        def run_command(self, cmd, **kw):
            return 0, "tank\tsize\t100\n\n", ""
    assert ZfsCli(Rows({})).tabular(["zpool", "get", "-Hp", "size", "tank"]) == [["tank", "size", "100"]]


def test_a_direct_stream_connects_to_the_port_the_receiver_names_with_its_token():
    """_direct_connect against real processes and a loopback listener (the forced command's side
    is tested in tests/unit/roles/test_transport_receive.py)."""
    import socket
    import subprocess

    from ansible_collections.helix.zfs.plugins.module_utils._zfs_cli import _direct_connect

    with socket.create_server(("127.0.0.1", 0)) as srv:
        port = srv.getsockname()[1]
        proc = subprocess.Popen(["sh", "-c", "echo helix-direct 127.0.0.1 %d t0ken; sleep 2" % port], stdout=subprocess.PIPE)
        sock, why = _direct_connect(proc)
        conn, _addr = srv.accept()
        assert why is None and conn.recv(6) == b"t0ken\n"
        sock.close()
        conn.close()
        proc.kill()
        proc.wait()
    # Not the forced command (plain root ssh), or a port nobody listens on: killed, and why.
    for line, why in [("zfs: command not found", "did not open a one-shot port"),
                      ("helix-direct 127.0.0.1 1 t0ken", "no connection to 127.0.0.1 port 1")]:
        proc = subprocess.Popen(["sh", "-c", "echo %s; sleep 30" % line], stdout=subprocess.PIPE)
        sock, got = _direct_connect(proc)
        assert sock is None and why in got
        assert proc.wait(timeout=5) != 0


def test_a_rate_paces_the_relay(monkeypatch, tmp_path):
    """With a rate, the relay waits until what it moved fits it (the clock is the test's)."""
    from ansible_collections.helix.zfs.plugins.module_utils import _zfs_cli
    now = [100.0]
    slept = []
    monkeypatch.setattr(_zfs_cli.time, "monotonic", lambda: now[0])
    monkeypatch.setattr(_zfs_cli.time, "sleep", lambda s: (slept.append(s), now.__setitem__(0, now[0] + s)))
    src, dst = tmp_path / "src", tmp_path / "dst"
    src.write_bytes(b"x" * 40000)
    with open(src, "rb") as fi, open(dst, "wb") as fo:
        assert _zfs_cli._relay(fi, fo, rate=10000) == 40000
    assert dst.read_bytes() == b"x" * 40000
    assert abs(sum(slept) - 4.0) < 1e-6 and len(slept) == 10  # pieces of a tenth of a second's worth
