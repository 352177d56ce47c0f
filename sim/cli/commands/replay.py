"""``simwire replay FILE``: run a recorded schedule again and check it reproduces."""

from __future__ import annotations

import argparse
from typing import Any


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "replay",
        help="replay a schedule file exactly (same choices, same trace hash)",
        description="Replay the run recorded in FILE (JSON: target, spec, choices, trace_hash; "
                    "docs/targets.md) and say whether the trace hash matches. Exit 0 when it matches and the "
                    "run is clean, 1 on a hash mismatch, an error or a violation, 2 on usage errors.",
    )
    parser.add_argument("file", metavar="FILE", help="schedule file")
    parser.add_argument("--jsonl", metavar="OUT", help="write the trace as JSON lines")
    parser.add_argument("--chrome", metavar="OUT", help="write a Chrome/Perfetto trace of the virtual timeline")
    parser.add_argument("--mermaid", metavar="OUT", help="write the interleaving as a Mermaid sequence diagram")
    parser.set_defaults(func=main, parser=parser)


def main(args: argparse.Namespace) -> int:
    from sim.harness.schedule_file import load_or_usage_error, program_or_usage_error
    from sim.kernel import run

    recorded = load_or_usage_error(args.file, args.parser)
    if not recorded.is_program:
        return _replay_scenario(args, recorded)
    factory = program_or_usage_error(recorded, args.file, args.parser)
    result = run(factory(), **recorded.run_options())
    print(f"simwire replay {args.file}  (target {recorded.target})")
    print(result.render())
    _write_trace(args, result.trace)
    matches = not recorded.trace_hash or recorded.trace_hash == result.trace_hash
    if not matches:
        print(f"trace hash MISMATCH: recorded {recorded.trace_hash}, replayed {result.trace_hash}")
    return 0 if matches and result.ok else 1


def _replay_scenario(args: argparse.Namespace, recorded: Any) -> int:
    """A session-target schedule (written by ``simwire run --schedule-out``, explore or shrink)."""
    from sim.cli.report import print_scenario
    from sim.harness.shrinking import replay_scenario

    spec = recorded.scenario_spec(args.file)
    print(f"simwire replay {args.file}  (scenario: {spec.repro()})")
    print(spec.knobs_line(), flush=True)
    result, recorded_hash = replay_scenario(recorded, args.file)
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
