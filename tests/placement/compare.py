"""Plan equals execution: in a rebalance.yml log (ANSIBLE_CALLBACK_RESULT_FORMAT=json), the lines
plan.yml printed for each step and the lines the executor printed for what the step ran
(tasks/placement_step.yml, from the commands the modules returned) must be the same.

    python3 compare.py LOG [drop]     # drop: the run had helix_placement_drop=true
"""
import json
import re
import sys


def messages(text):
    """Every debug msg that is a list, in the order printed."""
    dec, out = json.JSONDecoder(), []
    for m in re.finditer(r'"msg": \[', text):
        out.append(dec.raw_decode(text, m.end() - 1)[0])
    return out


def main(log, drop):
    msgs = messages(open(log).read())
    plans = [m for m in msgs if m and str(m[0]).startswith("Plan: ")]
    if len(plans) != 1:
        sys.exit("compare: %d printed plans in %s, want 1" % (len(plans), log))
    planned, ran, title = {}, {}, None
    for line in plans[0][1:]:
        if line.startswith("step "):
            title = line
            planned[title] = []
        elif line.startswith("  "):
            planned[title].append(line)
    for m in msgs:
        if m and str(m[0]).startswith("step "):
            if m[0] in ran:
                sys.exit("compare: %s ran twice" % m[0])
            ran[m[0]] = m[1:]
    bad = []
    for title, lines in planned.items():
        got = ran.get(title)
        if got is None:
            bad.append("%s: not run" % title)
        elif got != lines and not (title.endswith("helix_placement_drop=true") and not drop and not got):
            bad.append("%s:\n  planned:\n%s\n  ran:\n%s" % (
                title, "\n".join("  " + x for x in lines), "\n".join("  " + x for x in got)))
    bad += ["%s: ran, not planned" % t for t in ran if t not in planned]
    if bad:
        sys.exit("compare: what ran is not what was printed:\n" + "\n".join(bad))
    print("    plan == execution: %d steps, %d commands, each as printed"
          % (len(planned), sum(len(v) for v in ran.values())))


if __name__ == "__main__":
    main(sys.argv[1], len(sys.argv) > 2 and sys.argv[2] == "drop")
