"""Run an Ansible module's main() in-process, as AnsiballZ would, and return its result.

Real arguments, real zfs/zpool: nothing is mocked. Shared by the in-guest tests and the
in-guest benchmarks.
"""
import contextlib
import importlib
import io
import json

from ansible.module_utils.testing import patch_module_args


def run_module(name, args, check=False, diff=False, collection="helix.zfs"):
    mod = importlib.import_module("ansible_collections.%s.plugins.modules.%s" % (collection, name))
    params = dict(args, _ansible_check_mode=check, _ansible_diff=diff)
    out = io.StringIO()
    with patch_module_args(params), contextlib.redirect_stdout(out):
        try:
            mod.main()
        except SystemExit:
            pass
    return json.loads(out.getvalue())
