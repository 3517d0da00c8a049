"""prom2test.py METRICS.prom TEMPLATE.yml > TEST.yml: a ``promtool test rules`` file whose
input series are the samples of a collector's real textfile output.

The template is a promtool test file plus a ``helix_series`` key, which this drops:
``labels`` (added to every series, as Prometheus adds instance and job when it scrapes),
``keep`` (substrings: only the sample lines holding one of them; all when empty) and
``samples`` (how many, one per test interval). Each sample becomes a constant series. Every
``*_timestamp_seconds`` value is shifted by the collector's own run time, so at the test's 0m
``time()`` is the moment of collection and every age is the age it had then.
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


def main(prom, template):
    with open(prom) as f:
        found = samples(f.read())
    with open(template) as f:
        test = yaml.safe_load(f)
    opts = test.pop("helix_series")
    now = next(v for n, _l, v in found if n == _RUN)
    extra = ",".join('%s="%s"' % kv for kv in sorted(opts.get("labels", {}).items()))
    series = []
    for name, labels, value in found:
        line = name + labels
        if opts.get("keep") and not any(k in line for k in opts["keep"]):
            continue
        if name.endswith("_timestamp_seconds"):
            value -= now
        if extra:
            labels = "{%s%s}" % (extra, "," + labels[1:-1] if labels else "")
        series.append({"series": name + labels, "values": "%s+0x%d" % (number(value), opts.get("samples", 30))})
    if not series:
        sys.exit("no sample of %s matched %s" % (prom, opts.get("keep")))
    test["tests"][0]["input_series"] = series
    yaml.safe_dump(test, sys.stdout, sort_keys=False, width=1000)


if __name__ == "__main__":
    main(*sys.argv[1:3])
