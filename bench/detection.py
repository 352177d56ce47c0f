"""Seeds to detect: every catalogue mutant per family, and the concurrency mutants per policy.

    python bench/detection.py [--section families|policies|all] [--workers 2] [--json]
    python bench/detection.py --section policies [--trials 7] [--max-seeds 40] [--hours 0.5]

``families`` (the default) evaluates every mutant of the built-in catalogue with the probes its
entry names (as ``simwire mutants`` does) and reports, per mutant family, how many were
detected and how many seeds the detecting probe needed (1 for ``check``/``run``/``snapshot``,
the first failing seed's rank for ``explore``); the issue's bar: every mutant within 20 seeds,
by simwire's own rules.  What the project's tests caught (``pytest`` probes) is shown beside.

``policies``: for every mutant of family ``concurrency`` that has an ``explore`` probe, this
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


SEED_BAR = 20
"""Seeds within which every mutant must be detected by its entry's default probes (issue 11)."""


def families_section(catalogue: mutants.Catalogue, *, workers: int, as_json: bool) -> bool:
    """Seeds-to-detect per mutant family; True when every mutant is detected within ``SEED_BAR``."""
    results = mutants.run_catalogue(catalogue, ROOT, workers=workers)
    by_family: dict[str, list[mutants.MutantResult]] = {}
    for result in results:
        by_family.setdefault(result.family, []).append(result)
    summary = {family: _family_summary(rows) for family, rows in sorted(by_family.items())}
    if as_json:
        print(json.dumps({"families": summary, "mutants": [r.to_json() for r in results]}, indent=2, sort_keys=True))
    else:
        print(f"{'family':22} {'mutant':52} {'status':9} {'by':8} {'seeds':>5}  tests")
        for family, rows in sorted(by_family.items()):
            for r in rows:
                tests = "-" if r.tests is None else ("caught" if r.tests["caught"] else "passed")
                print(f"{family:22} {r.id:52} {r.status:9} {r.detected_by or '-':8} {r.seeds or '-':>5}  {tests}")
        print()
        print(f"{'family':22} {'mutants':>7} {'detected':>8} {'by rule':>7} {'median':>6} {'max':>4} "
              f"{'<=' + str(SEED_BAR):>5} {'tests caught':>12}")
        for family, s in summary.items():
            print(f"{family:22} {s['mutants']:>7} {s['detected']:>8} {s['by_rule']:>7} {s['median_seeds']:>6} "
                  f"{s['max_seeds']:>4} {s['within_bar']:>5} {s['tests_caught']:>5}/{s['tests_ran']:<6}")
    return all(s["within_bar"] == s["mutants"] for s in summary.values())


def _family_summary(rows: list[mutants.MutantResult]) -> dict[str, object]:
    seeds = [r.seeds or 1 for r in rows if r.detected]
    with_tests = [r for r in rows if r.tests is not None]
    return {
        "mutants": len(rows),
        "detected": sum(r.detected for r in rows),
        "by_rule": sum(r.detected_by == "rule" for r in rows),
        "median_seeds": f"{statistics.median(seeds):g}" if seeds else "-",
        "max_seeds": max(seeds, default="-"),
        "within_bar": sum(1 for r in rows if r.detected and (r.seeds or 1) <= SEED_BAR),
        "tests_ran": len(with_tests),
        "tests_caught": sum(bool(r.tests and r.tests["caught"]) for r in with_tests),
    }


def policies_section(catalogue: mutants.Catalogue, *, trials: int, max_seeds: int, hours: float) -> None:
    chosen = [m for m in catalogue.mutants
              if m.family == "concurrency" and any(p.kind == "explore" for p in m.probes)]
    print(f"{'mutant':44} {'policy':7} {'median seeds':>12}   per trial")
    for mutant in chosen:
        with tempfile.TemporaryDirectory() as tmp:
            workdir = Path(tmp)
            mutants.apply_mutant(mutant, ROOT, catalogue.code, workdir, catalogue.baseline)
            for policy in ("fifo", "random", "pct"):
                runs = 1 if policy == "fifo" else trials
                found = [seeds_to_detect(workdir, policy, 1000 * i, max_seeds, hours) for i in range(runs)]
                ranked = [n if n is not None else max_seeds + 1 for n in found]
                median = statistics.median(ranked)
                shown = f">{max_seeds}" if median > max_seeds else f"{median:g}"
                per_trial = ", ".join("-" if n is None else str(n) for n in found)
                print(f"{mutant.id:44} {policy:7} {shown:>12}   {per_trial}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--section", choices=("families", "policies", "kernel", "all"), default="families")
    parser.add_argument("--workers", type=int, default=2, help="families: mutants evaluated at once")
    parser.add_argument("--json", action="store_true", help="families: print the figures as JSON")
    parser.add_argument("--trials", type=int, default=7)
    parser.add_argument("--max-seeds", type=int, default=40)
    parser.add_argument("--hours", type=float, default=0.5)
    parser.add_argument("--kernel-trials", type=int, default=50,
                        help="kernel: trials per bug program (bench/kernel_detection.py)")
    args = parser.parse_args()
    if args.section in ("kernel", "all"):
        from kernel_detection import kernel_section

        kernel_section(args.kernel_trials)
        print()
    catalogue = mutants.load_catalogue(mutants.builtin_catalogue_dir())
    ok = True
    if args.section in ("families", "all"):
        ok = families_section(catalogue, workers=args.workers, as_json=args.json)
    if args.section in ("policies", "all"):
        policies_section(catalogue, trials=args.trials, max_seeds=args.max_seeds, hours=args.hours)
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
