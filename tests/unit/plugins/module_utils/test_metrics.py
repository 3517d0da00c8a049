"""The collector's metrics (_metrics): recorded zpool output (tests/unit/fixtures/zpool, the
degraded file-vdev pool as tests/integration/monitoring_lab.sh builds it) and zfs listings in
the columns the collector asks for, in; exact exposition lines out."""
import json
import re

import pytest

from ansible_collections.helix.zfs.plugins.module_utils import _metrics as m
from ansible_collections.helix.zfs.plugins.module_utils import _zpool_status as zs
from ansible_collections.helix.zfs.plugins.module_utils._errors import PlanError

NOW = 1795307400  # 2026-11-22T00:30:00Z
TENANTS = {"datasets": ["htmon/tenants"], "recursive": True,
           "policy": {"frequent": {"every": "15m", "keep": 24}, "hourly": {"keep": 24}}}


def pools(fixture_text, *names):
    out = {}
    for name in names:
        out.update(zs.parse_status(json.loads(fixture_text("zpool", name))))
    return out


def samples(text, metric):
    """The sample lines of one metric."""
    return [line for line in text.splitlines() if line.startswith("helix_zfs_%s{" % metric)
            or line.startswith("helix_zfs_%s " % metric)]


@pytest.fixture
def node(fixture_text):
    """Everything the collector reads on a node with the two pools and the htmon datasets."""
    return {
        "pools": pools(fixture_text, "status-rich.json", "status-degraded-file.json"),
        "sizes": m.parse_pool_list(fixture_text("zpool", "list.tsv")),
        "datasets": m.parse_datasets(fixture_text("zfs", "list-datasets.tsv")),
        "listing": m.parse_snapshots(fixture_text("zfs", "list-snapshots.tsv")),
        "schedules": [m.schedule(TENANTS),
                      m.schedule({"datasets": ["htmon/app", "htmon/gone"], "policy": "6h:15m, 2d:1h"}),
                      m.schedule({"datasets": ["htmon/tenants/acme"], "policy": {"frequent": {"every": "5m", "keep": 3}}})],
        # What the replication timer left: lab2 up to date, lab3 down for three runs.
        "replication": [
            {"source": "htmon/app", "target": "lab2", "last_success": NOW - 60, "last_attempt": NOW - 62,
             "failures": 0, "sent_bytes_total": 5 << 20, "running": {"bytes": 1 << 20, "estimated": 3 << 20, "since": NOW - 5}},
            {"source": "htmon/app", "target": "lab3", "last_success": NOW - 3600, "last_attempt": NOW - 62,
             "failures": 3, "sent_bytes_total": 1 << 20, "last_error": "ssh: connect to host lab3: No route to host"},
            {"source": "htmon/app", "last_run": NOW - 62, "hook_failures": 1, "pre_rc": 3}],
    }


def test_argvs_ask_for_what_the_parsers_read():
    assert m.pool_list_argv() == ["zpool", "list", "-Hp", "-o", "name,size,allocated,free,fragmentation"]
    assert m.pool_status_argv() == ["zpool", "status", "-j", "--json-int"]
    assert m.dataset_list_argv() == ["zfs", "list", "-Hp", "-t", "filesystem,volume", "-o",
                                     "name,used,available,referenced,quota,refquota,helix:role"]
    assert m.snapshot_list_argv() == ["zfs", "list", "-Hp", "-t", "snapshot,bookmark", "-o",
                                      "name,type,guid,createtxg,userrefs,clones,helix:owner,creation"]


def test_healthy_pool(node):
    text = m.render(NOW, node["pools"], node["sizes"])
    assert [line for line in samples(text, "pool_health") if 'pool="htrich"' in line] == [
        'helix_zfs_pool_health{pool="htrich",state="%s"} %d' % (s, s == "ONLINE")
        for s in ("DEGRADED", "FAULTED", "OFFLINE", "ONLINE", "REMOVED", "SUSPENDED", "UNAVAIL")]
    for line in ('helix_zfs_pool_size_bytes{pool="htrich"} 5972688896',
                 'helix_zfs_pool_allocated_bytes{pool="htrich"} 190464',
                 'helix_zfs_pool_free_bytes{pool="htrich"} 5972498432',
                 'helix_zfs_pool_capacity_ratio{pool="htrich"} 3.2e-05',
                 'helix_zfs_pool_fragmentation_ratio{pool="htrich"} 0.0',
                 'helix_zfs_pool_data_errors{pool="htrich"} 0',
                 # never scrubbed: 0, so "time() - end" is older than any threshold
                 'helix_zfs_pool_scrub_end_timestamp_seconds{pool="htrich"} 0',
                 'helix_zfs_pool_scrub_in_progress{pool="htrich"} 0',
                 'helix_zfs_vdev_state{class="spare",pool="htrich",state="AVAIL",vdev="virtio-helix-d12"} 1',
                 'helix_zfs_vdev_state{class="log",pool="htrich",state="ONLINE",vdev="mirror-4"} 1',
                 'helix_zfs_vdev_errors_total{pool="htrich",type="checksum",vdev="virtio-helix-d11"} 0'):
        assert line in text.splitlines()
    assert not [line for line in samples(text, "pool_scrub_errors") if "htrich" in line]
    htrich_states = [line for line in samples(text, "vdev_state") if 'pool="htrich"' in line]
    assert len(htrich_states) == 4 + 12  # mirror-0, raidz1-1, mirror-2 (special), mirror-4 (log), 12 disks
    assert [line for line in htrich_states if 'state="ONLINE"' not in line] == [
        'helix_zfs_vdev_state{class="spare",pool="htrich",state="AVAIL",vdev="virtio-helix-d12"} 1']
    # counters for the 11 leaves in use, none for the spare
    errs = [line for line in samples(text, "vdev_errors_total") if 'pool="htrich"' in line]
    assert len(errs) == 11 * 3 and not [e for e in errs if "d12" in e]


def test_degraded_pool_with_an_offline_file_vdev_and_checksum_errors(node):
    text = m.render(NOW, node["pools"], node["sizes"]).splitlines()
    htmon = [line for line in text if 'pool="htmon"' in line]
    assert htmon == [
        'helix_zfs_pool_health{pool="htmon",state="DEGRADED"} 1',
        'helix_zfs_pool_health{pool="htmon",state="FAULTED"} 0',
        'helix_zfs_pool_health{pool="htmon",state="OFFLINE"} 0',
        'helix_zfs_pool_health{pool="htmon",state="ONLINE"} 0',
        'helix_zfs_pool_health{pool="htmon",state="REMOVED"} 0',
        'helix_zfs_pool_health{pool="htmon",state="SUSPENDED"} 0',
        'helix_zfs_pool_health{pool="htmon",state="UNAVAIL"} 0',
        'helix_zfs_pool_size_bytes{pool="htmon"} 251658240',
        'helix_zfs_pool_allocated_bytes{pool="htmon"} 8912896',
        'helix_zfs_pool_free_bytes{pool="htmon"} 242745344',
        'helix_zfs_pool_capacity_ratio{pool="htmon"} 0.035417',
        'helix_zfs_pool_fragmentation_ratio{pool="htmon"} 0.01',
        'helix_zfs_pool_data_errors{pool="htmon"} 0',
        'helix_zfs_pool_scrub_in_progress{pool="htmon"} 0',
        'helix_zfs_pool_scrub_end_timestamp_seconds{pool="htmon"} 1795306002',
        'helix_zfs_pool_scrub_errors{pool="htmon"} 0',
        'helix_zfs_vdev_state{class="data",pool="htmon",state="DEGRADED",vdev="mirror-0"} 1',
        'helix_zfs_vdev_state{class="data",pool="htmon",state="OFFLINE",vdev="/var/tmp/helix-mon-b.img"} 1',
        'helix_zfs_vdev_state{class="data",pool="htmon",state="ONLINE",vdev="/var/tmp/helix-mon-a.img"} 1',
        'helix_zfs_vdev_errors_total{pool="htmon",type="checksum",vdev="/var/tmp/helix-mon-a.img"} 6',
        'helix_zfs_vdev_errors_total{pool="htmon",type="checksum",vdev="/var/tmp/helix-mon-b.img"} 0',
        'helix_zfs_vdev_errors_total{pool="htmon",type="read",vdev="/var/tmp/helix-mon-a.img"} 0',
        'helix_zfs_vdev_errors_total{pool="htmon",type="read",vdev="/var/tmp/helix-mon-b.img"} 0',
        'helix_zfs_vdev_errors_total{pool="htmon",type="write",vdev="/var/tmp/helix-mon-a.img"} 0',
        'helix_zfs_vdev_errors_total{pool="htmon",type="write",vdev="/var/tmp/helix-mon-b.img"} 0',
    ]


def test_resilver_spare_in_use_is_one_series_per_class(fixture_text):
    text = m.render(NOW, pools(fixture_text, "status-resilvering.json"))
    assert 'helix_zfs_pool_scrub_end_timestamp_seconds{pool="htrich"} 0' in text  # the last scan is a resilver
    assert not samples(text, "pool_scrub_errors")
    d12 = [line for line in text.splitlines() if "d12" in line]
    assert d12 == [
        'helix_zfs_vdev_state{class="data",pool="htrich",state="ONLINE",vdev="virtio-helix-d12"} 1',
        'helix_zfs_vdev_state{class="spare",pool="htrich",state="INUSE",vdev="virtio-helix-d12"} 1',
        'helix_zfs_vdev_errors_total{pool="htrich",type="checksum",vdev="virtio-helix-d12"} 0',
        'helix_zfs_vdev_errors_total{pool="htrich",type="read",vdev="virtio-helix-d12"} 0',
        'helix_zfs_vdev_errors_total{pool="htrich",type="write",vdev="virtio-helix-d12"} 0',
    ]
    assert 'vdev="spare-0"} 1' in text


def test_draid_top_level_without_a_state_is_left_out(fixture_text):
    text = m.render(NOW, pools(fixture_text, "status-draid.json"))
    assert "draid1:" not in text
    assert len(samples(text, "vdev_state")) == 6  # 5 disks and the distributed spare
    assert 'helix_zfs_vdev_state{class="spare",pool="htdraid",state="AVAIL",vdev="draid1-0-0"} 1' in text


@pytest.mark.parametrize("function, state, pause, end_time, progress, end, errors", [
    ("SCRUB", "SCANNING", 0, 0, 1, 0, True),
    ("SCRUB", "SCANNING", 1795306100, 0, 0, 0, True),  # paused: not in progress, so an old scrub still alerts
    ("SCRUB", "CANCELED", 0, 1795306050, 0, 0, True),
    ("SCRUB", "FINISHED", 0, 1795306002, 0, 1795306002, True),
    ("RESILVER", "FINISHED", 0, 1795306002, 0, 0, False),  # a resilver is no scrub
])
def test_scrub_series(fixture_text, function, state, pause, end_time, progress, end, errors):
    doc = json.loads(fixture_text("zpool", "status-degraded-file.json"))
    doc["pools"]["htmon"]["scan_stats"].update(function=function, state=state, scrub_pause=pause, errors=2,
                                               end_time=end_time)
    text = m.render(NOW, zs.parse_status(doc))
    assert samples(text, "pool_scrub_in_progress") == ['helix_zfs_pool_scrub_in_progress{pool="htmon"} %d' % progress]
    assert samples(text, "pool_scrub_end_timestamp_seconds") == [
        'helix_zfs_pool_scrub_end_timestamp_seconds{pool="htmon"} %d' % end]
    assert samples(text, "pool_scrub_errors") == (['helix_zfs_pool_scrub_errors{pool="htmon"} 2'] if errors else [])


def test_pool_list_parsing():
    text = "no pools available\ntank\t1000\t250\t750\t-\n"
    assert m.parse_pool_list(text) == {"tank": {"size": 1000, "allocated": 250, "free": 750, "fragmentation": None}}
    out = m.render(NOW, {}, m.parse_pool_list(text))
    assert "pool_" not in out  # sizes only go with a pool zpool status knows


def test_datasets(node):
    text = m.render(NOW, datasets=node["datasets"])
    assert samples(text, "dataset_quota_bytes") == [
        'helix_zfs_dataset_quota_bytes{dataset="htmon/tenants/acme"} 268435456',
        'helix_zfs_dataset_quota_bytes{dataset="htmon/tenants/globex"} 134217728']
    assert samples(text, "dataset_refquota_bytes") == ['helix_zfs_dataset_refquota_bytes{dataset="htmon/tenants/globex"} 67108864']
    assert samples(text, "dataset_referenced_bytes") == [
        'helix_zfs_dataset_referenced_bytes{dataset="htmon/tenants/globex"} 62914560']
    assert 'helix_zfs_dataset_used_bytes{dataset="htmon/vol"} 104890368' in text  # a volume: "-" quotas
    assert 'helix_zfs_dataset_available_bytes{dataset="htmon/tenants/globex"} 4194304' in text
    assert len(samples(text, "dataset_used_bytes")) == len(samples(text, "dataset_available_bytes")) == 11
    assert node["datasets"]["htmon/app/db"]["role"] == "primary" and node["datasets"]["htmon"]["role"] is None


def test_scheduled_snapshots(node):
    text = m.render(NOW, **node)
    assert samples(text, "snapshot_newest_timestamp_seconds") == [
        # a recursive schedule's root is snapshotted on its own too; it has no frequent one
        'helix_zfs_snapshot_newest_timestamp_seconds{class="frequent",dataset="htmon/tenants"} 0',
        # 00:30's frequent is not owned (no helix:owner), so 00:15's is the newest
        'helix_zfs_snapshot_newest_timestamp_seconds{class="frequent",dataset="htmon/tenants/acme"} 1795306500',
        'helix_zfs_snapshot_newest_timestamp_seconds{class="frequent",dataset="htmon/tenants/globex"} 0',
        'helix_zfs_snapshot_newest_timestamp_seconds{class="grid",dataset="htmon/app"} 1795306500',
        # a scheduled dataset that does not exist has no snapshot
        'helix_zfs_snapshot_newest_timestamp_seconds{class="grid",dataset="htmon/gone"} 0',
        'helix_zfs_snapshot_newest_timestamp_seconds{class="hourly",dataset="htmon/tenants"} 1795305600',
        'helix_zfs_snapshot_newest_timestamp_seconds{class="hourly",dataset="htmon/tenants/acme"} 1795305600',
        'helix_zfs_snapshot_newest_timestamp_seconds{class="hourly",dataset="htmon/tenants/globex"} 1795302000',
    ]
    assert samples(text, "snapshot_interval_seconds") == [
        'helix_zfs_snapshot_interval_seconds{class="frequent",dataset="htmon/tenants"} 900',
        'helix_zfs_snapshot_interval_seconds{class="frequent",dataset="htmon/tenants/acme"} 300',  # two schedules: the shorter
        'helix_zfs_snapshot_interval_seconds{class="frequent",dataset="htmon/tenants/globex"} 900',
        'helix_zfs_snapshot_interval_seconds{class="grid",dataset="htmon/app"} 900',  # the grid's finest interval
        'helix_zfs_snapshot_interval_seconds{class="grid",dataset="htmon/gone"} 900',
        'helix_zfs_snapshot_interval_seconds{class="hourly",dataset="htmon/tenants"} 3600',
        'helix_zfs_snapshot_interval_seconds{class="hourly",dataset="htmon/tenants/acme"} 3600',
        'helix_zfs_snapshot_interval_seconds{class="hourly",dataset="htmon/tenants/globex"} 3600',
    ]


def test_schedule_prefix_and_owner(node):
    sch = m.schedule(dict(TENANTS, recursive=False, datasets=["htmon/tenants/acme"], owner=None))
    text = m.render(NOW, **dict(node, schedules=[sch]))
    # without an owner check, 00:30's frequent counts
    assert 'helix_zfs_snapshot_newest_timestamp_seconds{class="frequent",dataset="htmon/tenants/acme"} 1795307400' in text
    sch = m.schedule(dict(TENANTS, recursive=False, datasets=["htmon/tenants/acme"], prefix="other_"))
    text = m.render(NOW, **dict(node, schedules=[sch]))
    assert 'helix_zfs_snapshot_newest_timestamp_seconds{class="hourly",dataset="htmon/tenants/acme"} 0' in text


def test_bad_schedule_is_an_error():
    with pytest.raises(PlanError):
        m.schedule({"datasets": ["x"], "policy": {"frequent": {"keep": 0}}})
    with pytest.raises(KeyError):
        m.schedule({"policy": "1h:15m"})


def test_replication(node):
    text = m.render(NOW, **node)
    assert samples(text, "replication_last_sent_timestamp_seconds") == [
        'helix_zfs_replication_last_sent_timestamp_seconds{dataset="htmon/app"} 1795306500',  # its newest bookmark
        'helix_zfs_replication_last_sent_timestamp_seconds{dataset="htmon/plain"} 1795300000',  # a bookmark, no role
    ]  # not htmon/old (a bookmark, but helix:role=migrated), nor htmon/app/db (primary, never a source)
    assert samples(text, "replica_newest_snapshot_timestamp_seconds") == [
        'helix_zfs_replica_newest_snapshot_timestamp_seconds{dataset="htmon/replica"} 0',
        'helix_zfs_replica_newest_snapshot_timestamp_seconds{dataset="htmon/replica/app"} 1795302000',
    ]


def test_label_values_are_escaped(fixture_text):
    doc = json.loads(fixture_text("zpool", "status-degraded-file.json"))
    mirror = doc["pools"]["htmon"]["vdevs"]["htmon"]["vdevs"]["mirror-0"]
    mirror["vdevs"]["/var/tmp/helix-mon-b.img"]["name"] = '/var/tmp/a "b"\\c\nd.img'
    text = m.render(NOW, zs.parse_status(doc))
    assert ('helix_zfs_vdev_state{class="data",pool="htmon",state="OFFLINE",vdev="/var/tmp/a \\"b\\"\\\\c\\nd.img"} 1'
            in text.splitlines())
    assert m.escape_label('a\\"\n') == 'a\\\\\\"\\n'
    datasets = m.parse_datasets("tank/my data\t1\t2\t3\t0\t0\t-\n")
    assert 'helix_zfs_dataset_used_bytes{dataset="tank/my data"} 1' in m.render(NOW, datasets=datasets)


def test_collector_failure_still_writes_the_file():
    assert m.render(NOW, success=False) == (
        "# HELP helix_zfs_collector_success 1 when every zpool/zfs call and schedule was read, else 0.\n"
        "# TYPE helix_zfs_collector_success gauge\n"
        "helix_zfs_collector_success 0\n"
        "# HELP helix_zfs_collector_last_run_timestamp_seconds When the collector last ran.\n"
        "# TYPE helix_zfs_collector_last_run_timestamp_seconds gauge\n"
        "helix_zfs_collector_last_run_timestamp_seconds 1795307400\n")


def test_partial_state_keeps_what_was_read(node):
    text = m.render(NOW, node["pools"], None, None, node["listing"], node["schedules"], success=False, duration=1.5)
    assert samples(text, "pool_health") and not samples(text, "pool_size_bytes")
    assert not samples(text, "dataset_used_bytes") and not samples(text, "snapshot_newest_timestamp_seconds")
    assert samples(text, "collector_success") == ["helix_zfs_collector_success 0"]
    assert samples(text, "collector_duration_seconds") == ["helix_zfs_collector_duration_seconds 1.5"]


_SAMPLE = re.compile(r'^(helix_zfs_[a-z_]+)(\{([a-z_]+="(\\.|[^"\\])*"(,[a-z_]+="(\\.|[^"\\])*")*)\})? -?[0-9.e+-]+$')


def test_exposition_format(node):
    """Each metric: HELP, TYPE, then its samples, once; no series twice (node_exporter would
    drop the whole file)."""
    text = m.render(NOW, **node, duration=0.2)
    assert text.endswith("\n")
    seen, series, current = [], set(), None
    for line in text.splitlines():
        if line.startswith("# HELP "):
            current = line.split()[2]
            assert current not in seen
            seen.append(current)
            continue
        if line.startswith("# TYPE "):
            assert line.split()[2:] == [current, "counter" if current.endswith("_total") else "gauge"]
            continue
        match = _SAMPLE.match(line)
        assert match and match.group(1) == current, line
        assert line.rsplit(" ", 1)[0] not in series
        series.add(line.rsplit(" ", 1)[0])
    assert seen == ["helix_zfs_" + k for k in m.METRICS]  # every metric shows up in this state


def test_a_snapshot_named_after_the_clock_is_counted_apart(node):
    # It once became the newest: the staleness went negative and its alert could never fire.
    text = m.render(NOW - 3600, **node)  # the node's clock an hour back: 00:00's and 00:15's names are ahead
    assert 'helix_zfs_snapshot_newest_timestamp_seconds{class="frequent",dataset="htmon/tenants/acme"} 0' in text
    assert 'helix_zfs_snapshot_future_named{class="frequent",dataset="htmon/tenants/acme"} 2' in text
    assert 'helix_zfs_snapshot_future_named{class="hourly",dataset="htmon/tenants/globex"} 0' in text
    assert 'helix_zfs_snapshot_future_named{class="frequent",dataset="htmon/tenants/acme"} 0' in m.render(NOW, **node)


def test_replicas_under_a_recursive_schedule_have_no_staleness(node):
    node = dict(node, schedules=[m.schedule({"datasets": ["htmon"], "recursive": True, "policy": {"hourly": {"keep": 2}}})])
    text = m.render(NOW, **node)
    assert 'dataset="htmon/app"' in "\n".join(samples(text, "snapshot_newest_timestamp_seconds"))
    assert "htmon/replica" not in "\n".join(samples(text, "snapshot_newest_timestamp_seconds"))


def test_replication_targets(node):
    text = m.render(NOW, replication=node["replication"])
    assert samples(text, "replication_target_last_success_timestamp_seconds") == [
        'helix_zfs_replication_target_last_success_timestamp_seconds{dataset="htmon/app",target="lab2"} %d' % (NOW - 60),
        'helix_zfs_replication_target_last_success_timestamp_seconds{dataset="htmon/app",target="lab3"} %d' % (NOW - 3600)]
    assert samples(text, "replication_target_failures")[1].endswith('target="lab3"} 3')
    assert samples(text, "replication_target_sent_bytes_total")[0].endswith(" %d" % (5 << 20))
    assert [x.split()[-1] for x in samples(text, "replication_target_bytes_remaining")] == [str(2 << 20), "0"]
    assert samples(text, "replication_hook_failures") == ['helix_zfs_replication_hook_failures{dataset="htmon/app"} 1']
