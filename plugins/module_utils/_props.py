# Copyright (c) helix.zfs contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""How a property value is compared: the one normalizer for pool and dataset properties.

Both sides of a comparison go through normalize_value(), so ``1G`` equals ``1073741824``,
YAML's ``true`` equals ``on``, and ``none`` equals ``0`` where ZFS treats them alike.
"""

from __future__ import annotations

import re

from ansible_collections.helix.zfs.plugins.module_utils._units import parse_size

# Properties whose values are byte counts (zfs get -p prints them in bytes).
SIZE_PROPS = frozenset((
    "quota", "refquota", "reservation", "refreservation", "volsize", "volblocksize",
    "recordsize", "special_small_blocks", "userquota", "groupquota", "projectquota",
))
# Size properties where "none" and 0 mean the same thing.
NONE_IS_ZERO = frozenset(("quota", "refquota", "reservation", "refreservation",
                          "special_small_blocks"))
# The one table of value aliases (OpenZFS 2.3): both sides of a comparison are read as the value
# they stand for. On Linux xattr=sa is what xattr=on means (it reads back as "on"); "on" for an
# algorithm means the default one.
ALIASES = {"xattr": {"sa": "on"}, "compression": {"on": "lz4"}, "encryption": {"on": "aes-256-gcm"},
           "checksum": {"on": "fletcher4"}, "dedup": {"on": "sha256"},
           # The default cache file: set as "", shown as "-".
           "cachefile": {"-": "", "/etc/zfs/zpool.cache": ""}}
# The role a dataset plays in replication and migration, as the user property ROLE_PROP says:
# PRIMARY (writable, authoritative); REPLICA (read-only, received from the primary); DEMOTED (a
# primary made read-only by a cut-over that has not finished its final sync: it still holds the
# newest writes); MIGRATED (a source migrate_node moved away, marked with where it went).
ROLE_PROP = "helix:role"
PRIMARY, REPLICA, DEMOTED, MIGRATED = "primary", "replica", "demoted", "migrated"
# Properties only a filesystem has: zfs refuses them on a volume (receive -o fails).
FILESYSTEM_ONLY = frozenset((
    "aclinherit", "aclmode", "acltype", "atime", "canmount", "casesensitivity", "devices", "dnodesize", "exec",
    "mountpoint", "nbmand", "normalization", "overlay", "quota", "recordsize", "refquota", "relatime", "setuid",
    "sharenfs", "sharesmb", "snapdir", "utf8only", "vscan", "xattr", "zoned"))


def zfs_word(value):
    """A value as zfs reads it: YAML's booleans (a bare ``on``, ``yes``) back to ``on``/``off``."""
    if isinstance(value, bool):
        return "on" if value else "off"
    return str(value)


def zfs_words(props):
    """zfs_word() for every value of a property dict."""
    return {k: zfs_word(v) for k, v in props.items()}


def normalize_value(prop, value):
    """A property value in canonical string form, for comparison only."""
    base = prop.split("@", 1)[0]
    if value is None:  # a "-" read with -Hp (parse_value): an alias may name what it means
        return ALIASES.get(base, {}).get("-")
    text = zfs_word(value).strip()
    text = ALIASES.get(base, {}).get(text, text)
    if base in SIZE_PROPS:
        if text.lower() in ("none", "-") and base in NONE_IS_ZERO:
            return "0"
        try:
            return str(parse_size(text))
        except ValueError:
            return text
    return text


# Properties that are identifiers, not quantities: kept as strings when parsed.
_STRING_PROPS = frozenset(("guid", "load_guid", "objsetid"))


def parse_value(prop, value):
    """A ``-Hp`` value as returned to users: integers as int, ``-`` as None, the rest as str."""
    if value == "-":
        return None
    # User properties are free text: "007" stays "007".
    if ":" not in prop and prop not in _STRING_PROPS and re.match(r"^-?\d+$", value):
        return int(value)
    return value
