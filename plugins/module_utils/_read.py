# Copyright (c) helix.zfs contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Readers: zfs/zpool output -> Python values, one reader per output kind. Pure functions.

Every tab-separated (``-H``) output is split by rows(); JSON (``-j``) is decoded by
ZfsCli.json() and read by _zpool_status. Values are turned into ints or None by
_props.parse_value, so every reader returns the same types.
"""

from __future__ import annotations

from ansible_collections.helix.zfs.plugins.module_utils._props import parse_value

# The columns every listing reader needs (zfs list -t filesystem,volume,snapshot,bookmark);
# callers add the properties they decide on.
LISTING_COLUMNS = ("name", "type", "guid", "createtxg", "userrefs", "clones", "written")


def rows(text, width=None):
    """``-H`` output -> one list of fields per row, blank lines skipped. With ``width``, a row
    is split into at most that many fields (the last keeps any tab: a user property's value
    may hold one) and shorter rows are skipped (zpool may print a "no pools available" line)."""
    out = []
    for line in text.splitlines():
        if not line:
            continue
        f = line.split("\t", width - 1) if width else line.split("\t")
        if width is None or len(f) == width:
            out.append(f)
    return out


def table(text, cols):
    """``-H -o <cols>`` rows -> one dict per row, by column name."""
    return [dict(zip(cols, f)) for f in rows(text, len(cols))]


def parse_source(source):
    """``local``, ``default``, ``inherited from tank/a``, ``received``, ``temporary``, ``-``
    -> (kind, the dataset inherited from or None)."""
    if source.startswith("inherited from "):
        return "inherited", source[len("inherited from "):]
    return {"-": "none"}.get(source, source), None


def parse_get(text):
    """``zfs get -Hp -o name,property,value,source`` -> {name: {prop: {value, source, from}}}.
    A user property that is not set (value and source ``-``) is left out."""
    out = {}
    for name, prop, rest in rows(text, 3):
        # Names, properties and sources hold no tab; a user property's value may.
        value, source = rest.rsplit("\t", 1)
        entry = out.setdefault(name, {})
        if ":" in prop and value == "-" and source == "-":
            continue
        kind, origin = parse_source(source)
        entry[prop] = {"value": parse_value(prop, value), "source": kind, "from": origin}
    return out


def _num(v):
    return int(v) if v not in ("-", "") else 0


def parse_list(text, cols):
    """``zfs list -Hp -o <cols>`` (LISTING_COLUMNS first, then properties) -> {"datasets":
    {name: {type, written, guid, props}}, "snaps": {ds: [...]}, "bookmarks": {ds: [...]}};
    snapshots and bookmarks oldest first (by createtxg)."""
    out = {"datasets": {}, "snaps": {}, "bookmarks": {}}
    for f in rows(text, len(cols)):
        row = dict(zip(cols, f))
        props = {c: row[c] for c in cols if c not in LISTING_COLUMNS and row.get(c, "-") != "-"}
        if row["type"] in ("filesystem", "volume"):
            out["datasets"][row["name"]] = {"type": row["type"], "written": _num(row.get("written", "-")),
                                            "guid": row["guid"], "props": props}
            continue
        sep = "@" if row["type"] == "snapshot" else "#"
        ds, _s, short = row["name"].partition(sep)
        item = {"name": row["name"], "dataset": ds, "short": short, "guid": row["guid"],
                "txg": _num(row["createtxg"]), "userrefs": _num(row["userrefs"]),
                "clones": [c for c in row["clones"].split(",") if c not in ("", "-")],
                "props": props}
        out["snaps" if sep == "@" else "bookmarks"].setdefault(ds, []).append(item)
    for group in ("snaps", "bookmarks"):
        for items in out[group].values():
            items.sort(key=lambda s: (s["txg"], s["name"]))
    return out


def parse_holds(text):
    """``zfs holds -H`` -> {snapshot: {tag, ...}}."""
    out = {}
    for f in rows(text):
        if len(f) > 1:
            out.setdefault(f[0], set()).add(f[1])
    return out


def parse_destroy_dry_run(text):
    """``zfs destroy -nvp`` -> the names it would destroy, in its order."""
    return [f[1] for f in rows(text) if f[0] == "destroy" and len(f) > 1]


def parse_send_size(text):
    """``zfs send -nvP`` (stdout and stderr together) -> the estimated stream size in bytes (its
    last ``size`` line: the total), or 0."""
    sizes = [int(f[1]) for f in rows(text) if f[0] == "size" and len(f) > 1]
    return sizes[-1] if sizes else 0
