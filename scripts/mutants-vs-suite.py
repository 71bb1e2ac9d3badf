#!/usr/bin/env python3
"""Which realistic bugs does the scenario suite catch? A mutation sample, the way an outside
review plants bugs.

    scripts/mutants-vs-suite.py WORKTREE FILE[:fn,fn...] [FILE...]

For each mutant cargo-mutants lists for FILE (`cargo mutants --list --json -f FILE`, optionally
only in the named functions), patches it into WORKTREE (a clean checkout that nothing else
uses: the files are changed in place and restored after each mutant), runs the scenario suite
(`cargo test -p sims --test scenarios`, the harness alone, not the crates' unit tests) and
prints one line per mutant: `caught` (the suite failed), `MISSED` (it passed), `UNVIABLE` (it
did not build). A missed mutant is either equivalent (no behaviour changes) or a path the
suite's scenarios never reach: read it. cargo-mutants' own runner tests only the mutated
crate; this one asks whether the harness notices. About two minutes per mutant on 2 cores.
"""

import json
import os
import subprocess
import sys
import time


def mutants(spec):
    path, _, functions = spec.partition(":")
    listed = subprocess.run(["cargo", "mutants", "--list", "--json", "-f", path], capture_output=True, text=True)
    found = json.loads(listed.stdout)
    if functions:
        wanted = functions.split(",")
        found = [m for m in found if m["function"] and m["function"]["function_name"] in wanted]
    return found


def verdict(mutant):
    subprocess.run(["patch", "-s", mutant["file"]], input=mutant["diff"], text=True, check=True)
    try:
        run = subprocess.run(
            ["cargo", "test", "-q", "-p", "sims", "--test", "scenarios"], capture_output=True, text=True, timeout=1800
        )
        code, tail = run.returncode, (run.stdout + run.stderr)[-3000:]
    except subprocess.TimeoutExpired:
        code, tail = "timeout", ""
    finally:
        subprocess.run(["git", "checkout", "--", mutant["file"]], check=True)
    if code != 0 and "could not compile" in tail:
        return "UNVIABLE"
    return "MISSED" if code == 0 else "caught"


def main():
    if len(sys.argv) < 3:
        sys.exit(__doc__)
    os.chdir(sys.argv[1])
    if subprocess.run(["git", "status", "--porcelain"], capture_output=True, text=True).stdout.strip():
        sys.exit(f"{sys.argv[1]}: not a clean checkout")
    todo = [m for spec in sys.argv[2:] for m in mutants(spec)]
    print(f"{len(todo)} mutants", flush=True)
    tally = {}
    for mutant in todo:
        started = time.monotonic()
        outcome = verdict(mutant)
        tally[outcome] = tally.get(outcome, 0) + 1
        print(f"{outcome}\t{mutant['name']}\t{time.monotonic() - started:.0f} s", flush=True)
    print(", ".join(f"{n} {outcome}" for outcome, n in sorted(tally.items())))


if __name__ == "__main__":
    main()
