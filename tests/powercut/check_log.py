"""Check the writer's file (stdin) against the acknowledged numbers (argv[1], one per line):
-> "records=N acked=A lost=L torn=T", exit 1 when an acknowledged record is missing or wrong.
A record after the last acknowledged one may be missing or torn (it was never acknowledged)."""
import hashlib
import sys

acked = [int(x) for x in open(sys.argv[1]).read().split()]
good, torn = set(), 0
for line in sys.stdin.buffer.read().split(b"\n"):
    num, _sep, body = line.partition(b" ")
    if num.isdigit() and body == hashlib.sha256(num).hexdigest().encode() * 32:
        good.add(int(num))
    elif line:
        torn += 1
lost = [a for a in acked if a not in good]
print("records=%d acked=%d lost=%d torn=%d" % (len(good), len(acked), len(lost), torn))
sys.exit(1 if lost else 0)
