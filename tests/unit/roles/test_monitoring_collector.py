"""The monitoring role's collector (roles/node_runtime/files/helix_zfs_textfile.py) run as the timer
runs it, with stand-in zpool and zfs commands first on PATH that print recorded output (or
fail): the file it writes, and what it writes when a call fails."""
import os
import stat
import subprocess
import sys

import pytest

from ansible_collections.helix.zfs.plugins.module_utils import _metrics

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
FIXTURES = os.path.join(REPO, "tests", "unit", "fixtures")
COLLECTOR = os.path.join(REPO, "roles", "node_runtime", "files", "helix_zfs_textfile.py")
# The directory that holds ansible_collections/, as this test imported it.
ROOT = os.path.abspath(os.path.join(os.path.dirname(_metrics.__file__), *[".."] * 5))


def standin(path, cases):
    """A shell script printing a fixture per argument pattern; exit 2 for anything else."""
    body = "".join('  %s) %s ;;\n' % (pattern, action) for pattern, action in cases)
    with open(path, "w") as f:
        f.write('#!/bin/sh\n[ "$LC_ALL" = C ] || exit 3\ncase "$*" in\n%s  *) exit 2 ;;\nesac\n' % body)
    os.chmod(path, 0o755)


@pytest.fixture
def node(tmp_path):
    for d in ("bin", "textfile", "schedules"):
        (tmp_path / d).mkdir()
    cat = "cat %s" % os.path.join(FIXTURES, "%s")
    standin(tmp_path / "bin" / "zpool", [("status*", cat % "zpool/status-degraded-file.json"),
                                         ("list*", cat % "zpool/list.tsv")])
    standin(tmp_path / "bin" / "zfs", [("*filesystem,volume*", cat % "zfs/list-datasets.tsv"),
                                       ("*snapshot,bookmark*", cat % "zfs/list-snapshots.tsv")])
    (tmp_path / "schedules" / "tenants.json").write_text(
        '{"datasets": ["htmon/tenants"], "recursive": true, "policy": {"hourly": {"keep": 24}}}')

    def run():
        env = dict(os.environ, PATH="%s:%s" % (tmp_path / "bin", os.environ["PATH"]), PYTHONPATH=ROOT)
        r = subprocess.run([sys.executable, COLLECTOR, "--output", str(tmp_path / "textfile" / "helix_zfs.prom"),
                            "--schedules", str(tmp_path / "schedules")], capture_output=True, text=True, env=env,
                           check=False)
        out = tmp_path / "textfile" / "helix_zfs.prom"
        return r, out.read_text(), sorted(os.listdir(tmp_path / "textfile")), stat.S_IMODE(out.stat().st_mode)
    run.path = tmp_path
    return run


def test_writes_the_textfile(node):
    r, text, files, mode = node()
    assert (r.returncode, r.stderr) == (0, "")
    assert files == ["helix_zfs.prom"] and mode == 0o644  # renamed into place, readable by node_exporter
    lines = text.splitlines()
    assert "helix_zfs_collector_success 1" in lines
    assert 'helix_zfs_vdev_state{class="data",pool="htmon",state="OFFLINE",vdev="/var/tmp/helix-mon-b.img"} 1' in lines
    assert 'helix_zfs_snapshot_newest_timestamp_seconds{class="hourly",dataset="htmon/tenants"} 1795305600' in lines
    assert 'helix_zfs_replication_last_sent_timestamp_seconds{dataset="htmon/app"} 1795306500' in lines


def test_a_failing_call_keeps_the_others_and_reports_failure(node):
    standin(node.path / "bin" / "zfs", [("*", "echo 'cannot open pool: I/O error' >&2; exit 1")])
    (node.path / "schedules" / "broken.json").write_text("{not json")
    r, text, files, _mode = node()
    assert r.returncode == 1
    assert "datasets: zfs list failed: cannot open pool: I/O error" in r.stderr and "broken.json" in r.stderr
    lines = text.splitlines()
    assert "helix_zfs_collector_success 0" in lines
    assert 'helix_zfs_pool_health{pool="htmon",state="DEGRADED"} 1' in lines  # zpool still answered
    assert not [line for line in lines if line.startswith(("helix_zfs_dataset_", "helix_zfs_snapshot_"))]
    assert files == ["helix_zfs.prom"]


def test_no_zfs_at_all_still_writes_the_failure(node):
    for name in ("zpool", "zfs"):
        os.unlink(node.path / "bin" / name)
    env_path = os.environ["PATH"]
    if any(os.path.exists(os.path.join(d, "zpool")) for d in env_path.split(":") + ["/usr/sbin", "/sbin"]):
        pytest.skip("this machine has zpool")
    r, text, _files, _mode = node()
    assert r.returncode == 1
    assert [line for line in text.splitlines() if not line.startswith("#")][0] == "helix_zfs_collector_success 0"


def test_write_atomic_removes_what_a_killed_run_left(tmp_path):
    import importlib.util
    import time
    spec = importlib.util.spec_from_file_location("helix_zfs_textfile", COLLECTOR)
    collector = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(collector)
    old, fresh = tmp_path / ".helix_zfs.old1.tmp", tmp_path / ".helix_zfs.fresh.tmp"
    for f in (old, fresh):
        f.write_text("half a file")
    os.utime(old, (time.time() - 3600, time.time() - 3600))
    collector.write_atomic(str(tmp_path / "helix_zfs.prom"), "helix_zfs_collector_success 1\n")
    assert sorted(p.name for p in tmp_path.iterdir()) == [".helix_zfs.fresh.tmp", "helix_zfs.prom"]
    assert (tmp_path / "helix_zfs.prom").read_text() == "helix_zfs_collector_success 1\n"
