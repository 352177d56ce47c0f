"""``simwire run``: one full-system session on embedded generated data, judged."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from sim.cli.options import add_scenario_options, non_negative_int, output_file, spec_from_args
from sim.harness import snapshot


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "run",
        help="run one full-system session under a deterministic kernel and check it",
        description="Run one trading session (backtest, paper or live) on generated market data under a "
                    "deterministic kernel, with the runtime contract monitor and end-of-run oracles on. "
                    "Exit 0 when clean, 1 on any violation, 2 on usage errors.",
    )
    add_scenario_options(parser)
    parser.add_argument("--seed", type=non_negative_int, default=0, help="the seed (default: %(default)s)")
    parser.add_argument("--json", action="store_true", help="print the result as one JSON object")
    parser.add_argument("--trace-out", type=output_file, metavar="FILE", help="write the run's trace as JSON lines")
    parser.add_argument("--perfetto-out", type=output_file, metavar="FILE",
                        help="write the timeline as Chrome/Perfetto trace JSON (open in ui.perfetto.dev); a "
                             "backtest is laid out on its market data's time, paper/live on the virtual clock")
    parser.add_argument("--schedule-out", type=output_file, metavar="FILE",
                        help="record the run's schedule; `simwire replay FILE` repeats it exactly")
    parser.add_argument("--db", metavar="DSN",
                        help="run one backtest on a REAL server instead (PostgreSQL, or QuestDB's PG wire: "
                             "postgresql://admin:quest@localhost:8812/qdb); not deterministic; applies the "
                             "migrations when the tables are missing (see docs/real-database.md)")
    snapshot.add_options(parser)
    parser.set_defaults(func=main)


def main(args: argparse.Namespace) -> int:
    from sim.harness.scenario import run_scenario

    spec = spec_from_args(args)
    if args.db:
        from sim.harness.realdb import main_db

        return main_db(args.db, spec, as_json=args.json)
    if not args.json:  # before the run: a run that hangs has still said what it was
        print(spec.knobs_line(), flush=True)
    result = run_scenario(spec, trace=True if args.trace_out or args.perfetto_out else None)
    _write_artifacts(args, result)
    try:
        compared = snapshot.check_options(args, result)
    except snapshot.SnapshotError as error:
        print(f"simwire run: {error}", file=sys.stderr)
        return 2
    if args.json:
        print(json.dumps({**result.to_json(), **({"snapshot": compared} if compared else {})},
                         indent=2, sort_keys=True, default=str))
    else:
        from sim.cli.report import print_scenario

        print_scenario(result)
        snapshot.print_outcome(compared)
    return 0 if result.clean and (compared is None or compared["matches"]) else 1


def _write_artifacts(args: argparse.Namespace, result: Any) -> None:
    from sim.harness.schedule_file import ScheduleFile

    trace = result.kernel_result.trace
    if args.trace_out:
        trace.write_jsonl(args.trace_out)
    if args.perfetto_out:  # a backtest on its data's time, paper/live on the virtual clock
        from sim.harness.timeline import chrome_trace

        Path(args.perfetto_out).write_text(json.dumps(chrome_trace(result)))
    if args.schedule_out:
        ScheduleFile.for_scenario(result.spec, result.kernel_result.schedule, result.trace_hash,
                                  sorted({v.rule for v in result.violations})).save(Path(args.schedule_out))
