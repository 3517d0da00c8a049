"""Nothing the project ships turns off ssh host key checking: tenant keys travel in module
arguments, so an impostor node would receive them. Only the lab (lab/, its generated inventory,
the tests) may, because its VMs get new host keys on every boot."""
import pathlib
import re

REPO = pathlib.Path(__file__).resolve().parents[2]
LAB_ONLY = ("lab", "tests", "bench", "inventories/lab")
OFF = re.compile(r"host_key_checking\s*[:=]\s*(false|no|0)\b|StrictHostKeyChecking[= ]+no\b", re.I)


def shipped_files():
    for path in REPO.rglob("*"):
        rel = path.relative_to(REPO).as_posix()
        if path.is_file() and not rel.startswith(".git/") and not any(
                rel == d or rel.startswith(d + "/") for d in LAB_ONLY):
            if path.suffix in (".cfg", ".yml", ".yaml", ".py", ".j2", ".sh", ".md", ".ini", ""):
                yield rel, path


def test_nothing_shipped_disables_host_key_checking():
    found = [rel for rel, path in shipped_files() if OFF.search(path.read_text(errors="replace"))]
    assert found == []
