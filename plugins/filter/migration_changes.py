# Copyright (c) helix.zfs contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""migration_changes: a migration's datasets and what zfs_info read of their source trees -> the
zfs_dataset lists of each cut-over step (playbooks/migrate_node.yml), for whole trees."""

from __future__ import annotations

from ansible.errors import AnsibleFilterError

ROLE = "helix:role"
MARKS = (ROLE, "helix:migrated_to", "helix:run_id")


def _prop(d, name):
    p = (d.get("properties") or {}).get(name) or {}
    return p.get("value"), p.get("source")


def _under(name, top):
    return name == top or name.startswith(top + "/")


def migration_changes(pairs, seen, target_host, run):
    """pairs: [{source, target}]; seen: zfs_info's datasets of the sources, read recursively with
    readonly, encryption and the helix: properties. -> {readonly, retire, undo, marks, promote,
    demote, verify} (retire: readonly, and the source top a replica; for a failover): lists
    for zfs_dataset's ``datasets`` (``verify`` maps a source to guid or content).
    Every dataset of a source tree goes read-only (a child with its own readonly=off would still
    take writes); the undo puts each back as it was; the target tree mirrors the source tree."""
    if not isinstance(pairs, list) or not isinstance(seen, list):
        raise AnsibleFilterError("migration_changes: pairs and seen must be lists")
    out = {k: [] for k in ("readonly", "retire", "undo", "marks", "promote", "demote")}
    out["verify"] = {}
    for pair in pairs:
        src, tgt = pair.get("source"), pair.get("target")
        if not src or not tgt:
            raise AnsibleFilterError("migration_changes: each dataset needs source and target, got %r" % (pair,))
        tree = [d for d in seen if _under(d["name"], src)]
        if not tree:
            raise AnsibleFilterError("migration_changes: zfs_info read nothing under %s" % src)
        encrypted = False
        for d in tree:
            name = d["name"]
            ro, ro_src = _prop(d, "readonly")
            encrypted = encrypted or _prop(d, "encryption")[0] not in (None, "off")
            out["readonly"].append({"name": name, "properties": {"readonly": "on"}})
            out["retire"].append({"name": name, "properties": dict({"readonly": "on"}, **({ROLE: "replica"} if name == src else {}))})
            undo = {"name": name}
            if ro_src == "local":
                undo["properties"] = {"readonly": ro}
            else:
                undo["inherit"] = ["readonly"]
            if name == src:
                # The marks go too; a helix:role set here before (e.g. primary) comes back.
                role, role_src = _prop(d, ROLE)
                undo["inherit"] = undo.get("inherit", []) + [m for m in MARKS if not (m == ROLE and role_src == "local")]
                if role_src == "local":
                    undo.setdefault("properties", {})[ROLE] = role
            out["undo"].append(undo)
            t = tgt + name[len(src):]
            if name == src:
                out["promote"].append({"name": t, "properties": {"readonly": "off", "canmount": "on", ROLE: "primary"}})
                out["demote"].append({"name": t, "properties": {"readonly": "on", ROLE: "replica"}})
            else:
                # The receive set readonly, canmount and the role on each; children follow the top.
                out["promote"].append({"name": t, "inherit": ["readonly", ROLE], "properties": {"canmount": "on"}})
        out["marks"].append({"name": src, "properties": {ROLE: "migrated", "helix:migrated_to": "%s:%s" % (target_host, tgt),
                                                         "helix:run_id": run}})
        # A content digest needs the files readable on the target: raw-received encrypted data isn't.
        out["verify"][src] = "guid" if encrypted else "content"
    return out


class FilterModule:
    def filters(self):
        return {"migration_changes": migration_changes}
