# Copyright (c) helix.zfs contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""What node-side scripts that run without Ansible (the snapshot and replication timers, the
monitoring collector) need: the calls ZfsCli makes of AnsibleModule, so they share the one
transport, a module's params for an engine, and atomic file writes."""

from __future__ import annotations

import glob
import os
import shutil
import subprocess
import tempfile
import time

from ansible_collections.helix.zfs.plugins.module_utils._errors import ZfsCommandError


class Node:
    """Stands in for AnsibleModule where ZfsCli(module) wants one."""

    @staticmethod
    def get_bin_path(name, required=False):
        # Timers run with systemd's PATH; zfs and zpool live in /usr/sbin or /sbin.
        return shutil.which(name, path=os.environ.get("PATH", "") + ":/usr/sbin:/sbin") or name

    @staticmethod
    def run_command(cmd, data=None, environ_update=None, check_rc=False, binary_data=False):
        r = subprocess.run(cmd, input=data, capture_output=True, text=True, check=False,
                           env=dict(os.environ, **(environ_update or {})))
        if check_rc and r.returncode != 0:  # as AnsibleModule fails the run
            raise ZfsCommandError("%s failed (rc %d): %s" % (cmd[0], r.returncode, r.stderr.strip()), cmd=cmd,
                                  rc=r.returncode, stdout=r.stdout, stderr=r.stderr)
        return r.returncode, r.stdout, r.stderr


class NodeRun(Node):
    """Stands in for a module whose engine a node script runs: its ``params`` and ``check_mode``."""

    def __init__(self, params, check_mode=False):
        self.params = params
        self.check_mode = check_mode


TMP_PREFIX, TMP_SUFFIX = ".helix_zfs.", ".tmp"
STALE_TMP = 600  # a temporary file this old was left by a run that was killed


def remove_stale_temporaries(directory, now):
    for path in glob.glob(os.path.join(directory, TMP_PREFIX + "*" + TMP_SUFFIX)):
        try:
            if now - os.stat(path).st_mtime > STALE_TMP:
                os.unlink(path)
        except OSError:  # gone already, or not ours to remove
            pass


def write_atomic(path, text):
    """Write beside ``path``, flush it to disk and rename over it, so node_exporter never reads
    half a file, and a power cut leaves the old file or the new one (node_exporter reads only
    *.prom, so the temporary name is skipped)."""
    directory = os.path.dirname(path) or "."
    remove_stale_temporaries(directory, time.time())
    fd, tmp = tempfile.mkstemp(dir=directory, prefix=TMP_PREFIX, suffix=TMP_SUFFIX)
    try:
        with os.fdopen(fd, "w") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, 0o644)  # node_exporter runs as its own user
        os.rename(tmp, path)
    except BaseException:
        os.unlink(tmp)
        raise
    dfd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(dfd)  # the rename itself
    finally:
        os.close(dfd)
