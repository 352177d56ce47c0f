"""Seeds to detect each concurrency mutant of the built-in catalogue, random vs pct.

    python bench/detection.py [--trials 7] [--max-seeds 40] [--hours 0.5]

For every catalogue mutant of family ``concurrency`` that has an ``explore`` probe, this
applies the mutant to a temporary copy of ``system/`` and, for each policy, runs
``simwire explore --first-failure`` from ``--trials`` different starting seeds (0, 1000,
2000, ...).  It prints the median number of seeds needed to expose the defect per policy
(``>N`` when a trial found nothing within ``--max-seeds``), plus whether fifo alone ever
exposes it.  The issue's bar: at most 20 seeds with pct.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

from sim.harness import mutants

ROOT = Path(__file__).resolve().parents[1]


def seeds_to_detect(workdir: Path, policy: str, start: int, max_seeds: int, hours: float) -> int | None:
    command = [sys.executable, "-m", "sim", "explore", "--mode", "backtest", "--policy", policy,
               "--seeds", str(max_seeds), "--start", str(start), "--hours", str(hours),
               "--first-failure", "--no-shrink", "--recheck-every", "0", "--json"]
    env = dict(os.environ, PYTHONPATH=os.pathsep.join((str(workdir), str(ROOT))))
    out = subprocess.run(command, cwd=workdir, env=env, capture_output=True, text=True, check=False).stdout
    failures = json.loads(out)["failures"]
    return None if not failures else failures[0]["seed"] - start + 1


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=7)
    parser.add_argument("--max-seeds", type=int, default=40)
    parser.add_argument("--hours", type=float, default=0.5)
    args = parser.parse_args()
    catalogue = mutants.load_catalogue(mutants.builtin_catalogue_dir())
    chosen = [m for m in catalogue.mutants
              if m.family == "concurrency" and any(p.kind == "explore" for p in m.probes)]
    print(f"{'mutant':44} {'policy':7} {'median seeds':>12}   per trial")
    for mutant in chosen:
        with tempfile.TemporaryDirectory() as tmp:
            workdir = Path(tmp)
            mutants.apply_mutant(mutant, ROOT, catalogue.code, workdir)
            for policy in ("fifo", "random", "pct"):
                trials = 1 if policy == "fifo" else args.trials
                found = [seeds_to_detect(workdir, policy, 1000 * i, args.max_seeds, args.hours)
                         for i in range(trials)]
                ranked = [n if n is not None else args.max_seeds + 1 for n in found]
                median = statistics.median(ranked)
                shown = f">{args.max_seeds}" if median > args.max_seeds else f"{median:g}"
                per_trial = ", ".join("-" if n is None else str(n) for n in found)
                print(f"{mutant.id:44} {policy:7} {shown:>12}   {per_trial}")


if __name__ == "__main__":
    main()
