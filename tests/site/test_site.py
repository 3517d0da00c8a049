"""Verify a storage node after site.yml, on the node itself (testinfra over ssh, run by tests/site_twice.sh)."""
import json
import subprocess


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


def _param(host, name):
    return host.file("/sys/module/zfs/parameters/" + name).content_string.strip()


def test_arc_live_values(host):
    """arc_tuning: a quarter of RAM (inventories/lab), live in the module and in the ARC itself."""
    mem = int(host.check_output("awk '/^MemTotal:/{print $2}' /proc/meminfo")) * 1024
    want = int(mem * 25 / 100)
    assert int(_param(host, "zfs_arc_max")) == want
    assert int(_param(host, "zfs_arc_min")) == 64 << 20
    arc = dict(line.split()[::2] for line in host.check_output("cat /proc/spl/kstat/zfs/arcstats").splitlines()[2:])
    assert (int(arc["c_max"]), int(arc["c_min"])) == (want, 64 << 20)
    assert (_param(host, "l2arc_write_max"), _param(host, "l2arc_noprefetch")) == (str(16 << 20), "1")
    assert _param(host, "zfs_vdev_async_write_max_active") == "8"
    conf = host.file("/etc/modprobe.d/zfs.conf")
    assert conf.mode == 0o644
    assert "options zfs zfs_arc_max=%d\n" % want in conf.content_string
    assert "options zfs l2arc_noprefetch=1\n" in conf.content_string


def test_reservation(host):
    """reservation: labpool/reserved holds 10% of the pool's usable space and is never mounted."""
    got = dict(line.split("\t") for line in host.check_output(
        "zfs get -Hp -o property,value refreservation,canmount,mounted,mountpoint labpool/reserved").splitlines())
    used, avail = map(int, host.check_output("zfs get -Hp -o value used,available labpool").split())
    want = (used + avail) * 10 / 100
    assert abs(int(got["refreservation"]) - want) <= want / 100  # the role's tolerance: see its preflight
    assert (got["canmount"], got["mounted"], got["mountpoint"]) == ("off", "no", "none")


def test_tenants_and_quotas(host):
    """Tenants declared once in group_vars/all.yml; lab1 carries both."""
    rows = [line.split("\t") for line in host.check_output(
        "zfs list -Hp -o name,quota,refquota,recordsize -r labpool/tenants").splitlines()]
    got = {r[0]: r[1:] for r in rows}
    assert got["labpool/tenants/acme"][0] == str(256 << 20)
    assert got["labpool/tenants/acme/db"][0::2] == [str(128 << 20), str(16 << 10)]
    assert got["labpool/tenants/globex/files"][1] == str(64 << 20)
    assert sorted(got) == ["labpool/tenants", "labpool/tenants/acme", "labpool/tenants/acme/db",
                           "labpool/tenants/acme/logs", "labpool/tenants/globex", "labpool/tenants/globex/files"]


def test_encrypted_tenant_with_its_key_from_openbao(host):
    """encryption_keys: acme is encrypted with the key OpenBao holds, loaded and mounted; the key
    bytes are nowhere on the node's disk (targets.sh checks Ansible's -vvv output)."""
    key = subprocess.run(["bao", "kv", "get", "-field=key", "secret/helix-zfs/tenants/acme"],
                         capture_output=True, text=True, check=True).stdout.strip()
    assert len(key) == 64
    got = host.check_output("zfs get -H -o value encryption,keyformat,keylocation,keystatus,mounted,encryptionroot "
                            "labpool/tenants/acme").split()
    assert got == ["aes-256-gcm", "hex", "prompt", "available", "yes", "labpool/tenants/acme"]
    hits = host.run("grep -rlsa %s /etc /var /root /tmp /run /home" % key)
    assert hits.stdout == "", hits.stdout
    # Then prove it is this key that opens the dataset (this check puts it on a command line).
    assert host.run("printf %%s %s | zfs load-key -n labpool/tenants/acme" % key).rc == 0


def test_snapshot_schedule_timer(host):
    """snapshot_schedule: the timer is enabled and waiting (next run within its 15 minutes), and its
    service, triggered, takes each due class on every dataset of the tree, labelled with the schedule."""
    timer = host.service("helix-zfs-snapshot-tenants.timer")
    assert timer.is_enabled and timer.is_running
    left = host.check_output("systemctl show -p NextElapseUSecRealtime --value helix-zfs-snapshot-tenants.timer")
    assert left, "the timer has no next run"
    host.check_output("zfs list -H -o name -t snapshot -r labpool/tenants | grep @helix_ | xargs -rn1 zfs destroy")
    t0 = int(host.check_output("date +%s"))
    host.check_output("systemctl start helix-zfs-snapshot-tenants.service")
    rows = [line.split("\t") for line in host.check_output(
        "zfs list -Hp -t snapshot -o name,creation,helix:owner,helix:schedule -r labpool/tenants").splitlines()]
    datasets = host.check_output("zfs list -H -o name -r labpool/tenants").split()
    for cls in ("frequent", "hourly", "daily"):
        mine = [r for r in rows if r[0].endswith("_" + cls)]
        assert sorted(r[0].split("@")[0] for r in mine) == sorted(datasets), cls
        # Labelled with the schedule: it prunes only its own (issue 16, A6).
        assert all(int(r[1]) >= t0 - 1 and r[2:] == ["helix.zfs", "tenants"] for r in mine), mine
    # The runner's own line (systemd adds its "Finished ..." lines to the unit's journal too).
    log = host.check_output("journalctl -u helix-zfs-snapshot-tenants.service -o cat --no-pager | grep '^{' | tail -1")
    assert json.loads(log)["changed"] is True


def test_collector_runs_sandboxed(host):
    """monitoring: the collector, a root job, may write only its textfile directory (and its
    ExecStart path is quoted); run so, it still reads every pool and dataset."""
    show = host.check_output("systemctl show -p ProtectSystem -p NoNewPrivileges -p ReadWritePaths "
                             "-p ExecStart helix-zfs-textfile.service")
    assert "ProtectSystem=strict" in show and "NoNewPrivileges=yes" in show, show
    assert "ReadWritePaths=/var/lib/prometheus/node-exporter" in show, show
    host.check_output("systemctl start helix-zfs-textfile.service")
    prom = host.file("/var/lib/prometheus/node-exporter/helix_zfs.prom").content_string
    assert "helix_zfs_collector_success 1" in prom
    assert 'helix_zfs_pool_health{pool="labpool",state="ONLINE"} 1' in prom
