# Copyright (c) helix.zfs contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""What each step of a plan will run: the ``commands`` the collection's modules return when
playbooks/tasks/placement_step.yml (and the cut-over, tasks/cutover.yml) carry the step out,
computed with those modules' own planners (zfs_dataset's, zfs_snapshot's, zfs_replicate's, the
cut-over's property changes) over what plan.yml read, the state carried forward step by step.

A command is ``{"host": where the module runs it, "argv": [...]}``; zfs_replicate's pipeline is
one argv with ``|`` between the send and ``ssh TARGET zfs receive ...``, as its result shows it.
What the plan cannot know from the read is left out and said so in the docs: holds an
interrupted send placed, a resume token, writes between the plan and the run."""

from __future__ import annotations

import shlex

from ansible_collections.helix.zfs.plugins.module_utils import _cutover
from ansible_collections.helix.zfs.plugins.module_utils import _read
from ansible_collections.helix.zfs.plugins.module_utils import _zfs_dataset_plan as dplan
from ansible_collections.helix.zfs.plugins.module_utils import _zfs_replicate_plan as rplan
from ansible_collections.helix.zfs.plugins.module_utils import _zfs_snapshot_plan as splan
from ansible_collections.helix.zfs.plugins.module_utils._props import PRIMARY, REPLICA, ROLE_PROP, zfs_words

# What plan.yml reads of each catalog dataset's tree (zfs_info, every type): what the planners
# below look at.
READ_PROPERTIES = ["type", "used", "guid", "createtxg", "userrefs", "written", "readonly", "canmount",
                   "encryption", "receive_resume_token", ROLE_PROP, _cutover.BEFORE] + list(_cutover.RESTORED)
# zfs_replicate's options as placement_step.yml and cutover.yml set them (receive_properties
# comes from playbooks/vars/copies.yml, through plan.yml).
REPLICATE = {"flags": ["large_blocks", "embedded", "compressed"], "send_decrypted": False,
             "exclude_properties": ["mountpoint"], "rollback": False, "bookmark": True,
             "keep_bookmarks": 10, "hold": None}


def _under(name, top):
    return name == top or name.startswith(top + "/")


def _value(props, prop):
    return (props.get(prop) or {}).get("value")


class Fleet:
    """Every host's datasets, snapshots and bookmarks as zfs_info read them (``{name:
    properties}``), changed as each planned command would change them."""

    def __init__(self, observed):
        # zfs_info returns a requested user property that is not set as value null; zfs_dataset's
        # read leaves it out: so does this state.
        self.hosts = {o["host"]: {d["name"]: {k: v for k, v in (d.get("properties") or {}).items()
                                              if (v or {}).get("value") is not None}
                                  for d in o.get("datasets") or []}
                      for o in observed or []}
        txgs = [int(_value(p, "createtxg") or 0) for h in self.hosts.values() for p in h.values()]
        self.txg = max(txgs + [0]) + 1
        self.made = 0

    def tree(self, host, top):
        """Names of the filesystems and volumes of ``top``'s tree on ``host``, parents first."""
        ds = self.hosts.setdefault(host, {})
        return sorted((n for n, p in ds.items() if _under(n, top) and _value(p, "type") in ("filesystem", "volume")),
                      key=lambda n: (n.count("/"), n))

    def rows(self, host, top):
        """zfs_info's rows of ``top``'s tree (datasets only), for the cut-over's property changes."""
        return [{"name": n, "properties": self.hosts[host][n]} for n in self.tree(host, top)]

    def listing(self, host, top):
        """``top``'s tree on ``host`` as zfs_replicate reads it (one ``zfs list -Hp``), through the
        same reader."""
        lines = []
        for name, props in self.hosts.setdefault(host, {}).items():
            if _under(name.split("@")[0].split("#")[0], top):
                vals = [name] + [str(_value(props, c)) if _value(props, c) not in (None, "") else "-"
                                 for c in rplan.COLUMNS[1:]]
                lines.append("\t".join(vals))
        return _read.parse_list("\n".join(lines), rplan.COLUMNS)

    def _new(self, host, name, kind, props=None, guid=None, txg=None):
        if txg is None:
            txg, self.txg = self.txg, self.txg + 1
        if guid is None:
            self.made += 1
            guid = "planned-%d" % self.made
        row = {"type": {"value": kind, "source": "-"}, "guid": {"value": guid, "source": "-"},
               "createtxg": {"value": str(txg), "source": "-"}}
        row.update({k: {"value": v, "source": "local"} for k, v in (props or {}).items()})
        self.hosts.setdefault(host, {})[name] = row

    def apply(self, host, argv):
        """A zfs command's effect on ``host``'s state (the ones the steps run)."""
        ds = self.hosts.setdefault(host, {})
        verb, args = argv[1], argv[2:]
        if verb == "create":
            name, opts = args[-1], dict(a.split("=", 1) for a in args[:-1] if "=" in a)
            parts = name.split("/")
            for i in range(2, len(parts)):
                if "/".join(parts[:i]) not in ds:
                    self._new(host, "/".join(parts[:i]), "filesystem")
            self._new(host, name, "filesystem", opts)
        elif verb == "set":
            assigns = [a.split("=", 1) for a in args if "=" in a]  # a dataset name has no "="
            for name in args[len(assigns):]:
                ds[name].update({k: {"value": v, "source": "local"} for k, v in assigns})
        elif verb == "inherit":
            for name in args[1:]:
                have = (ds.get(name.rpartition("/")[0]) or {}).get(args[0])
                if have:
                    ds[name][args[0]] = {"value": have["value"], "source": "inherited"}
                else:
                    ds[name].pop(args[0], None)
        elif verb == "destroy" and ("@" in args[-1] or "#" in args[-1]):
            ds.pop(args[-1], None)
        elif verb == "destroy":
            for n in [n for n in ds if _under(n.split("@")[0].split("#")[0], args[-1])]:
                del ds[n]
        elif verb == "snapshot":
            for snap in [a for a in args if "@" in a]:
                top, _at, short = snap.partition("@")
                for name in self.tree(host, top) if "-r" in args else [top]:
                    self._new(host, "%s@%s" % (name, short), "snapshot")
        elif verb == "bookmark":
            self._new(host, args[1], "bookmark", guid=_value(ds[args[0]], "guid"), txg=_value(ds[args[0]], "createtxg"))


def dataset_commands(fleet, host, items):
    """zfs_dataset with ``datasets: items`` on ``host``: its commands, applied to the state."""
    ds = dplan.declared(items)
    state = fleet.hosts.setdefault(host, {})
    current = {d["name"]: state[d["name"]] for d in ds if d["name"] in state}
    missing = [d["name"] for d in ds if d["name"] not in state]
    cmds, _diffs = dplan.plan_all(ds, current, missing)
    for c in cmds:
        fleet.apply(host, c["argv"])
    return [{"host": host, "argv": c["argv"]} for c in cmds]


def snapshot_commands(fleet, host, top, name, properties=None):
    """zfs_snapshot with ``datasets: [top], recursive: true, name, properties`` on ``host``."""
    wanted = ["%s@%s" % (n, name) for n in fleet.tree(host, top)]
    have = fleet.hosts[host]
    created = [w for w in wanted if w not in have]
    whole = [] if len(created) < len(wanted) else ["%s@%s" % (top, name)]
    cmds = splan.create_commands(created, zfs_words(properties or {}), recursive_roots=whole)
    for argv in cmds:
        fleet.apply(host, argv)
    return [{"host": host, "argv": argv} for argv in cmds]


def replicate_commands(fleet, src_host, sroot, dst_host, troot, address, receive_properties, direct=False):
    """zfs_replicate (recursive, ``target_host: address``) of ``sroot`` on ``src_host`` into
    ``troot`` on ``dst_host``, as placement_step.yml and the cut-over call it (``direct``: its
    direct_stream)."""
    opts = dict(REPLICATE, receive_properties=receive_properties)
    src, tgt = fleet.listing(src_host, sroot), fleet.listing(dst_host, troot)
    todo = rplan.pairs(src, sroot, troot, True)
    plans = [(sds, tds, rplan.plan_pair(src, tgt, sds, tds, opts)) for sds, tds in todo]
    out = []
    for sds, tds, steps in plans:
        for step in steps:
            out.append(rplan.shown_step(step, address, direct))
            _received(fleet, src, dst_host, sds, tds, step, receive_properties)
    for sds, tds in todo:
        newest = src["snaps"][sds][-1]
        for side, argv in rplan.mark_commands(src, sds, tds, newest, opts, set(), set()):
            if side == "source":
                fleet.apply(src_host, argv)
                out.append(argv)
            else:
                out.append(rplan.shown(argv, address))
    return [{"host": src_host, "argv": argv} for argv in out]


def _received(fleet, src, dst_host, sds, tds, step, receive_properties):
    """A send's effect on the target: the dataset (marked by the receive's ``-o``) and the
    snapshots the stream carries (with their guids)."""
    if step["kind"] == "rollback":
        return
    ds = fleet.hosts.setdefault(dst_host, {})
    snaps = src["snaps"][sds]
    newest = step["snapshot"]
    if step["kind"] == "full":
        sent = [newest]
        info = src["datasets"][sds]
        props = dict(zfs_words(receive_properties), encryption=info["props"].get("encryption", "off"))
        fleet._new(dst_host, tds, info["type"], props)
        ds[tds]["encryption"]["source"] = "-"
    else:
        base = rplan.send_base(step["send"])
        base_txg = next(s["txg"] for s in snaps + src["bookmarks"].get(sds, []) if s["name"] == base)
        sent = [s for s in snaps if base_txg < s["txg"] <= newest["txg"]] if "-I" in step["send"] else [newest]
    for s in sent:
        fleet._new(dst_host, "%s@%s" % (tds, s["short"]), "snapshot", guid=s["guid"])


def step_commands(fleet, step, run, addresses, receive_properties, direct=False):
    """The commands of one step, in the order placement_step.yml runs its tasks."""
    kind, host, fs = step["kind"], step["host"], step["fs"]
    addr = addresses.get(host) or host
    out = []
    if kind in ("create", "create_copy"):
        for parent in step["parents"]:
            out += dataset_commands(fleet, host, [{"name": parent}])
    if kind == "create":
        out += dataset_commands(fleet, host, [{"name": fs, "properties": {ROLE_PROP: PRIMARY}}])
    elif kind == "create_copy":
        out += snapshot_commands(fleet, step["source_host"], step["source_fs"], step["snapshot"])
        out += replicate_commands(fleet, step["source_host"], step["source_fs"], host, fs, addr, receive_properties, direct)
    elif kind in ("cutover", "promote"):
        frm, source = (step["source_host"], step["source_fs"]) if kind == "cutover" else ("", fs)
        changes = _cutover.migration_changes([{"source": source, "target": fs}], fleet.rows(frm or host, source),
                                             host, run, old_role=REPLICA)
        if frm:
            out += dataset_commands(fleet, frm, changes["readonly"])
            out += snapshot_commands(fleet, frm, source, step["snapshot"],
                                     {"helix:run_id": run, "helix:purpose": "placement"})
            out += replicate_commands(fleet, frm, source, host, fs, addr, receive_properties, direct)
            out += dataset_commands(fleet, frm, changes["marks"])
        out += dataset_commands(fleet, host, changes["promote"])
        out.append({"host": host, "argv": ["zfs", "mount", "-R", fs]})
    elif kind == "drop_copy":
        out += dataset_commands(fleet, host, [{"name": fs, "state": "absent", "recursive": True}])
    return out


def fill(waves, observed, run, addresses=None, receive_properties=None, direct=False):
    """Each step of ``waves`` gets ``id`` (its number in the order they run) and ``commands``,
    over the state ``observed`` (plan.yml's read: ``[{host, datasets}]``)."""
    fleet = Fleet(observed)
    n = 0
    for wave in waves:
        for step in wave:
            n += 1
            step["id"] = n
            step["commands"] = step_commands(fleet, step, run, addresses or {},
                                             receive_properties or {"canmount": "noauto"}, direct)
    return waves


def title(step):
    """A step's heading in the printed plan and in what the executor says it ran."""
    where = "%s:%s" % (step["source_host"], step["source_fs"]) + " -> " if step.get("source_host") and \
        step["kind"] in ("create_copy", "cutover") else ""
    only = " - only with helix_placement_drop=true" if step["kind"] == "drop_copy" else ""
    return "step %d: %s %s (%s%s:%s)%s" % (
        step["id"], step["kind"], step["dataset"], where, step["host"], step["fs"], only)


def ran(step, parts):
    """What the executor says a step ran, as the plan printed it: ``parts`` are ``[host,
    registered result]`` in the order the tasks ran; a result's ``commands`` (or a loop's, or
    ansible.builtin.command's ``cmd``) ran on that host. Skipped tasks ran nothing."""
    commands = []
    for host, result in parts:
        for r in (result or {}).get("results", [result or {}]):
            if not isinstance(r, dict) or r.get("skipped"):
                continue
            argvs = r.get("commands") or ([r["cmd"]] if isinstance(r.get("cmd"), list) else [])
            commands += [{"host": host, "argv": a} for a in argvs]
    return [title(step)] + ["  " + x for x in lines(commands)]


def lines(commands):
    """Commands as lines to read: ``HOST: zfs ...``, each word shell-quoted (``|`` stays a pipe)."""
    return ["%s: %s" % (c["host"], " ".join(a if a == "|" else shlex.quote(a) for a in c["argv"])) for c in commands]
