# Copyright (c) helix.zfs contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import annotations

import pytest
from ansible.errors import AnsibleFilterError

from ansible_collections.helix.zfs.plugins.filter.migration_changes import migration_changes, migration_todo


def ds(name, readonly=("off", "default"), role=(None, "none"), enc="off", before=None):
    d = {"name": name, "properties": {"readonly": {"value": readonly[0], "source": readonly[1]},
                                      "helix:role": {"value": role[0], "source": role[1]},
                                      "encryption": {"value": enc, "source": "default"}}}
    if before is not None:
        d["properties"]["helix:before_cutover"] = {"value": before, "source": "local"}
    return d


SEEN = [ds("fa/app", role=("primary", "local")), ds("fa/app/db", readonly=("off", "local")),
        ds("fa/app/db/x", readonly=("off", "inherited")), ds("fa/apple"), ds("fa/sec", enc="aes-256-gcm")]


def test_whole_trees_and_the_undo_puts_each_back():
    got = migration_changes([{"source": "fa/app", "target": "fb/new"}], SEEN, "lab2", "r1")
    assert [d["name"] for d in got["readonly"]] == ["fa/app", "fa/app/db", "fa/app/db/x"]  # not fa/apple
    # The source top is marked demoted, and each dataset keeps what to undo, in the same zfs set.
    assert got["readonly"] == [
        {"name": "fa/app", "properties": {"readonly": "on", "helix:role": "demoted",
                                          "helix:before_cutover": "helix:role=primary;readonly="}},
        {"name": "fa/app/db", "properties": {"readonly": "on", "helix:before_cutover": "readonly=off"}},
        {"name": "fa/app/db/x", "properties": {"readonly": "on", "helix:before_cutover": "readonly="}}]
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


@pytest.mark.parametrize("pairs, seen", [("x", []), ([{"source": "fa/app"}], SEEN), ([{"source": "fa/none", "target": "t"}], SEEN)])
def test_bad_input(pairs, seen):
    with pytest.raises(AnsibleFilterError, match="migration_changes"):
        migration_changes(pairs, seen, "lab2", "r1")


# Issue 16 (A9): a controller killed during the cut-over left the source read-only (and maybe
# marked migrated) with the target a read-only replica; a rerun skipped or refused it.
CUT = [ds("fa/app", readonly=("on", "local"), role=("demoted", "local"), before="helix:role=primary;readonly="),
       ds("fa/app/db", readonly=("on", "local"), before="readonly=off"),
       ds("fa/app/db/x", readonly=("on", "local"), before="readonly=")]


def test_the_undo_after_an_interrupted_cutover_is_what_was_there_before_it():
    got = migration_changes([{"source": "fa/app", "target": "fb/new"}], CUT, "lab2", "r2")
    assert got["undo"] == [
        {"name": "fa/app", "inherit": ["helix:before_cutover", "readonly", "helix:migrated_to", "helix:run_id"],
         "properties": {"helix:role": "primary"}},
        {"name": "fa/app/db", "inherit": ["helix:before_cutover"], "properties": {"readonly": "off"}},
        {"name": "fa/app/db/x", "inherit": ["helix:before_cutover", "readonly"]}]
    # A resumed cut-over keeps the first one's record.
    assert got["readonly"][0]["properties"]["helix:before_cutover"] == "helix:role=primary;readonly="


def test_a_stale_record_is_not_used_by_a_new_cutover():
    # The dataset went back to primary and writable by hand: its old record means nothing.
    stale = [ds("fa/app", role=("primary", "local"), before="helix:role=;readonly=on")]
    got = migration_changes([{"source": "fa/app", "target": "fb/new"}], stale, "lab2", "r3")
    assert got["readonly"][0]["properties"]["helix:before_cutover"] == "helix:role=primary;readonly="
    assert got["undo"][0] == {"name": "fa/app", "inherit": ["readonly", "helix:migrated_to", "helix:run_id"],
                              "properties": {"helix:role": "primary"}}


def pairs(*names):
    return [{"source": "fa/" + n, "target": "fb/" + n} for n in names]


def test_what_a_rerun_does_with_each_state():
    sources = [ds("fa/new"), ds("fa/cut", readonly=("on", "local"), role=("demoted", "local"), before="readonly="),
               ds("fa/marked", readonly=("on", "local"), role=("migrated", "local")),
               ds("fa/done", readonly=("on", "local"), role=("migrated", "local")),
               ds("fa/gone", readonly=("on", "local"), role=("migrated", "local")),
               ds("fa/ro", readonly=("on", "local")),
               # demoted by a placement switch, not by a cut-over of ours: not resumed
               ds("fa/placed", readonly=("on", "local"), role=("demoted", "local")),
               ds("fa/clash", readonly=("on", "local"), role=("demoted", "local"))]
    targets = [ds("fb/cut", readonly=("on", "local"), role=("replica", "local")),
               ds("fb/marked", readonly=("on", "local"), role=("replica", "local")),
               ds("fb/done", role=("primary", "local")), ds("fb/clash", role=("primary", "local"))]
    got = migration_todo(pairs("new", "cut", "marked", "done", "gone", "ro", "placed", "clash", "missing"), sources, targets)
    assert got["todo"] == pairs("new", "cut", "marked")
    assert got["resumed"] == pairs("cut", "marked")
    assert got["done"] == pairs("done", "gone")
    assert len(got["refused"]) == 3
    assert "fa/ro -> fb/ro: the source is read-only" in got["refused"][0]
    assert "fa/placed -> fb/placed: the source is read-only" in got["refused"][1]
    assert "fa/clash -> fb/clash: the target exists and is writable" in got["refused"][2]


def test_migration_todo_bad_input():
    with pytest.raises(AnsibleFilterError, match="migration_todo"):
        migration_todo("x", [], [])


def test_a_failover_leaves_the_old_primary_a_replica_without_the_record():
    got = migration_changes([{"source": "fa/app", "target": "fb/app"}], SEEN, "lab2", "r4", old_role="replica")
    assert got["marks"] == [
        {"name": "fa/app", "inherit": ["helix:before_cutover"], "properties": {"helix:role": "replica"}},
        {"name": "fa/app/db", "inherit": ["helix:before_cutover"]},
        {"name": "fa/app/db/x", "inherit": ["helix:before_cutover"]}]
    assert got["readonly"][0]["properties"]["helix:role"] == "demoted"
    with pytest.raises(AnsibleFilterError, match="old_role"):
        migration_changes([{"source": "fa/app", "target": "fb/app"}], SEEN, "lab2", "r4", old_role="primary")


def with_exec(d, setuid, exec_):
    d["properties"].update({"setuid": {"value": setuid[0], "source": setuid[1]},
                            "exec": {"value": exec_[0], "source": exec_[1]}})
    return d


def test_the_promotion_puts_back_setuid_and_exec_as_the_source_declares():
    """Copies are received with setuid=off, exec=off (playbooks/vars/copies.yml)."""
    seen = [with_exec(ds("fa/app", role=("primary", "local")), ("off", "local"), ("on", "default")),
            with_exec(ds("fa/app/bin"), ("off", "inherited from fa/app"), ("on", "local")),
            with_exec(ds("fa/app/vol"), ("-", "-"), ("-", "-"))]
    got = migration_changes([{"source": "fa/app", "target": "fb/new"}], seen, "lab2", "r1")
    assert got["promote"] == [
        {"name": "fb/new", "properties": {"readonly": "off", "canmount": "on", "helix:role": "primary", "setuid": "off"},
         "inherit": ["exec"]},
        {"name": "fb/new/bin", "inherit": ["readonly", "helix:role", "setuid"], "properties": {"canmount": "on", "exec": "on"}},
        {"name": "fb/new/vol", "inherit": ["readonly", "helix:role"], "properties": {"canmount": "on"}}]
    # A fenced primary: the copy promotes itself; its local values are the receive's.
    own = [with_exec(ds("fb/new", readonly=("on", "local"), role=("replica", "local")), ("off", "local"), ("off", "local"))]
    got = migration_changes([{"source": "fb/new", "target": "fb/new"}], own, "lab2", "p", old_role="replica")
    assert got["promote"][0]["inherit"] == ["setuid", "exec"]
