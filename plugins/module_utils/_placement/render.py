# Copyright (c) helix.zfs contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""The shell commands an operator reads for each step (``ssh HOST zfs ...``), quoted for a POSIX
shell; the names in them were checked before."""

from __future__ import annotations

import re
import shlex

from ansible_collections.helix.zfs.plugins.module_utils._props import DEMOTED, PRIMARY, REPLICA, ROLE_PROP
from ansible_collections.helix.zfs.plugins.module_utils._placement.topology import pool_fs, pool_host

SHELL_SAFE = re.compile(r"^[\w@%+=:,./-]+$", re.ASCII)  # what shlex.quote leaves bare


def ssh_line(host, command, *args):
    """``ssh HOST command args...`` as one POSIX shell line. ``command`` is a constant of this
    module; ``args`` are names, checked before (host, pool and dataset names: letters, digits,
    ``_ . : - /`` and, in dataset names only, spaces). Plain names stay bare; with a space, the
    remote command goes in double quotes and the names in single quotes inside them, so each
    shell (the local one, then the remote one ssh hands the joined words to) parses its layer."""
    if SHELL_SAFE.match("".join(args)):
        return "ssh %s %s %s" % (host, command, " ".join(args))
    return 'ssh %s "%s %s"' % (host, command, " ".join(map(shlex.quote, args)))


def ssh_line_plain(host, command, *args):
    """ssh_line when every name of the dataset is known to be plain."""
    return "ssh %s %s %s" % (host, command, " ".join(args))


_RECEIVE = "zfs receive -s -u -o canmount=noauto -o readonly=on -o %s=%s" % (ROLE_PROP, REPLICA)


def _send_cmd(line, sh, dh, sfs, dfs, snap, base):
    """The send of ``sfs@snap`` (from ``base`` when given: an incremental) into ``dfs``."""
    if base is None:
        send = line(sh, "zfs send -w", "%s@%s" % (sfs, snap))
    elif base:
        send = line(sh, "zfs send -w -I", "@" + base, "%s@%s" % (sfs, snap))
    else:  # from the newest snapshot the target has: found at run time
        send = line(sh, "zfs send -w -I @${base}", "%s@%s" % (sfs, snap))
    return send + " | " + line(dh, _RECEIVE, dfs)


def create_commands(line, ds, pool):
    return [line(pool_host(pool), "zfs create -p -o %s=%s" % (ROLE_PROP, PRIMARY), pool_fs(pool, ds))]


def copy_commands(line, ds, src, dst, snap):
    """A new replica: a full send of a fresh snapshot (helix.zfs.zfs_replicate), received
    unmounted, resumable, read-only and marked a replica."""
    sfs, dfs, sh, dh = pool_fs(src, ds), pool_fs(dst, ds), pool_host(src), pool_host(dst)
    cmds = [line(sh, "zfs snapshot -r", "%s@%s" % (sfs, snap))]
    if "/" in ds:
        cmds.append(line(dh, "zfs create -p", dfs.rsplit("/", 1)[0]))
    return cmds + [_send_cmd(line, sh, dh, sfs, dfs, snap, None)]


def cutover_commands(line, ds, src, dst, snap, base):
    """A primary switch: playbooks/tasks/cutover.yml's five steps. The final incremental goes
    from ``base`` when this plan made the copy, else from the newest snapshot the new primary
    has (replication kept it current)."""
    sfs, dfs, sh, dh = pool_fs(src, ds), pool_fs(dst, ds), pool_host(src), pool_host(dst)
    cmds = [line(sh, "zfs set readonly=on %s=%s" % (ROLE_PROP, DEMOTED), sfs),
            line(sh, "zfs snapshot -r", "%s@%s" % (sfs, snap))]
    if not base:
        cmds.append("base=$(%s | tail -n 1 | cut -d@ -f2)" % line(
            dh, "zfs list -H -d 1 -t snapshot -o name -s createtxg", dfs))
    return cmds + [_send_cmd(line, sh, dh, sfs, dfs, snap, base or ""),
                   line(sh, "zfs set %s=%s" % (ROLE_PROP, REPLICA), sfs)] + promote_commands(line, ds, dst)


def promote_commands(line, ds, pool):
    fs = pool_fs(pool, ds)
    return [line(pool_host(pool), "zfs set readonly=off canmount=on %s=%s" % (ROLE_PROP, PRIMARY), fs),
            line(pool_host(pool), "zfs mount -R", fs)]
