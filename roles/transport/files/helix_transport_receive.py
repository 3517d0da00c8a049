# Copyright (c) helix.zfs contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The forced command of the replication key (authorized_keys ``command=``, run as
``python3 -I``), installed by the
helix.zfs.transport role. A peer's zfs_replicate may run, on this node, what a receive needs:

  zfs receive -s -u [-x PROP]... -o canmount=noauto -o setuid=off -o exec=off [-o PROP=V]... DATASET
                                         (a volume's stream without the three: they are a
                                         filesystem's, and zfs refuses them on a volume)
  zfs receive -A DATASET                 abort an interrupted receive
  zfs list, zfs get, zfs holds           read only
  zfs hold / zfs release TAG SNAPSHOT... the hold that keeps a target's last common snapshot

optionally behind ``mbuffer -q -s 128k -m SIZE |``, each only on the datasets this node
receives into (the allowlist file named by its one argument, written by the role).

``helix-direct`` before a receive carries its stream outside ssh, through the WireGuard tunnel
only (one encryption layer, not two): this command opens a one-shot TCP port on the node's
tunnel address (``listen`` in the allowlist file), prints ``helix-direct ADDRESS PORT TOKEN``
on the ssh channel, and feeds ``zfs receive`` from the first connection that comes from the
ssh peer's own address and starts with that one-time token; the receive's exit status goes back
over ssh. The receive's stream passes through this command: its first record says whether it
is a volume's, and only a volume's may go without the three properties (the sender's word is not
taken for it). Everything else - a shell, destroy, rollback, mount, set, a flag or a property
outside these lists - is refused before anything runs, with a message on stderr and exit status
126. What is admitted runs without a shell."""

import errno
import hmac
import json
import os
import re
import secrets
import select
import shlex
import socket
import struct
import subprocess
import sys
import syslog

ZFS = "/usr/sbin/zfs"
MBUFFER = "/usr/bin/mbuffer"
REFUSED = 126
DIRECT = "helix-direct"
DIRECT_WAIT = 60  # seconds the one-shot port waits for the sender's connection
# A sender that loses power sends no FIN: without a limit the receive would wait for its bytes
# for hours (TCP keepalive), and a rerun would find the dataset busy.
STALL = 300

_NAME = re.compile(r"^[A-Za-z0-9_.: -]+(/[A-Za-z0-9_.: -]+)*([@#][A-Za-z0-9_.:-]+)?$")
_PROP = re.compile(r"^[a-z][a-z0-9_]*$|^[a-z0-9_.+-]+:[a-z0-9_.:+-]+$")  # native, or user (module:name)
_WORDS = re.compile(r"^[a-z0-9_:.,-]+$")  # -t, -o, -s lists of types, columns, properties
_SIZE = re.compile(r"^[0-9]+[kKmMgG%]?$")
# -o values a receive may set; these three must be set on a filesystem's stream, so a replica
# never mounts by itself and a setuid or executable file in it stays inert. A volume has none of
# them (zfs refuses them there); a recursive (-R) stream takes them, its volumes skip them.
_SETS = {"canmount": ("noauto", "off"), "readonly": ("on",), "setuid": ("off",), "exec": ("off",)}
_REQUIRED = {"canmount", "setuid", "exec"}
# A send stream's first record (DRR_BEGIN): record type, payload length, then drr_begin's magic,
# version info (its low 2 bits: 1 one dataset, 2 recursive) and the dataset type (2 filesystem,
# 3 volume), in the sender's byte order.
_HEADER = 40
_MAGIC = 0x2F5BACBAC


class Stalled(Exception):
    """The sender went silent mid-stream."""


class Refused(Exception):
    pass


def _flags(args, alone, with_value):
    """Split leading options: ``alone`` flags, ``with_value`` flags taking the next word ->
    ([(flag, value)], rest). Anything else starting with ``-`` is refused."""
    out = []
    i = 0
    while i < len(args) and args[i].startswith("-"):
        a = args[i]
        if a in alone:
            out.append((a, None))
        elif a in with_value and i + 1 < len(args):
            out.append((a, args[i + 1]))
            i += 1
        else:
            raise Refused("flag %s is not allowed here" % a)
        i += 1
    return out, args[i:]


def _names(names):
    if not names:
        raise Refused("a dataset name is missing")
    for n in names:
        if not _NAME.match(n):
            raise Refused("%r is not a dataset, snapshot or bookmark name" % n)
    return names


def _listing(args):
    flags, rest = _flags(args, ("-H", "-p", "-Hp", "-r"), ("-t", "-o", "-d", "-s", "-S"))
    for f, v in flags:
        if v is not None and not (_WORDS.match(v) if f != "-d" else v.isdigit()):
            raise Refused("%s %s is not allowed" % (f, v))
    return rest


def check_list(args):
    return _names(_listing(args))


def check_get(args):
    rest = _listing(args)
    if not rest or not _WORDS.match(rest[0]):
        raise Refused("zfs get needs its properties, then names")
    return _names(rest[1:])


def check_holds(args):
    return _names(_flags(args, ("-H", "-r"), ())[1])


def check_hold(args):
    if len(args) < 2 or args[0].startswith("-") or not _WORDS.match(args[0]):
        raise Refused("zfs hold/release takes TAG SNAPSHOT... (no flags)")
    snaps = _names(args[1:])
    if not all("@" in s for s in snaps):
        raise Refused("holds are on snapshots")
    return snaps


def check_receive(args):
    if args[:1] == ["-A"]:
        if len(args) != 2:
            raise Refused("zfs receive -A takes one dataset")
        return _names(args[1:])
    flags, rest = _flags(args, ("-s", "-u"), ("-x", "-o"))
    given = {}
    for f, v in flags:
        if f == "-x":
            if not _PROP.match(v) or v in _SETS:
                raise Refused("-x %s is not allowed" % v)
        elif f == "-o":
            prop, eq, value = v.partition("=")
            if not eq or not _PROP.match(prop):
                raise Refused("-o %s is not PROPERTY=VALUE" % v)
            if ":" not in prop and value not in _SETS.get(prop, ()):
                raise Refused("-o %s is not allowed (allowed: %s, and user properties)" % (
                    v, "; ".join("%s=%s" % (p, "|".join(vs)) for p, vs in sorted(_SETS.items()))))
            given[prop] = value
    if ("-u", None) not in flags:
        raise Refused("a receive here is unmounted (-u)")
    if len(rest) != 1:
        raise Refused("zfs receive takes one target dataset")
    return _names(rest)


CHECKS = {"list": check_list, "get": check_get, "holds": check_holds, "hold": check_hold,
          "release": check_hold, "receive": check_receive, "recv": check_receive}


def stream_kind(header):
    """A send stream's first _HEADER bytes -> "filesystem", "volume" or "recursive"."""
    if len(header) < _HEADER:
        raise Refused("the stream ended before its first record")
    for order in "<>":
        rtype, _len, magic, version = struct.unpack(order + "IIQQ", header[:24])
        if magic == _MAGIC:
            break
    else:
        raise Refused("the stream is not a zfs send stream")
    if rtype != 0 or version & 3 not in (1, 2):
        raise Refused("the stream does not begin as a zfs send stream does")
    if version & 3 == 2:
        return "recursive"
    kind = {2: "filesystem", 3: "volume"}.get(struct.unpack(order + "I", header[32:36])[0])
    if kind is None:
        raise Refused("the stream is of a dataset type this node does not receive")
    return kind


def check_stream(kind, argv):
    """A filesystem's (or a recursive) stream is received with the three properties set."""
    if kind == "volume":
        return
    given = {argv[i + 1].partition("=")[0] for i, a in enumerate(argv) if a == "-o"}
    missing = sorted(_REQUIRED - given)
    if missing:
        need = ", ".join("%s=%s" % (p, _SETS[p][0]) for p in sorted(_REQUIRED))
        raise Refused("a %s stream is received here with %s (missing: %s)" % (kind, need, ", ".join(missing)))


def takes_stream(argv):
    """A zfs argv (after "zfs") that reads a send stream: a receive, not an abort (-A)."""
    return argv[0] in ("receive", "recv") and argv[1:2] != ["-A"]


def allowed(name, roots):
    ds = re.split(r"[@#]", name, 1)[0]
    return any(ds == r or ds.startswith(r + "/") for r in roots)


def parse(line, roots):
    """The ssh command line -> (direct, mbuffer size or None, zfs argv). Raises Refused."""
    try:
        words = shlex.split(line)
    except ValueError:
        raise Refused("the command does not parse")
    direct = words[:1] == [DIRECT]
    words = words[1:] if direct else words
    size = None
    if "|" in words:
        i = words.index("|")
        head, words = words[:i], words[i + 1:]
        if head[:5] != ["mbuffer", "-q", "-s", "128k", "-m"] or len(head) != 6 or not _SIZE.match(head[5]):
            raise Refused("only 'mbuffer -q -s 128k -m SIZE |' may come before zfs")
        size = head[5]
    if "|" in words:
        raise Refused("one pipe at most")
    if words[:3] == ["env", "LC_ALL=C", "LANG=C"]:
        words = words[3:]
    if len(words) < 2 or words[0] != "zfs":
        raise Refused("only zfs commands run over the replication key")
    check = CHECKS.get(words[1])
    if check is None:
        raise Refused("zfs %s is not allowed over the replication key (it runs as root through Ansible)" % words[1])
    if size and words[1] not in ("receive", "recv"):
        raise Refused("mbuffer goes before zfs receive only")
    if direct and not takes_stream(words[1:]):
        raise Refused("%s goes before a receive's stream only" % DIRECT)
    outside = [n for n in check(words[2:]) if not allowed(n, roots)]
    if outside:
        raise Refused("%s: not a dataset this node receives (%s)" % (", ".join(outside), ", ".join(roots) or "none"))
    return direct, size, [ZFS] + words[1:]


def direct_stream(listen, peer):
    """The one-shot port: -> the connection from PEER that sent the token (the stream follows)."""
    token = (secrets.token_hex(16) + "\n").encode()
    family = socket.AF_INET6 if ":" in listen else socket.AF_INET
    with socket.create_server((listen, 0), family=family, backlog=1) as srv:
        srv.settimeout(DIRECT_WAIT)
        sys.stdout.write("%s %s %d %s" % (DIRECT, listen, srv.getsockname()[1], token.decode()))
        sys.stdout.flush()
        while True:
            try:
                conn, addr = srv.accept()
            except socket.timeout:
                raise Refused("no stream came to the one-shot port within %d s" % DIRECT_WAIT)
            conn.settimeout(10)
            got = b""
            try:
                while len(got) < len(token):
                    chunk = conn.recv(len(token) - len(got))
                    if not chunk:
                        break
                    got += chunk
            except OSError:
                pass
            if addr[0] == peer and hmac.compare_digest(got, token):
                conn.settimeout(None)
                return conn
            syslog.syslog(syslog.LOG_WARNING, "refused a connection to the one-shot port from %s" % addr[0])
            conn.close()


def read_header(fd):
    """The stream's first _HEADER bytes (fewer if it ends before)."""
    header = b""
    while len(header) < _HEADER:
        chunk = os.read(fd, _HEADER - len(header))
        if not chunk:
            break
        header += chunk
    return header


def pump(src, header, dst, stall=STALL):
    """HEADER, then the rest of fd SRC, into the pipe DST (spliced in the kernel, no copy here),
    until SRC ends or the reader is gone (its exit status says why). Stalled when SRC sends
    nothing for STALL seconds: DST is closed all the same, so a resumable receive keeps what it
    got (its resume token) and ends."""
    splice = True
    try:
        os.write(dst, header)
        while True:
            if not select.select([src], [], [], stall)[0]:
                raise Stalled("nothing received for %d s: the sender is gone" % stall)
            if splice:
                try:
                    n = os.splice(src, dst, 1 << 20)
                except OSError as e:
                    if e.errno != errno.EINVAL:  # EINVAL: neither a pipe nor a socket, so copy it
                        raise
                    splice = False
                    continue
            else:
                data = os.read(src, 1 << 20)
                n = os.write(dst, data) if data else 0
            if not n:
                break
    except BrokenPipeError:
        pass
    finally:
        os.close(dst)


def main():
    line = os.environ.get("SSH_ORIGINAL_COMMAND", "")
    peer = (os.environ.get("SSH_CLIENT") or "?").split(" ")[0]
    syslog.openlog("helix-transport", 0, syslog.LOG_AUTH)  # the audit trail: what each peer ran
    conn = kind = None
    header = b""
    try:
        with open(sys.argv[1]) as f:  # authorized_keys names it: the role's transport_dir
            config = json.load(f)
        direct, size, argv = parse(line, config["receive"])
        receive = takes_stream(argv[1:])
        if direct and not config.get("listen"):
            raise Refused("%s needs the tunnel (this node has no tunnel address)" % DIRECT)
        conn = direct_stream(config["listen"], peer) if direct else None
        src = conn.fileno() if conn else 0
        if receive:
            header = read_header(src)
            kind = stream_kind(header)
            check_stream(kind, argv)
    except (Refused, OSError, ValueError, KeyError, IndexError) as e:
        syslog.syslog(syslog.LOG_WARNING, "refused %r from %s: %s" % (line[:200], peer, e))
        sys.stderr.write("helix-transport: refused %r: %s\n" % (line[:200], e))
        sys.exit(REFUSED)
    syslog.syslog(syslog.LOG_INFO, "ran %s%s%s from %s" % (
        " ".join(argv[1:]), " [%s stream]" % kind if receive else "", " (direct)" if direct else "", peer))
    env = {"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "LC_ALL": "C", "LANG": "C"}
    if not receive:
        os.execve(argv[0], argv, env)
    r, w = os.pipe()
    buf = subprocess.Popen([MBUFFER, "-q", "-s", "128k", "-m", size], stdin=r, stdout=subprocess.PIPE, env=env) if size else None
    zfs = subprocess.Popen(argv, stdin=buf.stdout if buf else r, env=env)
    os.close(r)
    if buf:
        buf.stdout.close()
    try:
        pump(src, header, w, config.get("stall_seconds", STALL))
    except Stalled as e:
        syslog.syslog(syslog.LOG_WARNING, "stalled %r from %s: %s" % (line[:200], peer, e))
        sys.stderr.write("helix-transport: %s; the receive ends here, and the next run resumes it\n" % e)
    rc = zfs.wait()
    sys.exit(rc or (buf.wait() if buf else 0))


if __name__ == "__main__":
    main()
