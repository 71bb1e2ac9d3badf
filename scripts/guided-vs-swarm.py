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
trial j from `--first-seed 1 + j * N`, and the cells are the means over the trials.
"""

import argparse
import pathlib
import re
import subprocess
import sys

LINE = re.compile(r"coverage: (\d+) of \d+ probes reached by \d+ seeds; (\d+) pairs")


def coverage(binary, scenario, mode, seeds, jobs, trials):
    """Mean (probes, pairs) over `trials` sweeps, or None with the binary's last line of error."""
    figures = [sweep(binary, scenario, mode, seeds, jobs, 1 + j * seeds) for j in range(trials)]
    if any(f is None for f in figures):
        return None
    return tuple(sum(f[i] for f in figures) / trials for i in (0, 1))


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
    head += [f"guided ({pathlib.Path(b).name}) probes / pairs" for b in opts.binaries]
    print("| " + " | ".join(head) + " |")
    print("| --- |" + " ---: |" * (len(head) - 1))
    tally = [[0, 0] for _ in opts.binaries]  # [at least as many, more]
    for scenario in scenarios:
        swarm = coverage(opts.binaries[0], scenario, "swarm", opts.seeds, opts.jobs, opts.trials)
        row = [scenario.stem, cell(swarm)]
        for i, binary in enumerate(opts.binaries):
            guided = coverage(binary, scenario, "guided", opts.seeds, opts.jobs, opts.trials)
            row.append(cell(guided))
            if swarm is not None and guided is not None:
                tally[i][0] += guided[0] >= swarm[0] and guided[1] >= swarm[1]
                tally[i][1] += guided[0] >= swarm[0] and guided[1] >= swarm[1] and guided != swarm
        print("| " + " | ".join(row) + " |", flush=True)
    for binary, (at_least, more) in zip(opts.binaries, tally):
        print(
            f"\n{binary}: guided reached at least as many probes and pairs as swarm on {at_least} of "
            f"{len(scenarios)} scenarios, and more (of either, none fewer) on {more}"
        )


if __name__ == "__main__":
    main()
