"""The node runtime archive: what it holds, that its version follows the contents, that it is reused."""
import os
import shutil
import tarfile

from ansible_collections.helix.zfs.plugins.lookup import node_runtime


def _copy_tree(tmp_path):
    root = tmp_path / "coll"
    shutil.copytree(os.path.join(node_runtime.COLLECTION, "plugins", "module_utils"), root / "plugins" / "module_utils")
    shutil.copytree(os.path.join(node_runtime.COLLECTION, "roles", "node_runtime", "files"),
                    root / "roles" / "node_runtime" / "files")
    return root


def test_archive_holds_module_utils_programs_and_version(tmp_path):
    got = node_runtime.pack(tmpdir=str(tmp_path))
    with tarfile.open(got["archive"]) as tar:
        names = tar.getnames()
        assert tar.extractfile("VERSION").read().decode() == got["version"] + "\n"
    assert names == got["files"]
    assert {"helix_zfs_snapshot.py", "helix_zfs_textfile.py",
            "ansible_collections/helix/zfs/plugins/module_utils/_zfs_cli.py"} <= set(names)
    assert all(n == "VERSION" or n.endswith(".py") for n in names)


def test_version_follows_contents_and_archive_is_reused(tmp_path):
    root = _copy_tree(tmp_path)
    out = tmp_path / "out"
    out.mkdir()
    first = node_runtime.pack(str(root), str(out))
    assert node_runtime.pack(str(root), str(out)) == first
    mtime = os.stat(first["archive"]).st_mtime_ns
    assert os.stat(node_runtime.pack(str(root), str(out))["archive"]).st_mtime_ns == mtime  # not rewritten
    with open(root / "plugins" / "module_utils" / "_zfs_cli.py", "a") as f:
        f.write("# changed\n")
    second = node_runtime.pack(str(root), str(out))
    assert second["version"] != first["version"] and second["archive"] != first["archive"]
    assert sorted(os.listdir(out)) == sorted(os.path.basename(x["archive"]) for x in (first, second))


def test_lookup_returns_one_dict():
    (got,) = node_runtime.LookupModule().run([])
    assert set(got) == {"version", "archive", "files"} and len(got["version"]) == 16
