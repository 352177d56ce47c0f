"""Swarm and steering against plain seeds, on catalogued mutants.

Default: for each mutant, each trial explores a fresh seed range of the mutated code with
``--first-failure`` (seeds in order), once with the default fault plan and once with
``--swarm``, and records how many seeds it took (``-`` when the cap passed first).
Faults are what swarm adds, so the mutants here are ones whose exposure needs a fault that no
default turns on: that is the claim measured (docs/exploration.md has the figures).

``--budget``: steering decides its runs as it goes (no ``--first-failure``), so it is compared
on a fixed budget instead: each trial spends ``--cap`` runs plain and ``--cap`` runs with
``--steer``, and reports how many of them exposed the mutant.

    python bench/swarm.py --mutants M18-no-retry-on-transient-errors --trials 3 --cap 15
    python bench/swarm.py --budget --mutants M06b-batch-queued-when-fetched --trials 3 --cap 16
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

DEFAULT_MUTANTS = {"M18-no-retry-on-transient-errors": "backtest", "M28-live-retry-resubmits-without-lookup": "live"}


def seeds_to_expose(mutant: mutants.Mutant, catalogue: mutants.Catalogue, root: Path, mode: str, start: int,
                    cap: int, hours: float, swarm: bool) -> int | None:
    with tempfile.TemporaryDirectory(prefix="simwire-swarm-") as tmp:
        workdir = Path(tmp)
        mutants.apply_mutant(mutant, root, catalogue.code, workdir, catalogue.baseline)
        command = [sys.executable, "-m", "sim", "explore", "--mode", mode, "--start", str(start), "--seeds", str(cap),
                   "--hours", str(hours), "--first-failure", "--no-shrink", "--json", "--recheck-every", "0",
                   *(["--swarm"] if swarm else [])]
        env = dict(os.environ, PYTHONPATH=os.pathsep.join(filter(None, [tmp, os.environ.get("PYTHONPATH")])))
        proc = subprocess.run(command, cwd=workdir, env=env, capture_output=True, text=True, check=False)
        report = json.loads(proc.stdout)
    expected = set(mutant.expect)
    exposing = [f["seed"] for f in report["failures"] if expected & set(f["rules"])]
    return min(exposing) - start + 1 if exposing else None


def exposing_runs(mutant: mutants.Mutant, catalogue: mutants.Catalogue, root: Path, mode: str, start: int,
                  cap: int, hours: float, steer: bool) -> int:
    """How many of ``cap`` runs (plain seeds, or steered) expose the mutant."""
    with tempfile.TemporaryDirectory(prefix="simwire-steer-") as tmp:
        workdir = Path(tmp)
        mutants.apply_mutant(mutant, root, catalogue.code, workdir, catalogue.baseline)
        command = [sys.executable, "-m", "sim", "explore", "--mode", mode, "--start", str(start), "--seeds", str(cap),
                   "--hours", str(hours), "--policy", "random", "--no-shrink", "--json", "--recheck-every", "0",
                   *(["--steer"] if steer else [])]
        env = dict(os.environ, PYTHONPATH=os.pathsep.join(filter(None, [tmp, os.environ.get("PYTHONPATH")])))
        proc = subprocess.run(command, cwd=workdir, env=env, capture_output=True, text=True, check=False)
        report = json.loads(proc.stdout)
    return sum(1 for f in report["failures"] if set(mutant.expect) & set(f["rules"]))


def main_budget(args: argparse.Namespace, catalogue: mutants.Catalogue, root: Path) -> None:
    by_id = {m.id: m for m in catalogue.mutants}
    print(f"| mutant | plain: exposing runs of {args.cap} (per trial) "
          f"| steer: exposing runs of {args.cap} (per trial) |")
    print("|---|---|---|")
    for mutant_id in args.mutants:
        mode = DEFAULT_MUTANTS.get(mutant_id, "backtest")
        cells = []
        for steer in (False, True):
            found = [exposing_runs(by_id[mutant_id], catalogue, root, mode, 1000 * trial, args.cap, args.hours, steer)
                     for trial in range(args.trials)]
            cells.append(f"{', '.join(map(str, found))} (total {sum(found)})")
        print(f"| {mutant_id} ({mode}) | {cells[0]} | {cells[1]} |", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--mutants", nargs="*", default=list(DEFAULT_MUTANTS))
    parser.add_argument("--trials", type=int, default=3)
    parser.add_argument("--cap", type=int, default=15)
    parser.add_argument("--hours", type=float, default=0.5)
    parser.add_argument("--budget", action="store_true", help="plain against --steer on a fixed budget of runs")
    args = parser.parse_args()
    catalogue = mutants.load_catalogue(mutants.builtin_catalogue_dir())
    root = Path(__file__).resolve().parent.parent
    if args.budget:
        main_budget(args, catalogue, root)
        return
    by_id = {m.id: m for m in catalogue.mutants}
    print("| mutant | plain: seeds to expose (per trial) | swarm: seeds to expose (per trial) |")
    print("|---|---|---|")
    for mutant_id in args.mutants:
        mode = DEFAULT_MUTANTS.get(mutant_id, "backtest")
        cells = []
        for swarm in (False, True):
            found = [seeds_to_expose(by_id[mutant_id], catalogue, root, mode, 1000 * trial, args.cap, args.hours,
                                     swarm) for trial in range(args.trials)]
            shown = ", ".join("-" if f is None else str(f) for f in found)
            hits = [f for f in found if f is not None]
            median = f"median {statistics.median(hits):g}" if len(hits) == len(found) else f"{len(hits)}/{len(found)}"
            cells.append(f"{shown} ({median})")
        print(f"| {mutant_id} ({mode}) | {cells[0]} | {cells[1]} |", flush=True)


if __name__ == "__main__":
    main()
