"""The size and duration tests and the to_bytes filter: the roles' preflights read sizes and
durations with the same grammar as the modules (_units)."""
import pytest
from ansible.errors import AnsibleFilterError

from ansible_collections.helix.zfs.plugins.filter.to_bytes import to_bytes
from ansible_collections.helix.zfs.plugins.test import units

TESTS = units.TestModule().tests()


@pytest.mark.parametrize("value", ["10G", "10GiB", "10GB", "1.5T", 512, "512", " 20 G "])
def test_sizes(value):
    assert TESTS["size"](value)


@pytest.mark.parametrize("value", ["10%", "ten", "", None, True, "10X", "-1G"])
def test_not_sizes(value):
    assert not TESTS["size"](value)


def test_to_bytes_reads_what_zfs_dataset_reads():
    assert to_bytes("10GiB") == to_bytes("10G") == 10 * 2**30
    with pytest.raises(AnsibleFilterError, match="to_bytes: 'ten' is not a size"):
        to_bytes("ten")


@pytest.mark.parametrize("value, ok", [("15m", True), ("1h", True), ("7y", True), (" 1h ", True),
                                       ("15 m", False), ("1mo", False), ("0s", False), ("1.5h", False),
                                       (None, False), (True, False)])
def test_durations(value, ok):
    assert TESTS["duration"](value) is ok
