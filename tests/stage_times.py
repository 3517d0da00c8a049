"""Stage wall times against their budgets: reads "NAME SECONDS" lines (in the order the stages
ran), prints a table, warns about stages over budget, and writes the timings as JSON.

    ... | python3 tests/stage_times.py tests/budget.yml tests/output/timings.json
"""
import json
import sys

import yaml


def main():
    with open(sys.argv[1]) as f:
        budget = yaml.safe_load(f)
    limits = budget.get("stages", {})
    rows = [(name, int(secs)) for name, secs in (line.split() for line in sys.stdin if line.strip())]
    total = sum(secs for _name, secs in rows)
    print("\nstage times (budget: %s)" % sys.argv[1])
    print("  %-12s %7s %7s" % ("stage", "seconds", "budget"))
    over = []
    for name, secs in rows:
        limit = limits.get(name)
        flag = ""
        if limit is None:
            flag = "  (no budget)"
        elif secs > limit:
            flag = "  OVER"
            over.append(name)
        print("  %-12s %7d %7s%s" % (name, secs, "-" if limit is None else limit, flag))
    print("  %-12s %7d %7d%s" % ("total", total, budget["total"], "  OVER" if total > budget["total"] else ""))
    for name in over:
        print("WARNING: stage %s took %d s, over its budget of %d s" % (name, dict(rows)[name], limits[name]))
    if total > budget["total"]:
        print("WARNING: the stages took %d s, over the %d s budget" % (total, budget["total"]))
    with open(sys.argv[2], "w") as f:
        json.dump({"stages": dict(rows), "total": total, "budget": budget["total"]}, f, indent=1)
        f.write("\n")


if __name__ == "__main__":
    main()
