"""Verify a storage node after converge, on the node itself (testinfra)."""
import json


def test_zfs_module_loaded_and_userland_matches(host):
    assert host.file("/dev/zfs").exists
    v = json.loads(host.check_output("zpool version -j"))["zfs_version"]
    assert v["userland"].startswith("zfs-2.3")
    assert v["kernel"] == "zfs-kmod-" + v["userland"][len("zfs-"):]


def test_zfs_tools_run_in_the_c_locale(host):
    assert host.run("LC_ALL=C zpool list -Hp").rc == 0
