"""Size parsing and property-value normalization (_props), with property tests."""
import re

import pytest
from hypothesis import given, strategies as st

from ansible_collections.helix.zfs.plugins.module_utils._props import normalize_value, parse_value, zfs_word, zfs_words
from ansible_collections.helix.zfs.plugins.module_utils._units import parse_size

UNITS = ["K", "M", "G", "T"]


@pytest.mark.parametrize("text, size", [
    ("512", 512), (4096, 4096), ("0", 0), ("1K", 1024), ("8M", 8 * 2**20), ("10G", 10 * 2**30),
    ("2T", 2 * 2**40), ("1E", 2**60), ("10g", 10 * 2**30), ("1.5T", 3 * 2**39), ("0.5K", 512),
    ("10GiB", 10 * 2**30), ("10GB", 10 * 2**30), (" 10 G ", 10 * 2**30), ("100B", 100),
])
def test_parse_size(text, size):
    assert parse_size(text) == size


@pytest.mark.parametrize("text", ["", "G", "ten", "10X", "-1G", "1,5G", "1e3", "10 G B", None])
def test_parse_size_rejects_non_sizes(text):
    with pytest.raises(ValueError):
        parse_size(text)


def test_parse_size_is_exact_for_large_byte_counts():
    assert parse_size(str(2**53 + 1)) == 2**53 + 1


def test_parse_size_of_a_huge_number_is_exact_not_a_crash():
    assert parse_size("1" + "0" * 400) == 10 ** 400
    assert normalize_value("quota", "1" + "0" * 400 + "K") == str(10 ** 400 * 1024)


@pytest.mark.parametrize("prop, a, b", [
    ("quota", "10G", "10737418240"), ("quota", "10G", 10737418240), ("refquota", "1024M", "1G"),
    ("quota", "none", "0"), ("reservation", "-", 0), ("special_small_blocks", "none", "0"),
    ("recordsize", "128K", "131072"), ("userquota@bob", "1G", "1073741824"),
    ("autotrim", True, "on"), ("atime", False, "off"), ("compression", " lz4 ", "lz4"),
    ("ashift", 12, "12"), ("compression", "on", "lz4"), ("compression", True, "lz4"),
    ("encryption", "on", "aes-256-gcm"), ("checksum", "on", "fletcher4"), ("dedup", "on", "sha256"),
    ("xattr", "sa", "on"),
    # zpool shows the default cache file as "-"; it is set as "" (helix.zfs.boot).
    ("cachefile", "-", ""), ("cachefile", None, ""), ("cachefile", "/etc/zfs/zpool.cache", ""),
])
def test_normalize_value_equal(prop, a, b):
    assert normalize_value(prop, a) == normalize_value(prop, b)


@pytest.mark.parametrize("prop, value, expected", [
    ("quota", "1K", "1024"), ("quota", "none", "0"), ("volsize", "none", "none"),
    ("quota", "lots", "lots"), ("compression", "lz4", "lz4"), ("compression", "LZ4", "LZ4"),
    ("comment", "10G", "10G"), ("autotrim", True, "on"), ("autotrim", False, "off"),
    ("quota", None, None),
])
def test_normalize_value(prop, value, expected):
    assert normalize_value(prop, value) == expected


@given(n=st.integers(min_value=0, max_value=2**53), k=st.integers(min_value=1, max_value=4))
def test_quota_with_unit_is_bytes(n, k):
    # Exact up to 2**53: beyond that see test_parse_size_is_exact_for_large_byte_counts.
    assert normalize_value("quota", "%d%s" % (n, UNITS[k - 1])) == str(n * 1024**k)


SIZE_TEXT = st.builds(lambda n, u, f: "%s%s%s" % (n, u, f), st.integers(min_value=0, max_value=2**60),
                      st.sampled_from(["", "K", "M", "G", "T", "P", "k", "g"]),
                      st.sampled_from(["", "B", "iB", " "]))
VALUES = st.one_of(SIZE_TEXT, st.text(max_size=20), st.booleans(), st.integers(min_value=0),
                   st.floats(allow_nan=False, min_value=0, max_value=2**60), st.just("none"))
PROPS = st.sampled_from(["quota", "volsize", "recordsize", "userquota@u", "compression", "autotrim"])


@given(prop=PROPS, value=VALUES)
def test_normalize_value_is_idempotent(prop, value):
    once = normalize_value(prop, value)
    assert isinstance(once, str)
    assert normalize_value(prop, once) == once


# ---------------------------------------------------------------------------- parse_value

@pytest.mark.parametrize("prop, text, value", [
    ("quota", "1073741824", 1073741824), ("quota", "0", 0), ("used", "98304", 98304),
    ("copies", "2", 2), ("userquota@bob", "1024", 1024), ("com.example:n", "-5", "-5"),
    ("origin", "-", None), ("keystatus", "-", None), ("com.example:tag", "-", None),
    ("compression", "on", "on"), ("mountpoint", "/tp/a", "/tp/a"), ("origin", "tp/a@s1", "tp/a@s1"),
    ("compressratio", "1.00", "1.00"), ("quota", "1G", "1G"), ("com.example:tag", "", ""),
    ("com.example:tag", "12 monkeys", "12 monkeys"), ("com.example:tag", "--", "--"),
    ("guid", "12345678901234567890", "12345678901234567890"), ("load_guid", "42", "42"),
    ("objsetid", "54", "54"), ("guid", "-", None),
])
def test_parse_value(prop, text, value):
    parsed = parse_value(prop, text)
    assert parsed == value
    assert type(parsed) is type(value)


@given(n=st.integers(min_value=-2**70, max_value=2**70))
def test_parse_value_integers_are_exact_ints_but_identifiers_stay_text(n):
    assert parse_value("used", str(n)) == n
    assert parse_value("guid", str(n)) == str(n)


@given(prop=PROPS, text=st.text(st.characters(min_codepoint=32, max_codepoint=126), max_size=20))
def test_parse_value_only_integers_change(prop, text):
    parsed = parse_value(prop, text)
    if text == "-":
        assert parsed is None
    elif re.match(r"\A-?[0-9]+\Z", text):
        assert parsed == int(text)
    else:
        assert parsed == text


@pytest.mark.parametrize("value, word", [(True, "on"), (False, "off"), ("noauto", "noauto"), (12, "12")])
def test_zfs_word_gives_yaml_booleans_back_as_zfs_words(value, word):
    assert zfs_word(value) == word
    assert zfs_words({"p": value}) == {"p": word}
