"""Unit tests import the collection as ansible_collections.helix.zfs from this checkout."""
import os
import sys

import pytest

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
FIXTURES = os.path.join(REPO, "tests", "unit", "fixtures")
_root = os.path.join(os.environ.get("HELIX_COLLECTIONS", ""), "")
if os.path.isdir(os.path.join(_root, "ansible_collections", "helix", "zfs")) and _root not in sys.path:
    sys.path.insert(0, _root)


@pytest.fixture
def fixture_text():
    def read(*parts):
        with open(os.path.join(FIXTURES, *parts)) as f:
            return f.read()
    return read
