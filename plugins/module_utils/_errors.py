# Copyright (c) helix.zfs contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""The collection's errors: one base, caught once at each entry point (a module's run_module,
a filter, the node's scripts), which turns it into a failure with its message and, when a
command ran, the command's cmd, rc, stdout and stderr."""

from __future__ import annotations


class HelixError(Exception):
    """An error the collection raises on purpose; ``msg`` says what and why, in full."""

    def __init__(self, msg, **details):
        super().__init__(msg)
        self.msg = msg
        self.details = details

    def as_result(self):
        """Keyword arguments for module.fail_json()."""
        return dict(self.details, msg=self.msg)


class PlanError(HelixError):
    """The input can't be understood, or the declared state can't be reached safely; nothing
    was changed."""


class ZfsCommandError(HelixError):
    """A zfs/zpool command exited non-zero (or printed something we can't parse)."""

    def __init__(self, msg, cmd, rc=None, stdout="", stderr=""):
        super().__init__(msg, cmd=cmd, rc=rc, stdout=stdout, stderr=stderr)
        self.cmd = cmd
        self.rc = rc
        self.stdout = stdout
        self.stderr = stderr
