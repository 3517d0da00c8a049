"""tenant_datasets: tenants declared once -> zfs_dataset's datasets, and clear errors for bad entries."""
import pytest

from ansible.errors import AnsibleFilterError

from ansible_collections.helix.zfs.plugins.filter.tenant_datasets import tenant_datasets

TENANTS = [
    {"name": "acme", "quota": "1G", "properties": {"com.example:tenant": "acme"},
     "datasets": [{"name": "db", "quota": "512M", "properties": {"recordsize": "16K"}}, {"name": "logs"}]},
    {"name": "globex", "datasets": [{"name": "files", "refquota": "100M"}]},
]


def test_tenants_then_their_datasets():
    assert tenant_datasets(TENANTS, "tank/tenants") == [
        {"name": "tank/tenants/acme", "properties": {"com.example:tenant": "acme", "quota": "1G"}},
        {"name": "tank/tenants/acme/db", "properties": {"recordsize": "16K", "quota": "512M"}},
        {"name": "tank/tenants/acme/logs", "properties": {}},
        {"name": "tank/tenants/globex", "properties": {}},
        {"name": "tank/tenants/globex/files", "properties": {"refquota": "100M"}},
    ]


def test_only_the_tenants_placed_here():
    assert [d["name"] for d in tenant_datasets(TENANTS, "p/t", ["globex"])] == ["p/t/globex", "p/t/globex/files"]
    assert tenant_datasets(TENANTS, "p/t", []) == []


@pytest.mark.parametrize("tenants, msg", [
    ({"acme": {}}, "tenants must be a list"),
    ([{"quota": "1G"}], r"tenant #1 needs a name"),
    ([{"name": "a b"}], r"tenant #1 needs a name"),
    ([{"name": "acme"}, {"name": "acme"}], "tenant acme is declared twice"),
    ([{"name": "acme", "qouta": "1G"}], "tenant acme has unknown keys qouta"),
    ([{"name": "acme", "datasets": [{"name": "db"}, {"name": "db"}]}], "bad or repeated dataset name 'db'"),
    ([{"name": "acme", "datasets": [{"name": "../x"}]}], r"bad or repeated dataset name '\.\./x'"),
    ([{"name": "acme", "datasets": ["db"]}], "bad or repeated dataset name None"),
])
def test_bad_entries_are_clear_errors(tenants, msg):
    with pytest.raises(AnsibleFilterError, match=msg):
        tenant_datasets(tenants, "tank/tenants")
