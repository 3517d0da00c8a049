"""Verify a storage node after converge, on the node itself (testinfra)."""
import json


def test_zfs_module_loaded_and_userland_matches(host):
    assert host.file("/dev/zfs").exists
    v = json.loads(host.check_output("zpool version -j"))["zfs_version"]
    assert v["userland"].startswith("zfs-2.3")
    assert v["kernel"] == "zfs-kmod-" + v["userland"][len("zfs-"):]


def test_site_pool_layout(host):
    doc = json.loads(host.check_output("zpool status -j -P labpool"))["pools"]["labpool"]
    assert doc["state"] == "ONLINE"
    root = next(iter(doc["vdevs"].values()))
    (mirror,) = root["vdevs"].values()
    assert mirror["vdev_type"] == "mirror"
    assert [d["path"] for d in mirror["vdevs"].values()] == [
        "/dev/disk/by-id/virtio-helix-d17-part1", "/dev/disk/by-id/virtio-helix-d18-part1"]
    assert [d["path"] for d in doc["l2cache"].values()] == ["/dev/disk/by-id/virtio-helix-d19-part1"]
    assert [d["path"] for d in doc["spares"].values()] == ["/dev/disk/by-id/virtio-helix-d20-part1"]


def test_site_pool_properties(host):
    got = dict(line.split("\t") for line in host.check_output(
        "zpool get -Hp -o property,value ashift,autotrim labpool").splitlines())
    assert got == {"ashift": "12", "autotrim": "on"}
    fs = host.check_output("zfs get -Hp -o value compression,atime,xattr,acltype labpool").split()
    # xattr=sa reads back as "on": on Linux with OpenZFS >= 2.2 they are the same setting.
    assert fs == ["lz4", "off", "on", "posix"]
