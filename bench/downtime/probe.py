"""On the source host, during one migrate_node.yml run: measure the read-only window.

    python3 probe.py SOURCE_DIR TARGET_HOST TARGET_DIR OUT.json

A writer appends a line to SOURCE_DIR/.writer every 50 ms, each fsync'd; the first write that
fails (EROFS: the cut-over made the source read-only) is t_ro. From then on, a prober writes a
file into TARGET_DIR on TARGET_HOST over one shared ssh connection, until it succeeds (the target
is promoted and mounted): t_rw, the end of that ssh call. Both times come from this host's
clock, so window = t_rw - t_ro needs no clock sync; it errs long by at most one ssh call.
"""
import json
import os
import subprocess
import sys
import time

src, host, dst, out = sys.argv[1:5]
ssh = ["ssh", "-o", "ControlMaster=auto", "-o", "ControlPath=/tmp/cm-downtime", "-o", "ControlPersist=600", host]
subprocess.run(ssh + ["true"], check=True)
acked = 0
t_ro = None
fd = os.open(os.path.join(src, ".writer"), os.O_WRONLY | os.O_APPEND | os.O_CREAT)  # unbuffered
deadline = time.time() + 3600
while time.time() < deadline:
    try:
        os.write(fd, b"%d %.3f\n" % (acked, time.time()))
        os.fsync(fd)
        acked += 1
    except OSError:
        t_ro = time.time()
        break
    time.sleep(0.05)
try:
    os.close(fd)
except OSError:
    pass
if t_ro is None:
    sys.exit("the source never went read-only")
tries = 0
t_rw = None
while time.time() < t_ro + 1800:
    tries += 1
    if subprocess.run(ssh + ["echo ok > %s/.probe" % dst], stderr=subprocess.DEVNULL, check=False).returncode == 0:
        t_rw = time.time()
        break
    time.sleep(0.05)
with open(out, "w") as f:
    json.dump({"t_ro": t_ro, "t_rw": t_rw, "window": None if t_rw is None else round(t_rw - t_ro, 2),
               "acked_writes": acked, "probes": tries}, f)
