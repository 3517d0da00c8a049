# Copyright (c) helix.zfs contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""A digest of a directory tree's content (paths, types, modes, symlink targets and file
bytes), or of a block device's bytes (a volume), the same on any host: the code below runs in-process on the source and, as the same
text, under ``python3 -c`` on a target over ssh."""

from __future__ import annotations

import shlex

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
