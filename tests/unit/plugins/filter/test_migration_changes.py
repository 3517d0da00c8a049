# Copyright (c) helix.zfs contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import annotations

import pytest
from ansible.errors import AnsibleFilterError

from ansible_collections.helix.zfs.plugins.filter.migration_changes import migration_changes


def ds(name, readonly=("off", "default"), role=(None, "none"), enc="off"):
    return {"name": name, "properties": {"readonly": {"value": readonly[0], "source": readonly[1]},
                                         "helix:role": {"value": role[0], "source": role[1]},
                                         "encryption": {"value": enc, "source": "default"}}}


SEEN = [ds("fa/app", role=("primary", "local")), ds("fa/app/db", readonly=("off", "local")),
        ds("fa/app/db/x", readonly=("off", "inherited")), ds("fa/apple"), ds("fa/sec", enc="aes-256-gcm")]


def test_whole_trees_and_the_undo_puts_each_back():
    got = migration_changes([{"source": "fa/app", "target": "fb/new"}], SEEN, "lab2", "r1")
    assert [d["name"] for d in got["readonly"]] == ["fa/app", "fa/app/db", "fa/app/db/x"]  # not fa/apple
    assert got["retire"][0] == {"name": "fa/app", "properties": {"readonly": "on", "helix:role": "replica"}}
    assert got["retire"][1:] == got["readonly"][1:]
    assert got["undo"] == [
        {"name": "fa/app", "inherit": ["readonly", "helix:migrated_to", "helix:run_id"], "properties": {"helix:role": "primary"}},
        {"name": "fa/app/db", "properties": {"readonly": "off"}},
        {"name": "fa/app/db/x", "inherit": ["readonly"]}]
    assert got["marks"] == [{"name": "fa/app", "properties": {
        "helix:role": "migrated", "helix:migrated_to": "lab2:fb/new", "helix:run_id": "r1"}}]
    assert got["promote"] == [
        {"name": "fb/new", "properties": {"readonly": "off", "canmount": "on", "helix:role": "primary"}},
        {"name": "fb/new/db", "inherit": ["readonly", "helix:role"], "properties": {"canmount": "on"}},
        {"name": "fb/new/db/x", "inherit": ["readonly", "helix:role"], "properties": {"canmount": "on"}}]
    assert got["demote"] == [{"name": "fb/new", "properties": {"readonly": "on", "helix:role": "replica"}}]
    assert got["verify"] == {"fa/app": "content"}


def test_an_encrypted_tree_is_verified_by_guid():
    assert migration_changes([{"source": "fa/sec", "target": "fb/sec"}], SEEN, "lab2", "r1")["verify"] == {"fa/sec": "guid"}


@pytest.mark.parametrize("pairs, seen", [("x", []), ([{"source": "fa/app"}], SEEN), ([{"source": "fa/none", "target": "t"}], SEEN)])
def test_bad_input(pairs, seen):
    with pytest.raises(AnsibleFilterError, match="migration_changes"):
        migration_changes(pairs, seen, "lab2", "r1")
