"""Fixtures for module integration tests that run inside a lab host against real OpenZFS.

``run_module`` calls a module's main() in-process with the given arguments, exactly as
AnsiballZ would, and returns its result dict: real zfs/zpool processes run, nothing is
mocked. ``sh`` runs a shell command on the host, so tests assert the state ZFS reports,
not just the module's word.
"""
import contextlib
import importlib
import io
import json
import os
import subprocess

import pytest

from ansible.module_utils.testing import patch_module_args

POOL_PREFIX = "ht"  # every pool a test makes starts with this; cleanup relies on it
# The lab splits each host's disks: d1-d12 belong to these tests (wiped freely), d13-d16 to
# playbooks/site.yml, Molecule and the EXAMPLES runs (see inventories/lab/group_vars).
TEST_DISKS = range(1, 13)


def run_module(name, args, check=False, diff=False):
    mod = importlib.import_module("ansible_collections.helix.zfs.plugins.modules." + name)
    params = dict(args, _ansible_check_mode=check, _ansible_diff=diff)
    out = io.StringIO()
    with patch_module_args(params), contextlib.redirect_stdout(out):
        try:
            mod.main()
        except SystemExit:
            pass
    return json.loads(out.getvalue())


def sh(cmd, check=True):
    """Run a shell command on this lab host; return stdout (raise on failure if check)."""
    r = subprocess.run(cmd, shell=True, capture_output=True, text=True,
                       env=dict(os.environ, LC_ALL="C"), check=False)
    if check and r.returncode != 0:
        raise AssertionError("%s -> rc=%d\n%s%s" % (cmd, r.returncode, r.stdout, r.stderr))
    return r.stdout


def _test_pools():
    out = sh("zpool list -H -o name", check=False)
    return [p for p in out.split() if p.startswith(POOL_PREFIX)]


def _wipe(disks):
    sh("for d in %s; do zpool labelclear -f $d; wipefs -q -a $d; done >/dev/null 2>&1" % " ".join(disks),
       check=False)


@pytest.fixture(scope="session")
def lab_disks():
    """The data disks reserved for these tests, by their stable by-id path."""
    disks = ["/dev/disk/by-id/virtio-helix-d%d" % i for i in TEST_DISKS]
    missing = [d for d in disks if not os.path.exists(d)]
    assert not missing, "lab disks missing: %s" % missing
    return disks


@pytest.fixture(scope="session")
def _wiped(lab_disks):
    for p in _test_pools():
        sh("zpool destroy -f %s" % p)
    _wipe(lab_disks)


@pytest.fixture
def disks(lab_disks, _wiped):
    """The test disks, in no pool; any ht* pool a test made is destroyed after it.

    Destroyed pools leave labels behind: tests create pools with -f, or wipe first."""
    yield lab_disks
    for p in _test_pools():
        sh("zpool destroy -f %s" % p, check=False)
