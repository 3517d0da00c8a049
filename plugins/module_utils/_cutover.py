# Copyright (c) helix.zfs contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""The cut-over's property changes (playbooks/tasks/cutover.yml), for whole trees: a migration's
datasets and what zfs_info read of their source trees -> the zfs_dataset lists of each step
(migration_changes), and both sides' state -> what is left to do (migration_todo). Used by the
filters of the same names and by the placement plan (``_placement.commands``), which predicts
what the cut-over will run."""

from __future__ import annotations

from ansible_collections.helix.zfs.plugins.module_utils._errors import PlanError
from ansible_collections.helix.zfs.plugins.module_utils._props import DEMOTED, MIGRATED, PRIMARY, REPLICA, ROLE_PROP as ROLE

# What readonly and the role were before the cut-over, kept on each source dataset by the same
# `zfs set` that makes it read-only, so a rerun after the controller died can still undo it:
# "readonly=off;helix:role=primary", an empty value meaning "inherited".
BEFORE = "helix:before_cutover"
MARKS = (ROLE, "helix:migrated_to", "helix:run_id")
# Roles of a source whose cut-over began: a rerun resumes it.
CUTOVER_ROLES = (DEMOTED, MIGRATED)
# Copies are received with these off (playbooks/vars/copies.yml: a setuid or executable file in
# a stream stays inert on a replica); the promotion puts back what the source declares. Callers
# read them with the source trees; a volume has neither.
RESTORED = ("setuid", "exec")


def _prop(d, name):
    p = (d.get("properties") or {}).get(name) or {}
    return p.get("value"), p.get("source")


def _local(d, name):
    """The local value of a property, or None when it is not set here."""
    value, source = _prop(d, name)
    return value if source == "local" else None


def _before(d, props, resuming):
    """{prop: local value or None} as they were before the cut-over: from BEFORE when resuming
    a cut-over that left it, else as they are now."""
    was = _local(d, BEFORE) if resuming else None
    if was is None:
        return {p: _local(d, p) for p in props}
    kept = dict(kv.split("=", 1) for kv in was.split(";") if "=" in kv)
    return {p: kept.get(p) or None for p in props}


def _resuming(top):
    """Whether a source top is in a cut-over of ours that a controller did not finish."""
    return _prop(top, ROLE)[0] in CUTOVER_ROLES and _local(top, BEFORE) is not None


def _encode(before):
    return ";".join("%s=%s" % (p, v or "") for p, v in sorted(before.items()))


def _under(name, top):
    return name == top or name.startswith(top + "/")


def migration_changes(pairs, seen, target_host, run, old_role=MIGRATED):
    """pairs: [{source, target}]; seen: zfs_info's datasets of the sources, read recursively with
    readonly and the helix: properties. -> {readonly, undo, marks, promote, demote}: lists for
    zfs_dataset's ``datasets``, one per step of the cut-over (playbooks/tasks/cutover.yml).
    old_role: what the source becomes once the target is verified: ``migrated`` (migrate_node:
    it keeps its record of the cut-over, for a rerun) or ``replica`` (a failover or a placement
    switch: the record goes, the copy stays a read-only replica of the new primary).
    Every dataset of a source tree goes read-only (a child with its own readonly=off would still
    take writes); the undo puts each back as it was; the target tree mirrors the source tree."""
    if not isinstance(pairs, list) or not isinstance(seen, list):
        raise PlanError("migration_changes: pairs and seen must be lists")
    if old_role not in (MIGRATED, REPLICA):
        raise PlanError("migration_changes: old_role must be %s or %s, got %r" % (MIGRATED, REPLICA, old_role))
    out = {k: [] for k in ("readonly", "undo", "marks", "promote", "demote")}
    for pair in pairs:
        src, tgt = pair.get("source"), pair.get("target")
        if not src or not tgt:
            raise PlanError("migration_changes: each dataset needs source and target, got %r" % (pair,))
        tree = [d for d in seen if _under(d["name"], src)]
        if not tree:
            raise PlanError("migration_changes: zfs_info read nothing under %s" % src)
        resuming = _resuming(_top(tree, src) or {})
        for d in tree:
            name = d["name"]
            before = _before(d, ("readonly", ROLE) if name == src else ("readonly",), resuming)
            ro_now = {"readonly": "on", BEFORE: _encode(before)}
            out["readonly"].append({"name": name, "properties": dict(ro_now, **({ROLE: DEMOTED} if name == src else {}))})
            if old_role == REPLICA:
                out["marks"].append(dict({"name": name, "inherit": [BEFORE]}, **({"properties": {ROLE: REPLICA}} if name == src else {})))
            # The undo puts each back as it was; the marks go too, and a role set here before
            # (e.g. primary) comes back.
            undo = {"name": name, "inherit": [BEFORE] if resuming and _local(d, BEFORE) is not None else []}
            for prop, value in before.items():
                if value is None:
                    undo["inherit"].append(prop)
                else:
                    undo.setdefault("properties", {})[prop] = value
            if name == src:
                undo["inherit"] += [m for m in MARKS if m != ROLE]
            if not undo["inherit"]:
                del undo["inherit"]
            out["undo"].append(undo)
            t = tgt + name[len(src):]
            sets, inherit = _restored(d, src == tgt)
            if name == src:
                promote = {"name": t, "properties": dict({"readonly": "off", "canmount": "on", ROLE: PRIMARY}, **sets)}
                if inherit:
                    promote["inherit"] = inherit
                out["promote"].append(promote)
                out["demote"].append({"name": t, "properties": {"readonly": "on", ROLE: REPLICA}})
            else:
                # The receive set readonly, canmount and the role on each; children follow the top.
                out["promote"].append({"name": t, "inherit": ["readonly", ROLE] + inherit,
                                       "properties": dict({"canmount": "on"}, **sets)})
        if old_role == MIGRATED:
            out["marks"].append({"name": src, "properties": {ROLE: MIGRATED, "helix:migrated_to": "%s:%s" % (target_host, tgt),
                                                             "helix:run_id": run}})
    return out


def _restored(d, same):
    """The promotion's {prop: value} and [props to inherit] for RESTORED, from source dataset d
    (its local value, else inherited). ``same``: the source is the copy being promoted (its old
    primary is fenced), whose local values are the receive's: they are inherited."""
    sets, inherit = {}, []
    for prop in RESTORED:
        value, _source = _prop(d, prop)
        if value in (None, "-"):
            continue
        local = None if same else _local(d, prop)
        if local is None:
            inherit.append(prop)
        else:
            sets[prop] = local
    return sets, inherit


def _top(seen, name):
    return next((d for d in seen if d["name"] == name), None)


def migration_todo(pairs, sources, targets):
    """pairs: [{source, target}]; sources, targets: zfs_info's datasets of each side (readonly and
    helix:role). -> {todo, resumed, done, refused}: ``todo`` the pairs to migrate (``resumed``
    among them: a cut-over the controller did not finish, which a rerun completes), ``done`` the
    migrated ones, ``refused`` a message per pair that must not run.

    A source's role says how far its cut-over went: ``demoted`` with helix:before_cutover
    (read-only, not yet verified on the target) or ``migrated`` (verified). A migrated source
    whose target is still a read-only replica lost its controller before the promotion: resumed.
    Never into a writable target, so a resumed cut-over can't leave two writable copies."""
    if not isinstance(pairs, list) or not isinstance(sources, list) or not isinstance(targets, list):
        raise PlanError("migration_todo: pairs, sources and targets must be lists")
    out = {"todo": [], "resumed": [], "done": [], "refused": []}
    for pair in pairs:
        src, tgt = _top(sources, pair.get("source")), _top(targets, pair.get("target"))
        if src is None:
            continue  # the preflight reports missing sources
        role, readonly = _prop(src, ROLE)[0], _prop(src, "readonly")[0]
        t_role, t_ro = (_prop(tgt, ROLE)[0], _prop(tgt, "readonly")[0]) if tgt else (None, None)
        where = "%s -> %s" % (pair["source"], pair["target"])
        if role == MIGRATED and (tgt is None or t_role != REPLICA):
            out["done"].append(pair)
        elif t_ro == "off":
            out["refused"].append("%s: the target exists and is writable (role %s); a migration only "
                                  "receives into a read-only replica" % (where, t_role or "unset"))
        elif role == MIGRATED or _resuming(src):
            out["todo"].append(pair)
            out["resumed"].append(pair)
        elif readonly == "on":
            out["refused"].append("%s: the source is read-only and no cut-over of ours made it so; a "
                                  "migration starts from a writable source" % where)
        else:
            out["todo"].append(pair)
    return out
