"""``simwire replay FILE``: run a recorded schedule again and check it reproduces."""

from __future__ import annotations

import argparse
from typing import Any


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "replay",
        help="replay a schedule file exactly (same choices, same trace hash)",
        description="Replay the run recorded in FILE (JSON: target, seed, policy, kernel, choices, "
                    "trace_hash) and say whether the trace hash matches. Exit 0 when it matches and the "
                    "run is clean, 1 on a hash mismatch, an error or a violation, 2 on usage errors.",
    )
    parser.add_argument("file", metavar="FILE", help="schedule file")
    parser.add_argument("--jsonl", metavar="OUT", help="write the trace as JSON lines")
    parser.add_argument("--chrome", metavar="OUT", help="write a Chrome/Perfetto trace of the virtual timeline")
    parser.add_argument("--mermaid", metavar="OUT", help="write the interleaving as a Mermaid sequence diagram")
    parser.set_defaults(func=main, parser=parser)


def main(args: argparse.Namespace) -> int:
    from sim.harness.schedule_file import load_or_usage_error
    from sim.harness.shrinking import read_scenario_schedule
    from sim.kernel import run

    scenario = read_scenario_schedule(args.file)
    if scenario is not None:
        return _replay_scenario(args, scenario)
    recorded, factory = load_or_usage_error(args.file, args.parser)
    result = run(factory(), **recorded.run_options())
    print(f"simwire replay {args.file}  (target {recorded.target})")
    print(result.render())
    _write_trace(args, result.trace)
    matches = not recorded.trace_hash or recorded.trace_hash == result.trace_hash
    if not matches:
        print(f"trace hash MISMATCH: recorded {recorded.trace_hash}, replayed {result.trace_hash}")
    return 0 if matches and result.ok else 1


def _replay_scenario(args: argparse.Namespace, data: dict[str, Any]) -> int:
    """A full-system schedule (written by ``simwire explore`` or ``simwire run --schedule-out``)."""
    from sim.cli.report import print_scenario
    from sim.harness.shrinking import replay_scenario_schedule

    try:
        result, recorded_hash = replay_scenario_schedule(data, args.file)
    except ValueError as error:
        args.parser.error(str(error))
    print(f"simwire replay {args.file}  (scenario: {result.spec.repro()})")
    print_scenario(result)
    _write_trace(args, result.kernel_result.trace)
    matches = not recorded_hash or recorded_hash == result.trace_hash
    if not matches:
        print(f"trace hash MISMATCH: recorded {recorded_hash}, replayed {result.trace_hash}")
    return 0 if matches and result.clean else 1


def _write_trace(args: argparse.Namespace, trace: Any) -> None:
    if args.jsonl:
        trace.write_jsonl(args.jsonl)
    if args.chrome:
        trace.write_chrome(args.chrome)
    if args.mermaid:
        with open(args.mermaid, "w") as out:
            out.write(trace.to_mermaid())
