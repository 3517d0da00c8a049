#!/usr/bin/python
# Copyright (c) helix.zfs contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: zfs_replicate
short_description: Replicate ZFS datasets to another host, incrementally, resumably, raw when encrypted, verified
version_added: 0.1.0
description:
  - Runs on the source host and sends O(source) (and with O(recursive), each descendant) to
    O(target), on the same host or on O(target_host) over ssh, or into stream files in
    O(target_dir).
  - B(Incremental.) The newest common snapshot is found by name and guid (a source bookmark
    counts), and C(zfs send -I) goes from it to the newest source snapshot (C(-i) from a
    bookmark). The first send is full, from the oldest snapshot, then incremental to the newest.
    Nothing to send means no change.
  - B(Raw.) An encrypted source is always sent raw (C(-w)), resumed sends included, so the
    target never holds its key. A decrypted stream needs O(send_decrypted=true).
  - B(Resumable.) Every receive uses C(-s). A run that finds a resume token on the target
    resumes from it. If the token is stale (its snapshot is gone), or not raw for an encrypted
    source, it is aborted (C(zfs receive -A)) and the send starts over.
  - B(Safe target.) Receives use C(-u), exclude C(mountpoint) and set C(canmount=noauto) by
    default (O(exclude_properties), O(receive_properties)), so a received mountpoint never shadows
    the target's own paths. Never C(receive -F). A target that has diverged - snapshots newer
    than the common one, or writes since it - fails the task and is named, unless
    O(rollback=true). Target snapshots the source lacks are destroyed only then.
  - B(Bookmarks.) Each sent newest snapshot is bookmarked on the source (O(bookmark)), so the
    source may prune it and still send incrementals. O(hold) holds the newest common snapshot on
    both sides and releases the previous one.
  - B(Verification.) After a receive, every source snapshot the target holds must have the same
    guid there, the newest must be there, and its logical size the same within 64 KiB plus 0.1%
    (a received copy's metadata, such as accounting objects, differs from its source's by a few
    KiB). O(verify=content) also compares a digest of the newest snapshot's files (a volume's
    blocks), read through temporary read-only clones, on both sides.
  - For long sends, run the task with C(async) and C(poll) (see the examples).
extends_documentation_fragment:
  - helix.zfs.attributes
attributes:
  check_mode:
    support: full
    details:
      - Check mode returns the streams it would send and their estimated size (C(zfs send -nvP)).
  diff_mode:
    support: none
  idempotent:
    support: full
options:
  source:
    description: The source dataset.
    type: str
    required: true
  target:
    description:
      - The target dataset. Its parent must exist. With O(recursive), a source descendant
        C(source/x) goes to C(target/x).
      - With O(target_dir), the name the streams are filed under is O(source).
      - On this host (no O(target_host)), a target that is O(source), inside its tree or above it
        is refused before anything runs.
    type: str
  target_host:
    description:
      - Send over ssh to this host (C(user@host) or an ssh config name). Omit for this host.
      - A name or an address only; ssh gets C(--) before it, so it is never read as an option.
    type: str
  target_dir:
    description:
      - Write stream files into this directory on the source host, plus C(manifest.json) (for each
        stream the dataset, base, snapshot, guid, size and sha256), instead of receiving them.
      - A stream's file is C(DATASET@SNAPSHOT.zstream), or C(DATASET@SNAPSHOT%from@BASE.zstream) for an
        incremental, with each C(/) of the dataset written as C(%) (no ZFS name holds one), so two
        datasets never share a file. A file the manifest lists is never overwritten.
      - Later runs add incrementals from the newest snapshot in the manifest.
    type: path
  restore_from:
    description:
      - Receive the stream files of O(source) listed in this directory's manifest into
        O(target) on this host, each checked against its sha256 first.
    type: path
  recursive:
    description: Also replicate every descendant of O(source), each on its own.
    type: bool
    default: false
  rollback:
    description: Roll a diverged target back to the common snapshot (destroying what is newer) before receiving.
    type: bool
    default: false
  prune_target:
    description:
      - After a successful replication, destroy the target's snapshots that the source no longer has
        (by name and guid) and that are older than the newest common snapshot - the ones the source's
        retention pruned since they were received - so a replica does not grow without bound.
      - Never the newest common snapshot or anything newer, never a held or cloned snapshot (hold
        one on the target to keep it). A snapshot taken on the target itself, older than the common
        one, goes too. The names are in RV(destroyed); check mode lists them.
      - With O(target_dir), nothing is pruned.
    type: bool
    default: false
    version_added: 0.2.0
  send_decrypted:
    description: Allow an encrypted source to be sent decrypted (not raw). The target then holds plaintext.
    type: bool
    default: false
  flags:
    description: Stream flags, kept for the whole chain. An encrypted source's raw stream drops V(compressed), as it is implied.
    type: list
    elements: str
    choices: [large_blocks, embedded, compressed]
    default: [large_blocks, embedded, compressed]
  receive_properties:
    description: Properties set on the received datasets (C(zfs receive -o)).
    type: dict
    default: {canmount: noauto}
  exclude_properties:
    description: Properties of the stream not received (C(zfs receive -x)); they inherit on the target.
    type: list
    elements: str
    default: [mountpoint]
  bookmark:
    description: Bookmark the newest sent snapshot on the source (C(source#snapshot)).
    type: bool
    default: true
  keep_bookmarks:
    description:
      - How many of the source dataset's bookmarks to keep, newest first; older ones are destroyed
        after a successful send. V(0) keeps all.
      - A bookmark holds no data; it lets a target whose base snapshot the source has pruned still
        get an incremental. With several targets of one source, keep at least as many as the
        sends one target may fall behind by.
    type: int
    default: 10
  hold:
    description: A hold tag to place on the newest common snapshot on both sides (the previous one is released).
    type: str
  verify:
    description:
      - V(guid) checks the chain - every source snapshot the target holds has the same guid there,
        and the target holds the newest - and the newest snapshot's logical size on both sides.
      - V(content) also compares a digest of the newest snapshot's content on both sides, read
        through a temporary read-only clone - a filesystem's files, a volume's blocks. An
        encrypted source is sent raw, so its target must already have its key loaded; otherwise
        the task fails before sending anything.
      - V(auto) is V(content) where the target can read the content, and V(guid) for an encrypted
        dataset whose target would not have its key loaded.
      - A content digest reads every byte on both sides. Before a cut-over, verify content while
        the source is still writable and only the guid chain of the final incremental (as
        the C(migrate_node.yml) playbook does).
    type: str
    choices: [guid, content, auto]
    default: guid
  buffer:
    description: With O(target_host), put C(mbuffer) of this size (e.g. V(256M)) before the receive on the target.
    type: str
  ssh_cipher:
    description: The ssh cipher (C(ssh -c)), for example V(aes128-gcm@openssh.com).
    type: str
  ssh_options:
    description: More ssh arguments, for example V([-p, "2222"]).
    type: list
    elements: str
    default: []
  direct_stream:
    description:
      - With O(target_host) reached through the C(helix.zfs.transport) role's WireGuard tunnel, carry
        each stream outside ssh - encrypted once, by the tunnel, not twice. The receiver's forced command
        checks the receive as always, opens a one-shot TCP port on its tunnel address, and hands the port and
        a one-time token back over ssh; the stream goes there, and the receive's exit status comes back over
        ssh. The port takes one connection, from the ssh peer's own address, that starts with the token.
      - Needs the transport role with a tunnel on the target (plain ssh to root has no forced command to
        open the port). The commands show it as C(ssh HOST helix-direct zfs receive ...).
    type: bool
    default: false
  bandwidth:
    description:
      - At most this much a second on the wire from this host, for each stream - a size
        (V(20M)), or a mapping of windows of the node's local time to sizes
        (V({"08:00-20:00":"20M","20:00-08:00":"200M"}); a window may wrap past midnight;
        outside every window there is no limit; where windows overlap, the smaller wins).
      - Read when each stream starts. The replication role takes it per target, in the target's
        C(options).
    type: raw
author:
  - helix.zfs developers (!UNKNOWN)
seealso:
  - module: helix.zfs.zfs_snapshot
"""

EXAMPLES = r"""
# replica_host is the standby node's inventory name (it must reach it with ssh as root).
- name: Replicate tank/app and its descendants to the standby, raw if encrypted
  helix.zfs.zfs_replicate:
    source: tank/app
    recursive: true
    target: backup/app
    target_host: "{{ replica_host }}"

- name: Before promoting a replica, compare the content on both sides
  helix.zfs.zfs_replicate:
    source: tank/app/db
    target: backup/app/db
    target_host: "{{ replica_host }}"
    verify: content

- name: A long first send, in the background
  helix.zfs.zfs_replicate:
    source: tank/big
    target: backup/big
    target_host: "{{ replica_host }}"
    hold: replica
  async: 86400
  poll: 10

- name: Streams to a directory for disaster recovery, with a manifest
  helix.zfs.zfs_replicate:
    source: tank/app/db
    target_dir: /srv/dr/streams

- name: Restore them into a fresh dataset
  helix.zfs.zfs_replicate:
    source: tank/app/db
    restore_from: /srv/dr/streams
    target: tank/restored-db
"""

RETURN = r"""
commands:
  description: What ran (or in check mode would run), in order; a pipeline is one list with C("|") between its parts.
  returned: always
  type: list
  elements: list
sent:
  description: Per stream sent, the dataset, base, snapshot, bytes, seconds and bytes per second (or, in check mode, the estimate).
  returned: always
  type: list
  elements: dict
bytes:
  description: Bytes sent (in check mode, estimated).
  returned: always
  type: int
seconds:
  description: Seconds spent streaming.
  returned: always
  type: float
throughput:
  description: Bytes per second over the streams sent.
  returned: always
  type: int
destroyed:
  description: Target snapshots a rollback or O(prune_target) destroyed (or would, in check mode).
  returned: always
  type: list
  elements: str
resumed:
  description:
    - What became of an interrupted receive's resume token on the target - V(no) (there was none),
      V(yes) (the send resumed from it) or V(aborted) (it was stale, and dropped with C(zfs receive -A)).
  returned: always
  type: str
  choices: ["no", "yes", aborted]
  sample: "no"
verified:
  description:
    - Per dataset, what was compared and found equal - C(source) (the source dataset),
      C(dataset) (the target), C(snapshot), C(guid), C(logicalreferenced) (source, target),
      C(raw) (sent raw, so the target cannot read its content without the key) and, when its
      content was compared, C(sha256).
  returned: always
  type: list
  elements: dict
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.helix.zfs.plugins.module_utils import _zfs_replicate_run as rrun
from ansible_collections.helix.zfs.plugins.module_utils._zfs_cli import run_module


def main():
    module = AnsibleModule(
        argument_spec=rrun.ARGUMENT_SPEC,
        required_one_of=[("target", "target_dir")],
        mutually_exclusive=[("target", "target_dir"), ("restore_from", "target_host")],
        required_by={"restore_from": "target"},
        required_if=[("direct_stream", True, ["target_host"])],
        supports_check_mode=True,
    )
    run_module(module, lambda cli: rrun.run(module, cli))


if __name__ == "__main__":
    main()
