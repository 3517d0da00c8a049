# Copyright (c) helix.zfs contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Test only: kill ansible-playbook, as a dying controller would, right after a named task."""

from __future__ import annotations

DOCUMENTATION = """
name: helix_kill_after
type: aggregate
short_description: Test only - SIGKILL the controller right after a task
description:
  - Once the task whose name starts with E(HELIX_KILL_AFTER) has finished on a host, sends SIGKILL
    to ansible-playbook's whole process group (start it with setsid), so no rescue, handler or
    later task runs. tests/fleet.sh uses it to stop migrate_node.yml at each cut-over step.
requirements:
  - HELIX_KILL_AFTER in the environment
"""

import os
import signal

from ansible.plugins.callback import CallbackBase


class CallbackModule(CallbackBase):
    CALLBACK_VERSION = 2.0
    CALLBACK_TYPE = "aggregate"
    CALLBACK_NAME = "helix_kill_after"
    CALLBACK_NEEDS_ENABLED = True

    def v2_runner_on_ok(self, result):
        step = os.environ.get("HELIX_KILL_AFTER")
        if step and result._task.get_name().startswith(step):
            os.killpg(os.getpgrp(), signal.SIGKILL)
