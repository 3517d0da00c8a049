# Copyright (c) helix.zfs contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""The one place where helix.zfs runs zfs and zpool.

Every command is an argv list (never a shell string), runs with LC_ALL=C so output never
depends on the node's locale, and a failure always carries cmd, rc, stdout and stderr.
Secrets (encryption keys) travel on stdin via ``data``, never in argv.
"""

from __future__ import annotations

import errno
import fcntl
import hashlib
import json
import os
import re
import select
import shlex
import socket
import subprocess
import tempfile
import time

from ansible_collections.helix.zfs.plugins.module_utils._errors import HelixError, ZfsCommandError
from ansible_collections.helix.zfs.plugins.module_utils import _read

_C_LOCALE = {"LC_ALL": "C", "LANG": "C"}
# 1 MiB pipes (Linux's default pipe-max-size) let the relay move a megabyte per wake-up
# instead of 64 KiB: fewer context switches on a CPU-bound send.
_PIPE_SIZE = 1 << 20
# A direct stream (roles/transport's forced command): the word before the remote receive, and how
# long the sender waits for its one-shot port (the forced command waits as long for the sender).
DIRECT = "helix-direct"
DIRECT_WAIT = 60
# ssh prints these when a shared connection (ControlMaster) is closing or stale, then connects
# on its own and runs the command: they are ssh's words, not the remote command's.
# An ssh destination: [user@]host, where host is a name or an address (no leading "-": ssh would
# read it as an option, e.g. -oProxyCommand=...).
_SSH_HOST = re.compile(r"(?:[A-Za-z0-9_][A-Za-z0-9_.-]*@)?(?:[A-Za-z0-9_][A-Za-z0-9_.-]*|[0-9A-Fa-f.]*:[0-9A-Fa-f:.]*)")
_SSH_MUX_NOTICE = re.compile(r"^(muxclient|mux_client_\w+|control_persist_detach|ControlSocket \S+ already exists)\b")


# Subcommands that change nothing: a task that failed after running only these changed nothing.
_READS = frozenset([("zfs", s) for s in ("list", "get", "holds", "version", "send", "userspace", "groupspace", "diff")]
                   + [("zpool", s) for s in ("list", "get", "status", "version", "iostat", "history", "events",
                                             "wait")])


def writes(argv):
    """Whether a zfs/zpool argv may change something (``zpool import`` with only -d is a scan)."""
    argv = [str(a) for a in argv]
    if tuple(argv[:2]) in _READS:
        return False
    if argv[:2] == ["zpool", "import"]:
        return not all(a == "-d" or argv[i - 1] == "-d" for i, a in enumerate(argv[2:], 2))
    return not (argv[:2] == ["zfs", "program"] and "-n" in argv)


class Journal:
    """What a module run has changed so far, shared by its local and remote CLIs: every result,
    failed or not, says what ran (``commands``) and whether anything changed (``changed``)."""

    def __init__(self):
        self.ran = []
        self.changed = False

    def record(self, shown, done):
        self.ran.append(shown)
        self.changed = self.changed or done


class ZfsCli:
    """Runs zfs/zpool through AnsibleModule.run_command."""

    def __init__(self, module):
        self.module = module
        self._bins = {}
        # One journal per module run: a remote CLI made with the same module writes to it too.
        self.journal = module.__dict__.setdefault("_helix_journal", Journal()) if module is not None else Journal()

    def _bin(self, name):
        if name not in self._bins:
            self._bins[name] = self.module.get_bin_path(name, required=True)
        return self._bins[name]

    def run(self, argv, data=None, ok_rcs=(0,)):
        """Run ``argv`` (``argv[0]`` is ``zfs`` or ``zpool``); return (rc, stdout, stderr).

        Raises ZfsCommandError when rc is not in ``ok_rcs``.
        """
        cmd = self.command(argv)
        rc, out, err = self.module.run_command(cmd, data=data, environ_update=_C_LOCALE,
                                               check_rc=False, binary_data=data is not None)
        if writes(argv):
            self.journal.record(self.shown(argv), rc in ok_rcs)
        err = self.command_stderr(err)
        if rc not in ok_rcs:
            raise ZfsCommandError(self.failure(argv, rc, err or out), cmd=cmd, rc=rc, stdout=out, stderr=err)
        return rc, out, err

    def command(self, argv):
        """The argv that runs a zfs/zpool argv here."""
        return [self._bin(argv[0])] + [str(a) for a in argv[1:]]

    def shown(self, argv):
        """A zfs/zpool argv as results show it."""
        return [str(a) for a in argv]

    def failure(self, argv, rc, text):
        return error_message(argv, rc, text)

    def command_stderr(self, err):
        """What the command itself printed on stderr (a transport's own notices left out)."""
        return err

    def json(self, argv, data=None):
        """Run a ``-j`` command (OpenZFS 2.3+) and return the decoded document."""
        _rc, out, err = self.run(argv, data=data)
        try:
            return json.loads(out)
        except ValueError as e:
            raise ZfsCommandError("%s printed invalid JSON: %s" % (" ".join(argv[:2]), e),
                                  cmd=argv, rc=0, stdout=out, stderr=err)

    def stream(self, send_argv, sink_argv=None, sink_path=None, digest=False, shown=None, direct=False, rate=None,
               progress=None):
        """Pipe ``zfs send`` into ``sink_argv`` (a full argv, e.g. a local ``zfs receive`` or
        an ``ssh`` to one) or into the file ``sink_path``, counting bytes (and hashing them when
        ``digest``). Returns {bytes, seconds, sha256}. A failure on either side raises with
        both commands' stderr. ``shown``: the receive as results show it. A stream that moved
        bytes changed its sink even if it then failed (a resume token, whole datasets, a file).
        ``direct``: ``sink_argv`` is an ssh to the transport's forced command with ``helix-direct``
        (SshZfsCli.ssh_argv), which answers with a one-shot port on the peer's tunnel address and
        a one-time token: the stream goes there (encrypted once, by the tunnel), the receive's
        exit status comes back over ssh. ``rate``: at most this many bytes a second. ``progress``:
        called with the bytes moved so far, every PROGRESS_EVERY seconds."""
        send = self.command(send_argv)
        env = dict(os.environ, **_C_LOCALE)
        t0 = time.monotonic()
        h = hashlib.sha256() if digest else None
        unreached = None  # why a direct stream did not start
        with tempfile.TemporaryFile() as e1, tempfile.TemporaryFile() as e2:
            p1 = subprocess.Popen(send, stdout=subprocess.PIPE, stderr=e1, env=env)
            if sink_path is not None:
                sink = open(sink_path, "wb")
                p2 = None
            elif direct:
                p2 = subprocess.Popen(sink_argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=e2, env=env)
                sink, unreached = _direct_connect(p2)
            else:
                p2 = subprocess.Popen(sink_argv, stdin=subprocess.PIPE, stdout=e2, stderr=e2, env=env)
                sink = p2.stdin
            total = 0
            if sink is not None:
                for f in (p1.stdout, sink):
                    _grow_pipe(f)
                try:
                    total = _relay(p1.stdout, sink, h, rate, progress)
                except (BrokenPipeError, OSError):
                    p1.kill()
                finally:
                    sink.close()
            else:  # no one-shot port: the receiver's stderr, or the connection, says why
                p1.kill()
            if direct:
                p2.stdout.read()
                p2.stdout.close()
            rc1, rc2 = p1.wait(), (p2.wait() if p2 else 0)
            err1, err2 = (_read_back(f) for f in (e1, e2))
        self.journal.record([str(a) for a in send_argv] + ["|"] + (shown or sink_argv or [">", sink_path]),
                            total > 0 or not (rc1 or rc2))
        if rc1 or rc2:
            cmd = send + ["|"] + (sink_argv or [">", sink_path])
            # When the receiver fails, the sender dies of SIGPIPE: the receiver's words matter.
            msg = error_message(["zfs", "receive"], rc2, err2) if rc2 else error_message(send_argv, rc1, err1)
            if direct and unreached:
                msg = "the direct stream did not start: %s. %s" % (unreached, msg)
            raise ZfsCommandError(msg, cmd=cmd, rc=rc2 or rc1, stdout="", stderr=(err1 + err2).strip())
        return {"bytes": total, "seconds": round(time.monotonic() - t0, 3),
                "sha256": h.hexdigest() if h else None}

    def receive_file(self, path, recv_argv):
        """``zfs receive ... < path``."""
        cmd = self.command(recv_argv)
        with open(path, "rb") as f:
            r = subprocess.run(cmd, stdin=f, capture_output=True, env=dict(os.environ, **_C_LOCALE), check=False)
        err = r.stderr.decode("utf-8", "replace")
        self.journal.record(["<", path] + self.shown(recv_argv), r.returncode == 0)
        if r.returncode != 0:
            raise ZfsCommandError(error_message(recv_argv, r.returncode, err), cmd=cmd + ["<", path],
                                  rc=r.returncode, stdout=r.stdout.decode("utf-8", "replace"), stderr=err)

    def tabular(self, argv):
        """Run a ``-H`` command and return its rows, each a list of tab-separated fields."""
        _rc, out, _err = self.run(argv)
        return _read.rows(out)


PROGRESS_EVERY = 5  # seconds between a stream's progress reports
SERVER_ALIVE = 30  # seconds without an answer from the remote host before ssh gives up on it


class SshZfsCli(ZfsCli):
    """Runs zfs on another host over ssh: one ``ssh host 'env LC_ALL=C zfs ...'`` per command,
    each argument shell-quoted for the remote shell (ssh always hands it a string)."""

    def __init__(self, module, host, ssh_args=()):
        super().__init__(module)
        self.host = host
        self.ssh_args = list(ssh_args)

    @staticmethod
    def remote_command(argv):
        """The remote shell's line for a zfs argv: C locale, every argument quoted."""
        return "env LC_ALL=C LANG=C " + " ".join(shlex.quote(str(a)) for a in argv)

    def shell_argv(self, command):
        """ssh running ``command`` (a shell line) on the host. A host that stops answering (a power
        cut, gone from the network) fails it within SERVER_ALIVE seconds, not at TCP's timeout
        (minutes, or hours for an idle stream), its connection being dead without a FIN."""
        alive = ["-o", "ServerAliveInterval=%d" % (SERVER_ALIVE // 3), "-o", "ServerAliveCountMax=3"]
        return [self._bin("ssh"), "-o", "BatchMode=yes"] + alive + self.ssh_args + ["--", self.host, command]

    def ssh_argv(self, argv, buffer=None, direct=False):
        """ssh running a zfs argv on the host; with ``buffer`` (a size mbuffer takes) its stdin
        (a stream) goes through ``mbuffer -m BUFFER`` there first, evening out the network.
        ``direct``: the transport's forced command carries the stream outside ssh (stream())."""
        line = self.remote_command(argv)
        if buffer:
            line = "mbuffer -q -s 128k -m %s | %s" % (shlex.quote(buffer), line)
        return self.shell_argv(DIRECT + " " + line if direct else line)

    def command(self, argv):
        return self.ssh_argv(argv)

    def shown(self, argv):
        return ["ssh", self.host] + [str(a) for a in argv]

    def command_stderr(self, err):
        return "".join(line for line in err.splitlines(True) if not _SSH_MUX_NOTICE.match(line))

    def failure(self, argv, rc, text):
        if rc == 255:  # ssh's own failure, not zfs's
            return "ssh to %s failed: %s" % (self.host, text.strip()[:500])
        return error_message(argv, rc, text)


def ssh_host_ok(host):
    """A host ssh can only take as its destination, never as an option."""
    return bool(_SSH_HOST.fullmatch(host or ""))


def _direct_connect(proc):
    """Read the forced command's ``helix-direct ADDRESS PORT TOKEN`` line from ``proc`` (the ssh),
    connect there and send the token: -> (the socket the stream goes to, None), or (None, why)
    with ``proc`` killed."""
    ready, _w, _x = select.select([proc.stdout], [], [], DIRECT_WAIT)
    words = proc.stdout.readline().decode("ascii", "replace").split() if ready else []
    if len(words) != 4 or words[0] != DIRECT or not words[2].isdigit():
        proc.kill()
        return None, "the receiver did not open a one-shot port (is it the transport's forced command?)"
    try:
        sock = socket.create_connection((words[1], int(words[2])), timeout=DIRECT_WAIT)
        sock.settimeout(None)
        sock.sendall((words[3] + "\n").encode())
    except OSError as e:
        proc.kill()
        return None, "no connection to %s port %s: %s" % (words[1], words[2], e)
    return sock, None


def _read_back(f):
    f.seek(0)
    return f.read().decode("utf-8", "replace")


def _grow_pipe(f):
    try:
        fcntl.fcntl(f.fileno(), getattr(fcntl, "F_SETPIPE_SZ", 1031), _PIPE_SIZE)
    except OSError:  # not a pipe, or over the limit for this user: the default size works too
        pass


def _relay(src, dst, h=None, rate=None, progress=None):
    """Copy a pipe to a pipe or file; splice(2) moves pipe data in the kernel when nothing
    needs to see it. ``rate``: at most this many bytes a second (pieces of a tenth of a second's
    worth, each sent when its time has come). ``progress(bytes)`` every PROGRESS_EVERY seconds.
    Returns the byte count."""
    total = 0
    fi, fo = src.fileno(), dst.fileno()
    piece = min(1 << 20, max(1 << 12, rate // 10)) if rate else 1 << 20
    t0 = time.monotonic()
    told = [t0]
    if h is None and hasattr(os, "splice"):
        try:
            while True:
                n = os.splice(fi, fo, piece)
                if n == 0:
                    return total
                total += n
                _pace(total, t0, rate)
                _tell(progress, total, told)
        except OSError as e:
            if e.errno != errno.EINVAL:  # EINVAL: the sink can't be spliced to; copy instead
                raise
    while True:
        chunk = os.read(fi, piece)
        if not chunk:
            return total
        if h is not None:
            h.update(chunk)
        view = memoryview(chunk)
        while view:
            view = view[os.write(fo, view):]
        total += len(chunk)
        _pace(total, t0, rate)
        _tell(progress, total, told)


def _tell(progress, total, told):
    now = time.monotonic()
    if progress is not None and now - told[0] >= PROGRESS_EVERY:
        told[0] = now
        progress(total)


def _pace(total, t0, rate):
    """Wait until ``total`` bytes are within ``rate`` bytes a second since ``t0``."""
    if rate:
        ahead = total / rate - (time.monotonic() - t0)
        if ahead > 0:
            time.sleep(ahead)


def error_message(argv, rc, text):
    """The part of zfs/zpool's complaint worth a msg: the lines before any usage dump."""
    lines = []
    for line in text.strip().splitlines():
        if line.strip().startswith("usage:"):
            break
        if line.strip():
            lines.append(line.strip())
    msg = "%s failed: %s" % (" ".join(argv[:2]), " ".join(lines)[:500] or "rc=%s" % rc)
    if "use '-f' to override" in text:
        msg += " (force_devices: true passes -f)"
    return msg


def run_module(module, body):
    """Run ``body(cli)`` and turn a HelixError into fail_json (cmd/rc/stdout/stderr if a command ran).
    Every failure, here or in the module, says what ran before it and whether that changed
    anything (``commands``, ``changed``), unless the module says so itself."""
    cli = ZfsCli(module)
    fail = module.fail_json

    def fail_json(**kw):
        kw.setdefault("changed", cli.journal.changed)
        kw.setdefault("commands", list(cli.journal.ran))
        fail(**kw)
    module.fail_json = fail_json
    try:
        result = body(cli)
    except HelixError as e:
        module.fail_json(**e.as_result())
    module.exit_json(**result)
