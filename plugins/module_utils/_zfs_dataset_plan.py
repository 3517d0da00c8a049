# Copyright (c) helix.zfs contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""zfs_dataset's decision logic: (current datasets, declared datasets) -> [zfs commands].

Pure functions, no I/O. A command is a dict: ``argv`` (what runs), and ``stdin_key`` naming
the key the module pipes on stdin (never in argv); ``plan()`` also returns per-dataset
before/after property views for diff mode.
"""

from __future__ import annotations

import binascii
import re

from ansible_collections.helix.zfs.plugins.module_utils._props import NONE_IS_ZERO, SIZE_PROPS, normalize_value
from ansible_collections.helix.zfs.plugins.module_utils._props import zfs_words
from ansible_collections.helix.zfs.plugins.module_utils._units import parse_size
from ansible_collections.helix.zfs.plugins.module_utils._zfs_get import NAME_RULES, dataset_name_ok
from ansible_collections.helix.zfs.plugins.module_utils._errors import PlanError

# Set only by zfs create (or, for the key ones, zfs change-key): a later difference is an error.
CREATE_ONLY = frozenset(("encryption", "keyformat", "pbkdf2iters", "casesensitivity",
                         "normalization", "utf8only", "volblocksize"))
# Never settable.
READ_ONLY = frozenset((
    "available", "clones", "compressratio", "createtxg", "creation", "defer_destroy",
    "encryptionroot", "filesystem_count", "guid", "keystatus", "logicalreferenced",
    "logicalused", "mounted", "objsetid", "origin", "receive_resume_token", "redact_snaps",
    "refcompressratio", "referenced", "snapshot_count", "snapshots_changed", "type", "used",
    "usedbychildren", "usedbydataset", "usedbyrefreservation", "usedbysnapshots", "userrefs",
    "written",
))
# Properties the plan needs beside the declared ones, read only when an option needs them, so
# a plain converge reads little more than a bare zfs get of the declared properties would.
KEY_PROPS = ("encryption", "keystatus", "keyformat", "encryptionroot", "mounted", "canmount",
             "mountpoint")


# zfs_dataset's options per dataset (its argspec, for one dataset or each of ``datasets``).
OPTIONS = dict(
    state=dict(type="str", default="present", choices=["present", "absent"]),
    type=dict(type="str", default="filesystem", choices=["filesystem", "volume"]),
    properties=dict(type="dict", default={}),
    inherit=dict(type="list", elements="str", default=[]),
    localize=dict(type="bool", default=False),
    key=dict(type="str", no_log=True),
    key_loaded=dict(type="bool"),
    new_key=dict(type="str", no_log=True),
    origin=dict(type="str"),
    promote=dict(type="bool", default=False),
    rename_from=dict(type="str"),
    sparse=dict(type="bool", default=False),
    recursive=dict(type="bool", default=False),
    destroy_dependents=dict(type="bool", default=False),
)


def declared(items, options=None):
    """The task's datasets (``items``: its ``datasets``, or the task itself as one), each a new
    dict with every per-dataset option filled in (an option left out takes its default, as the
    argspec would give it) and its properties as zfs words."""
    out = []
    for item in items:
        d = {k: item.get(k, (spec or {}).get("default")) for k, spec in (options or OPTIONS).items()}
        d["name"] = item.get("name")
        if not dataset_name_ok(d["name"]):
            raise PlanError("invalid dataset name %r (%s)" % (d["name"], NAME_RULES))
        d["properties"] = zfs_words(d["properties"] or {})
        check_names(d["properties"])
        out.append(d)
    seen, dup = set(), set()
    for d in out:
        (dup if d["name"] in seen else seen).add(d["name"])
    if dup:
        raise PlanError("datasets declared twice: %s" % ", ".join(sorted(dup)))
    return out


def key_bytes(name, key, keyformat):
    """A key as zfs reads it on stdin, after checking its length for the key format."""
    if keyformat == "raw":
        try:
            raw = binascii.unhexlify(key)
        except (binascii.Error, TypeError, ValueError):  # ValueError: non-ASCII text
            raw = b""
        if len(raw) != 32:
            raise PlanError("%s: a raw key is 32 bytes, given hex-encoded as 64 characters" % name)
        return raw
    if keyformat == "hex":
        if not re.match(r"^[0-9a-fA-F]{64}$", key):
            raise PlanError("%s: a hex key is 64 hexadecimal characters" % name)
        return (key + "\n").encode()
    if not 8 <= len(key) <= 512:
        raise PlanError("%s: a passphrase is 8 to 512 characters" % name)
    return (key + "\n").encode()


def props_to_read(ds):
    """Every property one zfs get must return for the declared datasets."""
    props = {"type"}
    for d in ds:
        props |= set(d["properties"]) | set(d["inherit"])
        if d.get("key") is not None or d.get("new_key") is not None or d.get("key_loaded") is not None:
            props |= set(KEY_PROPS)
        if d.get("promote"):
            props.add("origin")
    return sorted(props)


def same(prop, current, wanted):
    """Are two values of ``prop`` the same setting?"""
    a, b = normalize_value(prop, current), normalize_value(prop, wanted)
    if prop in ("mountpoint", "keylocation") and a and b:
        a, b = a.rstrip("/") or "/", b.rstrip("/") or "/"
    return a == b


# Values ZFS takes for common properties, checked before planning so check mode plans only what
# an apply can run (zfs itself checks the rest, and its refusal is a clear error too).
_ON_OFF = ("atime", "relatime", "readonly", "exec", "setuid", "devices", "overlay", "zoned", "vscan", "nbmand")
_CHOICES = dict({p: ("on", "off") for p in _ON_OFF}, canmount=("on", "off", "noauto"),
                sync=("standard", "always", "disabled"), logbias=("latency", "throughput"),
                snapdir=("hidden", "visible"), primarycache=("all", "none", "metadata"),
                secondarycache=("all", "none", "metadata"))
_COMPRESSION = re.compile(r"on|off|lz4|lzjb|zle|gzip(-[1-9])?|zstd(-([1-9]|1[0-9]))?|zstd-fast(-\d+)?")


def check_names(props):
    """Read-only properties, and values ZFS would refuse, as errors before anything is planned."""
    bad = sorted(p for p in props if p in READ_ONLY)
    if bad:
        raise PlanError("read-only properties can't be set: %s" % ", ".join(bad))
    wrong = []
    for prop, value in sorted(props.items()):
        text = normalize_value(prop, value)
        if text == "inherit" or ":" in prop:
            continue
        if prop in SIZE_PROPS and not (text == "0" and prop in NONE_IS_ZERO) and \
                not (prop == "refreservation" and text == "auto"):  # auto: a volume's full size
            try:
                parse_size(text)
            except ValueError:
                wrong.append("%s=%s is not a size (bytes, or a number with K, M, G, T, P or E%s)"
                             % (prop, value, "; or none" if prop in NONE_IS_ZERO else ""))
        elif prop in _CHOICES and text not in _CHOICES[prop]:
            wrong.append("%s=%s is not one of %s" % (prop, value, ", ".join(_CHOICES[prop])))
        elif prop == "compression" and not _COMPRESSION.fullmatch(text):
            wrong.append("%s=%s is not a compression ZFS knows" % (prop, value))
    if wrong:
        raise PlanError("invalid property values: %s. Nothing was changed." % "; ".join(wrong))


def property_changes(name, current, props, inherit, localize):
    """(zfs set assignments, zfs inherit props) taking one existing dataset to ``props``."""
    both = sorted(p for p in inherit if p in props and props[p] != "inherit")
    if both:
        raise PlanError("%s: %s both given a value and listed in inherit" % (name, ", ".join(both)))
    sets, resets, wrong = [], [], []
    for prop, want in sorted(props.items()):
        have = current.get(prop)
        if want == "inherit":
            if have and have["source"] in ("local", "received"):
                resets.append(prop)
            continue
        if have is not None and same(prop, have["value"], want):
            if localize and have["source"] not in ("local",) and prop not in CREATE_ONLY:
                sets.append("%s=%s" % (prop, want))
            continue
        if prop in CREATE_ONLY:
            wrong.append("%s is %s, declared %s" % (prop, have["value"] if have else "unset", want))
            continue
        sets.append("%s=%s" % (prop, want))
    for prop in inherit:
        have = current.get(prop)
        if have and have["source"] in ("local", "received"):
            resets.append(prop)
    if wrong:
        raise PlanError("%s: %s; these are fixed when the dataset is created (keyformat and "
                        "pbkdf2iters change with new_key)" % (name, "; ".join(wrong)))
    return sets, sorted(set(resets))


def create_argv(d):
    """zfs create / zfs clone for a declared dataset ``d``."""
    opts = []
    clone = bool(d.get("origin"))
    for prop, value in sorted(d["properties"].items()):
        # zfs create takes a volume's size as -V; a clone takes it as a property
        if value != "inherit" and (prop != "volsize" or clone):
            opts += ["-o", "%s=%s" % (prop, value)]
    if d.get("key") is not None and "keylocation" not in d["properties"]:
        opts += ["-o", "keylocation=prompt"]
    if clone:
        return ["zfs", "clone", "-p"] + opts + [d["origin"], d["name"]]
    argv = ["zfs", "create", "-p"]
    if d["type"] == "volume":
        argv += (["-s"] if d.get("sparse") else []) + ["-V", str(d["properties"]["volsize"])]
    return argv + opts + [d["name"]]


def view(current, props):
    """The declared properties as they stand, for diff mode; where a value is not set locally
    it says so, so a change of source alone (localize, inherit) shows in the diff."""
    out = {}
    for p in sorted(props):
        have = current.get(p)
        if have is None:
            out[p] = None
        elif have["source"] == "local":
            out[p] = have["value"]
        else:
            out[p] = "%s (%s%s)" % (have["value"], have["source"],
                                    " from " + have["from"] if have.get("from") else "")
    return out


def mount_tree(name, canmount, mountpoint):
    """Mount a dataset whose key is (being) loaded, and its children that mount by themselves:
    ``zfs mount -R`` skips a canmount=noauto top (every replica), so that one is mounted by name
    first - key_loaded: true asks for it."""
    if canmount not in ("on", "noauto") or mountpoint in ("none", "legacy", None):
        return []
    first = [{"argv": ["zfs", "mount", name]}] if canmount == "noauto" else []
    return first + [{"argv": ["zfs", "mount", "-R", name]}]


def plan_one(d, current, exists, renamed_from_exists, change_key=False):
    """Commands for one declared dataset. ``current`` is its properties (or its old name's);
    ``change_key``: the module found that new_key does not open it yet."""
    cmds, before, after = [], None, None
    name = d["name"]
    if d["state"] == "absent":
        if exists:
            flags = ["-r"] if d.get("recursive") else []
            flags = ["-R"] if d.get("destroy_dependents") else flags
            cmds.append({"argv": ["zfs", "destroy"] + flags + [name], "dry_run": True})
            before, after = {"state": "present"}, {"state": "absent"}
        return cmds, before, after
    if not exists and d.get("rename_from") and renamed_from_exists:
        cmds.append({"argv": ["zfs", "rename", "-p", d["rename_from"], name]})
        exists = True
        before = {"name": d["rename_from"]}
        after = {"name": name}
    if not exists:
        if d.get("key") is not None and d["properties"].get("keylocation", "prompt") != "prompt":
            raise PlanError("%s: a key given in key is piped to zfs, so keylocation must be prompt"
                            % name)
        if d["type"] == "volume" and "volsize" not in d["properties"] and not d.get("origin"):
            raise PlanError("%s: a volume needs volsize" % name)
        cmds.append({"argv": create_argv(d), "stdin_key": "key" if d.get("key") is not None else None})
        return cmds, {"state": "absent"}, {"state": "present", "properties": dict(d["properties"])}
    kind = (current.get("type") or {}).get("value")
    if kind and kind != d["type"]:
        raise PlanError("%s is a %s, declared a %s" % (name, kind, d["type"]))
    sets, resets = property_changes(name, current, d["properties"], d["inherit"], d["localize"])
    if sets:
        cmds.append({"argv": ["zfs", "set"] + sets + [name]})
    for prop in resets:
        cmds.append({"argv": ["zfs", "inherit", prop, name]})

    def value(prop):
        return (current.get(prop) or {}).get("value")
    keystatus, origin = value("keystatus"), value("origin")
    # Keys belong to the encryption root: load and unload there.
    root = value("encryptionroot") or name
    new_keystatus = keystatus
    if d.get("key_loaded") is True and keystatus == "unavailable":
        if d.get("key") is None:
            raise PlanError("%s: loading its key needs key" % name)
        cmds.append({"argv": ["zfs", "load-key", root], "stdin_key": "key"})
        new_keystatus = "available"
    if d.get("key_loaded") is True and keystatus in ("unavailable", "available") and value("mounted") != "yes":
        cmds += mount_tree(name, value("canmount"), value("mountpoint"))
    if d.get("key_loaded") is False and keystatus == "available":
        if value("mounted") == "yes":  # zfs refuses to unload a mounted dataset's key
            cmds.append({"argv": ["zfs", "unmount", name]})
        cmds.append({"argv": ["zfs", "unload-key", root]})
        new_keystatus = "unavailable"
    if change_key:
        cmds.append({"argv": ["zfs", "change-key", "-o", "keylocation=prompt", name], "stdin_key": "new_key"})
    if d.get("promote") and origin not in (None, "-"):
        cmds.append({"argv": ["zfs", "promote", name]})
    if cmds and before is None:
        shown = sorted(set(d["properties"]) | set(d["inherit"]))
        before = {"properties": view(current, shown), "keystatus": keystatus, "origin": origin,
                  "key": "current"}
        props_after = dict(before["properties"])
        props_after.update({p: v for p, v in d["properties"].items() if v != "inherit"})
        props_after.update({p: "(inherited)" for p in resets})
        after = {"properties": props_after, "keystatus": new_keystatus,
                 "origin": None if d.get("promote") else origin,
                 "key": "new" if change_key else "current"}
        if d.get("key_loaded") is not None:  # loading mounts, unloading unmounts: show it
            argvs = [c["argv"][:2] for c in cmds]
            before["mounted"] = value("mounted")
            after["mounted"] = "yes" if ["zfs", "mount"] in argvs else "no" if ["zfs", "unmount"] in argvs \
                else value("mounted")
    return cmds, before, after


def plan_all(ds, current, missing, changing=()):
    """The declared datasets (``declared``) and what zfs get read of them (``current``, and the
    ``missing`` names) -> (commands, diffs): parents before children when creating, children
    before parents when destroying, ``zfs set``/``inherit`` batched; each command carries the
    ``name`` it is for. ``changing``: the names whose new_key does not open them yet."""
    cmds, diffs = [], {}
    for d in sorted(ds, key=lambda d: (d["state"] == "absent", d["name"].count("/") * (
            -1 if d["state"] == "absent" else 1))):
        name = d["name"]
        src = current.get(name) or current.get(d["rename_from"] or "", {})
        c, before, after = plan_one(d, src, name not in missing, d["rename_from"] not in missing, name in changing)
        for cmd in c:
            cmd["name"] = name
        cmds += c
        if before is not None or c:
            diffs[name] = {"before": before, "after": after}
    return batch(cmds), diffs


def batch(cmds):
    """Merge ``zfs set`` (and ``zfs inherit``) commands that make the same change to different
    datasets into one process: zfs takes many datasets per call. The merged command stands
    where the last of them stood, so every dataset it names exists by then."""
    groups = {}
    for i, c in enumerate(cmds):
        a = c["argv"]
        if a[:2] in (["zfs", "set"], ["zfs", "inherit"]) and not c.get("stdin_key"):
            n = len(a) - 1 if a[1] == "set" else 3  # where the dataset names start
            groups.setdefault(tuple(a[:n]), []).append(i)
    last = {idx[-1]: key for key, idx in groups.items()}
    merged = set(i for idx in groups.values() for i in idx)
    out = []
    for i, c in enumerate(cmds):
        if i not in merged:
            out.append(c)
        elif i in last:
            key = last[i]
            names = [cmds[j]["argv"][len(key):] for j in groups[key]]
            out.append(dict(c, argv=list(key) + [n for ns in names for n in ns]))
    return out
