# Copyright (c) helix.zfs contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""node_runtime: the collection's node-side runtime as one archive and its version.

The snapshot timers and the metrics collector run on the node without Ansible, importing the
collection's module_utils. Packing them into one archive keyed by a content hash lets the
P(helix.zfs.node_runtime#role) role install them in one transfer, and skip the transfer
altogether when the node already holds this version.
"""

from __future__ import annotations

DOCUMENTATION = r"""
name: node_runtime
version_added: 0.2.0
short_description: The collection's node-side runtime as one archive, with its version
description:
  - Packs the collection's C(plugins/module_utils/*.py) (under
    C(ansible_collections/helix/zfs/plugins/module_utils/)) and the node programs of
    C(roles/node_runtime/files/*.py) into one gzip'd tar on the controller, with a C(VERSION) file
    holding a hash of their contents.
  - The archive is written once per version to the controller's temporary directory and reused.
  - Used by the P(helix.zfs.node_runtime#role) role; an unchanged node gets no copy.
options: {}
"""

EXAMPLES = r"""
- name: Show which node runtime this controller would install
  ansible.builtin.debug:
    msg: "{{ lookup('helix.zfs.node_runtime') }}"
"""

RETURN = r"""
_raw:
  description: One dict.
  type: list
  elements: dict
  contains:
    version:
      description: The first 16 hex digits of a SHA-256 over the packed files' names and contents.
      type: str
      sample: 3f2a9c0d41b7e6a8
    archive:
      description: The archive's path on the controller.
      type: path
      sample: /tmp/helix-zfs-node-runtime-3f2a9c0d41b7e6a8.tar.gz
    files:
      description: The packed files, as paths inside the archive.
      type: list
      elements: str
      sample: [VERSION, helix_zfs_snapshot.py, ansible_collections/helix/zfs/plugins/module_utils/_zfs_cli.py]
"""

import hashlib
import io
import os
import tarfile
import tempfile

from ansible.plugins.lookup import LookupBase

COLLECTION = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
PACKAGE = "ansible_collections/helix/zfs/plugins/module_utils"


def sources(root=COLLECTION):
    """(path in the archive, path here) for every file of the runtime, sorted."""
    found = []
    for src_dir, arc_dir in ((os.path.join(root, "plugins", "module_utils"), PACKAGE),
                             (os.path.join(root, "roles", "node_runtime", "files"), "")):
        for name in sorted(os.listdir(src_dir)):
            if name.endswith(".py"):
                found.append((os.path.join(arc_dir, name) if arc_dir else name, os.path.join(src_dir, name)))
    return sorted(found)


def pack(root=COLLECTION, tmpdir=None):
    files = [(arc, open(path, "rb").read()) for arc, path in sources(root)]
    digest = hashlib.sha256()
    for arc, data in files:
        digest.update(arc.encode() + b"\0" + hashlib.sha256(data).digest())
    version = digest.hexdigest()[:16]
    archive = os.path.join(tmpdir or tempfile.gettempdir(), "helix-zfs-node-runtime-%s.tar.gz" % version)
    files.insert(0, ("VERSION", (version + "\n").encode()))
    if not os.path.exists(archive):
        buf = io.BytesIO()
        with tarfile.open(fileobj=buf, mode="w:gz") as tar:
            for arc, data in files:
                info = tarfile.TarInfo(arc)
                info.size, info.mode = len(data), 0o644
                tar.addfile(info, io.BytesIO(data))
        # Written beside its final name and renamed: a concurrent run never reads half an archive.
        fd, part = tempfile.mkstemp(dir=os.path.dirname(archive), prefix=".helix-zfs-node-runtime-")
        with os.fdopen(fd, "wb") as f:
            f.write(buf.getvalue())
        os.chmod(part, 0o644)
        os.replace(part, archive)
    return {"version": version, "archive": archive, "files": [arc for arc, _data in files]}


class LookupModule(LookupBase):
    def run(self, terms, variables=None, **kwargs):
        return [pack()]
