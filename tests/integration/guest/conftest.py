"""Fixtures for module integration tests that run inside a lab host against real OpenZFS.

``run_module`` calls a module's main() in-process with the given arguments, exactly as
AnsiballZ would, and returns its result dict: real zfs/zpool processes run, nothing is
mocked. ``sh`` runs a shell command on the host, so tests assert the state ZFS reports,
not just the module's word.
"""
import os
import subprocess

import pytest

from harness import run_module  # noqa: F401  (the tests import it from here)

POOL_PREFIX = "ht"  # every pool a test makes starts with this; cleanup relies on it
# The lab splits each host's disks: d1-d12 belong to these tests (wiped freely); the later
# Ansible-level targets use d1-d16, site.yml d17-d20 (see README, "The lab").
TEST_DISKS = range(1, 13)


def sh(cmd, check=True):
    """Run a shell command on this lab host; return stdout (raise on failure if check)."""
    r = subprocess.run(cmd, shell=True, capture_output=True, text=True,
                       env=dict(os.environ, LC_ALL="C"), check=False)
    if check and r.returncode != 0:
        raise AssertionError("%s -> rc=%d\n%s%s" % (cmd, r.returncode, r.stdout, r.stderr))
    return r.stdout


def converge(module, args, host_state, diff=True, plan="commands"):
    """The 4-step pattern: check, apply, apply again, check again.

    ``host_state()`` reads the state from the host itself; check mode must leave it untouched,
    the apply must change it, and the two later runs must report no change and an empty plan
    (the result key ``plan``: the commands, or what a module that runs no zfs command returns).
    Returns (check result, apply result)."""
    before = host_state()
    check = run_module(module, args, check=True, diff=diff)
    assert "failed" not in check, check.get("msg", check)
    assert check["changed"] is True and check[plan], check
    assert host_state() == before, "check mode changed the host"
    applied = run_module(module, args, diff=diff)
    assert "failed" not in applied, applied.get("msg", applied)
    assert applied["changed"] is True
    assert applied[plan] == check[plan], "check and apply planned differently"
    if diff:  # modules without diff support pass diff=False
        assert applied["diff"]["before"] != applied["diff"]["after"]
    assert host_state() != before, "the apply changed nothing on the host"
    again = run_module(module, args)
    assert "failed" not in again, again
    assert (again["changed"], again[plan]) == (False, []), again[plan]
    check2 = run_module(module, args, check=True)
    assert (check2["changed"], check2[plan]) == (False, []), check2[plan]
    return check, applied


@pytest.fixture
def zfs_calls(monkeypatch):
    """The [tool, subcommand] of every zfs/zpool command modules run during a test."""
    import ansible_collections.helix.zfs.plugins.module_utils._zfs_cli as cli
    seen = []
    orig = cli.ZfsCli.run

    def spy(self, argv, **kw):
        seen.append(argv[:2])
        return orig(self, argv, **kw)
    monkeypatch.setattr(cli.ZfsCli, "run", spy)
    return seen


def _test_pools():
    out = sh("zpool list -H -o name", check=False)
    return [p for p in out.split() if p.startswith(POOL_PREFIX)]


def _wipe(disks):
    # Only disks with a signature (a partition table, a ZFS label), found by one wipefs: wiping
    # all 12 after every test cost about 2 s of each test's teardown in the TCG lab.
    found = set(sh("wipefs -n --noheadings --output DEVICE %s 2>/dev/null" % " ".join(disks), check=False).split())
    used = [d for d in disks if os.path.basename(d) in found]
    if used:
        sh("for d in %s; do zpool labelclear -f $d; wipefs -q -a $d; done >/dev/null 2>&1" % " ".join(used),
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
    """Blank disks at the start, and at the end for the stages after this one."""
    _destroy_test_pools()
    _wipe(lab_disks)
    yield
    _destroy_test_pools()
    _wipe(lab_disks)


def _destroy_test_pools():
    for p in _test_pools():
        sh("zpool destroy -f %s" % p, check=False)


@pytest.fixture
def forced_disks(lab_disks, _wiped):
    """The test disks for a fixture that makes its own pool with ``zpool create -f``, which
    takes a disk whatever labels it has: no wipe (about 0.7 s of each test in the TCG lab).
    Any ht* pool is destroyed after the test."""
    yield lab_disks
    _destroy_test_pools()


@pytest.fixture
def disks(forced_disks):
    """The test disks, blank and in no pool (ZFS refuses disks with old labels unless forced):
    wiped before the test, as a test on ``forced_disks`` leaves its destroyed pool's labels."""
    _wipe(forced_disks)
    return forced_disks
