# Copyright (c) helix.zfs contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""The one place where helix.zfs runs zfs and zpool.

Every command is an argv list (never a shell string), runs with LC_ALL=C so output never
depends on the node's locale, and a failure always carries cmd, rc, stdout and stderr.
Secrets (encryption keys) travel on stdin via ``data``, never in argv.
"""

from __future__ import annotations

import json

_C_LOCALE = {"LC_ALL": "C", "LANG": "C"}


class ZfsCommandError(Exception):
    """A zfs/zpool command exited non-zero (or printed something we can't parse)."""

    def __init__(self, msg, cmd, rc=None, stdout="", stderr=""):
        super().__init__(msg)
        self.msg = msg
        self.cmd = cmd
        self.rc = rc
        self.stdout = stdout
        self.stderr = stderr

    def as_result(self):
        """Keyword arguments for module.fail_json()."""
        return {"msg": self.msg, "cmd": self.cmd, "rc": self.rc,
                "stdout": self.stdout, "stderr": self.stderr}


class ZfsCli:
    """Runs zfs/zpool through AnsibleModule.run_command."""

    def __init__(self, module):
        self.module = module
        self._bins = {}

    def _bin(self, name):
        if name not in self._bins:
            self._bins[name] = self.module.get_bin_path(name, required=True)
        return self._bins[name]

    def run(self, argv, data=None, ok_rcs=(0,)):
        """Run ``argv`` (``argv[0]`` is ``zfs`` or ``zpool``); return (rc, stdout, stderr).

        Raises ZfsCommandError when rc is not in ``ok_rcs``.
        """
        cmd = [self._bin(argv[0])] + [str(a) for a in argv[1:]]
        rc, out, err = self.module.run_command(cmd, data=data, environ_update=_C_LOCALE,
                                               check_rc=False, binary_data=data is not None)
        if rc not in ok_rcs:
            raise ZfsCommandError(error_message(argv, rc, err or out), cmd=cmd, rc=rc, stdout=out, stderr=err)
        return rc, out, err

    def json(self, argv):
        """Run a ``-j`` command (OpenZFS 2.3+) and return the decoded document."""
        _rc, out, err = self.run(argv)
        try:
            return json.loads(out)
        except ValueError as e:
            raise ZfsCommandError("%s printed invalid JSON: %s" % (" ".join(argv[:2]), e),
                                  cmd=argv, rc=0, stdout=out, stderr=err)

    def tabular(self, argv):
        """Run a ``-H`` command and return its rows, each a list of tab-separated fields."""
        _rc, out, _err = self.run(argv)
        return [line.split("\t") for line in out.splitlines() if line]


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
    """Run ``body(cli)`` and turn a ZfsCommandError into fail_json with cmd/rc/stdout/stderr."""
    cli = ZfsCli(module)
    try:
        result = body(cli)
    except ZfsCommandError as e:
        module.fail_json(**e.as_result())
    module.exit_json(**result)
