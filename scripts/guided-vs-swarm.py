#!/usr/bin/env python3
"""Coverage of plain swarm against guided exploration on every bundled scenario, as one table.

    scripts/guided-vs-swarm.py SHIPSIM [OTHER_SHIPSIM...] [--seeds N] [--trials K] [--only a,b] [--jobs J]

For each `scenarios/*.yaml` (not `scenarios/real/`), runs

    SHIPSIM explore S.yaml --seeds N --swarm  --coverage --keep-going --shrink-budget 0
    SHIPSIM explore S.yaml --seeds N --guided --coverage --keep-going --shrink-budget 0

and reads the ledger's first line (`coverage: P of N probes ...; Q pairs ...`). With more than
one binary (say, the starting commit's and yours), the guided sweep runs with each, scenario by
scenario, and gets a column each; swarm runs with the first only. Prints a Markdown table of
probes / pairs, one row a scenario, and per guided column the scenarios where guided reached at
least as many probes and pairs as swarm, and more of either. The counts do not depend on the
machine or on `--jobs` (default 2): the same binary gives the same table.

One sweep is one sample: with `--trials K` (default 1) each mode sweeps K times per scenario,
trial j from `--first-seed 1 + j * N`, and the cells are the means over the trials. Trial j of
both modes starts from the same seed, so the trials pair up; per guided column a paired sign
test on probes says whether the split of trials (guided more / fewer / as many) shows a
difference at 5%, as the finding bench does for seeds (`crates/shipsim-cli/src/cli/bench/paired.rs`).
"""

import argparse
import pathlib
import re
import subprocess
import sys

LINE = re.compile(r"coverage: (\d+) of \d+ probes reached by \d+ seeds; (\d+) pairs")


def coverage(binary, scenario, mode, seeds, jobs, trials):
    """Each trial's (probes, pairs), or None with the binary's last line of error."""
    figures = [sweep(binary, scenario, mode, seeds, jobs, 1 + j * seeds) for j in range(trials)]
    if any(f is None for f in figures):
        return None
    return figures


def mean(figures):
    """Mean (probes, pairs) over the trials."""
    return None if figures is None else tuple(sum(f[i] for f in figures) / len(figures) for i in (0, 1))


def sign_test(a, b):
    """Two-sided p-value of a split of a against b at even odds."""
    n, tail, choose = a + b, 0.0, 1.0
    for i in range(min(a, b) + 1):
        if i > 0:
            choose = choose * (n - i + 1) / i
        tail += choose
    return min(1.0, 2 * tail / 2**n)


def paired(swarm, guided):
    """(guided more, guided fewer, ties, p) of the trials' probes, paired by first seed."""
    more = sum(g[0] > s[0] for s, g in zip(swarm, guided))
    fewer = sum(g[0] < s[0] for s, g in zip(swarm, guided))
    return more, fewer, len(swarm) - more - fewer, sign_test(more, fewer)


def sweep(binary, scenario, mode, seeds, jobs, first_seed):
    """(probes, pairs) one sweep reached, or None with the binary's last line of error."""
    args = [binary, "explore", str(scenario), "--seeds", str(seeds), f"--{mode}", "--coverage"]
    args += ["--first-seed", str(first_seed)]
    args += ["--keep-going", "--shrink-budget", "0", "--jobs", str(jobs)]
    args += ["--out", f"/tmp/guided-vs-swarm-failures-{mode}"]
    run = subprocess.run(args, capture_output=True, text=True)
    found = LINE.search(run.stdout)
    if found is None:
        lines = (run.stderr.strip().splitlines() or ["no output"])
        print(f"{scenario.name} {mode}: {lines[-1]}", file=sys.stderr)
        return None
    return int(found.group(1)), int(found.group(2))


def cell(figures):
    if figures is None:
        return "-"
    return " / ".join(f"{x:g}" if x == int(x) else f"{x:.1f}" for x in figures)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("binaries", nargs="+")
    parser.add_argument("--seeds", type=int, default=100)
    parser.add_argument("--trials", type=int, default=1)
    parser.add_argument("--only", default="")
    parser.add_argument("--jobs", type=int, default=2)
    opts = parser.parse_args()
    root = pathlib.Path(__file__).resolve().parent.parent
    only = [name for name in opts.only.split(",") if name]
    scenarios = [s for s in sorted((root / "scenarios").glob("*.yaml")) if not only or s.stem in only]
    head = ["scenario", "swarm probes / pairs"]
    for b in opts.binaries:
        head += [f"guided ({pathlib.Path(b).name}) probes / pairs", "probes, paired: more / fewer / ties (p)"]
    print("| " + " | ".join(head) + " |")
    print("| --- |" + " ---: |" * (len(head) - 1))
    tally = [[0, 0, 0, 0] for _ in opts.binaries]  # [at least as many, more, shown more, shown fewer]
    for scenario in scenarios:
        swarm_trials = coverage(opts.binaries[0], scenario, "swarm", opts.seeds, opts.jobs, opts.trials)
        swarm = mean(swarm_trials)
        row = [scenario.stem, cell(swarm)]
        for i, binary in enumerate(opts.binaries):
            guided_trials = coverage(binary, scenario, "guided", opts.seeds, opts.jobs, opts.trials)
            guided = mean(guided_trials)
            row.append(cell(guided))
            if swarm is None or guided is None:
                row.append("-")
                continue
            more, fewer, ties, p = paired(swarm_trials, guided_trials)
            row.append(f"{more} / {fewer} / {ties} ({p:.3f})")
            tally[i][2] += p < 0.05 and more > fewer
            tally[i][3] += p < 0.05 and fewer > more
            tally[i][0] += guided[0] >= swarm[0] and guided[1] >= swarm[1]
            tally[i][1] += guided[0] >= swarm[0] and guided[1] >= swarm[1] and guided != swarm
        print("| " + " | ".join(row) + " |", flush=True)
    for binary, (at_least, more, shown_more, shown_fewer) in zip(opts.binaries, tally):
        print(
            f"\n{binary}: guided reached at least as many probes and pairs as swarm on {at_least} of "
            f"{len(scenarios)} scenarios, and more (of either, none fewer) on {more}; the paired "
            f"trials show guided reaching more probes on {shown_more}, fewer on {shown_fewer}"
        )


if __name__ == "__main__":
    main()
