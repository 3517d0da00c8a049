#!/usr/bin/python
# Copyright (c) helix.zfs contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: zfs_tunables
short_description: Set zfs kernel module parameters live (ARC, L2ARC, vdev queues) and verify them
version_added: 0.1.0
description:
  - Writes OpenZFS module parameters through C(/sys/module/zfs/parameters), so they take effect
    now, not at the next module load, then reads each one back and fails when ZFS did not take it.
    For C(zfs_arc_max) and C(zfs_arc_min) it also checks the ARC's effective C(c_max) and
    C(c_min).
  - Sizes may be given in bytes or with a unit (C(8G)). C(zfs_arc_max), C(zfs_arc_min),
    C(zfs_arc_sys_free) and C(zfs_dirty_data_max) may also be a share of the node's RAM (C(75%)).
    Booleans are written as 1 or 0.
  - Unknown or removed parameters (such as C(zfs_arc_meta_limit), gone since OpenZFS 2.2), an ARC
    above RAM, a C(zfs_arc_max) under 64 MiB (which ZFS silently ignores) and a C(zfs_arc_min)
    above C(zfs_arc_max) are clear errors, before anything is written.
  - Persisting the values across reboots is the job of the P(helix.zfs.arc_tuning#role) role,
    which writes RV(resolved) into C(/etc/modprobe.d/zfs.conf).
extends_documentation_fragment:
  - helix.zfs.attributes
attributes:
  check_mode:
    support: full
    details:
      - This module runs no zfs command; check mode returns in RV(changes) the writes it would make.
  diff_mode:
    support: full
  idempotent:
    support: full
options:
  parameters:
    description: Parameter names (as in C(/sys/module/zfs/parameters)) and their values.
    type: dict
    required: true
author:
  - helix.zfs developers (!UNKNOWN)
seealso:
  - name: OpenZFS module parameters
    description: What each parameter does.
    link: https://openzfs.github.io/openzfs-docs/Performance%20and%20Tuning/Module%20Parameters.html
"""

EXAMPLES = r"""
- name: Give the ARC three quarters of RAM and keep L2ARC from caching prefetched reads
  helix.zfs.zfs_tunables:
    parameters:
      zfs_arc_max: "75%"
      l2arc_noprefetch: true
      l2arc_write_max: 64M

- name: Deeper async write queues for VM workloads
  helix.zfs.zfs_tunables:
    parameters:
      zfs_vdev_async_write_max_active: 16
      zfs_vdev_async_write_min_active: 4
"""

RETURN = r"""
changes:
  description: The writes made (or in check mode that would be), in order, each with the value before and after.
  returned: always
  type: list
  elements: dict
  sample: [{name: zfs_arc_max, before: "0", after: "1546188226"}]
resolved:
  description: Every requested parameter as written to its file (sizes and shares of RAM in bytes).
  returned: always
  type: dict
  sample: {zfs_arc_max: "1546188226", l2arc_noprefetch: "1"}
memtotal:
  description: The node's RAM in bytes, the base of percentages.
  returned: always
  type: int
"""

import os

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.helix.zfs.plugins.module_utils import _tunables as tun
from ansible_collections.helix.zfs.plugins.module_utils._errors import HelixError

PARAMS = "/sys/module/zfs/parameters"
ARCSTATS = "/proc/spl/kstat/zfs/arcstats"


def read(path):
    try:
        with open(path) as f:
            return f.read()
    except (IOError, OSError):
        return None


def main():
    module = AnsibleModule(argument_spec=dict(parameters=dict(type="dict", required=True)),
                           supports_check_mode=True)
    if not os.path.isdir(PARAMS):
        module.fail_json(msg="%s is missing: the zfs kernel module is not loaded. Nothing was changed." % PARAMS)
    requested = module.params["parameters"]
    live = {n: read(os.path.join(PARAMS, n)) if "/" not in n else None for n in requested}
    memtotal = tun.parse_meminfo(read("/proc/meminfo") or "")
    arc = tun.parse_kstat(read(ARCSTATS) or "")
    try:
        writes, resolved = tun.plan(requested, live, memtotal, arc)
    except HelixError as e:
        module.fail_json(**e.as_result())
    changes = [{"name": n, "before": b, "after": a} for n, b, a in writes]
    if writes and not module.check_mode:
        for done, (name, _before, after) in enumerate(writes):
            try:
                with open(os.path.join(PARAMS, name), "w") as f:
                    f.write(after)
            except (IOError, OSError) as e:
                # What was written before stays written: the result says so.
                module.fail_json(msg="zfs refused %s=%s: %s%s" % (
                    name, after, e, " (after writing %s)" % ", ".join(c["name"] for c in changes[:done]) if done
                    else ". Nothing was changed."), changed=done > 0, changes=changes[:done], resolved=resolved)
        # Verify: the files, and the ARC's effective bounds.
        arc = tun.parse_kstat(read(ARCSTATS) or "")
        bad = []
        for name, _before, after in writes:
            back = (read(os.path.join(PARAMS, name)) or "").strip()
            if not tun.same(back, after):
                bad.append("%s reads back %r, not %r" % (name, back, after))
        for name, stat in (("zfs_arc_max", "c_max"), ("zfs_arc_min", "c_min")):
            want = resolved.get(name)
            if want and want != "0" and want.isdigit() and arc.get(stat) != int(want):
                bad.append("the ARC's %s is %s, not %s" % (stat, arc.get(stat), want))
        if bad:
            module.fail_json(msg="zfs did not take every value: %s" % "; ".join(bad), changed=True, changes=changes,
                             resolved=resolved)
    result = {"changed": bool(writes), "changes": changes, "resolved": resolved, "memtotal": memtotal}
    if module._diff:
        result["diff"] = {"before": "".join("%s=%s\n" % (n, b) for n, b, _a in writes),
                          "after": "".join("%s=%s\n" % (n, a) for n, _b, a in writes)}
    module.exit_json(**result)


if __name__ == "__main__":
    main()
