"""The power-cut test's writer (runs in the guest): appends numbered records to a file, each
fsync-acknowledged before its number is printed, so the controller's copy of stdout is the log
of acknowledged writes, kept off the host. Each record carries a digest of its number, so a torn
or stale record is told from a good one.

    python3 writer.py FILE START
"""
import hashlib
import os
import sys

path, start = sys.argv[1], int(sys.argv[2])
fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
i = start
while True:
    body = hashlib.sha256(str(i).encode()).hexdigest() * 32  # 2 KiB
    os.write(fd, ("%d %s\n" % (i, body)).encode())
    os.fsync(fd)
    print(i, flush=True)
    i += 1
