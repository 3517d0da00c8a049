"""Run the module integration tests inside a lab host: pytest in the guest, real zfs.

One Ansible task costs ~6-10 s in a TCG guest (bench/lab_task_cost.md), so a test suite of
hundreds of check/apply/idempotence steps can't afford a round trip per step. Instead this
ships a small payload over one SSH connection, the same code an AnsiballZ payload carries:

  ansible/{__init__,release}.py, ansible/_vendor, ansible/module_utils   (from the venv)
  ansible_collections/helix/zfs/plugins                                   (this checkout)
  tests/integration/guest                                                  (the tests)

and runs pytest there. The tests call each module's main() in-process with real arguments
against real zfs/zpool: nothing is mocked. Ansible-level behaviour (packaging, FQCN, check
mode through the controller) is covered by tests/integration/targets.yml.

    python3 tests/integration/run_guest.py [--host lab1] [--junit-dir DIR] [-- pytest args...]
"""
import argparse
import io
import os
import shlex
import subprocess
import sys
import tarfile

import ansible

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
REMOTE = "/root/helix-tests"


def payload(suite, peers=False):
    buf = io.BytesIO()
    skip = ("__pycache__", ".pytest_cache")
    with tarfile.open(fileobj=buf, mode="w:gz") as tar:
        def add(src, arc):
            tar.add(src, arc, filter=lambda ti: None if any(s in ti.name for s in skip) else ti)
        adir = os.path.dirname(ansible.__file__)
        for rel in ("__init__.py", "release.py", "_vendor", "module_utils"):
            add(os.path.join(adir, rel), "ansible/" + rel)
        add(os.path.join(REPO, "plugins"), "ansible_collections/helix/zfs/plugins")
        for init in ("ansible_collections", "ansible_collections/helix",
                     "ansible_collections/helix/zfs"):
            info = tarfile.TarInfo(init + "/__init__.py")
            tar.addfile(info, io.BytesIO(b""))
        add(suite, "tests")
        add(os.path.join(REPO, "tests", "integration", "guest", "harness.py"), "tests/harness.py")
        if peers:  # community.general's zfs modules, from the `ansible` package, for benchmarks
            import ansible_collections.community.general as cg
            cgdir = list(cg.__path__)[0]  # a namespace package: no __file__
            for rel in ("plugins/module_utils", "plugins/modules/zpool.py", "plugins/modules/zfs.py"):
                add(os.path.join(cgdir, rel), "ansible_collections/community/general/" + rel)
            for init in ("ansible_collections/community", "ansible_collections/community/general",
                         "ansible_collections/community/general/plugins",
                         "ansible_collections/community/general/plugins/modules"):
                tar.addfile(tarfile.TarInfo(init + "/__init__.py"), io.BytesIO(b""))
    return buf.getvalue()


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--host", default="lab1")
    p.add_argument("--junit-dir")
    p.add_argument("--suite", default=os.path.join(REPO, "tests", "integration", "guest"),
                   help="directory of pytest files to ship as tests/ (default: the module tests)")
    p.add_argument("--peers", action="store_true", help="also ship community.general's zfs modules")
    p.add_argument("pytest_args", nargs="*")
    a = p.parse_args()
    lab = ["bash", os.path.join(REPO, "lab", "helix-lab"), "ssh", a.host]
    args = [shlex.quote(x) for x in a.pytest_args]
    if not any(x.startswith("tests") for x in a.pytest_args):
        args.insert(0, "tests")  # no test path given: run them all
    # Benchmark knobs (HELIX_BENCH_*) set on the controller reach the guest's pytest.
    knobs = " ".join("%s=%s" % (k, shlex.quote(v)) for k, v in sorted(os.environ.items())
                     if k.startswith("HELIX_BENCH_"))
    script = ("rm -rf {r} && mkdir -p {r} && tar -xzf - -C {r} && cd {r} && "
              "{knobs} PYTHONPATH={r} PYTHONDONTWRITEBYTECODE=1 python3 -m pytest -p no:cacheprovider "
              "-o console_output_style=classic -rfEs --junitxml={r}/junit.xml {args}"
              ).format(r=REMOTE, args=" ".join(args), knobs=knobs)
    rc = subprocess.run(lab + [script], input=payload(a.suite, a.peers), check=False).returncode
    if a.junit_dir:
        os.makedirs(a.junit_dir, exist_ok=True)
        with open(os.path.join(a.junit_dir, "guest-%s.xml" % a.host), "wb") as f:
            subprocess.run(lab + ["cat %s/junit.xml" % REMOTE], stdout=f, check=False)
    return rc


if __name__ == "__main__":
    sys.exit(main())
