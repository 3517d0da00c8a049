"""What one Ansible task costs against a lab host (QEMU/TCG), and what cuts it.

Runs playbooks of 0 and N trivial tasks (ansible.builtin.command: true, and
helix.zfs.zpool_info) against lab1 under several connection settings, and reports the
marginal cost per task = (t(N) - t(0)) / N, which excludes ansible-playbook's start-up.
It also times the in-guest path the module tests use: the module's main() called
in-process against real zpool, with no SSH round trip per call.

    python3 bench/lab_task_cost.py [--tasks 5] [--out bench/results/lab_task_cost.md]

Needs the lab up (lab/helix-lab up) and scripts/env.sh sourced (the venv on PATH).
"""
import argparse
import os
import subprocess
import sys
import tempfile
import time

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CACHE = os.environ.get("HELIX_CACHE", os.path.expanduser("~/.cache/helix-zfs"))
MITOGEN_VERSION = "0.3.54"


def inventory(tmp, key, port, extra):
    path = os.path.join(tmp, "inv.yml")
    with open(path, "w") as f:
        f.write("all:\n  hosts:\n    lab1:\n      ansible_host: 127.0.0.1\n"
                "      ansible_port: %d\n      ansible_user: root\n"
                "      ansible_ssh_private_key_file: %s\n" % (port, key))
        for k, v in extra.items():
            f.write("      %s: %s\n" % (k, v))
    return path


def playbook(tmp, n, module, gather):
    path = os.path.join(tmp, "pb-%s-%d-%s.yml" % (module, n, gather))
    task = {"command": "ansible.builtin.command: /bin/true\n      changed_when: false",
            "zpool_info": "helix.zfs.zpool_info:"}[module]
    with open(path, "w") as f:
        f.write("- hosts: lab1\n  gather_facts: %s\n  tasks:\n" % gather)
        for i in range(n):
            f.write("    - name: t%d\n      %s\n" % (i, task))
        if n == 0:
            f.write("    []\n")
    return path


def timed(cmd, env):
    t0 = time.monotonic()
    r = subprocess.run(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, check=False)
    dt = time.monotonic() - t0
    if r.returncode != 0:
        raise RuntimeError("%s failed:\n%s" % (" ".join(cmd), r.stdout[-3000:]))
    return dt


def mitogen_strategy_dir():
    """Install mitogen beside (not into) the project venv; return its strategy plugin dir."""
    target = os.path.join(CACHE, "bench-mitogen-%s" % MITOGEN_VERSION)
    if not os.path.isdir(os.path.join(target, "ansible_mitogen")):
        subprocess.run([sys.executable, "-m", "pip", "install", "-q", "--target", target,
                        "mitogen==%s" % MITOGEN_VERSION], check=True)
    return os.path.join(target, "ansible_mitogen", "plugins", "strategy")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--tasks", type=int, default=5)
    ap.add_argument("--out", default=os.path.join(REPO, "bench", "results", "lab_task_cost.md"))
    a = ap.parse_args()
    info = subprocess.run([sys.executable, os.path.join(REPO, "lab", "helix_lab.py"), "instances", "lab1"],
                          check=True, capture_output=True, text=True).stdout
    import json
    lab1 = json.loads(info)[0]
    # ssh takes the first value it is given for an option, and Ansible puts its ssh_args
    # (ControlMaster=auto by default) first: so the connection sharing is set there.
    keys = {"ansible_ssh_common_args": "'-o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null'"}
    no_cp = {"ANSIBLE_SSH_ARGS": "-o ControlMaster=no"}
    cp = {"ANSIBLE_SSH_ARGS": "-o ControlMaster=auto -o ControlPersist=600 "
                              "-o ControlPath=%s/run/bench-cm-%%C" % CACHE}
    interp = dict(keys, ansible_python_interpreter="/usr/bin/python3")
    configs = [
        ("baseline: no pipelining, no ControlPersist, interpreter discovery, facts gathered",
         keys, dict(no_cp, ANSIBLE_PIPELINING="False"), "true"),
        ("+ explicit interpreter, no fact gathering",
         interp, dict(no_cp, ANSIBLE_PIPELINING="False"), "false"),
        ("+ ControlPersist", interp, dict(cp, ANSIBLE_PIPELINING="False"), "false"),
        ("+ pipelining (the project's settings)", interp, dict(cp, ANSIBLE_PIPELINING="True"), "false"),
    ]
    rows = []
    mitogen_note = ""
    with tempfile.TemporaryDirectory() as tmp:
        base_env = dict(os.environ, ANSIBLE_HOST_KEY_CHECKING="False", ANSIBLE_GATHERING="implicit")
        runs = [(name, extra, env, gather, mod) for name, extra, env, gather in configs
                for mod in ("command", "zpool_info")]
        try:
            strat = mitogen_strategy_dir()
            runs += [("+ Mitogen %s (strategy mitogen_linear)" % MITOGEN_VERSION,
                      configs[-1][1], dict(configs[-1][2], ANSIBLE_STRATEGY_PLUGINS=strat,
                                           ANSIBLE_STRATEGY="mitogen_linear"), "false", mod)
                     for mod in ("command", "zpool_info")]
        except subprocess.CalledProcessError as e:
            mitogen_note = "Mitogen could not be installed: %s" % e
        for name, extra, env, gather, mod in runs:
            inv = inventory(tmp, lab1["identity_file"], lab1["port"], extra)
            e = dict(base_env, **env)
            try:
                t0 = timed(["ansible-playbook", "-i", inv, playbook(tmp, 0, mod, gather)], e)
                tn = timed(["ansible-playbook", "-i", inv, playbook(tmp, a.tasks, mod, gather)], e)
                rows.append((name, mod, "%.1f" % tn, "%.2f" % ((tn - t0) / a.tasks)))
            except RuntimeError as err:
                rows.append((name, mod, "failed", "-"))
                mitogen_note += "\n\n%s / %s failed:\n\n```\n%s\n```" % (
                    name, mod, str(err).strip().splitlines()[-1][:500])
            print(rows[-1], file=sys.stderr)
    # In-guest: the module called in-process, as tests/integration/guest does.
    guest = subprocess.run(
        [sys.executable, os.path.join(REPO, "tests", "integration", "run_guest.py"), "--",
         "-q", "-k", "test_in_process_cost", "-s"], capture_output=True, text=True, check=False)
    per_call = [ln.split("=", 1)[1] for ln in guest.stdout.splitlines() if ln.startswith("IN_PROCESS_SECONDS=")]
    os.makedirs(os.path.dirname(a.out), exist_ok=True)
    with open(a.out, "w") as f:
        f.write("# Cost of one Ansible task against a lab host\n\n")
        f.write("Measured by `bench/lab_task_cost.py` on %s. Marginal cost per task = "
                "(t(%d tasks) - t(0 tasks)) / %d, so ansible-playbook start-up is excluded.\n\n"
                % (time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()), a.tasks, a.tasks))
        f.write("| settings | task | playbook wall (s) | per task (s) |\n|---|---|---|---|\n")
        for r in rows:
            f.write("| %s |\n" % " | ".join(r))
        f.write("\nIn-guest, in-process module call (what tests/integration/guest does): %s s per "
                "`zpool_info` run.\n" % (per_call[0] if per_call else "not measured (%s)" % guest.stdout[-300:]))
        if mitogen_note:
            f.write("\n## Mitogen\n%s\n" % mitogen_note)
    print(open(a.out).read())


if __name__ == "__main__":
    main()
