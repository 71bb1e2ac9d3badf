#!/usr/bin/env python3
"""Before and after, side by side, in one run: `shipsim bench` of two binaries, item by item.

    scripts/bench-before-after.py BEFORE AFTER [--only ITEMS] [-- BENCH ARGS...]

BEFORE and AFTER are two `shipsim` binaries (say, one built from the starting commit and one
from yours). Each item runs with BEFORE, then with AFTER, before the next item starts, so both
see the same load on a shared machine; the figures are then printed as one Markdown table per
item with a column each. An item one binary does not know (e.g. `scale` before it existed) or
cannot run shows as `-`, with the binary's error below the table. Extra arguments after `--`
go to both benches (e.g. `-- --rounds 5`).
"""

import json
import subprocess
import sys

ITEMS = ["router", "harness", "speed", "explore", "memory", "transports", "scale"]


def bench(binary, item, extra):
    """One item's JSON report from one binary, or an error text."""
    run = subprocess.run(
        [binary, "bench", "--only", item, "--json", *extra], capture_output=True, text=True
    )
    try:
        report = json.loads(run.stdout)
    except json.JSONDecodeError:
        return None, (run.stderr.strip().splitlines() or ["no output"])[-1]
    if report.get(item) is None:
        return None, "; ".join(report.get("errors", [])) or "no figures"
    return report[item], None


def rows(item, r):
    """(figure, value) pairs of one item's report."""
    if item == "router":
        return [("ours, events/s", r["ours_events_per_s"]), ("original, events/s", r["original_events_per_s"]),
                ("ratio ours/original (target >= 1.0)", r["ratio"])]
    if item == "harness":
        return [("full harness, wall s", r["harness_wall_s"]), ("bare turmoil, wall s", r["bare_wall_s"]),
                ("ratio harness/bare (goal <= 1.3)", r["ratio"])]
    if item == "speed":
        out = [(f"{s['scenario']}: events/s", s["events_per_s"]) for s in r]
        out.append(("all scenarios: wall s", sum(s["wall_s"] for s in r)))
        return out
    if item == "explore":
        return [("jobs 1: seeds/min", r["jobs1_seeds_per_min"]), ("jobs 2: seeds/min", r["jobs2_seeds_per_min"])]
    if item == "memory":
        return [("peak RSS, MiB", r["peak_rss_kib"] / 1024), ("wall s", r["wall_s"])]
    if item == "transports":
        s, l = r["simulated"], r["loopback"]
        return [("simulated: TCP events/s", s["tcp"]["events_per_s"]),
                ("simulated: gRPC events/s", s["grpc"]["events_per_s"]),
                ("simulated: ratio gRPC/TCP (goal >= 0.8)", s["events_ratio"]),
                ("loopback: TCP events/s", l["tcp"]["events_per_s"]),
                ("loopback: gRPC events/s", l["grpc"]["events_per_s"]),
                ("loopback: ratio gRPC/TCP", l["events_ratio"])]
    if item == "scale":
        out = [(f"{z['nodes']} nodes: µs per event", z["us_per_event"]) for z in r["sizes"]]
        out.append((f"ratio per event {r['sizes'][-1]['nodes']}/{r['sizes'][0]['nodes']} nodes (goal <= 2)",
                    r["ratio"]))
        return out
    return []


def number(value):
    if value is None:
        return "-"
    if abs(value) >= 1000:
        return f"{value:,.0f}"
    if abs(value) >= 10:
        return f"{value:.1f}"
    return f"{value:.3f}"


def main(argv):
    if len(argv) < 3:
        print(__doc__.strip(), file=sys.stderr)
        return 2
    before, after, rest = argv[1], argv[2], argv[3:]
    extra = rest[rest.index("--") + 1:] if "--" in rest else []
    options = rest[: rest.index("--")] if "--" in rest else rest
    items = ITEMS
    if len(options) == 2 and options[0] == "--only":
        items = options[1].split(",")
    for n, item in enumerate(items, 1):
        print(f"bench-before-after: {item}", file=sys.stderr)
        (b, b_err), (a, a_err) = bench(before, item, extra), bench(after, item, extra)
        b_rows, a_rows = dict(rows(item, b) if b else []), rows(item, a) if a else []
        names = [name for name, _ in a_rows] + [name for name in b_rows if name not in dict(a_rows)]
        a_rows = dict(a_rows)
        print(f"{n}. {item}\n\n| figure | before | after |\n| --- | ---: | ---: |")
        for name in names:
            print(f"| {name} | {number(b_rows.get(name))} | {number(a_rows.get(name))} |")
        for label, err in (("before", b_err), ("after", a_err)):
            if err:
                print(f"\n{label}: {err}")
        print()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
