"""The replication role's bookkeeping: cursors, state, configuration, the check-mode report."""
import pytest

from ansible_collections.helix.zfs.plugins.module_utils import _replication as rep
from ansible_collections.helix.zfs.plugins.module_utils import _zfs_replicate_run as rrun
from ansible_collections.helix.zfs.plugins.module_utils._errors import PlanError

RECV = {"readonly": "on"}


def config(trees, **kw):
    args = dict(addresses={"lab2": "10.0.0.2"}, ssh_options=[], receive_properties=RECV, parallel=2,
                state_dir="/var/lib/x")
    args.update(kw)
    return rep.node_config(trees, **args)


def test_a_cursor_per_target_and_removed_targets_release_theirs():
    assert rep.hold_tag("lab3") == "helix-repl-lab3"
    held = {("t/a@s1", "helix-repl-lab3"), ("t/a@s2", "helix-repl-lab2"), ("t/a@s1", "keep"),
            ("t/a@s2", "helix-resume")}
    assert rep.stale_holds(held, ["lab2"]) == [["zfs", "release", "helix-repl-lab3", "t/a@s1"]]
    assert rep.stale_holds(held, ["lab2", "lab3"]) == []
    with pytest.raises(PlanError):
        rep.hold_tag("a" * 300)


def test_state_counts_failures_in_a_row_and_keeps_the_last_success():
    t = {"name": "lab3", "host": "lab3", "dataset": "b/a"}
    ok = rep.next_state({}, "t/a", t, {"bytes": 100, "started": 10}, 12)
    assert (ok["last_success"], ok["failures"], ok["sent_bytes_total"], ok["last_error"]) == (12, 0, 100, None)
    bad = rep.next_state(ok, "t/a", t, {"failed": True, "msg": "ssh: no route", "started": 20}, 21)
    bad = rep.next_state(bad, "t/a", t, {"failed": True, "msg": "ssh: no route", "started": 30}, 31)
    assert (bad["last_success"], bad["failures"], bad["last_attempt"], bad["last_error"]) == (12, 2, 30, "ssh: no route")
    again = rep.next_state(bad, "t/a", t, {"bytes": 50, "started": 40}, 41)
    assert (again["failures"], again["sent_bytes_total"]) == (0, 150)
    assert rep.state_file("/d", "t/a b", "lab3") == "/d/t%2Fa%20b--lab3.json"


def test_config_resolves_hosts_and_sets_what_the_role_owns():
    c = config([{"source": "t/a", "recursive": True,
                 "targets": [{"host": "lab2", "dataset": "b/a"},
                             {"host": "lab3", "dataset": "c/a", "name": "dr", "options": {"verify": "auto"}}]}],
               ssh_options=["-F", "/etc/helix-transport/ssh_config"])
    (tree,) = c["trees"]
    assert tree["recursive"] is True and tree["merkle"] is True and c["parallel"] == 2
    a, b = tree["targets"]
    assert (a["name"], a["host"], b["name"], b["host"]) == ("lab2", "10.0.0.2", "dr", "lab3")
    assert a["options"] == {"receive_properties": RECV, "ssh_options": ["-F", "/etc/helix-transport/ssh_config"]}
    assert b["options"]["verify"] == "auto"


@pytest.mark.parametrize("trees, words", [
    ([{"targets": [{"host": "lab2", "dataset": "b/a"}]}], "needs a source"),
    ([{"source": "t/a", "targets": []}], "has no target"),
    ([{"source": "t/a", "targets": [{"host": "lab2"}]}], "needs a host and a dataset"),
    ([{"source": "t/a", "targets": [{"host": "lab2", "dataset": "b/a", "options": {"hold": "x"}}]}], "hold"),
    ([{"source": "t/a", "targets": [{"host": "lab2", "dataset": "b/a", "options": {"speed": 1}}]}], "speed"),
    ([{"source": "t/a", "targets": [{"host": "lab2", "dataset": "b/a"}, {"host": "lab2", "dataset": "c/a"}]}],
     "two targets named lab2"),
    ([{"source": "t/a", "targets": [{"host": "lab2", "dataset": "b/a"}]}] * 2, "listed twice"),
    ([{"source": "t/a", "pre_hook": "true", "targets": [{"host": "lab2", "dataset": "b/a"}]}], "give it a snapshot_policy"),
    ([{"source": "t/a", "snapshot_policy": "1h:nonsense", "targets": [{"host": "lab2", "dataset": "b/a"}]}], ""),
    ([{"source": "t/a", "targets": [{"host": "lab2", "dataset": "b/a", "retention": {"hourly": {"every": "1h"}}}]}], ""),
])
def test_bad_trees_are_refused_before_anything_is_written(trees, words):
    with pytest.raises(PlanError, match=words):
        config(trees)


def test_a_running_send_is_in_the_state_until_the_run_ends():
    old = {"source": "t/a", "target": "lab2", "failures": 0, "sent_bytes_total": 10}
    mid = rep.running_state(old, 100, 300, 1000.5)
    assert mid["running"] == {"bytes": 100, "estimated": 300, "since": 1000} and mid["sent_bytes_total"] == 10
    done = rep.next_state(mid, "t/a", {"name": "lab2", "host": "h", "dataset": "b/a"}, {"bytes": 300, "started": 999}, 1001)
    assert "running" not in done and done["sent_bytes_total"] == 310


def test_received_datasets_keep_their_own_retention():
    keep = {"frequent": {"every": "1m", "keep": 5}}
    c = config([], received=[{"dataset": "rp/in/app", "recursive": True, "retention": keep, "source": "lab1:rp/app"}])
    assert c["received"] == [{"dataset": "rp/in/app", "recursive": True, "retention": keep, "source": "lab1:rp/app"}]
    assert config([])["received"] == []
    with pytest.raises(PlanError):
        config([], received=[{"dataset": "rp/in/app", "retention": "1h:nonsense"}])


def test_the_check_mode_report():
    plan = {"trees": [{"source": "t/a", "released": [["zfs", "release", "helix-repl-old", "t/a@s1"]], "targets": {
        "lab2": {"failed": False, "sent": []},
        "lab3": {"failed": False, "sent": [{"kind": "incremental", "bytes": 3 << 20}]},
        "dr": {"failed": True, "msg": "ssh: connect to host dr: No route to host"}}}]}
    assert rep.behind(plan) == [
        "t/a -> dr: cannot tell: ssh: connect to host dr: No route to host",
        "t/a -> lab2: up to date",
        "t/a -> lab3: behind, the next run sends 3.0 MiB (incremental)",
        "t/a: releases 1 cursor hold(s) of removed targets"]


def test_engine_params_are_the_modules_defaults():
    p = rrun.params(source="t/a", target="b/a")
    assert p["flags"] == ["large_blocks", "embedded", "compressed"] and p["verify"] == "guid" and p["hold"] is None
    p["flags"].append("x")
    assert rrun.params(source="t/a")["flags"] == ["large_blocks", "embedded", "compressed"]
    with pytest.raises(PlanError, match="nope"):
        rrun.params(source="t/a", nope=1)


def test_hooks_and_the_tree_state():
    c = config([{"source": "t/a", "snapshot_policy": {"frequent": {"every": "1m", "keep": 3}}, "pre_hook": "exit 3",
                 "post_hook": "logger done", "targets": [{"host": "lab2", "dataset": "b/a"}]}])
    tree = c["trees"][0]
    assert (tree["pre_hook"], tree["post_hook"]) == ("exit 3", "logger done")
    bad = rep.next_tree_state({}, "t/a", {"pre_rc": 3, "post_rc": 0, "created": [], "error": "pre hook"}, 10)
    bad = rep.next_tree_state(bad, "t/a", {"pre_rc": 3, "post_rc": 0, "created": [], "error": "pre hook"}, 20)
    assert (bad["hook_failures"], bad["pre_rc"], bad["last_run"]) == (2, 3, 20)
    ok = rep.next_tree_state(bad, "t/a", {"pre_rc": 0, "post_rc": 0, "created": ["t/a@x"], "error": None}, 30)
    assert (ok["hook_failures"], ok["created"]) == (0, ["t/a@x"])
    assert rep.tree_state_file("/d", "t/a") == "/d/trees/t%2Fa.json"


def test_a_run_says_what_went_per_target():
    r = {"sent": [{"kind": "full"}, {"kind": "full"}], "bytes": 6 << 20, "seconds": 6.2, "throughput": 1 << 20}
    assert rep.target_line("t/a", "lab3", r, False) == "t/a -> lab3: sent 6.0 MiB in 6s (1.0 MiB/s): full, full"
    assert rep.target_line("t/a", "lab3", {"failed": True, "msg": "no route"}, False) == "t/a -> lab3: FAILED: no route"
