# Copyright (c) helix.zfs contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""tenant_datasets: the tenants declared once in inventory -> zfs_dataset's ``datasets`` list."""

from __future__ import annotations

import re

from ansible.errors import AnsibleFilterError

_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.:-]*$")
_SIZED = ("quota", "refquota", "reservation", "refreservation")


def _props(where, spec):
    if not isinstance(spec, dict):
        raise AnsibleFilterError("tenant_datasets: %s must be a mapping, not %r" % (where, spec))
    unknown = set(spec) - set(_SIZED) - {"name", "properties", "datasets", "encrypted"}
    if unknown:
        raise AnsibleFilterError("tenant_datasets: %s has unknown keys %s" % (where, ", ".join(sorted(unknown))))
    props = dict(spec.get("properties") or {})
    props.update({k: spec[k] for k in _SIZED if spec.get(k) is not None})
    return props


def tenant_datasets(tenants, root, only=None):
    """[{name, quota?, properties?, encrypted?, datasets: [{name, quota?, properties?}]}] -> the
    datasets to build under ``root``, each tenant before its own datasets. ``only`` limits it to
    the named tenants (the ones placed on this node). ``encrypted`` is the encryption_keys
    role's business: an encrypted tenant's dataset is created there, with its key."""
    if not isinstance(tenants, list):
        raise AnsibleFilterError("tenant_datasets: tenants must be a list, not %r" % (tenants,))
    out, seen = [], set()
    for i, t in enumerate(tenants):
        name = t.get("name") if isinstance(t, dict) else None
        if not name or not _NAME.match(str(name)):
            raise AnsibleFilterError("tenant_datasets: tenant #%d needs a name of letters, digits, _ . : - (got %r)"
                                     % (i + 1, name))
        if name in seen:
            raise AnsibleFilterError("tenant_datasets: tenant %s is declared twice" % name)
        seen.add(name)
        if only is not None and name not in only:
            continue
        base = "%s/%s" % (root, name)
        out.append({"name": base, "properties": _props("tenant " + name, t)})
        kids = set()
        for d in t.get("datasets") or []:
            child = d.get("name") if isinstance(d, dict) else None
            if not child or not all(_NAME.match(c) for c in str(child).split("/")) or child in kids:
                raise AnsibleFilterError("tenant_datasets: tenant %s has a bad or repeated dataset name %r"
                                         % (name, child))
            kids.add(child)
            out.append({"name": "%s/%s" % (base, child), "properties": _props("%s/%s" % (name, child), d)})
    return out


class FilterModule:
    def filters(self):
        return {"tenant_datasets": tenant_datasets}
