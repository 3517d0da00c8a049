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
    assert sorted(hv) == ["zfs-ams-01", "zfs-ams-02", "zfs-ams-03", "zfs-fra-01", "zfs-fra-02", "zfs-fra-03"]
    assert inv["phase_canary"]["hosts"] == ["zfs-ams-01"]
    assert {h: v["helix_failure_domain"] for h, v in hv.items()}["zfs-fra-02"] == "fra-rack2"
    # Host scope overrides node-group scope: fra-02 carries acme only, with deeper write queues.
    assert hv["zfs-fra-02"]["helix_node_tenants"] == ["acme"]
    assert hv["zfs-fra-02"]["arc_tuning_parameters"]["zfs_vdev_async_write_max_active"] == 16
    assert "helix_node_tenants" not in hv["zfs-ams-01"]
    names = [d["name"] for d in tenant_datasets(hv["zfs-ams-01"]["helix_tenants"], "tank/tenants")]
    assert names == ["tank/tenants/acme", "tank/tenants/acme/db", "tank/tenants/acme/logs",
                     "tank/tenants/globex", "tank/tenants/globex/files"]


def test_production_phases_name_their_migrations():
    inv = inventory("production")
    hv = inv["_meta"]["hostvars"]
    phases = [g for g in inv if g.startswith("phase_")]
    assert sorted(phases) == ["phase_1", "phase_2", "phase_canary"]
    for g in phases:
        for h in inv[g]["hosts"]:
            m = hv[h]["helix_migrate"]
            assert m["target_host"] in hv and m["target_host"] != h
            assert m["datasets"] and all({"source", "target"} <= set(d) for d in m["datasets"])
    for copies in hv["zfs-ams-01"]["helix_replica_sets"].values():
        assert len(copies) == 2 and all(c["host"] in hv for c in copies)


PLAYBOOKS = sorted(p for p in os.listdir(os.path.join(REPO, "playbooks")) if p.endswith(".yml"))


@pytest.mark.parametrize("name", ["lab", "production"])
@pytest.mark.parametrize("playbook", PLAYBOOKS)
def test_playbook_syntax(name, playbook):
    r = subprocess.run(["ansible-playbook", "--syntax-check", "-i", os.path.join(REPO, "inventories", name),
                        os.path.join(REPO, "playbooks", playbook)], capture_output=True, text=True, check=False)
    assert r.returncode == 0, r.stderr
