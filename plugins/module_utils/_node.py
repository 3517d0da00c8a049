# Copyright (c) helix.zfs contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""The two calls ZfsCli makes of AnsibleModule, for node-side scripts that run without Ansible
(the snapshot_schedule runner, the monitoring collector), so they share the one transport."""

from __future__ import annotations

import os
import shutil
import subprocess


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
        return r.returncode, r.stdout, r.stderr
