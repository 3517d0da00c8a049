"""prom2test.py METRICS.prom [LATER.prom ...] TEMPLATE.yml > TEST.yml: a ``promtool test rules``
file whose input series are the samples of a collector's real textfile output.

The template is a promtool test file plus a ``helix_series`` key, which this drops:
``labels`` (added to every series, as Prometheus adds instance and job when it scrapes),
``keep`` (substrings: only the sample lines holding one of them; all when empty) and
``samples`` (how many, one per test interval, per file). Each sample is held for ``samples``
intervals, then the next file's value of the same series (a counter that grew between two
collector runs; a series a file lacks is missing there). Every ``*_timestamp_seconds`` value is
shifted by its own collector run's time, so at the start of each file's stretch ``time()`` is the
moment of that collection and every age is the age it had then.
"""
import re
import sys

import yaml

_LINE = re.compile(r"^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{.*\})?\s+(\S+)$")
_RUN = "helix_zfs_collector_last_run_timestamp_seconds"


def samples(text):
    """(name, label block or "", value) of each sample line; the label block is kept as written,
    since its escapes are PromQL's too."""
    out = []
    for line in text.splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        m = _LINE.match(line)
        if not m:
            sys.exit("not a sample line: %r" % line)
        out.append((m.group(1), m.group(2) or "", float(m.group(3))))
    return out


def number(v):
    """A value in promtool's series notation, without an exponent."""
    return ("%.6f" % v).rstrip("0").rstrip(".") if v != int(v) else "%d" % v


def main(*args):
    *proms, template = args
    with open(template) as f:
        test = yaml.safe_load(f)
    opts = test.pop("helix_series")
    n = opts.get("samples", 30)
    step = 60  # the test's interval, 1m
    extra = ",".join('%s="%s"' % kv for kv in sorted(opts.get("labels", {}).items()))
    values = {}  # series -> one value (or None) per file
    for i, prom in enumerate(proms):
        with open(prom) as f:
            found = samples(f.read())
        now = next(v for name, _l, v in found if name == _RUN)
        for name, labels, value in found:
            line = name + labels
            if opts.get("keep") and not any(k in line for k in opts["keep"]):
                continue
            if name.endswith("_timestamp_seconds"):
                value -= now - i * n * step
            if extra:
                labels = "{%s%s}" % (extra, "," + labels[1:-1] if labels else "")
            values.setdefault(name + labels, [None] * len(proms))[i] = value
    if not values:
        sys.exit("no sample of %s matched %s" % (", ".join(proms), opts.get("keep")))
    # "v+0xN" holds v for N+1 samples: the last file's stretch gets the extra one.
    test["tests"][0]["input_series"] = [
        {"series": series, "values": " ".join(
            ("_x%d" % (n if i < len(vs) - 1 else n + 1)) if v is None else
            "%s+0x%d" % (number(v), n - 1 if i < len(vs) - 1 else n) for i, v in enumerate(vs))}
        for series, vs in values.items()]
    yaml.safe_dump(test, sys.stdout, sort_keys=False, width=1000)


if __name__ == "__main__":
    if len(sys.argv) < 3:
        sys.exit(__doc__)
    main(*sys.argv[1:])
