"""The example inventories parse, carry the groups the playbooks target, and their tenants pass
the tenant_datasets filter; site.yml passes a syntax check on each."""
import json
import os
import subprocess

import pytest

from ansible_collections.helix.zfs.plugins.filter.tenant_datasets import tenant_datasets

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))


def inventory(name):
    out = subprocess.run(["ansible-inventory", "-i", os.path.join(REPO, "inventories", name), "--list"],
                         capture_output=True, text=True, check=True).stdout
    return json.loads(out)


def test_production_groups_scopes_and_tenants():
    inv = inventory("production")
    hv = inv["_meta"]["hostvars"]
    assert sorted(hv) == ["zfs-ams-01", "zfs-ams-02", "zfs-fra-01", "zfs-fra-02"]
    assert inv["phase_canary"]["hosts"] == ["zfs-ams-01"]
    assert {h: v["helix_failure_domain"] for h, v in hv.items()}["zfs-fra-02"] == "fra-rack2"
    # Host scope overrides node-group scope: fra-02 carries acme only, with deeper write queues.
    assert hv["zfs-fra-02"]["helix_node_tenants"] == ["acme"]
    assert hv["zfs-fra-02"]["arc_tuning_parameters"]["zfs_vdev_async_write_max_active"] == 16
    assert "helix_node_tenants" not in hv["zfs-ams-01"]
    names = [d["name"] for d in tenant_datasets(hv["zfs-ams-01"]["helix_tenants"], "tank/tenants")]
    assert names == ["tank/tenants/acme", "tank/tenants/acme/db", "tank/tenants/acme/logs",
                     "tank/tenants/globex", "tank/tenants/globex/files"]


@pytest.mark.parametrize("name", ["lab", "production"])
def test_site_syntax(name):
    r = subprocess.run(["ansible-playbook", "--syntax-check", "-i", os.path.join(REPO, "inventories", name),
                        os.path.join(REPO, "playbooks", "site.yml")], capture_output=True, text=True, check=False)
    assert r.returncode == 0, r.stderr
