"""The replication key's forced command (roles/transport/files/helix_transport_receive.py): what a
peer's zfs_replicate runs on a receiver is admitted, with the argv that runs; anything else is
refused before it runs."""
import importlib.machinery
import importlib.util
import os
import shlex
import struct

import pytest

PATH = os.path.join(os.path.dirname(__file__), "../../../roles/transport/files/helix_transport_receive.py")
_loader = importlib.machinery.SourceFileLoader("helix_transport_receive", PATH)
_spec = importlib.util.spec_from_loader(_loader.name, _loader)
W = importlib.util.module_from_spec(_spec)
_loader.exec_module(W)

ROOTS = ["tr/in", "pp/logs"]
ENV = "env LC_ALL=C LANG=C "
RECV = "zfs receive -s -u -x mountpoint -o canmount=noauto -o exec=off -o helix:role=replica -o readonly=on -o setuid=off "


@pytest.mark.parametrize("line, size, argv", [
    (ENV + RECV + "tr/in/app", None, ["/usr/sbin/zfs"] + shlex.split(RECV)[1:] + ["tr/in/app"]),
    ("mbuffer -q -s 128k -m 64M | " + ENV + RECV + "pp/logs", "64M", ["/usr/sbin/zfs"] + shlex.split(RECV)[1:] + ["pp/logs"]),
    (ENV + "zfs receive -A tr/in/app", None, ["/usr/sbin/zfs", "receive", "-A", "tr/in/app"]),
    (ENV + "zfs list -Hp -t filesystem,volume,snapshot,bookmark -o name,type,guid -r tr/in/app", None, None),
    (ENV + "zfs get -H -o value receive_resume_token tr/in/app", None, None),
    (ENV + "zfs holds -H tr/in/app@a tr/in/app@b", None, None),
    (ENV + "zfs hold helix-keep tr/in/app@a", None, None),
    (ENV + "zfs release helix-keep tr/in/app@a", None, None),
    (ENV + "zfs receive -s -u -o canmount=noauto -o setuid=off -o exec=off 'tr/in/my data'", None, None),
    # A volume's receive (the stream's first record is checked before it runs: below).
    (ENV + "zfs receive -s -u -o readonly=on tr/in/vol", None, None),
])
def test_what_a_sender_needs_is_admitted(line, size, argv):
    direct, got_size, got = W.parse(line, ROOTS)
    assert not direct
    assert got_size == size
    assert got == (argv or ["/usr/sbin/zfs"] + shlex.split(line)[4:])


@pytest.mark.parametrize("line", [
    "helix-direct " + ENV + RECV + "tr/in/app",
    "helix-direct mbuffer -q -s 128k -m 64M | " + ENV + RECV + "tr/in/app",
])
def test_a_receive_may_take_its_stream_direct(line):
    direct, _size, argv = W.parse(line, ROOTS)
    assert direct and argv[:2] == ["/usr/sbin/zfs", "receive"]


@pytest.mark.parametrize("line, why", [
    ("sh", "only zfs commands"),
    ("helix-direct " + ENV + "zfs list -r tr/in", "before a receive's stream only"),
    ("helix-direct " + ENV + "zfs receive -A tr/in/app", "before a receive's stream only"),
    ("helix-direct sh", "only zfs commands"),
    ("", "only zfs commands"),
    ("bash -c 'zfs list'", "only zfs commands"),
    (ENV + "zfs destroy -r tr/in/app", "zfs destroy is not allowed"),
    (ENV + "zfs rollback -r tr/in/app@a", "zfs rollback is not allowed"),
    (ENV + "zfs mount tr/in/app", "zfs mount is not allowed"),
    (ENV + "zfs set readonly=off tr/in/app", "zfs set is not allowed"),
    (ENV + RECV + "tank/other", "not a dataset this node receives"),
    (ENV + RECV + "tr/input", "not a dataset this node receives"),
    (ENV + RECV.replace("-o readonly=on", "-o mountpoint=/") + "tr/in/app", "-o mountpoint=/ is not allowed"),
    (ENV + RECV.replace("-s -u", "-s -u -F") + "tr/in/app", "flag -F is not allowed"),
    (ENV + RECV.replace("-o setuid=off", "-o setuid=on") + "tr/in/app", "-o setuid=on is not allowed"),
    (ENV + RECV.replace("-u ", "") + "tr/in/app", "unmounted"),
    (ENV + RECV + "-x canmount tr/in/app", "-x canmount is not allowed"),
    (ENV + "zfs list -r tank", "not a dataset this node receives"),
    (ENV + "zfs list -r tr/in; reboot", "not a dataset"),
    (ENV + "zfs list -r tr/in | sh", "only .mbuffer"),
    ("mbuffer -q -s 128k -m 64M | " + ENV + RECV + "tr/in/a | sh", "one pipe at most"),
    ("cat /etc/shadow | " + ENV + RECV + "tr/in/app", "only 'mbuffer"),
    ("mbuffer -q -s 128k -m 64M | " + ENV + "zfs list tr/in", "before zfs receive only"),
    (ENV + "zfs hold -r helix-keep tr/in/app@a", "no flags"),
    (ENV + "zfs receive -A tr/in/a tr/in/b", "one dataset"),
    ("zfs list 'unterminated", "does not parse"),
])
def test_everything_else_is_refused(line, why):
    with pytest.raises(W.Refused, match=why.replace("|", r"\|")):
        W.parse(line, ROOTS)


def test_the_one_shot_port_takes_the_token_holder_only(monkeypatch):
    """direct_stream on loopback: a connection without the token is dropped, the one with it
    gets the stream."""
    import queue
    import socket
    import threading

    said = queue.Queue()

    class Out:
        def write(self, text):
            said.put(text)

        def flush(self):
            pass

    monkeypatch.setattr(W.sys, "stdout", Out())
    got = {}

    def serve():
        conn = W.direct_stream("127.0.0.1", "127.0.0.1")
        got["data"] = conn.makefile("rb").read()
        conn.close()

    t = threading.Thread(target=serve)
    t.start()
    word, address, port, token = said.get(timeout=10).split()
    assert word == "helix-direct" and address == "127.0.0.1"
    with socket.create_connection((address, int(port))) as wrong:
        wrong.sendall(b"0" * len(token) + b"\n")
        assert wrong.recv(1) == b""  # dropped
    with socket.create_connection((address, int(port))) as right:
        right.sendall(token.encode() + b"\nthe stream")
    t.join(10)
    assert got["data"] == b"the stream"


def _header(version, dstype, order="<"):
    """A DRR_BEGIN record's first 40 bytes as OpenZFS 2.3 writes them (recorded in the lab with
    zfs send | head -c 40 | od: a volume, a filesystem, -R, -w)."""
    return struct.pack(order + "IIQQQII", 0, 0x33C if version == 2 else 0, 0x2F5BACBAC, version, 0x6B143A53,
                       dstype, 0xC)


@pytest.mark.parametrize("header, kind", [
    (_header(0x1, 3), "volume"),                # zfs send pool/vol@a
    (_header(0x010C0001, 3), "volume"),         # zfs send -w pool/vol@a
    (_header(0x11, 2), "filesystem"),           # zfs send pool/fs@a
    (_header(0x11, 2, ">"), "filesystem"),      # from a big-endian sender
    (_header(0x2, 0), "recursive"),             # zfs send -R pool/fs@a
])
def test_the_stream_says_what_it_is(header, kind):
    assert W.stream_kind(header) == kind


@pytest.mark.parametrize("header, why", [
    (_header(0x1, 3)[:39], "ended before"),
    (b"#!/bin/sh\n" + b"x" * 40, "not a zfs send stream"),
    (struct.pack("<I", 5) + _header(0x1, 3)[4:], "does not begin"),
    (_header(0x1, 4), "dataset type"),
])
def test_anything_else_is_not_a_stream(header, why):
    with pytest.raises(W.Refused, match=why):
        W.stream_kind(header)


RECV_ARGV = ["/usr/sbin/zfs"] + shlex.split(RECV)[1:] + ["tr/in/app"]


@pytest.mark.parametrize("kind, argv, why", [
    ("filesystem", RECV_ARGV, None),
    ("recursive", RECV_ARGV, None),
    ("volume", ["/usr/sbin/zfs", "receive", "-s", "-u", "tr/in/vol"], None),
    # The sender's word is not taken: a filesystem's stream without them is refused.
    ("filesystem", ["/usr/sbin/zfs", "receive", "-s", "-u", "tr/in/vol"], "missing: canmount, exec, setuid"),
    ("filesystem", ["/usr/sbin/zfs"] + shlex.split(RECV.replace("-o setuid=off ", ""))[1:] + ["tr/in/app"], "missing: setuid"),
    ("recursive", ["/usr/sbin/zfs", "receive", "-s", "-u", "-o", "canmount=noauto", "tr/in/app"], "missing: exec, setuid"),
])
def test_a_filesystem_stream_is_received_inert(kind, argv, why):
    if why is None:
        W.check_stream(kind, argv)
    else:
        with pytest.raises(W.Refused, match=why):
            W.check_stream(kind, argv)


@pytest.mark.parametrize("source", ["pipe", "socket"])
def test_the_stream_passes_whole_header_first(source):
    """pump: the header read to check the stream, then the rest, spliced from a pipe (ssh's
    stdin) or a socket (a direct stream) into the receive's pipe."""
    import socket
    import threading

    body = os.urandom(3 << 20)
    if source == "pipe":
        src_r, src_w = os.pipe()
        writer = threading.Thread(target=lambda: (os.write(src_w, body[40:]), os.close(src_w)))
        keep = None
    else:
        keep, far = socket.socketpair()
        src_r = keep.fileno()
        writer = threading.Thread(target=lambda: (far.sendall(body[40:]), far.close()))
    out_r, out_w = os.pipe()
    got = []
    reader = threading.Thread(target=lambda: got.append(b"".join(iter(lambda: os.read(out_r, 1 << 16), b""))))
    writer.start()
    reader.start()
    W.pump(src_r, body[:40], out_w)
    writer.join(10)
    reader.join(10)
    assert got == [body]
    os.close(out_r)
    if keep:
        keep.close()
    else:
        os.close(src_r)


def test_a_silent_sender_ends_the_stream_after_the_stall_limit():
    # A sender that loses power sends no FIN: before, the receive waited on it for hours (TCP
    # keepalive). Now the pipe to zfs receive is closed, so a resumable receive keeps a token.
    src_r, src_w = os.pipe()
    out_r, out_w = os.pipe()
    os.write(src_w, b"x" * 100)
    with pytest.raises(W.Stalled, match="nothing received for 1 s"):
        W.pump(src_r, b"h" * 40, out_w, stall=1)
    assert os.read(out_r, 1 << 10) == b"h" * 40 + b"x" * 100
    assert os.read(out_r, 1) == b""  # closed: the receive sees the end of its stream
    for fd in (src_r, src_w, out_r):
        os.close(fd)
