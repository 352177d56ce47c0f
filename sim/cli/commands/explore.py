"""``simwire explore``: many seeded full-system runs; failures with repro, the first one shrunk."""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import Any

from sim.cli.options import (
    KERNELS,
    add_scenario_options,
    existing_file,
    non_negative_int,
    output_dir,
    output_file,
    positive_float,
    positive_int,
    spec_from_args,
)
from sim.cli.progress import LINE_INTERVAL_SECONDS


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "explore",
        help="run N seeded full-system runs and report every failing seed",
        description="Run N seeded full-system runs (each with determinism rechecks, contracts and oracles on), "
                    "report each failing seed with its violations and the command that replays it, and "
                    "shrink the first failure to a minimal interleaving. Exit codes: 0 every seed clean, 1 a "
                    "failure, 2 usage error, 130/143 stopped by SIGINT/SIGTERM with no failure so far (the "
                    "finished runs are reported; docs/ci.md).",
    )
    add_scenario_options(parser, kernels=(*KERNELS, "both"))
    parser.set_defaults(policy="random")
    parser.add_argument("--swarm", action="store_true",
                        help="each seed draws its own fault mix (sites on/off, rates, latencies) and PCT depth "
                             "from the seed; the repro of each run carries the drawn plan (docs/exploration.md)")
    parser.add_argument("--steer", action="store_true",
                        help="spend half the runs on neighbours (same seed, another fault mix) of runs that "
                             "added coverage, in rounds; not with --resume (docs/exploration.md)")
    parser.add_argument("--seeds", type=positive_int, default=20, help="how many seeds (default: %(default)s)")
    parser.add_argument("--start", type=non_negative_int, default=0, help="first seed (default: %(default)s)")
    parser.add_argument("--workers", type=positive_int, default=None,
                        help="processes to spread seeds over on this machine (default: 1); with --cluster local, "
                             "the cluster's worker processes (default: one per CPU)")
    parser.add_argument("--cluster", metavar="ADDRESS",
                        help="run the seeds on a Dask distributed cluster: a scheduler address "
                             "(tcp://host:8786), or 'local' for a local cluster of worker processes; needs "
                             "the cluster extra (pip install 'simwire[cluster]'); see docs/exploration.md")
    parser.add_argument("--recheck-every", type=non_negative_int, default=10,
                        help="run every Nth seed twice and compare trace hashes; 0 disables (default: %(default)s)")
    parser.add_argument("--first-failure", action="store_true",
                        help="stop at the first failing seed (seeds run in order with --workers 1)")
    parser.add_argument("--no-shrink", dest="shrink", action="store_false",
                        help="do not shrink the first failure")
    parser.add_argument("--out", type=output_dir, default=Path(".simwire"),
                        help="where the shrunk schedule and diagram go (default: %(default)s)")
    parser.add_argument("--json", action="store_true",
                        help="print runs, failures (seed, rules, repro) and seeds per second as JSON")
    parser.add_argument("--results", type=output_file, metavar="FILE",
                        help="append every finished run to FILE as a JSON line, as it finishes")
    parser.add_argument("--resume", type=existing_file, metavar="FILE",
                        help="skip the runs FILE (written by --results) already holds, report them with the "
                             "new ones, and append the new ones to it (or to --results)")
    parser.add_argument("--junit-xml", type=output_file, metavar="FILE",
                        help="write a JUnit XML report: a case per failing seed (with its repro), clean seeds "
                             "folded into ranges")
    parser.add_argument("--progress-every", type=positive_float, default=LINE_INTERVAL_SECONDS, metavar="SECONDS",
                        help="print a progress line on stderr at most this often (default: %(default)s)")
    parser.set_defaults(func=main)


def main(args: argparse.Namespace) -> int:
    from sim.cli.progress import ProgressLines
    from sim.harness import explore as exploration_module
    from sim.harness.explore_results import ResultsFileError, ResultsWriter, read_results

    kernels = KERNELS if args.kernel == "both" else (args.kernel,)
    base = spec_from_args(args, kernel=kernels[0])
    specs = exploration_module.plan(base, seeds=args.seeds, start=args.start, kernels=kernels)  # SpecError: exit 2
    if args.swarm:
        from sim.harness.swarm import swarm

        specs = swarm(specs)
    if args.steer and (args.resume or args.first_failure):
        args.parser.error("--steer decides its runs as it goes: it cannot be combined with --resume or "
                          "--first-failure")
    try:
        done = read_results(args.resume, specs) if args.resume else []
    except ResultsFileError as error:
        args.parser.error(f"--resume: {error}")
    runner = _runner(args)
    knobs = base.knobs_line() + (" with faults and pct depth drawn per seed (swarm)" if args.swarm else "")
    console_print(args, f"exploring {len(specs)} runs: seeds {args.start}..{args.start + args.seeds - 1} "
                        f"kernels={','.join(kernels)}; each as {knobs}"
                        + (f" on cluster {args.cluster}" if args.cluster else "")
                        + (f"; {len(done)} done in {args.resume}" if done else ""))
    progress = ProgressLines(len(specs), interval=args.progress_every, done=len(done),
                             failures=sum(not o.clean for o in done))
    results_path = args.results or args.resume
    writer = ResultsWriter(results_path) if results_path else None

    def finished(outcome: Any) -> None:
        if writer is not None:
            writer.write(outcome)
        progress.update(not outcome.clean)

    from sim.harness.explore_cluster import ClusterError

    try:
        with exploration_module.StopRequest().on_signals() as stop, progress.ticking():
            if args.steer:
                from sim.harness.steer import steered

                result = steered(specs, runner=runner, round_size=max(8, 4 * (args.workers or 1)),
                                 recheck_every=args.recheck_every, on_outcome=finished, stop=stop)
            else:
                result = exploration_module.explore(specs, recheck_every=args.recheck_every,
                                                    first_failure=args.first_failure, on_outcome=finished,
                                                    runner=runner, done=done, stop=stop)
    except ClusterError as error:
        print(f"simwire explore: {error}", file=sys.stderr)
        return 2
    finally:
        if writer is not None:
            writer.close()
    progress.close()
    report = result.to_json()
    if result.failures and args.shrink and not result.interrupted:
        report["shrunk"] = _shrink_first(result.failures[0], args.out, quiet=args.json)
    if args.junit_xml:
        _write_junit(args.junit_xml, result)
    if args.json:
        print(json.dumps(report, indent=2, sort_keys=True, default=str))
    else:
        _print_report(result, report)
    if result.interrupted:
        where = f"; resume with the same command and --resume {results_path}" if results_path else \
            " (give --results FILE to keep finished runs for --resume)"
        print(f"simwire explore: stopped by {result.interrupted} after {len(result.outcomes)} of "
              f"{len(specs)} runs{where}", file=sys.stderr)
    if result.failures:
        return 1
    return 128 + _signal_number(result.interrupted) if result.interrupted else 0


def console_print(args: argparse.Namespace, text: str) -> None:
    if not args.json:
        from sim.cli.report import console

        console.print(text, markup=False)


def _runner(args: argparse.Namespace) -> Any:
    from sim.harness import explore as exploration_module

    if not args.cluster:
        return exploration_module.local_runner(args.workers or 1)
    from sim.harness.explore_cluster import LOCAL, ClusterError, cluster_runner

    workers = (args.workers or os.cpu_count() or 1) if args.cluster == LOCAL else 0
    try:
        return cluster_runner(args.cluster, workers=workers)
    except ClusterError as error:
        args.parser.error(str(error))


def _signal_number(name: str) -> int:
    import signal

    try:
        return int(signal.Signals[name])
    except KeyError:
        return int(signal.SIGINT)


def _print_report(result: Any, report: dict[str, Any]) -> None:
    from sim.cli.report import console, print_violations

    for outcome in result.failures:
        console.print(f"\nseed {outcome.spec.seed} ({outcome.spec.kernel}) failed: {', '.join(outcome.rules)}",
                      style="bold red", markup=False)
        print_violations(outcome.violations[:5])
        console.print(f"replay: {outcome.spec.repro()}", markup=False)
    rate = report["seeds_per_second"] or 0
    console.print(f"\n{len(result.outcomes)} runs, {len(result.failures)} failing, "
                  f"{result.wall_seconds:.1f} s ({rate:.2f} runs/s)", markup=False)
    coverage = report["coverage"]
    if coverage["await_site_pairs"] or coverage["deliveries"]:
        console.print(f"coverage: {coverage['await_site_pairs']:,} distinct orderings of await-site pairs across "
                      f"tasks, {coverage['deliveries']:,} distinct delivery orders on the bus; "
                      f"{coverage['runs_adding_coverage']} of {len(result.outcomes)} runs added some",
                      markup=False)


def _write_junit(path: Path, result: Any) -> None:
    """Failing runs one case each (the repro in the message); clean seeds folded into ranges."""
    from sim.cli.junit import Case, write_junit

    cases: list[Case] = []
    kernels = sorted({o.spec.kernel for o in result.outcomes})
    for kernel in kernels:
        outcomes = [o for o in result.outcomes if o.spec.kernel == kernel]
        clean: list[Any] = []

        def flush(clean: list[Any] = clean, kernel: str = kernel) -> None:
            if clean:
                first, last = clean[0].spec.seed, clean[-1].spec.seed
                name = f"seed {first}" if first == last else f"seeds {first}-{last}"
                cases.append(Case(f"{name} ({kernel})", f"simwire.explore.{kernel}",
                                  sum(o.wall_seconds for o in clean)))
                clean.clear()

        for outcome in outcomes:
            if outcome.clean and (not clean or clean[-1].spec.seed + 1 == outcome.spec.seed):
                clean.append(outcome)
                continue
            flush()
            if outcome.clean:
                clean.append(outcome)
                continue
            details = "\n\n".join(v.render() for v in outcome.violations)
            cases.append(Case(f"seed {outcome.spec.seed} ({kernel})", f"simwire.explore.{kernel}",
                              outcome.wall_seconds, f"{', '.join(outcome.rules)}; replay: {outcome.spec.repro()}",
                              details))
        flush()
    write_junit(path, "simwire explore", cases)


def _shrink_first(outcome: Any, out: Path, *, quiet: bool) -> dict[str, Any] | None:
    from sim.harness.shrinking import shrink_scenario

    shrunk = shrink_scenario(outcome.spec, set(outcome.rules), out)
    if shrunk and not quiet:
        print(f"shrunk seed {outcome.spec.seed}: {shrunk['deviations']} deviation(s) from fifo; "
              f"schedule {shrunk['schedule']}, diagram {shrunk['diagram']}", file=sys.stderr)
    return shrunk
