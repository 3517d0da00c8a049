# Copyright (c) helix.zfs contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""A digest of a directory tree's content (paths, types, modes, symlink targets and file
bytes), or of a block device's bytes (a volume), the same on any host: the code below runs in-process on the source and, as the same
text, under ``python3 -c`` on a target over ssh."""

from __future__ import annotations

import contextlib
import os
import shlex
import time

from ansible_collections.helix.zfs.plugins.module_utils._errors import PlanError, ZfsCommandError

DIGEST_PY = r'''
import hashlib, os, stat, sys, time
def _bytes(h, path):
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
def tree_digest(root):
    # A new volume's device node appears once udev has run: wait for it, a little.
    for _ in range(300):
        if os.path.exists(root):
            break
        time.sleep(0.1)
    if stat.S_ISBLK(os.stat(root).st_mode):
        h = hashlib.sha256()
        _bytes(h, root)
        return h.hexdigest()
    h = hashlib.sha256()
    for base, dirs, files in os.walk(root):
        dirs.sort()
        for name in sorted(dirs + files):
            path = os.path.join(base, name)
            st = os.lstat(path)
            rel = os.path.relpath(path, root)
            h.update(("%s\0%o\0" % (rel, st.st_mode)).encode("utf-8", "surrogateescape"))
            if stat.S_ISLNK(st.st_mode):
                h.update(os.readlink(path).encode("utf-8", "surrogateescape"))
            elif stat.S_ISREG(st.st_mode):
                _bytes(h, path)
            h.update(b"\0")
    return h.hexdigest()
if __name__ == "__main__":
    print(tree_digest(sys.argv[1]))
'''


def local_digest(root):
    scope = {"__name__": "helix_digest"}
    exec(compile(DIGEST_PY, "helix_digest", "exec"), scope)  # pylint: disable=exec-used
    return scope["tree_digest"](root)


def remote_command(root):
    """The remote shell command that prints the digest of ``root``."""
    return "python3 -c %s %s" % (shlex.quote(DIGEST_PY), shlex.quote(root))


def snapshot_digest(cli, snap, volume=None, read=local_digest):
    """The content digest of snapshot ``snap`` - a filesystem's files, a volume's blocks - read by
    ``read(path)`` through a temporary read-only clone (see readable)."""
    with readable(cli, snap, volume) as (path, _volume):
        return read(path)


@contextlib.contextmanager
def readable(cli, snap, volume=None):
    """A temporary read-only clone of snapshot ``snap``, mounted privately (a filesystem) or as its
    device (a volume) -> (path, volume). ``volume`` None: asked of zfs. The clone's name is this
    run's own, and only a clone this run made is destroyed."""
    if volume is None:
        _rc, out, _err = cli.run(["zfs", "get", "-H", "-o", "value", "volsize", snap])
        volume = out.strip() not in ("", "-")
    pool = snap.split("/")[0].split("@")[0]
    tag = "%d-%s" % (os.getpid(), os.urandom(4).hex())
    clone = "%s/helix-verify-%s" % (pool, tag)
    path = "/dev/zvol/" + clone if volume else "/run/helix-verify-%s" % tag
    # rc 1 also when the clone was made but could not mount (an encrypted dataset without its
    # key): the check below says so. The name is this run's own, so whatever bears it, this
    # run made, and destroys.
    clone_argv = ["zfs", "clone", "-o", "readonly=on"] + ([] if volume else ["-o", "mountpoint=" + path]) \
        + [snap, clone]
    rc, _out, err = cli.run(clone_argv, ok_rcs=(0, 1))
    try:
        rc2, out, _err = cli.run(["zfs", "get", "-H", "-o", "value", "mounted,keystatus", clone], ok_rcs=(0, 1))
        if rc2 != 0:
            raise ZfsCommandError(cli.failure(clone_argv, rc, err), cmd=cli.command(clone_argv), rc=rc, stderr=err)
        mounted, keystatus = (out.split() + ["-", "-"])[:2]
        if mounted != "yes" and not volume:
            raise PlanError("cannot read the content of %s to verify it: its clone did not mount (keystatus "
                            "%s; an encrypted dataset needs its key loaded to read its content)" % (snap, keystatus))
        yield path, volume
    finally:
        _destroy(cli, clone)


def _destroy(cli, clone, tries=20):
    """Destroy the clone; a volume's stays busy while udev still probes its new device."""
    for _attempt in range(tries):
        rc, _out, err = cli.run(["zfs", "destroy", clone], ok_rcs=(0, 1))
        if rc == 0 or "busy" not in err:
            return
        time.sleep(0.5)
