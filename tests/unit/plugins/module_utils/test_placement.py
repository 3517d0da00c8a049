"""The placement planner (_placement): catalog and topology validation, the placer (HRW with a
failure-domain skip, stickiness, pins, the byte-balance pass), the plan's waves and their
safety at every step, the capacity report. Pure logic, no zfs; property tests with hypothesis."""
import math
import random
import shlex

import pytest
from hypothesis import assume, event, given, settings, strategies as st

from ansible_collections.helix.zfs.plugins.module_utils import _placement as P
from ansible_collections.helix.zfs.plugins.module_utils._errors import PlanError
from ansible_collections.helix.zfs.plugins.module_utils._placement.place import _Drawer, _draw
from ansible_collections.helix.zfs.plugins.module_utils._placement.steps import roles_of
from ansible_collections.helix.zfs.plugins.module_utils._props import PRIMARY, REPLICA


def simulate(current, waves):
    """The test oracle: apply the steps in order to ``current`` (``{dataset: {pool: role}}``);
    -> the state after each step, same shape. Raises PlanError
    on a step that can't run: a send from a missing copy, a second primary, dropping the
    primary or a missing copy ..."""
    state = {ds: roles_of(v) for ds, v in (current or {}).items()}
    out = []
    for w, wave in enumerate(waves):
        for st in wave:
            ds, pool, kind = st["dataset"], st["pool"], st["kind"]
            c = dict(state.get(ds, {}))
            where = "wave %d, %s %s on %s: " % (w, kind, ds, pool)
            if kind == "create":
                if c:
                    raise PlanError(where + "the dataset already has copies")
                c[pool] = PRIMARY
            elif kind == "create_copy":
                if st["source"] not in c or pool in c:
                    raise PlanError(where + "needs the source copy and no copy yet at the destination")
                c[pool] = REPLICA
            elif kind == "cutover":
                if c.get(st["source"]) != PRIMARY or c.get(pool) != REPLICA:
                    raise PlanError(where + "needs the primary as its source and a replica to promote")
                c[st["source"]], c[pool] = REPLICA, PRIMARY
            elif kind == "promote":
                if pool not in c or any(r == PRIMARY for p, r in c.items() if p != pool):
                    raise PlanError(where + "the copy is missing or another primary is still writable")
                c[pool] = PRIMARY
            elif kind == "drop_copy":
                if c.get(pool) != REPLICA:
                    raise PlanError(where + "drops a missing copy or the primary")
                del c[pool]
            else:
                raise PlanError(where + "unknown step kind")
            state = dict(state)
            state[ds] = c
            out.append(state)
    return out


T = 2 ** 40
BIG = 10 ** 9  # pool capacities in the property tests: far above any catalog, so no pool is full
FEW = settings(max_examples=300, deadline=None)


def hosts_in(domains, per_domain=1, capacity="10T"):
    """{host: spec}: hosts a1, a2, b1 ... in domains a, b ..."""
    return {"%s%d" % (d, j): {"domain": d, "pools": [{"name": "tank", "capacity": capacity}]}
            for d in domains for j in range(1, per_domain + 1)}


def roles(target):
    """A place() result as the ``{dataset: {pool: role}}`` the info modules report."""
    return {ds: {p: ("primary" if n == 0 else "replica") for n, p in enumerate(v)} for ds, v in target.items()}


def domains_of(topo, pools):
    return [topo["pools"][p]["domain"] for p in pools]


# ---------------------------------------------------------------------------- strategies

@st.composite
def topologies(draw, min_domains=1, max_domains=5):
    nd = draw(st.integers(min_domains, max_domains))
    nh = draw(st.integers(nd, nd + 4))
    hosts = {}
    for h in range(nh):
        dom = h if h < nd else draw(st.integers(0, nd - 1))
        npools = draw(st.integers(1, 2))
        hosts["n%02d" % h] = {"domain": "d%d" % dom, "pools": [
            {"name": "p%d" % j, "capacity": draw(st.sampled_from([1, 2, 3])) * BIG} for j in range(npools)]}
    return hosts


@st.composite
def catalogs(draw, max_k=3):
    out = []
    for i in range(draw(st.integers(1, 12))):
        k = draw(st.integers(1, max_k))
        out.append({"name": "ds%02d" % i, "size": draw(st.integers(0, 1000)), "copies": k,
                    "min_copies": draw(st.integers(1, k))})
    return out


def clamp(cat, ndomains):
    """The catalog with copies (and min_copies) cut to what ``ndomains`` domains can hold."""
    out = []
    for e in cat:
        k = min(e["copies"], ndomains)
        out.append(dict(e, copies=k, min_copies=min(e["min_copies"], k)))
    return out


# ---------------------------------------------------------------------------- parse_catalog

def test_catalog_normalizes_and_defaults():
    out = P.parse_catalog([
        {"name": "projects/genome", "summary": "Sequencer output", "size": "500G", "copies": 3, "min_copies": 2,
         "retention": {"legal": "7y", "desired": "10y"}, "reproduction_cost": "2 weeks of sequencer time",
         "legal_framework": "GDPR", "snapshot_policy": "hourly", "replication_policy": {"every": "1h"},
         "pin": ["lab2:tank", "lab1"], "primary": "lab1"},
        {"name": "scratch", "size": 1024},
    ])
    assert [e["name"] for e in out] == ["projects/genome", "scratch"]
    g, s = out
    assert g["size"] == 500 * 2 ** 30 and g["copies"] == 3 and g["min_copies"] == 2
    assert g["retention"] == {"legal": "7y", "desired": "10y"} and g["pin"] == ["lab1", "lab2:tank"]
    assert g["primary"] == "lab1" and g["replication_policy"] == {"every": "1h"} and g["legal_framework"] == "GDPR"
    assert (s["copies"], s["min_copies"], s["pin"], s["primary"], s["retention"]) == (2, 1, [], None, None)
    assert P.parse_catalog(out) == out  # idempotent: place() can take either form


def test_catalog_reports_every_bad_entry_one_line_each():
    with pytest.raises(PlanError) as e:
        P.parse_catalog([
            {"name": "ok", "size": "1G"},
            {"name": "a", "size": "1G", "copies": 0},
            {"name": "b", "size": "1G", "copeis": 3},
            {"name": "c", "size": "lots"},
            {"name": "d", "size": "1G", "copies": 2, "min_copies": 3},
            {"name": "e", "size": "1G", "copies": 1, "pin": ["x", "y:tank"]},
            {"name": "ok", "size": "2G"},
            {"size": "1G"},
            {"name": "/abs", "size": 1},
            {"name": "f", "size": 1, "retention": {"legal": "7y", "desired": "1y"}},
            {"name": "g", "size": 1, "retention": {"legal": "seven years"}},
            {"name": "h", "size": 1, "copies": True, "summary": 5},
            "not a mapping",
        ])
    lines = str(e.value).splitlines()
    assert lines == [
        "catalog entry #2 (a): copies must be an integer >= 1",
        "catalog entry #3 (b): unknown key 'copeis' (did you mean 'copies'?)",
        "catalog entry #4 (c): size 'lots' is not a size (bytes, or a number with K, M, G, T, P)",
        "catalog entry #5 (d): min_copies (3) is more than copies (2)",
        "catalog entry #6 (e): pins name 2 locations but copies is 1",
        "catalog entry #7 (ok): duplicate name: entry #1 has it too",
        "catalog entry #8 (no name): name is required (a dataset path relative to the pool, e.g. projects/genome)",
        "catalog entry #9 (/abs): name '/abs' is not a dataset path relative to the pool (letters, digits, _ - . : "
        "space, '/' between components)",
        "catalog entry #10 (f): retention.desired (1y) is shorter than retention.legal (7y)",
        "catalog entry #11 (g): retention.legal 'seven years' is not a duration of a day or more (a number with d, w "
        "or y, or forever; m is minutes)",
        "catalog entry #12 (h): summary must be a string; copies must be an integer >= 1",
        "catalog entry #13: must be a mapping with name, size, copies ..., got str",
    ]


@pytest.mark.parametrize("entry, why", [
    ({"name": "x", "size": 1, "copies": 2, "pin": ["a", "b"], "primary": "c"}, "pin and primary name 3 locations but copies is 2"),
    ({"name": "x", "size": 1, "pin": ["a", "a:tank"]}, "name the same host"),
    ({"name": "x", "size": 1, "pin": ["a:tank", "a:tank"]}, "listed twice"),
    ({"name": "x", "size": 1, "pin": ["-a"]}, "is not \"host\" or \"host:pool\""),
    ({"name": "x", "size": 1, "primary": 3}, "primary must be"),
    ({"name": "x", "size": -1}, "is not a size"),
    ({"name": "x"}, "size is required"),
    ({"name": "a/../b", "size": 1}, "not a dataset path"),
    ({"name": "x", "size": 1, "retention": {"legal": "1y", "kept": "2y"}}, "unknown key 'kept'"),
    ({"name": "x", "size": 1, "reproduction_cost": [1]}, "reproduction_cost must be"),
])
def test_catalog_entry_errors(entry, why):
    with pytest.raises(PlanError, match="catalog entry #1 .*" + __import__("re").escape(why)):
        P.parse_catalog([entry])


def test_catalog_allows_the_primary_inside_the_pins():
    e = P.parse_catalog([{"name": "x", "size": 1, "copies": 2, "pin": ["a:tank", "b"], "primary": "a"}])[0]
    assert e["pin"] == ["a:tank", "b"] and e["primary"] == "a"


def test_catalog_rejects_nested_entries_and_non_lists():
    with pytest.raises(PlanError, match=r"catalog entry #1 \(p/genome\): nested under catalog entry #2 \(p\)"):
        P.parse_catalog([{"name": "p/genome", "size": 1}, {"name": "p", "size": 1}, {"name": "pa", "size": 1}])
    with pytest.raises(PlanError, match="must be a list"):
        P.parse_catalog({"name": "x"})


# ---------------------------------------------------------------------------- topology

def test_topology_normalizes():
    topo = P.topology({"b1": {"domain": "rack-b", "pools": [{"name": "tank", "capacity": "10T"}, {"name": "fast", "capacity": 2 ** 30}]},
                       "a1": {"domain": "rack-a", "pools": [{"name": "tank", "capacity": "8T"}]}})
    assert sorted(topo["pools"]) == ["a1:tank", "b1:fast", "b1:tank"]
    assert topo["pools"]["b1:tank"] == {"id": "b1:tank", "host": "b1", "pool": "tank", "domain": "rack-b", "capacity": 10 * T}
    assert topo["hosts"]["b1"] == {"domain": "rack-b", "pools": ["b1:fast", "b1:tank"]}
    assert topo["domains"]["rack-b"] == {"hosts": ["b1"], "capacity": 10 * T + 2 ** 30}


def test_topology_reports_every_bad_host():
    with pytest.raises(PlanError) as e:
        P.topology({"a": {"pools": [{"name": "tank", "capacity": "1T"}]},
                    "b": {"domain": "r1", "pools": []},
                    "c": {"domain": "r1", "pools": [{"name": "tank", "capacity": "big"}]},
                    "d": {"domain": "r2", "pools": [{"name": "tank", "capacity": 0}], "rack": 1},
                    "ok": {"domain": "r3", "pools": [{"name": "tank", "capacity": "1T"}]}})
    assert str(e.value).splitlines() == [
        "host a: no failure domain (set domain, e.g. the rack or room)",
        "host b: no pools (pools: [{name: tank, capacity: 10T}])",
        "host c: pool tank: capacity 'big' is not a size (e.g. 10T)",
        "host d: unknown key 'rack' (domain, pools); pool tank: capacity must be more than 0",
    ]


# ---------------------------------------------------------------------------- place: examples

def test_three_domains_three_copies():
    topo = P.topology(hosts_in("abc"))
    out = P.place([{"name": "x", "size": "1G", "copies": 3}, {"name": "y", "size": "1G", "copies": 1}], topo)
    assert sorted(out["x"]) == ["a1:tank", "b1:tank", "c1:tank"] and len(out["y"]) == 1


def test_too_few_domains_is_a_clear_error_naming_the_dataset():
    with pytest.raises(PlanError) as e:
        P.place([{"name": "ok", "size": 1, "copies": 2}, {"name": "genome", "size": 1, "copies": 3}],
                hosts_in("ab", per_domain=3))
    assert str(e.value) == "dataset genome: needs 3 copies in 3 distinct failure domains; the topology has 2 (a, b)"


def test_no_room_is_a_clear_error_naming_the_dataset():
    with pytest.raises(PlanError, match=r"^dataset huge: placed 1 of 2 copies of 1.5T: no pool with room"):
        P.place([{"name": "huge", "size": "1.5T", "copies": 2}],
                {"a1": {"domain": "a", "pools": [{"name": "tank", "capacity": "2T"}]},
                 "b1": {"domain": "b", "pools": [{"name": "tank", "capacity": "1T"}]}})


def test_pins_and_primary_are_honoured():
    topo = P.topology(hosts_in("abcd", per_domain=2))
    cat = [{"name": "ds%d" % i, "size": 10, "copies": 3, "pin": ["b2:tank"], "primary": "c1"} for i in range(20)]
    for ds, pools in P.place(cat, topo).items():
        assert pools[0] == "c1:tank" and "b2:tank" in pools and len(set(domains_of(topo, pools))) == 3


def test_pin_errors_name_the_dataset():
    topo = P.topology(hosts_in("abc"))
    with pytest.raises(PlanError, match=r"dataset x: pinned pool zz:tank is not in the topology"):
        P.place([{"name": "x", "size": 1, "pin": ["zz:tank"]}], topo)
    topo2 = P.topology(hosts_in("ab", per_domain=2))
    with pytest.raises(PlanError, match=r"dataset x: pins put two copies in failure domain a"):
        P.place([{"name": "x", "size": 1, "pin": ["a1", "a2"]}], topo2)


def test_sticky_keeps_valid_copies_and_the_primary():
    topo = P.topology(hosts_in("abcd", per_domain=2))
    cat = [{"name": "ds%d" % i, "size": 10, "copies": 2} for i in range(30)]
    fresh = P.place(cat, topo, balance=False)
    current = {ds: ["d2:tank", "a2:tank"] for ds in fresh}  # valid, whatever HRW says
    assert P.place(cat, topo, current=current, balance=False) == {ds: ["d2:tank", "a2:tank"] for ds in fresh}
    # a copy on a vanished pool, or a second copy in a domain, is replaced; the primary stays
    current = {"ds0": {"a1:tank": "replica", "a2:tank": "primary", "gone:tank": "replica"}}
    out = P.place(cat, topo, current=current, balance=False)["ds0"]
    assert out[0] == "a2:tank" and "a1:tank" not in out and len(set(domains_of(topo, out))) == 2


def test_fewer_copies_in_the_catalog_keeps_the_primary_and_hrw_favourite():
    topo = P.topology(hosts_in("abc"))
    cur = {"x": ["b1:tank", "a1:tank", "c1:tank"]}
    out = P.place([{"name": "x", "size": 1, "copies": 2}], topo, current=cur, balance=False)
    assert out["x"][0] == "b1:tank" and len(out["x"]) == 2


def test_straw2_picks_pools_in_proportion_to_capacity():
    # one pool per domain, weights 1:2:3:4; 8000 single-copy datasets
    hosts = {"h%d" % w: {"domain": "d%d" % w, "pools": [{"name": "tank", "capacity": w * T}]} for w in (1, 2, 3, 4)}
    out = P.place([{"name": "ds%05d" % i, "size": 1, "copies": 1} for i in range(8000)], hosts, balance=False)
    counts = {}
    for pools in out.values():
        counts[pools[0]] = counts.get(pools[0], 0) + 1
    for w in (1, 2, 3, 4):
        assert abs(counts["h%d:tank" % w] / 8000.0 - w / 10.0) < 0.015


@FEW
@given(st.lists(st.tuples(st.integers(0, 2 ** 64 - 1), st.floats(0.01, 100)), min_size=1, max_size=40),
       st.lists(st.integers(0, 2 ** 64 - 1), min_size=1, max_size=5))
def test_all_pools_draws_equal_one_pool_draws(pools, datasets):
    # place() ranks with the big-int lane version and re-draws single pairs with _draw: the two
    # must give the very same floats, or a ranking and a tie-break could disagree
    hps, invws = [h for h, w in pools], [w for h, w in pools]
    draws = _Drawer(hps, invws)
    for hd in datasets:
        assert draws(hd) == [_draw(hd, h, w) for h, w in pools]


def lognormal_catalog(n, k, seed=3):
    rng = random.Random(seed)
    return [{"name": "ds%04d" % i, "size": int(rng.lognormvariate(math.log(2 ** 30), 1.0)), "copies": k} for i in range(n)]


def byte_ratio(out, topo, cat):
    """max over hosts of bytes / (all bytes * host capacity / all capacity)."""
    rows = [r for r in P.placement_table(out, topo, cat) if r["level"] == "host"]
    total, cap = sum(r["bytes"] for r in rows), sum(r["capacity"] for r in rows)
    return max(r["bytes"] / (total * r["capacity"] / cap) for r in rows)


def test_balance_pass_evens_bytes_and_is_a_fixed_point():
    hosts = {"h%02d" % h: {"domain": "r%d" % (h % 5), "pools": [{"name": "tank", "capacity": (8, 12, 16)[h % 3] * T}]}
             for h in range(20)}
    topo = P.topology(hosts)
    cat = lognormal_catalog(600, 2)
    raw, bal = P.place(cat, topo, balance=False), P.place(cat, topo)
    assert byte_ratio(bal, topo, cat) <= 1.0 + P.DEFAULT_TOLERANCE + 0.01 < byte_ratio(raw, topo, cat)
    assert P.place(cat, topo, current=bal) == bal
    assert P.place(cat, topo, current=roles(bal)) == bal
    for ds, pools in bal.items():
        assert len(set(domains_of(topo, pools))) == 2


def moved_bytes(before, after, cat):
    size = {e["name"]: P.parse_catalog([e])[0]["size"] for e in cat}
    return sum(size[ds] * len(set(after[ds]) - set(before.get(ds, ()))) for ds in after)


def test_max_move_bytes_bounds_each_run_and_runs_converge():
    hosts = hosts_in("abcde", per_domain=2)
    cat = lognormal_catalog(300, 2)
    before = P.place(cat, hosts)
    hosts["f1"] = {"domain": "f", "pools": [{"name": "tank", "capacity": "10T"}]}
    limit = 20 * 2 ** 30
    cur, runs = before, 0
    while True:
        nxt = P.place(cat, hosts, current=cur, max_move_bytes=limit)
        assert moved_bytes(cur, nxt, cat) <= limit
        runs += 1
        if nxt == cur:
            break
        cur = nxt
        assert runs < 100
    assert runs > 2 and any("f1:tank" in v for v in cur.values())
    assert P.place(cat, hosts, current=cur) == cur


def test_a_lost_primary_is_replaced_by_a_surviving_copy():
    topo = P.topology(hosts_in("abcd"))
    cur = {"x": {"a1:tank": "primary", "b1:tank": "replica", "c1:tank": "replica"}}
    del topo  # a1 is gone:
    out = P.place([{"name": "x", "size": 1, "copies": 3}], hosts_in("bcd"), current=cur)
    assert out["x"][0] in ("b1:tank", "c1:tank") and sorted(out["x"]) == ["b1:tank", "c1:tank", "d1:tank"]


@pytest.mark.parametrize("kw, why", [
    ({"max_move_bytes": -1}, "max_move_bytes"), ({"tolerance": 1.5}, "tolerance"), ({"tolerance": True}, "tolerance"),
])
def test_place_rejects_bad_arguments(kw, why):
    with pytest.raises(PlanError, match=why):
        P.place([{"name": "x", "size": 1}], hosts_in("ab"), **kw)


# ---------------------------------------------------------------------------- place: properties

@FEW
@given(topologies(), catalogs())
def test_k_copies_in_k_distinct_domains_or_a_clear_error(hosts, cat):
    topo = P.topology(hosts)
    nd = len(topo["domains"])
    too_many = sorted(e["name"] for e in cat if e["copies"] > nd)
    if too_many:
        with pytest.raises(PlanError) as e:
            P.place(cat, topo)
        named = [line.split(":")[0] for line in str(e.value).splitlines()]
        assert named == ["dataset " + n for n in too_many]
        return
    out = P.place(cat, topo)
    assert sorted(out) == sorted(e["name"] for e in cat)
    for e in cat:
        pools = out[e["name"]]
        assert len(pools) == e["copies"] and len(set(domains_of(topo, pools))) == e["copies"]


@FEW
@given(topologies(), catalogs(), st.randoms(use_true_random=False))
def test_same_input_same_output_whatever_the_order(hosts, cat, rnd):
    cat = clamp(cat, len({h["domain"] for h in hosts.values()}))
    a = P.place(cat, hosts)
    items = list(hosts.items())
    rnd.shuffle(items)
    shuffled_hosts = {h: {"pools": rnd.sample(s["pools"], len(s["pools"])), "domain": s["domain"]} for h, s in items}
    shuffled_cat = rnd.sample(cat, len(cat))
    assert P.place(shuffled_cat, shuffled_hosts) == a
    assert P.place(cat, hosts) == a
    cur = {ds: dict(rnd.sample(list(r.items()), len(r))) for ds, r in roles(a).items()}
    assert P.place(shuffled_cat, P.topology(shuffled_hosts), current=cur) == a


@FEW
@given(topologies(), catalogs(), st.data())
def test_adding_a_host_moves_only_copies_onto_it(hosts, cat, data):
    topo = P.topology(hosts)
    cat = clamp(cat, len(topo["domains"]))
    before = P.place(cat, topo, balance=False)
    dom = data.draw(st.sampled_from(sorted(topo["domains"]) + ["new"]))
    hosts2 = dict(hosts, zz={"domain": dom, "pools": [{"name": "p%d" % j, "capacity": BIG} for j in range(data.draw(st.integers(1, 2)))]})
    after = P.place(cat, hosts2, balance=False)
    for ds in before:
        came, went = set(after[ds]) - set(before[ds]), set(before[ds]) - set(after[ds])
        assert all(p.startswith("zz:") for p in came) and len(came) == len(went) <= 1
    # with the current placement given, nothing has to move at all
    assert P.place(cat, hosts2, current=before, balance=False) == before


@FEW
@given(topologies(min_domains=2), catalogs(), st.data())
def test_removing_a_host_moves_only_its_copies(hosts, cat, data):
    gone = data.draw(st.sampled_from(sorted(hosts)))
    rest = {h: s for h, s in hosts.items() if h != gone}
    ndom = len({s["domain"] for s in rest.values()})
    assume(ndom >= 1)
    cat = clamp(cat, ndom)
    before = P.place(cat, hosts, balance=False)
    for kw in ({"balance": False}, {"balance": False, "current": before}, {"current": before, "max_move_bytes": 0}):
        after = P.place(cat, rest, **kw)
        for ds in before:
            lost = {p for p in before[ds] if p.startswith(gone + ":")}
            assert set(before[ds]) - lost <= set(after[ds])
            assert len(set(after[ds]) - set(before[ds])) == len(lost)


@FEW
@given(topologies(min_domains=2), catalogs(), st.data())
def test_pins_are_always_honoured(hosts, cat, data):
    topo = P.topology(hosts)
    cat = clamp(cat, len(topo["domains"]))
    pools = sorted(topo["pools"])
    for e in cat:
        e["pin"] = [data.draw(st.sampled_from(pools))]
        if data.draw(st.booleans()):
            e["primary"] = topo["pools"][e["pin"][0]]["host"]
    out = P.place(cat, topo)
    for e in cat:
        assert e["pin"][0] in out[e["name"]]
        if e.get("primary"):
            assert out[e["name"]][0] == e["pin"][0]


# ---------------------------------------------------------------------------- plan: examples

CAT = [{"name": "x", "size": "1G", "copies": 2, "min_copies": 2}]


def kinds(waves):
    return [[(s["kind"], s["pool"]) for s in w] for w in waves]


def test_converged_plans_nothing():
    target = {"x": ["a1:tank", "b1:tank"]}
    assert P.plan(CAT, roles(target), target) == []


RP = {"canmount": "noauto", "readonly": "on", "helix:role": "replica"}  # playbooks/vars/copies.yml
RECV = "zfs receive -s -u -x mountpoint -o canmount=noauto -o helix:role=replica -o readonly=on tank/x"
SEND = "zfs send -L -e -c"


def row(name, kind, guid, txg, **props):
    """A zfs_info row: ``helix_role`` stands for helix:role; readonly, canmount and helix:
    properties are local."""
    out = {"type": {"value": kind, "source": "-"}, "guid": {"value": str(guid), "source": "-"},
           "createtxg": {"value": str(txg), "source": "-"}}
    out.update({k.replace("helix_", "helix:"): {"value": v, "source": "local"} for k, v in props.items()})
    return {"name": name, "properties": out}


# tank/x: the primary on a1, a replica on b1; both hold @s1 (same guid).
SEEN = [
    {"host": "a1", "datasets": [row("tank/x", "filesystem", 1, 10, readonly="off", helix_role="primary"),
                                row("tank/x@s1", "snapshot", 11, 11)]},
    {"host": "b1", "datasets": [row("tank/x", "filesystem", 2, 20, readonly="on", canmount="noauto", helix_role="replica"),
                                row("tank/x@s1", "snapshot", 11, 21)]},
]


def planned(waves, seen=None, addresses=None, direct=False):
    P.fill(waves, SEEN if seen is None else seen, "r1", addresses or {}, RP, direct)
    return [[P.title(s)] + P.lines(s["commands"]) for w in waves for s in w]


def test_sends_direct_in_the_tunnel_show_so():
    """zfs_replicate's direct_stream (the transport's tunnel), as plan.yml passes it."""
    waves = P.plan(CAT, {"x": {"a1:tank": "primary", "b1:tank": "replica"}}, {"x": ["a1:tank", "c1:tank"]}, run="r1")
    assert planned(waves, direct=True)[0][2] == "a1: %s tank/x@s1 | ssh c1 helix-direct %s" % (SEND, RECV)


def test_a_replica_move_adds_before_it_drops():
    waves = P.plan(CAT, {"x": {"a1:tank": "primary", "b1:tank": "replica"}}, {"x": ["a1:tank", "c1:tank"]}, run="r1")
    assert kinds(waves) == [[("create_copy", "c1:tank")], [("drop_copy", "b1:tank")]]
    copy = waves[0][0]
    assert copy["source"] == "a1:tank" and copy["bytes"] == 2 ** 30 and copy["reason"] == "rebalance"
    # The step carries what its executor needs: hosts, names there, the snapshot it takes.
    assert (copy["host"], copy["fs"], copy["source_host"], copy["source_fs"], copy["snapshot"], copy["parents"]) == \
        ("c1", "tank/x", "a1", "tank/x", "helix-place-r1-1", [])
    # zfs_snapshot's, then zfs_replicate's commands: the full stream of the oldest snapshot, an
    # incremental to the new one, the bookmark of the newest sent; the target by its address.
    assert planned(waves, addresses={"c1": "10.0.0.3"}) == [[
        "step 1: create_copy x (a1:tank/x -> c1:tank/x)",
        "a1: zfs snapshot -r tank/x@helix-place-r1-1",
        "a1: %s tank/x@s1 | ssh 10.0.0.3 %s" % (SEND, RECV),
        "a1: %s -I tank/x@s1 tank/x@helix-place-r1-1 | ssh 10.0.0.3 %s" % (SEND, RECV),
        "a1: zfs bookmark tank/x@helix-place-r1-1 'tank/x#helix-place-r1-1'",
    ], [
        "step 2: drop_copy x (b1:tank/x) - only with helix_placement_drop=true",
        "b1: zfs destroy -r tank/x",
    ]]


def test_a_primary_switch_is_one_cutover_step_after_its_copy():
    cur = {"x": {"a1:tank": "primary", "b1:tank": "replica"}}
    waves = P.plan(CAT, cur, {"x": ["c1:tank", "b1:tank"]}, run="r1")
    assert kinds(waves) == [[("create_copy", "c1:tank")], [("cutover", "c1:tank")], [("drop_copy", "a1:tank")]]
    cut = waves[1][0]
    assert (cut["source"], cut["snapshot"]) == ("a1:tank", "helix-place-r1-2")
    # tasks/cutover.yml's steps: demote (keeping what was), final snapshot, final incremental
    # from the copy's snapshot, mark, promote, mount.
    assert planned(waves)[1] == [
        "step 2: cutover x (a1:tank/x -> c1:tank/x)",
        "a1: zfs set 'helix:before_cutover=helix:role=primary;readonly=off' helix:role=demoted readonly=on tank/x",
        "a1: zfs snapshot -r -o helix:purpose=placement -o helix:run_id=r1 tank/x@helix-place-r1-2",
        "a1: %s -I tank/x@helix-place-r1-1 tank/x@helix-place-r1-2 | ssh c1 %s" % (SEND, RECV),
        "a1: zfs bookmark tank/x@helix-place-r1-2 'tank/x#helix-place-r1-2'",
        "a1: zfs set helix:role=replica tank/x",
        "a1: zfs inherit helix:before_cutover tank/x",
        "c1: zfs set canmount=on helix:role=primary readonly=off tank/x",
        "c1: zfs mount -R tank/x",
    ]
    states = simulate(cur, waves)
    assert states[-1] == {"x": {"c1:tank": "primary", "b1:tank": "replica"}}


def test_switching_to_an_existing_replica_syncs_from_its_newest_common_snapshot():
    waves = P.plan(CAT, {"x": {"a1:tank": "primary", "b1:tank": "replica"}}, {"x": ["b1:tank", "a1:tank"]}, run="r1")
    assert kinds(waves) == [[("cutover", "b1:tank")]]
    assert planned(waves)[0][3] == "a1: %s -I tank/x@s1 tank/x@helix-place-r1-1 | ssh b1 %s" % (SEND, RECV)


def test_a_lost_primarys_successor_is_promoted_in_place():
    waves = P.plan(CAT, {"x": {"b1:tank": "replica"}}, {"x": ["b1:tank", "c1:tank"]}, run="r1")
    assert [s for s in planned(waves) if " promote " in s[0]] == [[
        "step 2: promote x (b1:tank/x)",
        "b1: zfs set canmount=on helix:role=primary readonly=off tank/x",
        "b1: zfs mount -R tank/x",
    ]]


def test_a_step_an_interrupted_run_did_is_not_planned_again():
    """The snapshot a first run took and the bookmark it left are read: a rerun plans neither."""
    seen = [dict(h, datasets=list(h["datasets"])) for h in SEEN]
    seen[0]["datasets"] += [row("tank/x@helix-place-r1-1", "snapshot", 12, 12),
                            row("tank/x#helix-place-r1-1", "bookmark", 12, 12)]
    waves = P.plan(CAT, {"x": {"a1:tank": "primary", "b1:tank": "replica"}}, {"x": ["a1:tank", "c1:tank"]}, run="r1")
    assert planned(waves, seen)[0][1:] == [
        "a1: %s tank/x@s1 | ssh c1 %s" % (SEND, RECV),
        "a1: %s -I tank/x@s1 tank/x@helix-place-r1-1 | ssh c1 %s" % (SEND, RECV),
    ]


def test_what_a_step_ran_reads_as_its_plan():
    waves = P.plan(CAT, {"x": {"a1:tank": "primary", "b1:tank": "replica"}}, {"x": ["b1:tank", "a1:tank"]}, run="r1")
    plan = planned(waves)[0]
    cmds = waves[0][0]["commands"]
    results = [["a1", {"changed": True, "commands": [c["argv"] for c in cmds[:2]]}],
               ["a1", {"results": [{"commands": [c["argv"] for c in cmds[2:4]]}]}],
               ["a1", {"changed": True, "commands": [c["argv"] for c in cmds[4:6]]}],
               ["b1", {"changed": True, "commands": [cmds[6]["argv"]]}],
               ["b1", {"results": [{"cmd": cmds[7]["argv"], "rc": 0}]}],
               ["b1", {"skipped": True}]]
    assert P.ran(waves[0][0], results) == [plan[0]] + ["  " + x for x in plan[1:]]


def test_plan_yml_reads_what_the_commands_are_planned_from():
    import os
    import yaml
    path = os.path.join(os.path.dirname(__file__), "../../../../playbooks/plan.yml")
    with open(path) as f:
        tasks = yaml.safe_load(f)[0]["tasks"]
    assert tasks[0]["helix.zfs.zfs_info"]["properties"] == P.READ_PROPERTIES


def test_a_cutover_counts_against_the_caps_of_both_hosts():
    cat = [{"name": n, "size": "1G"} for n in ("x", "y")]
    cur = {n: {"a1:tank": "primary", "b1:tank": "replica"} for n in ("x", "y")}
    waves = P.plan(cat, cur, {n: ["b1:tank", "a1:tank"] for n in ("x", "y")}, max_per_host=1)
    assert [[s["kind"] for s in w] for w in waves] == [["cutover"], ["cutover"]]
    waves = P.plan(cat, cur, {n: ["b1:tank", "a1:tank"] for n in ("x", "y")}, max_per_host=2)
    assert [[s["kind"] for s in w] for w in waves] == [["cutover", "cutover"]]


def test_a_lost_primary_is_recovery_promoted_first():
    cat = [{"name": "x", "size": 1, "copies": 3}]
    cur = {"x": {"b1:tank": "replica", "c1:tank": "replica"}}
    waves = P.plan(cat, cur, {"x": ["b1:tank", "c1:tank", "d1:tank"]})
    assert kinds(waves) == [[("create_copy", "d1:tank"), ("promote", "b1:tank")]]
    assert {s["reason"] for s in waves[0]} == {"recovery"} and waves[0][0]["source"] == "b1:tank"


def test_a_new_dataset_is_created_on_its_primary_then_copied():
    waves = P.plan([{"name": "p/genome", "size": 1, "copies": 2}], {}, {"p/genome": ["a1:tank", "b1:tank"]}, run="r1")
    assert kinds(waves) == [[("create", "a1:tank")], [("create_copy", "b1:tank")]]
    steps = planned(waves, [])
    assert steps[0][1:] == ["a1: zfs create -p tank/p", "a1: zfs create -p -o helix:role=primary tank/p/genome"]
    assert steps[1][1:3] == ["b1: zfs create -p tank/p",  # the parent, for zfs receive
                             "a1: zfs snapshot -r tank/p/genome@helix-place-r1-1"]


@pytest.mark.parametrize("name, expect", [
    ("projects/genome", "a1: zfs create -p -o helix:role=primary tank/projects/genome"),
    ("my data/x y", "a1: zfs create -p -o helix:role=primary 'tank/my data/x y'"),
])
def test_commands_read_as_shell_words(name, expect):
    waves = P.plan([{"name": name, "size": 1, "copies": 2}], {}, {name: ["a1:tank", "b1:tank"]})
    line = planned(waves, [])[0][-1]
    assert line == expect
    assert shlex.split(line.split(": ", 1)[1])[-1] == "tank/" + name


def test_recovery_comes_before_rebalance_and_caps_hold():
    cat = [{"name": "r%02d" % i, "size": 10, "copies": 2} for i in range(6)] + \
          [{"name": "m%02d" % i, "size": 100, "copies": 2} for i in range(6)]
    cur, target = {}, {}
    for i in range(6):
        cur["r%02d" % i] = {"a%d:tank" % i: "primary"}  # lost its replica
        target["r%02d" % i] = ["a%d:tank" % i, "b%d:tank" % i]
        cur["m%02d" % i] = {"a%d:tank" % i: "primary", "c%d:tank" % i: "replica"}
        target["m%02d" % i] = ["a%d:tank" % i, "d%d:tank" % i]
    topo = P.topology({"%s%d" % (d, i): {"domain": d, "pools": [{"name": "tank", "capacity": "1T"}]} for d in "abcd" for i in range(6)})
    waves = P.plan(cat, cur, target, topo=topo, max_per_host=1, max_per_domain=3)
    at = {(s["dataset"], s["kind"]): w for w, wave in enumerate(waves) for s in wave}
    assert max(w for (ds, k), w in at.items() if ds[0] == "r") < min(w for (ds, k), w in at.items() if ds[0] == "m")
    check_caps(waves, topo, 1, 3)


def test_recovery_serves_datasets_below_min_copies_first():
    # big has fewer copies, but small is below its min_copies: small goes first
    cat = [{"name": "big", "size": 1000, "copies": 3, "min_copies": 1},
           {"name": "small", "size": 1, "copies": 3, "min_copies": 3}]
    cur = {"big": {"a:tank": "primary"}, "small": {"a:tank": "primary", "b:tank": "replica"}}
    target = {"big": ["a:tank", "b:tank", "n:tank"], "small": ["a:tank", "b:tank", "n:tank"]}
    waves = P.plan(cat, cur, target)  # every send leaves a: one per wave
    sends = [(s["dataset"], s["pool"]) for w in waves for s in w if s["kind"] == "create_copy"]
    assert sends[0] == ("small", "n:tank") and [send[0] for send in sends[1:]] == ["big", "big"]


def check_caps(waves, topo, per_host, per_domain):
    for wave in waves:
        hosts, doms = {}, {}
        for s in wave:
            if s["kind"] not in P.SENDS:
                continue
            for h in sorted({s["pool"].split(":")[0], s["source"].split(":")[0]}):
                hosts[h] = hosts.get(h, 0) + 1
            for d in sorted({topo["pools"][s["pool"]]["domain"], topo["pools"][s["source"]]["domain"]}):
                doms[d] = doms.get(d, 0) + 1
        assert max(hosts.values(), default=0) <= per_host and max(doms.values(), default=0) <= per_domain


def test_many_moves_to_one_new_host_go_one_per_wave():
    cat = [{"name": "d%02d" % i, "size": 1, "copies": 1} for i in range(5)]
    waves = P.plan(cat, {"d%02d" % i: {"a%d:tank" % i: "primary"} for i in range(5)}, {"d%02d" % i: ["new:tank"] for i in range(5)})
    sends = [[s for s in w if s["kind"] == "create_copy"] for w in waves]
    assert [len(s) for s in sends if s] == [1, 1, 1, 1, 1]


@pytest.mark.parametrize("cur, target, why", [
    ({}, {"nope": ["a:tank"]}, "dataset nope: in the target but not in the catalog"),
    ({"x": {"a:tank": "primary", "b:tank": "primary"}}, {"x": ["a:tank", "b:tank"]}, "2 copies claim to be primary"),
    ({}, {"x": ["a:tank", "a:tank"]}, "must be distinct"),
    ({}, {"x": ["a:t$x"]}, "must be distinct \"host:pool\" ids"),
    ({"x": {"a b:tank": "primary"}}, {"x": ["a:tank", "b:tank"]}, "current .* must be \"host:pool\" ids"),
    ({}, {"x": ["a:tank"]}, "the target has 1 copies, fewer than its min_copies \\(2\\)"),
])
def test_plan_errors(cur, target, why):
    with pytest.raises(PlanError, match=why):
        P.plan(CAT, cur, target)


def test_plan_rejects_bad_caps_and_run_ids():
    with pytest.raises(PlanError, match="max_per_host"):
        P.plan(CAT, {}, {}, max_per_host=0)
    with pytest.raises(PlanError, match="run"):
        P.plan(CAT, {}, {}, run="a b")


def test_roles_can_name_the_target_primary():
    waves = P.plan(CAT, {"x": {"a1:tank": "primary", "b1:tank": "replica"}}, {"x": ["a1:tank", "b1:tank"]},
                   roles={"x": {"b1:tank": "primary"}})
    assert [w[0]["kind"] for w in waves] == ["cutover"]


def test_datasets_outside_the_target_are_never_touched():
    assert P.plan(CAT, {"old": {"a1:tank": "primary"}}, {}) == []


@pytest.mark.parametrize("steps, why", [
    ([{"kind": "drop_copy", "dataset": "x", "pool": "a:t"}], "drops a missing copy or the primary"),
    ([{"kind": "promote", "dataset": "x", "pool": "b:t"}], "another primary"),
    ([{"kind": "create_copy", "dataset": "x", "pool": "c:t", "source": "z:t"}], "needs the source"),
    ([{"kind": "cutover", "dataset": "x", "pool": "b:t", "source": "c:t"}], "needs the primary as its source"),
])
def test_simulate_refuses_unsafe_steps(steps, why):
    with pytest.raises(PlanError, match=why):
        simulate({"x": {"a:t": "primary", "b:t": "replica"}}, [steps])


# ---------------------------------------------------------------------------- plan: properties

@FEW
@given(topologies(min_domains=2), catalogs(), st.data())
def test_every_step_keeps_min_copies_and_one_primary(hosts, cat, data):
    """A placement, then the topology changes (a host lost, one added), some primaries are lost,
    some are pinned elsewhere: plan to the new placement and walk it step by step."""
    gone = data.draw(st.sampled_from(sorted(hosts)))
    hosts2 = {h: s for h, s in hosts.items() if h != gone}
    if data.draw(st.booleans()):
        hosts2["zz"] = {"domain": data.draw(st.sampled_from(["d0", "d9"])), "pools": [{"name": "p0", "capacity": BIG}]}
    topo2 = P.topology(hosts2)
    cat = clamp(cat, min(len({s["domain"] for s in hosts.values()}), len(topo2["domains"])))
    before = P.place(cat, hosts)
    current = {}
    for ds, r in roles(before).items():
        kept = {p: role for p, role in r.items() if not p.startswith(gone + ":")}
        if kept:
            current[ds] = kept
    if data.draw(st.booleans()):
        for ds in current:
            current[ds] = {p: "replica" for p in current[ds]}  # e.g. every primary was fenced
    for e in cat:
        if data.draw(st.booleans()):
            e["primary"] = data.draw(st.sampled_from(sorted(hosts2)))  # moves primaries around
    target = P.place(cat, topo2, current=current)
    per_host, per_domain = data.draw(st.integers(1, 2)), data.draw(st.integers(1, 3))
    waves = P.plan(cat, current, target, topo=topo2, max_per_host=per_host, max_per_domain=per_domain)
    check_caps(waves, topo2, per_host, per_domain)
    for kind in sorted({s["kind"] for wave in waves for s in wave}):
        event(kind)  # pytest --hypothesis-show-statistics: how often each kind of step was exercised
    mins = {e["name"]: e["min_copies"] for e in cat}
    for state in simulate(current, waves):
        for ds, copies in state.items():
            assert sum(r == "primary" for r in copies.values()) <= 1
            assert len(copies) >= min(mins[ds], len(current.get(ds, {}))) or not current.get(ds)
    final = simulate(current, waves)[-1] if waves else current
    assert final == roles(target)
    assert P.plan(cat, final, target, topo=topo2) == []
    reasons = [(w, s["reason"]) for w, wave in enumerate(waves) for s in wave]
    if {r for w, r in reasons} == {"recovery", "rebalance"}:
        assert max(w for w, r in reasons if r == "recovery") < min(w for w, r in reasons if r == "rebalance")


# ---------------------------------------------------------------------------- capacity

def test_usable_bytes_raidz2_of_six_1tb_disks():
    # ashift 12: 4 KiB sectors. One 128 KiB record = 32 data sectors. 6 disks - 2 parity = 4
    # data columns: 32 / 4 = 8 rows, 2 parity sectors each = 16. 32 + 16 = 48 sectors, already
    # a multiple of parity + 1 = 3: no padding. Data fraction 32/48 = 2/3: 6 TB -> 4 TB.
    # Slop: 4e12 / 32 = 125e9 (between 128 MiB and 128 GiB). Available 3.875e12; a 1.5x snapshot
    # headroom leaves 3.875e12 / 1.5.
    r = P.usable_bytes("raidz2", 6, 10 ** 12, headroom=1.5)
    assert (r["data_sectors"], r["parity_sectors"], r["pad_sectors"], r["alloc_sectors"]) == (32, 16, 0, 48)
    assert r["raw"] == 6 * 10 ** 12 and r["after_redundancy"] == 4 * 10 ** 12
    assert r["slop"] == 125 * 10 ** 9 and r["available"] == 3875 * 10 ** 9 and r["usable"] == 2583333333333


def test_usable_bytes_raidz_padding():
    # raidz2 of 7: 32 data sectors over 5 columns = 7 rows, 14 parity: 46, padded to 48 (a
    # multiple of 3). The fraction is 32/48, not the 5/7 the disk count suggests.
    r = P.usable_bytes("raidz2", 7, 3 * 10 ** 12)
    assert (r["parity_sectors"], r["pad_sectors"], r["alloc_sectors"]) == (14, 2, 48)
    assert r["after_redundancy"] == 7 * 3 * 10 ** 12 * 32 // 48
    # raidz1 of 5 with 16K records: 4 data + 1 parity = 5, padded to 6: 4/6.
    assert P.usable_bytes("raidz1", 5, 10 ** 12, recordsize="16K")["alloc_sectors"] == 6
    # raidz3 of 8: 32 data / 5 columns = 7 rows, 21 parity: 53, padded to 56.
    assert P.usable_bytes("raidz3", 8, 10 ** 12)["alloc_sectors"] == 56


def test_usable_bytes_mirror_stripe_slop_clamps_reservation():
    big = P.usable_bytes("mirror", 2, "10T", vdevs=30)
    assert big["after_redundancy"] == 300 * T and big["slop"] == 128 * 2 ** 30
    small = P.usable_bytes("stripe", 1, "1G")
    assert small["slop"] == 128 * 2 ** 20 and small["usable"] == 2 ** 30 - 128 * 2 ** 20
    tiny = P.usable_bytes("stripe", 1, "200M")
    assert tiny["slop"] == 100 * 2 ** 20  # at most half the pool
    r = P.usable_bytes("mirror", 3, "4T", reservation="1T")
    assert r["available"] == 4 * T - (4 * T >> 5) - T


@pytest.mark.parametrize("args, kw, why", [
    (("raidz4", 6, 1), {}, "layout"), (("raidz2", 3, 1), {}, "at least 4 disks"), (("mirror", 1, 1), {}, "at least 2"),
    (("stripe", 1, 1), {"headroom": 0.5}, "headroom"), (("stripe", 0, 1), {}, "disks"), (("stripe", 1, "x"), {}, "sizes"),
])
def test_usable_bytes_rejects_bad_input(args, kw, why):
    with pytest.raises(PlanError, match=why):
        P.usable_bytes(*args, **kw)


# ---------------------------------------------------------------------------- the table

def test_placement_table_and_render():
    topo = P.topology({"a1": {"domain": "a", "pools": [{"name": "tank", "capacity": "4T"}]},
                       "a2": {"domain": "a", "pools": [{"name": "tank", "capacity": "4T"}]},
                       "b1": {"domain": "b", "pools": [{"name": "tank", "capacity": "2T"}]}})
    cat = [{"name": "x", "size": "1T"}, {"name": "y", "size": "512G"}]
    rows = P.placement_table({"x": ["a1:tank", "b1:tank"], "y": ["b1:tank", "a2:tank"]}, topo, cat)
    by = {(r["level"], r["name"]): r for r in rows}
    assert (by["host", "b1"]["copies"], by["host", "b1"]["primaries"], by["host", "b1"]["bytes"]) == (2, 1, 1.5 * T)
    assert by["host", "b1"]["percent"] == 75.0 and by["domain", "a"]["bytes"] == 1.5 * T
    assert by["domain", "a"]["capacity"] == 8 * T and by["total", "all"]["copies"] == 4
    text = P.render_table(rows)
    assert text.splitlines()[0].split() == ["name", "domain", "copies", "primaries", "bytes", "capacity", "used", "%"]
    assert "host    b1    b            2          1    1.5T      2.0T    75.0" in text.splitlines()


def _seen(name, role=None, readonly="on"):
    return {"name": name, "properties": {"helix:role": {"value": role}, "readonly": {"value": readonly}}}


def test_observed_copies_from_zfs_info():
    topo = P.topology({"a": {"domain": "r1", "pools": [{"name": "tank", "capacity": "1T"}]},
                       "b": {"domain": "r2", "pools": [{"name": "tank", "capacity": "1T"}]}})
    observed = [
        {"host": "a", "datasets": [_seen("tank/x", "primary", "off"), _seen("tank/other", "primary", "off"),
                                   _seen("tank/legacy", None, "off"), _seen("tank/y/z", "replica")]},
        {"host": "b", "datasets": [_seen("tank/x", "replica"), _seen("tank/legacy", None, "on"),
                                   _seen("elsewhere/x", "primary", "off")]},
    ]
    got = P.observed_copies(observed, topo, ["x", "legacy", "y/z"])
    assert got == {"x": {"a:tank": "primary", "b:tank": "replica"},
                   # no copy says primary; the one writable copy is it
                   "legacy": {"a:tank": "primary", "b:tank": "replica"},
                   "y/z": {"a:tank": "replica"}}
    # A switch that broke off after the demotion: the demoted copy is still the one to sync from.
    broke = [{"host": "a", "datasets": [_seen("tank/x", "demoted")]}, {"host": "b", "datasets": [_seen("tank/x", "replica")]}]
    assert P.observed_copies(broke, topo, ["x"]) == {"x": {"a:tank": "primary", "b:tank": "replica"}}


@pytest.mark.parametrize("legal", ["6m", "12h", "0d", "7Y"])
def test_a_retention_under_a_day_or_outside_the_one_duration_grammar_is_refused(legal):
    with pytest.raises(PlanError, match="retention.legal %r is not a duration of a day or more" % legal):
        P.parse_catalog([{"name": "x", "size": 1, "retention": {"legal": legal}}])


def test_steps_that_move_no_data_are_spread_over_the_hosts_so_a_wave_takes_one_round():
    cat = [{"name": n, "size": "1G"} for n in ("x", "y", "z")]
    cur = {n: {"a1:tank": "primary", "b1:tank": "replica", "c1:tank": "replica"} for n in ("x", "y", "z")}
    topo = P.topology({h: {"domain": h, "pools": [{"name": "tank", "capacity": "1T"}]} for h in ("a1", "b1", "c1", "d1")})
    waves = P.plan(cat, cur, {n: ["a1:tank", "b1:tank"] for n in ("x", "y", "z")}, topo=topo)
    assert [[(s["kind"], s["host"]) for s in w] for w in waves] == [[("drop_copy", "c1")] * 3]
    # Three drops on c1, run by three hosts in one round: each command still names c1.
    assert sorted(s["runner"] for s in waves[0]) == ["a1", "b1", "c1"]
    assert {s["fs"] for s in waves[0]} == {"tank/x", "tank/y", "tank/z"}
