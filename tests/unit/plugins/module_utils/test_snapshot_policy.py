"""Snapshot schedules and retention (_snapshot_policy): durations, policies, snapshot names and
times, which classes are due, and which snapshots prune() lets go at time T. Pure logic, no zfs."""
import calendar
import time

import pytest
from hypothesis import given, strategies as st

from ansible_collections.helix.zfs.plugins.module_utils._units import parse_duration
from ansible_collections.helix.zfs.plugins.module_utils import _snapshot_policy as sp
from ansible_collections.helix.zfs.plugins.module_utils._errors import PlanError

M, H, D, W = 60, 3600, 86400, 7 * 86400
T0 = 1795305600  # 2026-11-22T00:00:00Z
assert T0 == calendar.timegm((2026, 11, 22, 0, 0, 0))


@pytest.fixture
def local_tz(monkeypatch):
    """Switch the process' local time zone; UTC names must not notice."""
    def use(tz):
        monkeypatch.setenv("TZ", tz)
        time.tzset()
    yield use
    monkeypatch.undo()
    time.tzset()


def key(s):
    return (s["time"], s["name"])


def newest(snaps):
    return max(snaps, key=key)["name"] if snaps else None


def snap(name, t, cls, protected=False):
    return {"name": name, "time": t, "class": cls, "protected": protected}


# ---------------------------------------------------------------------------- _units.parse_duration

@pytest.mark.parametrize("text, seconds", [
    ("1s", 1), ("90s", 90), ("15m", 900), ("1h", 3600), ("6h", 21600), ("2d", 172800), ("1w", 604800),
    ("1y", 365 * 86400), (" 15m ", 900), ("15m\n", 900), ("007m", 420),
])
def test_parse_duration(text, seconds):
    assert parse_duration(text) == seconds


@pytest.mark.parametrize("text", [
    "", " ", "15", "m", "0m", "00h", "0s", "-5m", "+5m", "1.5h", "15M", "15H", "15min", "1h30m", "h1",
    "15 m m", "1 5m", "15 m", "1mo", None, 0, 15, True,
])
def test_parse_duration_refuses(text):
    with pytest.raises(PlanError, match=r"^bad duration .*: a positive whole number and one of s, m \(minutes\), h, d, w, y$"):
        parse_duration(text)


@given(n=st.integers(min_value=1, max_value=10**6), unit=st.sampled_from(sorted("smhdwy")))
def test_parse_duration_is_count_times_unit(n, unit):
    per = {"s": 1, "m": M, "h": H, "d": D, "w": W, "y": 365 * D}[unit]
    assert sp.parse_duration("%d%s" % (n, unit)) == n * per


# ---------------------------------------------------------------------------- parse_policy

def test_parse_policy_grid():
    assert sp.parse_policy("6h:15m, 2d:1h, 30d:1d") == {"grid": [(6 * H, 15 * M), (2 * D, H), (30 * D, D)]}
    assert sp.parse_policy("1h:1h") == {"grid": [(H, H)]}  # interval == span is allowed
    assert sp.parse_policy(" 6h : 15m ,2d:1h ") == {"grid": [(6 * H, 15 * M), (2 * D, H)]}


@pytest.mark.parametrize("text, message", [
    ("6h", r"^bad keep-grid entry '6h': want SPAN:INTERVAL, e\.g\. 6h:15m$"),
    ("15m:6h", r"^keep-grid entry '15m:6h': the interval is longer than the span$"),
    ("2d:1h, 6h:15m", r"^keep-grid spans must grow, and intervals must not shrink: '2d:1h, 6h:15m'$"),
    ("6h:1h, 2d:15m", r"^keep-grid spans must grow, and intervals must not shrink"),
    ("6h:15m, 6h:1h", r"^keep-grid spans must grow"),
    ("6h:15m, 2d:1h, 2d:1d", r"^keep-grid spans must grow"),
    ("6h:15m, 2d", r"^bad keep-grid entry '2d'"),
    ("6h:15m,", r"^bad keep-grid entry ''"),
    ("", r"^bad keep-grid entry ''"),
    ("6h:15m:1h", r"^bad keep-grid entry '6h:15m:1h'"),
    ("6h:0m", r"^bad duration '0m'"),
    ("6x:15m", r"^bad duration '6x'"),
    ("6h;15m", r"^bad keep-grid entry"),
])
def test_parse_policy_refuses_bad_grids(text, message):
    with pytest.raises(PlanError, match=message):
        sp.parse_policy(text)


def test_parse_policy_classes():
    assert sp.parse_policy({"frequent": {"every": "15m", "keep": 24}, "hourly": {"keep": 48}}) == \
        {"classes": {"frequent": (900, 24), "hourly": (3600, 48)}}
    assert sp.parse_policy({"fortnightly": {"every": "2w", "keep": "3"}}) == {"classes": {"fortnightly": (2 * W, 3)}}
    assert sp.parse_policy({"daily": {"every": "12h", "keep": 1}}) == {"classes": {"daily": (12 * H, 1)}}


@pytest.mark.parametrize("cls", sorted(sp.DEFAULT_EVERY))
def test_parse_policy_default_every(cls):
    assert sp.parse_policy({cls: {"keep": 2}}) == {"classes": {cls: (sp.DEFAULT_EVERY[cls], 2)}}


@pytest.mark.parametrize("policy, message", [
    ({"hourly": {"keep": 0}}, r"^class hourly: 'keep' is a whole number of at least 1$"),
    ({"hourly": {"keep": -1}}, r"^class hourly: 'keep' is a whole number"),
    ({"hourly": {"keep": "x"}}, r"^class hourly: 'keep' is a whole number"),
    ({"hourly": {"keep": "0"}}, r"^class hourly: 'keep' is a whole number"),
    ({"hourly": {"keep": 1.5}}, r"^class hourly: 'keep' is a whole number"),
    ({"hourly": {"keep": True}}, r"^class hourly: 'keep' is a whole number"),
    ({"hourly": {"keep": None}}, r"^class hourly: 'keep' is a whole number"),
    ({"hourly": {}}, r"^class hourly: 'keep' is a whole number"),
    ({"hourly": None}, r"^class hourly: 'keep' is a whole number"),
    ({"hourly": {"keep": 1, "count": 2}}, r"^class hourly: only 'every' and 'keep' are allowed, got \['count'\]$"),
    ({"hourly": {"keep": 1, "every": "1h", "Keep": 1}}, r"^class hourly: only 'every' and 'keep' .*\['Keep'\]$"),
    ({"hourly": "x"}, r"^class hourly: want a dict of 'every' and 'keep'"),
    ({"hourly": ["keep"]}, r"^class hourly: want a dict of 'every' and 'keep'"),
    ({"fortnightly": {"keep": 2}}, r"^class fortnightly: 'every' is required \(only daily, frequent, frequently, "
                                   r"hourly, monthly, weekly, yearly have a default\)$"),
    ({"hourly": {"keep": 2, "every": "0m"}}, r"^bad duration '0m'"),
    ({"hourly": {"keep": 2, "every": "1 hour"}}, r"^bad duration '1 hour'"),
    ({"grid": {"every": "1h", "keep": 2}}, r"^bad class name 'grid': lower-case letters and digits, not 'grid'$"),
    ({"Hourly": {"keep": 2}}, r"^bad class name 'Hourly'"),
    ({"1h": {"every": "1h", "keep": 2}}, r"^bad class name '1h'"),
    ({"hour_ly": {"every": "1h", "keep": 2}}, r"^bad class name 'hour_ly'"),
    ({"": {"every": "1h", "keep": 2}}, r"^bad class name ''"),
    ({}, r"^a policy is a keep-grid string or a non-empty dict of classes$"),
    (None, r"^a policy is a keep-grid string"),
    (["6h:15m"], r"^a policy is a keep-grid string"),
    (5, r"^a policy is a keep-grid string"),
])
def test_parse_policy_refuses(policy, message):
    with pytest.raises(PlanError, match=message):
        sp.parse_policy(policy)


@pytest.mark.parametrize("spec", [5, True])
def test_parse_policy_refuses_scalar_class_spec(spec):
    with pytest.raises(PlanError):
        sp.parse_policy({"hourly": spec})


def test_parse_policy_refuses_class_name_with_trailing_newline():
    with pytest.raises(PlanError, match=r"^bad class name"):
        sp.parse_policy({"x\n": {"every": "1h", "keep": 1}})


def test_classes_of():
    assert sp.classes_of(sp.parse_policy("6h:15m, 2d:1h")) == {"grid": 900}
    assert sp.classes_of(sp.parse_policy("6h:15m, 2d:15m")) == {"grid": 900}  # the finest interval
    assert sp.classes_of(sp.parse_policy({"hourly": {"keep": 1}, "x": {"every": "2d", "keep": 1}})) == \
        {"hourly": 3600, "x": 2 * D}


# ---------------------------------------------------------------------------- names and times

def test_snapshot_name_is_utc():
    assert sp.snapshot_name("helix_", "hourly", 1795324500) == "helix_20261122T051500Z_hourly"
    assert sp.snapshot_name("", "grid", 0) == "19700101T000000Z_grid"
    assert sp.snapshot_name("a-", "daily", T0 + 0.9) == "a-20261122T000000Z_daily"


@pytest.mark.parametrize("tz", ["UTC", "America/New_York", "Asia/Kolkata", "Pacific/Chatham", "EST5EDT"])
def test_snapshot_name_and_parse_name_ignore_the_local_zone(local_tz, tz):
    local_tz(tz)
    summer = calendar.timegm((2026, 7, 1, 12, 30, 45))
    assert (time.localtime(summer).tm_hour != 12) == (tz != "UTC")  # the zone really is in effect
    assert sp.snapshot_name("helix_", "hourly", summer) == "helix_20260701T123045Z_hourly"
    assert sp.parse_name("helix_", "helix_20260701T123045Z_hourly") == (summer, "hourly")
    assert sp.snapshot_name("helix_", "daily", 1795324500) == "helix_20261122T051500Z_daily"
    assert sp.parse_name("helix_", "helix_20261122T051500Z_daily") == (1795324500, "daily")


@given(t=st.integers(min_value=0, max_value=2**32), cls=st.from_regex(r"\A[a-z][a-z0-9]{0,8}\Z"),
       prefix=st.sampled_from(["", "helix_", "auto-", "a_b_", "zfs-auto-snap_", "x.y:"]))
def test_parse_name_round_trips(t, cls, prefix):
    name = sp.snapshot_name(prefix, cls, t)
    assert sp.parse_name(prefix, name) == (t, cls)


@pytest.mark.parametrize("name", [
    "other_20261122T051500Z_daily",     # another prefix
    "helix20261122T051500Z_daily",      # prefix without its underscore
    "helix_20261122T051500Z",           # no class
    "helix_20261122T051500Z_",          # empty class
    "helix_20261122T051500Z_Daily",     # not a class name
    "helix_20261122T051500Z_da-ily",
    "helix_20261122T051500Z_daily_x",
    "helix_20261322T051500Z_daily",     # month 13
    "helix_20261122T251500Z_daily",     # hour 25
    "helix_2026-11-22T05:15:00Z_daily",
    "helix_manual",
    "helix__daily",
    "pre-upgrade",
])
def test_parse_name_ignores_other_names(name):
    assert sp.parse_name("helix_", name) is None


@pytest.mark.parametrize("text, epoch", [
    ("2026-11-22T05:15:00Z", 1795324500),
    ("2026-11-22T05:15Z", 1795324500),
    ("20261122T051500Z", 1795324500),
    ("1795324500", 1795324500),
    ("1795324500.9", 1795324500),
    (" 1795324500 ", 1795324500),
    (1795324500, 1795324500),
    ("0", 0),
    ("1970-01-01T00:00:00Z", 0),
    ("2026-11-22T00:00:00Z", T0),
])
def test_parse_time(text, epoch):
    assert sp.parse_time(text) == epoch


def test_parse_time_ignores_the_local_zone(local_tz):
    local_tz("America/New_York")
    assert sp.parse_time("2026-07-01T12:30:45Z") == calendar.timegm((2026, 7, 1, 12, 30, 45))


@pytest.mark.parametrize("text", [
    "2026-11-22 05:15:00", "2026-11-22T05:15:00", "2026-11-22T05:15:00+01:00", "2026-11-22", "yesterday",
    "", "-5", "1.5e9", "2026-13-22T05:15:00Z", None,
])
def test_parse_time_refuses(text):
    with pytest.raises(PlanError, match=r"^bad time .*: want UTC like 2026-11-22T05:15:00Z, or epoch seconds$"):
        sp.parse_time(text)


# ---------------------------------------------------------------------------- due

HOURLY_DAILY = sp.parse_policy({"hourly": {"keep": 2}, "daily": {"keep": 2}})


def test_due_with_no_snapshots_is_every_class_sorted():
    assert sp.due([], HOURLY_DAILY, T0) == ["daily", "hourly"]
    assert sp.due([], sp.parse_policy("6h:15m, 2d:1h"), T0) == ["grid"]


MID = T0 + 10 * M  # ten minutes into an hour's slot


@pytest.mark.parametrize("age, is_due", [(0, False), (1, False), (10 * M, False), (10 * M + 1, True), (H - 1, True),
                                         (H, True), (5 * D, True)])
def test_due_by_slot(age, is_due):
    snaps = [snap("a", MID - age, "hourly"), snap("b", MID - 10, "daily")]
    assert sp.due(snaps, HOURLY_DAILY, MID) == (["hourly"] if is_due else [])


def test_due_every_slot_when_the_timer_fires_early_or_late():
    # Seen in the lab: the timer fires at :00/:15/:30/:45, and the run reads the clock a few
    # seconds later, more or fewer each time. By age (900 s), a run that read it sooner than the
    # last one skipped; by slot, each of the 24 runs in 6 hours takes one.
    pol = sp.parse_policy({"frequent": {"every": "15m", "keep": 100}})
    have = []
    for i in range(24):
        now = T0 + i * 15 * M + (3, 0, 2, 1)[i % 4]
        for cls in sp.due(have, pol, now):
            have.append(snap("s%d" % i, now, cls))
    assert len(have) == 24


def test_due_counts_only_the_newest_of_the_own_class():
    snaps = [snap("old", MID - 5 * H, "hourly"), snap("new", MID - 5 * M, "hourly"), snap("d", MID - 2 * D, "daily"),
             snap("x", MID - 10, "weekly")]  # a class the policy does not name satisfies nothing
    assert sp.due(snaps, HOURLY_DAILY, MID) == ["daily"]
    assert sp.due(list(reversed(snaps)), HOURLY_DAILY, MID) == ["daily"]


def test_due_counts_protected_snapshots():
    assert sp.due([snap("a", MID - 10, "hourly", protected=True)], HOURLY_DAILY, MID) == ["daily"]


def test_a_snapshot_from_a_later_slot_does_not_stop_its_class():
    # A helix_<future>_hourly name once made the class never due again. (Alone, it reads as a
    # class that began later; the planner leaves out names after the node's clock first.)
    pol = sp.parse_policy({"hourly": {"keep": 1}})
    assert sp.due([snap("a", MID + 3 * H, "hourly"), snap("b", MID - H, "hourly")], pol, MID) == ["hourly"]
    assert sp.due([snap("a", MID + 3 * H, "hourly"), snap("b", MID - 60, "hourly")], pol, MID) == []
    assert sp.due([snap("a", MID + 3 * H, "hourly")], pol, MID) == []


def test_due_grid_runs_at_the_finest_interval():
    pol = sp.parse_policy("6h:15m, 2d:1h")
    assert sp.due([snap("a", MID - 9 * M, "grid")], pol, MID) == []
    assert sp.due([snap("a", MID - 11 * M, "grid")], pol, MID) == ["grid"]
    assert sp.due([snap("a", MID - 10, "hourly")], pol, MID) == ["grid"]


# ---------------------------------------------------------------------------- prune: a day of 15-minute snapshots

DAY = T0 - D  # 2026-11-21T00:00:00Z


def day_of(cls):
    """96 snapshots, 2026-11-21 00:00 to 23:45 UTC, named as the schedule names them."""
    return [snap(sp.snapshot_name("helix_", cls, DAY + i * 15 * M), DAY + i * 15 * M, cls) for i in range(96)]


def clock(names):
    """helix_20261121T181500Z_frequent -> 18:15"""
    return ["%s:%s" % (n[15:17], n[17:19]) for n in names]


def survivors(snaps, doomed):
    return clock(sorted(s["name"] for s in snaps if s["name"] not in set(doomed)))


def test_prune_a_day_of_frequent_snapshots_keeps_the_newest_24():
    snaps = day_of("frequent")
    doomed = sp.prune(snaps, sp.parse_policy({"frequent": {"every": "15m", "keep": 24}}), T0)
    assert len(doomed) == 72 and doomed == sorted(doomed)
    assert survivors(snaps, doomed) == (
        "18:00 18:15 18:30 18:45 19:00 19:15 19:30 19:45 20:00 20:15 20:30 20:45 "
        "21:00 21:15 21:30 21:45 22:00 22:15 22:30 22:45 23:00 23:15 23:30 23:45").split()


GRID_DAY_SURVIVORS = (
    # older than 6h (up to 18:00 at 2026-11-22T00:00Z): one per hour, the oldest of each hour
    "00:00 01:00 02:00 03:00 04:00 05:00 06:00 07:00 08:00 09:00 10:00 11:00 12:00 13:00 14:00 15:00 16:00 "
    "17:00 18:00 "
    # younger than 6h: one per 15 minutes, so every one of them
    "18:15 18:30 18:45 19:00 19:15 19:30 19:45 20:00 20:15 20:30 20:45 21:00 21:15 21:30 21:45 "
    "22:00 22:15 22:30 22:45 23:00 23:15 23:30 23:45").split()


def test_prune_a_day_of_grid_snapshots():
    snaps = day_of("grid")
    doomed = sp.prune(snaps, sp.parse_policy("6h:15m, 2d:1h"), T0)
    assert survivors(snaps, doomed) == GRID_DAY_SURVIVORS
    assert clock(doomed) == ["%02d:%02d" % (h, m) for h in range(18) for m in (15, 30, 45)]


@pytest.mark.parametrize("policy", [{"frequent": {"every": "15m", "keep": 24}}, "6h:15m, 2d:1h"])
def test_prune_replayed_every_15_minutes_matches_pruning_once(policy):
    """Run the schedule over the day (create what is due, prune), then compare with one prune at the end."""
    pol = sp.parse_policy(policy)
    cls = "grid" if isinstance(policy, str) else "frequent"
    have, end = [], DAY + 95 * 15 * M
    for now in range(DAY, end + 1, 15 * M):
        assert sp.due(have, pol, now) == [cls]
        have.append(snap(sp.snapshot_name("helix_", cls, now), now, cls))
        doomed = set(sp.prune(have, pol, now))
        have = [s for s in have if s["name"] not in doomed]
        assert sp.due(have, pol, now) == []
    once = day_of(cls)
    doomed = set(sp.prune(once, pol, end))
    assert sorted(s["name"] for s in have) == sorted(s["name"] for s in once if s["name"] not in doomed)
    assert len(have) == (24 if cls == "frequent" else 42)


# ---------------------------------------------------------------------------- prune: examples

def test_prune_nothing():
    assert sp.prune([], HOURLY_DAILY, T0) == []
    assert sp.prune([], sp.parse_policy("6h:15m"), T0) == []


def test_prune_keeps_the_newest_even_past_the_last_span():
    pol = sp.parse_policy("6h:15m, 2d:1h")
    assert sp.prune([snap("a", T0 - 100 * D, "grid")], pol, T0) == []
    assert sp.prune([snap("a", T0 - 100 * D, "grid"), snap("b", T0 - 99 * D, "grid")], pol, T0) == ["a"]


def test_prune_newest_is_by_time_then_name_over_every_class():
    pol = sp.parse_policy("6h:15m")
    # Same second, same bucket: "b" is the newest (by name), so "a" is the one kept for the bucket.
    assert sp.prune([snap("a", T0 - 60, "grid"), snap("b", T0 - 60, "grid")], pol, T0) == []
    # A newer snapshot of another class is the newest: the second of the bucket goes.
    assert sp.prune([snap("a", T0 - 60, "grid"), snap("b", T0 - 59, "grid"), snap("c", T0, "manual")], pol, T0) == ["b"]


def test_prune_protected_take_no_place_in_a_count():
    pol = sp.parse_policy({"hourly": {"keep": 1}})
    snaps = [snap("a", T0 - 3 * H, "hourly"), snap("b", T0 - 2 * H, "hourly"), snap("c", T0 - H, "hourly", True)]
    assert sp.prune(snaps, pol, T0) == ["a"]


def test_prune_protected_take_no_place_in_a_bucket():
    pol = sp.parse_policy("6h:1h")
    snaps = [snap("a", T0 - 50 * M, "grid", True), snap("b", T0 - 40 * M, "grid"), snap("c", T0 - 30 * M, "grid"),
             snap("z", T0, "grid")]
    assert sp.prune(snaps, pol, T0) == ["c"]


def test_prune_grid_buckets_are_epoch_aligned():
    pol = sp.parse_policy("2d:1h")
    # 00:59 and 01:01 are two minutes apart but in different hours: both stay.
    snaps = [snap("a", T0 + 59 * M, "grid"), snap("b", T0 + 61 * M, "grid"), snap("c", T0 + 62 * M, "grid"),
             snap("z", T0 + 5 * H, "grid")]
    assert sp.prune(snaps, pol, T0 + 6 * H) == ["c"]


def test_prune_grid_leaves_other_classes_alone():
    pol = sp.parse_policy("1h:15m")
    snaps = [snap("a", T0 - 10 * D, "hourly"), snap("b", T0 - 10 * D + 1, "hourly"), snap("c", T0, "grid")]
    assert sp.prune(snaps, pol, T0) == []


# ---------------------------------------------------------------------------- prune: properties

CLASSES = ["frequent", "hourly", "daily", "grid", "manual"]
TIMES = st.one_of(st.integers(min_value=T0 - 40 * D, max_value=T0 + D),
                  st.integers(min_value=0, max_value=400).map(lambda k: T0 - k * 15 * M),  # aligned
                  st.integers(min_value=-4, max_value=8).map(lambda k: T0 - k * 15 * M))  # same times, often
SNAP = st.fixed_dictionaries({"name": st.text("abxyz_09", min_size=1, max_size=6), "time": TIMES,
                              "class": st.sampled_from(CLASSES), "protected": st.booleans()})


@st.composite
def snapshot_sets(draw):
    """Uniquely named snapshots, some with a twin: same time and class, another name."""
    snaps = draw(st.lists(SNAP, max_size=40, unique_by=lambda s: s["name"]))
    twins = draw(st.lists(st.sampled_from(snaps), max_size=6, unique_by=lambda s: s["name"])) if snaps else []
    return snaps + [dict(s, name=s["name"] + "~", protected=draw(st.booleans())) for s in twins]


SNAPS = snapshot_sets()
NOW = st.integers(min_value=T0 - 2 * D, max_value=T0 + 2 * D)
CLASS_POLICY = st.dictionaries(
    st.sampled_from(["frequent", "hourly", "daily", "weekly"]),
    st.fixed_dictionaries({"keep": st.one_of(st.integers(min_value=1, max_value=6), st.sampled_from(["1", "3"]))},
                          optional={"every": st.sampled_from(["15m", "1h", "1d", "90s"])}),
    min_size=1).map(sp.parse_policy)
SPANS = [H, 6 * H, D, 2 * D, 7 * D, 30 * D]
INTERVALS = [15 * M, H, 6 * H, D]


@st.composite
def grid_policies(draw):
    spans = sorted(draw(st.lists(st.sampled_from(SPANS), min_size=1, max_size=4, unique=True)))
    parts, floor = [], 0
    for s in spans:  # intervals may not shrink from one span to the next
        floor = draw(st.sampled_from([i for i in INTERVALS if floor <= i <= s]))
        parts.append("%ds:%ds" % (s, floor))
    return sp.parse_policy(", ".join(parts))


POLICIES = pytest.mark.parametrize("policies", [CLASS_POLICY, grid_policies()], ids=["classes", "grid"])


def bucket(grid, now, t):
    """(slot, bucket) of a grid snapshot of time t, or None when it is older than the last span."""
    for i, (span, interval) in enumerate(grid):
        if now - t < span:
            return i, t // interval
    return None


@POLICIES
@given(snaps=SNAPS, now=NOW, data=st.data())
def test_prune_never_deletes_the_newest(policies, snaps, now, data):
    doomed = sp.prune(snaps, data.draw(policies), now)
    assert newest(snaps) not in doomed
    assert doomed == sorted(set(doomed)) and set(doomed) <= {s["name"] for s in snaps}


@given(snaps=SNAPS, now=NOW, pol=CLASS_POLICY)
def test_prune_classes_keep_the_newest_count_of_unprotected(snaps, now, pol):
    doomed = set(sp.prune(snaps, pol, now))
    for cls, (_every, keep) in pol["classes"].items():
        mine = sorted((s for s in snaps if s["class"] == cls and not s["protected"]), key=key)
        kept = [s["name"] for s in mine if s["name"] not in doomed]
        assert len(kept) <= keep
        assert kept == [s["name"] for s in mine[-keep:]]  # exactly the newest ones, never fewer


@given(snaps=SNAPS, now=NOW, pol=grid_policies())
def test_prune_grid_keeps_one_per_bucket_and_nothing_past_the_last_span(snaps, now, pol):
    doomed = set(sp.prune(snaps, pol, now))
    grid, top = pol["grid"], newest(snaps)
    free = [s for s in snaps if s["class"] == "grid" and not s["protected"] and s["name"] != top]
    kept = [s for s in free if s["name"] not in doomed]
    buckets = [bucket(grid, now, s["time"]) for s in kept]
    assert None not in buckets  # nothing older than the last span, but the newest
    assert len(buckets) == len(set(buckets))  # at most one unprotected survivor per bucket
    for b in {bucket(grid, now, s["time"]) for s in free} - {None}:  # ... and it is the bucket's oldest
        oldest = min((s for s in free if bucket(grid, now, s["time"]) == b), key=key)
        assert oldest["name"] not in doomed


@POLICIES
@given(snaps=SNAPS, now=NOW, data=st.data())
def test_prune_does_not_depend_on_order(policies, snaps, now, data):
    pol = data.draw(policies)
    doomed = sp.prune(snaps, pol, now)
    assert sp.prune(data.draw(st.permutations(snaps)), pol, now) == doomed
    shuffled = list(snaps)
    data.draw(st.randoms(use_true_random=False)).shuffle(shuffled)
    assert sp.prune(shuffled, pol, now) == doomed
    assert sp.prune(list(reversed(snaps)), pol, now) == doomed


@POLICIES
@given(snaps=SNAPS, now=NOW, data=st.data())
def test_prune_twice_is_a_no_op(policies, snaps, now, data):
    pol = data.draw(policies)
    doomed = set(sp.prune(snaps, pol, now))
    assert sp.prune([s for s in snaps if s["name"] not in doomed], pol, now) == []


@POLICIES
@given(snaps=SNAPS, now=NOW, data=st.data())
def test_prune_leaves_protected_and_unnamed_classes_alone(policies, snaps, now, data):
    pol = data.draw(policies)
    doomed = set(sp.prune(snaps, pol, now))
    named = set(sp.classes_of(pol))
    assert not {s["name"] for s in snaps if s["protected"]} & doomed
    assert not {s["name"] for s in snaps if s["class"] not in named} & doomed


def test_parse_time_past_the_year_9999_is_an_error_not_a_traceback():
    with pytest.raises(PlanError, match="before the year 10000"):
        sp.parse_time("100000000000000000000")
    assert sp.parse_time("253402300799") == 253402300799
