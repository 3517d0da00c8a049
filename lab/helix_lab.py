"""helix.zfs lab: build the OpenZFS VM image, boot N lab hosts under QEMU/TCG, stop them.

    lab/helix-lab build            build the image unless the cache has this recipe's
    lab/helix-lab up [-n N]        boot lab1..labN (idempotent), write inventories/lab/hosts.yml
    lab/helix-lab down [--keep-disks]
    lab/helix-lab stop labN        shut labN down cleanly (its disks stay)
    lab/helix-lab cut labN         power cut: kill labN's QEMU and its write-back disks' nbdkit at
                                   once, so what the guest wrote and did not flush there is lost
    lab/helix-lab crash labN       QEMU process crash: kill QEMU alone (every write it made stays)
    lab/helix-lab start labN       boot labN again with its disks (after stop, cut or crash)
    lab/helix-lab unplug labN cK   hot-unplug power-cut disk cK (QMP device_del): it disappears
    lab/helix-lab plug labN cK     put it back, as it was
    lab/helix-lab status
    lab/helix-lab ssh labN [command...]
    lab/helix-lab instances lab1 [lab2...]   how to reach these hosts over ssh (JSON)

Everything lives in $HELIX_CACHE (default ~/.cache/helix-zfs), never in the repository:
images/<recipe-hash>/ holds the image, run/labN/ a host's overlay, disks, pid and console log.
Each host gets SSH on 127.0.0.1:(HELIX_LAB_PORT_BASE + N) and HELIX_LAB_DISKS sparse data
disks, seen in the guest as /dev/disk/by-id/virtio-helix-dK (and /dev/vdb, /dev/vdc, ...).

Each host also gets HELIX_LAB_CUT_DISKS (2) power-cut disks, /dev/disk/by-id/virtio-helix-cK:
each is served to QEMU by its own nbdkit with a write-back cache filter on a unix socket, so a
write reaches the disk file only when the guest flushes, and `cut` loses the rest, as a power cut
loses a disk's volatile cache. The root disk and the other data disks keep every write QEMU made
(their files sit in the controller's page cache), so `cut` only tests what the cut disks hold.

The hosts also share a private Ethernet (eth1, 10.77.0.N/24 in the guest) that carries UDP, for
WireGuard: each guest's second NIC is a QEMU dgram netdev on a unix socket, and a hub process
(run/hub.sock) repeats every frame to the other hosts, so nothing on the controller listens on
or sends to any network address.
"""
import argparse
import contextlib
import hashlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
CACHE = os.environ.get("HELIX_CACHE", os.path.expanduser("~/.cache/helix-zfs"))
PORT_BASE = int(os.environ.get("HELIX_LAB_PORT_BASE", "2220"))
DISKS = int(os.environ.get("HELIX_LAB_DISKS", "20"))
DISK_SIZE = os.environ.get("HELIX_LAB_DISK_SIZE", "1G")
CUT_DISKS = int(os.environ.get("HELIX_LAB_CUT_DISKS", "2"))
if 0x7 + DISKS + CUT_DISKS > 0x1e:  # PCI slots 0x8.. on the root bus; 0x1f is q35's own
    sys.exit("HELIX_LAB_DISKS + HELIX_LAB_CUT_DISKS is at most %d" % (0x1e - 0x7))
MEMORY = os.environ.get("HELIX_LAB_MEMORY", "2048")
# One vCPU per guest: with two or more guests busy on a 2-core machine (the guest, site, fleet
# and placement stages), two vCPUs each ran the same in-guest tests ~30% slower (MTTCG's
# cross-vCPU TLB flushes and four vCPU threads on two cores); one guest alone was ~18% faster
# with two. Measured 2026-12-04, see bench/results/lab_task_cost.md.
SMP = os.environ.get("HELIX_LAB_SMP", "1")
MAX_HOSTS = 8  # the guests' /etc/hosts and guestfwd rules know lab1..lab8
# The lab's private network (eth1 in every guest; helix-identity sets 10.77.0.N/24 there).
PRIVATE_PREFIX = "10.77.0."
BOOT_TIMEOUT = int(os.environ.get("HELIX_LAB_BOOT_TIMEOUT", "400"))
INVENTORY = os.path.join(REPO, "inventories", "lab", "hosts.yml")


def log(msg):
    print("[helix-lab %s] %s" % (time.strftime("%H:%M:%S"), msg), file=sys.stderr, flush=True)


def recipe_hash():
    """Hash of everything that goes into the image: an unchanged recipe never rebuilds."""
    h = hashlib.sha256()
    files = ["recipe.env", "build-image.sh"]
    for dirpath, _dirs, names in os.walk(os.path.join(HERE, "guest")):
        files += [os.path.relpath(os.path.join(dirpath, n), HERE) for n in names]
    for rel in sorted(files):
        path = os.path.join(HERE, rel)
        h.update(rel.encode() + b"\0" + oct(os.stat(path).st_mode & 0o777).encode() + b"\0")
        with open(path, "rb") as f:
            h.update(f.read())
    return h.hexdigest()[:16]


def image_dir():
    return os.path.join(CACHE, "images", recipe_hash())


def build():
    out = image_dir()
    if os.path.exists(os.path.join(out, "root.qcow2")):
        log("image cached: %s" % out)
        return out
    os.makedirs(os.path.dirname(out), exist_ok=True)
    log("building the lab image into %s (cold: ~10 min; with cached ZFS modules: ~3 min)" % out)
    t0 = time.time()
    subprocess.run(["bash", os.path.join(HERE, "build-image.sh"), out], check=True,
                   env=dict(os.environ, HELIX_CACHE=CACHE))
    log("image built in %.0f s" % (time.time() - t0))
    # Keep only the newest image of older recipes around; they are ~450 MB each.
    for name in os.listdir(os.path.dirname(out)):
        old = os.path.join(os.path.dirname(out), name)
        if old != out and not name.endswith(".tmp"):
            shutil.rmtree(old, ignore_errors=True)
    return out


def run_dir(idx):
    return os.path.join(CACHE, "run", "lab%d" % idx)


def live_pid(pidfile):
    """The pid in PIDFILE if that process is alive, else None."""
    try:
        with open(pidfile) as f:
            pid = int(f.read().strip())
        os.kill(pid, 0)
        return pid
    except (OSError, ValueError):
        return None


def pid_of(idx):
    return live_pid(os.path.join(run_dir(idx), "qemu.pid"))


def nbd_path(idx, k):
    return os.path.join(run_dir(idx), "cut%d.sock" % k)


def nbd_pidfile(idx, k):
    return os.path.join(run_dir(idx), "cut%d.pid" % k)


def nbd_pids(idx):
    """The live nbdkit pids of labN's power-cut disks."""
    pids = (live_pid(nbd_pidfile(idx, k)) for k in range(1, CUT_DISKS + 1))
    return [p for p in pids if p]


def nbd_start(idx):
    """One nbdkit per power-cut disk (unless it still runs: after a crash its cache holds what
    QEMU wrote), its cache file in the run dir, serving a unix socket only."""
    rd = run_dir(idx)
    for k in range(1, CUT_DISKS + 1):
        if live_pid(nbd_pidfile(idx, k)):
            continue
        with contextlib.suppress(FileNotFoundError):
            os.unlink(nbd_path(idx, k))
        subprocess.run(["nbdkit", "--unix", nbd_path(idx, k), "--pidfile", nbd_pidfile(idx, k), "--filter=cache",
                        "file", os.path.join(rd, "cut%d.img" % k), "cache=writeback"],
                       check=True, env=dict(os.environ, TMPDIR=rd))
        for _tick in range(50):
            if os.path.exists(nbd_path(idx, k)):
                break
            time.sleep(0.1)


def port_of(idx):
    return PORT_BASE + idx


def hub_path():
    return os.path.join(CACHE, "run", "hub.sock")


def nic_path(idx):
    return os.path.join(run_dir(idx), "eth1.sock")


def hub_serve():
    """Repeat every frame from one guest's eth1 to the others (a learning switch: a frame for a
    MAC seen before goes to that port only). Frames that find a full socket are dropped, as a
    switch would, and the guests' TCP retransmits."""
    path = hub_path()
    with contextlib.suppress(FileNotFoundError):
        os.unlink(path)
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(path)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 << 20)
    where = {}  # MAC -> the guest socket it was last seen on
    ports, scanned = [], 0.0
    while True:
        frame, sender = sock.recvfrom(65536)
        if len(frame) < 14:
            continue
        if time.time() - scanned > 1 or sender not in ports:
            ports = [nic_path(i) for i in running() if os.path.exists(nic_path(i))]
            scanned = time.time()
        where[frame[6:12]] = sender
        dest = where.get(frame[0:6])
        for port in [dest] if dest and dest != sender else ports:
            if port == sender:
                continue
            try:
                sock.sendto(frame, socket.MSG_DONTWAIT, port)
            except OSError:
                pass  # that guest is gone or busy: the frame is lost, as on a wire


def hub_pid():
    try:
        with open(os.path.join(CACHE, "run", "hub.pid")) as f:
            pid = int(f.read().strip())
        os.kill(pid, 0)
        return pid
    except (OSError, ValueError):
        return None


def hub_start():
    if hub_pid():
        return
    proc = subprocess.Popen([sys.executable, os.path.abspath(__file__), "hub"], start_new_session=True,
                            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    with open(os.path.join(CACHE, "run", "hub.pid"), "w") as f:
        f.write(str(proc.pid))
    for _tick in range(50):
        if os.path.exists(hub_path()):
            return
        time.sleep(0.1)
    sys.exit("the lab's network hub did not start")


def hub_stop():
    pid = hub_pid()
    if pid:
        os.kill(pid, signal.SIGTERM)
    for name in ("hub.pid", "hub.sock"):
        with contextlib.suppress(FileNotFoundError):
            os.unlink(os.path.join(CACHE, "run", name))


def port_busy(port):
    with socket.socket() as s:
        s.settimeout(0.5)
        return s.connect_ex(("127.0.0.1", port)) == 0


def ssh_base(idx, key):
    return ["ssh", "-i", key, "-p", str(port_of(idx)), "-o", "BatchMode=yes",
            "-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null",
            "-o", "LogLevel=ERROR", "-o", "ConnectTimeout=5",
            "-o", "ControlMaster=auto", "-o", "ControlPersist=600",
            "-o", "ControlPath=%s/cm-%%p" % os.path.join(CACHE, "run"), "root@127.0.0.1"]


def start(idx, img, keep=False):
    """Boot labN: a fresh run dir (overlay and disks), or with KEEP the one it has (after stop,
    cut or crash). -> whether it started."""
    rd = run_dir(idx)
    # hotplug: the power-cut disks sit in root ports (a lab started before that restarts).
    config = "%s disks=%d size=%s cut=%d hotplug memory=%s smp=%s" % (img, DISKS, DISK_SIZE, CUT_DISKS, MEMORY, SMP)
    try:
        with open(os.path.join(rd, "config")) as f:
            made = f.read().strip()
    except OSError:
        made = None  # no run dir, or a half-written one
    if keep and not pid_of(idx):
        if made is None:
            sys.exit("lab%d has no disks to start with (lab/helix-lab up makes them)" % idx)
        if made != config:
            sys.exit("lab%d's disks were made for another image or configuration: %s" % (idx, made))
        return launch(idx, img)
    if pid_of(idx):
        if made == config:
            return False
        log("lab%d runs an older image or configuration: restarting it" % idx)
        stop(idx)
    # Crash leftovers: a pid file whose process is gone, or a half-written run dir.
    _kill(nbd_pids(idx), signal.SIGTERM)
    shutil.rmtree(rd, ignore_errors=True)
    os.makedirs(rd)
    subprocess.run(["qemu-img", "create", "-q", "-f", "qcow2", "-F", "qcow2", "-b",
                    os.path.join(img, "root.qcow2"), os.path.join(rd, "root.qcow2")], check=True)
    disks = ["disk%d.img" % k for k in range(1, DISKS + 1)] + ["cut%d.img" % k for k in range(1, CUT_DISKS + 1)]
    subprocess.run(["truncate", "-s", DISK_SIZE] + [os.path.join(rd, d) for d in disks], check=True)
    with open(os.path.join(rd, "config"), "w") as f:
        f.write(config)
    return launch(idx, img)


def launch(idx, img):
    """Start labN's QEMU (and its power-cut disks' nbdkit) on the disks in its run dir."""
    rd = run_dir(idx)
    if port_busy(port_of(idx)):
        sys.exit("port 127.0.0.1:%d (lab%d SSH) is taken by another process; "
                 "set HELIX_LAB_PORT_BASE or free it" % (port_of(idx), idx))
    nbd_start(idx)
    overlay = os.path.join(rd, "root.qcow2")
    # guestfwd: inside every guest, 10.0.2.10J:22 reaches lab J's SSH through the controller,
    # so lab hosts talk to each other over loopback only (the guests can't connect out).
    fwd = ",".join("guestfwd=tcp:10.0.2.%d:22-cmd:nc 127.0.0.1 %d" % (100 + j, port_of(j))
                   for j in range(1, MAX_HOSTS + 1) if j != idx)
    cmd = ["qemu-system-x86_64", "-name", "lab%d" % idx, "-nodefaults", "-display", "none",
           "-machine", "q35", "-accel", "tcg,thread=multi", "-cpu", "qemu64", "-smp", SMP,
           "-m", MEMORY, "-kernel", os.path.join(img, "vmlinuz"),
           "-initrd", os.path.join(img, "initrd.img"),
           "-append", "root=LABEL=helixroot rw console=ttyS0,115200 net.ifnames=0 quiet "
                      "systemd.show_status=false mitigations=off helix.index=%d" % idx,
           # writeback, not unsafe: the guest's flushes reach the overlay's qcow2 metadata, so a
           # host that is cut boots again.
           "-drive", "if=none,id=root,file=%s,format=qcow2,cache=writeback,discard=unmap" % overlay,
           "-device", "virtio-blk-pci,drive=root,bus=pcie.0,addr=0x3",
           "-netdev", "user,id=n0,restrict=on,hostfwd=tcp:127.0.0.1:%d-:22,%s" % (port_of(idx), fwd),
           "-device", "virtio-net-pci,netdev=n0,bus=pcie.0,addr=0x2",
           "-netdev", "dgram,id=n1,local.type=unix,local.path=%s,remote.type=unix,remote.path=%s"
           % (nic_path(idx), hub_path()),
           "-device", "virtio-net-pci,netdev=n1,bus=pcie.0,addr=0x4,mac=52:54:00:77:00:%02x" % idx,
           "-serial", "file:%s" % os.path.join(rd, "console.log"), "-monitor", "none",
           "-qmp", "unix:%s,server,nowait" % os.path.join(rd, "qmp.sock"),
           "-pidfile", os.path.join(rd, "qemu.pid"), "-daemonize"]
    # Data disks get fixed PCI slots (so the root disk stays /dev/vda) and serials, so the
    # guest also sees them as /dev/disk/by-id/virtio-helix-dK.
    for k in range(1, DISKS + 1):
        disk = os.path.join(rd, "disk%d.img" % k)
        cmd += ["-drive", "if=none,id=d%d,file=%s,format=raw,cache=unsafe,discard=unmap" % (k, disk),
                "-device", "virtio-blk-pci,drive=d%d,serial=helix-d%d,bus=pcie.0,addr=0x%x"
                % (k, k, 0x7 + k)]
    # The power-cut disks: NBD on unix sockets, cache=writeback so the guest's flushes go through.
    # Each sits in its own PCIe root port (a slot on pcie.0 itself can't be hot-unplugged), so
    # `unplug` can pull it out as a failing disk or cable would.
    for k in range(1, CUT_DISKS + 1):
        cmd += ["-device", "pcie-root-port,id=rp%d,bus=pcie.0,chassis=%d,addr=0x%x" % (k, k, 0x8 + DISKS + k - 1),
                "-drive", "if=none,id=c%d,file=nbd+unix:///?socket=%s,format=raw,cache=writeback"
                % (k, nbd_path(idx, k)),
                "-device", "virtio-blk-pci,id=cdev%d,drive=c%d,serial=helix-c%d,bus=rp%d" % (k, k, k, k)]
    subprocess.run(cmd, check=True)
    log("lab%d started (ssh 127.0.0.1:%d)" % (idx, port_of(idx)))
    return True


def wait_ready(idx, key, deadline):
    """SSH answers and /dev/zfs exists (the module loads in parallel with boot)."""
    while time.time() < deadline:
        if not pid_of(idx):
            sys.exit("lab%d died while booting; see %s" % (idx, os.path.join(run_dir(idx), "console.log")))
        r = subprocess.run(ssh_base(idx, key) + ["test -e /dev/zfs && zpool version >/dev/null"],
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False)
        if r.returncode == 0:
            return
        time.sleep(2)
    sys.exit("lab%d: not ready after %d s; see %s" % (idx, BOOT_TIMEOUT, os.path.join(run_dir(idx), "console.log")))


def write_inventory(n, key):
    os.makedirs(os.path.dirname(INVENTORY), exist_ok=True)
    # One master connection per host: ssh expands %p to the port. (Written "%%p" this once was
    # a literal "%p" to ssh, so every lab host shared lab1's connection.)
    cp = os.path.join(CACHE, "run", "cm-%h-%p")
    lines = ["# Written by lab/helix-lab up; not tracked by git.", "all:", "  children:",
             "    lab:", "      hosts:"]
    for i in range(1, n + 1):
        lines += ["        lab%d:" % i, "          ansible_host: 127.0.0.1",
                  "          ansible_port: %d" % port_of(i),
                  "          helix_lab_private_address: %s%d" % (PRIVATE_PREFIX, i)]
    lines += ["      vars:",
              "        ansible_user: root",
              "        ansible_ssh_private_key_file: %s" % key,
              "        ansible_python_interpreter: /usr/bin/python3",
              "        ansible_ssh_pipelining: true",
              # Lab-only: the VMs get new host keys on every boot. Nothing shipped turns this off.
              "        ansible_host_key_checking: false",
              "        ansible_ssh_common_args: >-",
              "          -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null",
              "          -o ControlMaster=auto -o ControlPersist=600 -o ControlPath=%s" % cp]
    with open(INVENTORY, "w") as f:
        f.write("\n".join(lines) + "\n")


def up(n):
    if not 1 <= n <= MAX_HOSTS:
        sys.exit("the lab runs 1 to %d hosts" % MAX_HOSTS)
    img = build()
    key = os.path.join(img, "id_ed25519")
    os.makedirs(os.path.join(CACHE, "run"), exist_ok=True)
    t0 = time.time()
    hub_start()
    for i in range(1, n + 1):
        start(i, img)
    deadline = time.time() + BOOT_TIMEOUT
    for i in range(1, n + 1):
        wait_ready(i, key, deadline)
    log("lab1..lab%d ready in %.0f s" % (n, time.time() - t0))
    write_inventory(n, key)


def _kill(pids, sig):
    for pid in pids:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, sig)


def _wait_gone(idx, seconds):
    for _tick in range(int(seconds * 10)):
        if not pid_of(idx):
            return True
        time.sleep(0.1)
    return False


def stop(idx, keep_disks=False):
    """QEMU's SIGTERM (it closes its disks, flushing them), then the power-cut disks' nbdkit."""
    pid = pid_of(idx)
    if pid:
        os.kill(pid, signal.SIGTERM)
        if not _wait_gone(idx, 10):
            os.kill(pid, signal.SIGKILL)
        log("lab%d stopped" % idx)
    _kill(nbd_pids(idx), signal.SIGTERM)
    if not keep_disks:
        shutil.rmtree(run_dir(idx), ignore_errors=True)


def shutdown(idx, key):
    """A clean shutdown: the guest powers off (its pools exported by systemd's shutdown, its
    disks flushed), then QEMU exits; the disks stay."""
    if not pid_of(idx):
        sys.exit("lab%d is not running" % idx)
    subprocess.run(ssh_base(idx, key) + ["systemctl poweroff"], stdout=subprocess.DEVNULL,
                   stderr=subprocess.DEVNULL, check=False)
    if not _wait_gone(idx, 120):
        sys.exit("lab%d did not power off within 120 s" % idx)
    _kill(nbd_pids(idx), signal.SIGTERM)
    log("lab%d shut down (disks kept: lab/helix-lab start lab%d)" % (idx, idx))


def cut(idx, disks_too):
    """SIGKILL, nbdkit first (with DISKS_TOO): nothing gets to flush."""
    pid = pid_of(idx)
    if not pid:
        sys.exit("lab%d is not running" % idx)
    if disks_too:
        _kill(nbd_pids(idx), signal.SIGKILL)
    os.kill(pid, signal.SIGKILL)
    _wait_gone(idx, 10)
    log("lab%d %s (disks kept: lab/helix-lab start lab%d)" % (idx, "power cut" if disks_too else "crashed", idx))


def qmp(idx, command, arguments=None, event=None, timeout=60):
    """One QMP command on labN's monitor socket; with EVENT, also wait for that event (its data)."""
    with socket.socket(socket.AF_UNIX) as sock:
        sock.connect(os.path.join(run_dir(idx), "qmp.sock"))
        sock.settimeout(timeout)
        lines = sock.makefile("r")

        def call(name, args=None):
            sock.sendall(json.dumps({"execute": name, "arguments": args or {}}).encode() + b"\n")
            while True:
                msg = json.loads(lines.readline())
                if "error" in msg:
                    sys.exit("lab%d: QMP %s: %s" % (idx, name, msg["error"].get("desc")))
                if "return" in msg:
                    return msg["return"]
        json.loads(lines.readline())  # the greeting
        call("qmp_capabilities")
        out = call(command, arguments)
        while event:
            msg = json.loads(lines.readline())
            if msg.get("event") == event:
                return msg.get("data")
        return out


def cut_disk(name):
    """"c2" -> 2 (a power-cut disk's number)."""
    if not (name.startswith("c") and name[1:].isdigit() and 1 <= int(name[1:]) <= CUT_DISKS):
        sys.exit("%s: name a power-cut disk, c1..c%d" % (name, CUT_DISKS))
    return int(name[1:])


def unplug(idx, k):
    """Hot-unplug power-cut disk cK (QMP device_del; the guest lets it go): to the guest and ZFS,
    the disk disappears. Its nbdkit and what it holds stay, for `plug`."""
    qmp(idx, "device_del", {"id": "cdev%d" % k}, event="DEVICE_DELETED")
    # A node `plug` added outlives its device (a -drive one does not): let its NBD client go.
    for node in qmp(idx, "query-named-block-nodes", {"flat": True}):
        if node["node-name"].startswith("c%d-" % k):
            qmp(idx, "blockdev-del", {"node-name": node["node-name"]})
    log("lab%d: disk c%d unplugged (lab/helix-lab plug lab%d c%d puts it back)" % (idx, k, idx, k))


def plug(idx, k):
    """Put power-cut disk cK back into its slot (as unplugged: the same nbdkit, the same bytes)."""
    node = "c%d-%d" % (k, int(time.time()))  # a fresh node name: the old one may linger until freed
    qmp(idx, "blockdev-add", {"driver": "raw", "node-name": node, "cache": {"direct": False, "no-flush": False},
                              "file": {"driver": "nbd", "server": {"type": "unix", "path": nbd_path(idx, k)}}})
    qmp(idx, "device_add", {"driver": "virtio-blk-pci", "id": "cdev%d" % k, "drive": node,
                            "serial": "helix-c%d" % k, "bus": "rp%d" % k})
    log("lab%d: disk c%d plugged in" % (idx, k))


def running():
    base = os.path.join(CACHE, "run")
    names = os.listdir(base) if os.path.isdir(base) else []
    return sorted(int(n[3:]) for n in names if n.startswith("lab") and n[3:].isdigit())


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="verb", required=True)
    sub.add_parser("build")
    u = sub.add_parser("up")
    u.add_argument("-n", type=int, default=int(os.environ.get("HELIX_LAB_HOSTS", "2")))
    d = sub.add_parser("down")
    d.add_argument("--keep-disks", action="store_true")
    for verb in ("stop", "cut", "crash", "start"):
        sub.add_parser(verb).add_argument("host")
    for verb in ("unplug", "plug"):
        v = sub.add_parser(verb)
        v.add_argument("host")
        v.add_argument("disk", help="a power-cut disk: c1, c2")
    sub.add_parser("status")
    sub.add_parser("hub", help=argparse.SUPPRESS)
    m = sub.add_parser("instances", help="how to reach the named hosts over ssh (JSON)")
    m.add_argument("hosts", nargs="+")
    s = sub.add_parser("ssh")
    s.add_argument("host")
    s.add_argument("command", nargs=argparse.REMAINDER)
    a = p.parse_args()
    if a.verb == "build":
        print(build())
    elif a.verb == "up":
        up(a.n)
    elif a.verb == "down":
        for i in running():
            stop(i, a.keep_disks)
        hub_stop()
    elif a.verb in ("stop", "cut", "crash"):
        idx = int(a.host.lstrip("lab"))
        if a.verb == "stop":
            shutdown(idx, os.path.join(image_dir(), "id_ed25519"))
        else:
            cut(idx, a.verb == "cut")
    elif a.verb in ("unplug", "plug"):
        idx = int(a.host.lstrip("lab"))
        if not pid_of(idx):
            sys.exit("lab%d is not running" % idx)
        (unplug if a.verb == "unplug" else plug)(idx, cut_disk(a.disk))
    elif a.verb == "start":
        idx = int(a.host.lstrip("lab"))
        img = build()
        hub_start()
        t0 = time.time()
        start(idx, img, keep=True)
        wait_ready(idx, os.path.join(img, "id_ed25519"), time.time() + BOOT_TIMEOUT)
        log("lab%d ready in %.0f s" % (idx, time.time() - t0))
    elif a.verb == "hub":
        hub_serve()
    elif a.verb == "status":
        for i in running():
            print("lab%d %s port %d" % (i, "running pid %s" % pid_of(i) if pid_of(i) else "stale", port_of(i)))
    elif a.verb == "instances":
        key = os.path.join(image_dir(), "id_ed25519")
        print(json.dumps([{"instance": h, "address": "127.0.0.1", "user": "root",
                           "port": port_of(int(h[3:])), "identity_file": key} for h in a.hosts]))
    elif a.verb == "ssh":
        key = os.path.join(image_dir(), "id_ed25519")
        os.execvp("ssh", ssh_base(int(a.host.lstrip("lab")), key) + a.command)


if __name__ == "__main__":
    main()
