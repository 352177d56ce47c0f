"""``simwire replay FILE``: run a recorded schedule again and check it reproduces."""

from __future__ import annotations

import argparse
from typing import Any

from sim.cli.options import output_file, utf8_file


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "replay",
        help="replay a schedule file exactly (same choices, same trace hash)",
        description="Replay the run recorded in FILE (JSON: target, spec, choices, trace_hash; "
                    "docs/targets.md) and say whether the trace hash matches. Exit 0 when it matches and the "
                    "run is clean, 1 on a hash mismatch, an error or a violation, 2 on usage errors.",
    )
    parser.add_argument("file", type=utf8_file, metavar="FILE", help="schedule file")
    parser.add_argument("--jsonl", type=output_file, metavar="OUT", help="write the trace as JSON lines")
    parser.add_argument("--chrome", type=output_file, metavar="OUT",
                        help="write a Chrome/Perfetto trace of the virtual timeline")
    parser.add_argument("--mermaid", type=output_file, metavar="OUT",
                        help="write the interleaving as a Mermaid sequence diagram")
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
    return _verdict(recorded.trace_hash, result.trace_hash, clean=result.ok)


def _replay_scenario(args: argparse.Namespace, recorded: Any) -> int:
    """A session-target schedule (written by ``simwire run --schedule-out``, explore or shrink)."""
    from sim.cli.report import print_scenario
    from sim.harness.shrinking import replay_scenario

    spec = recorded.scenario_spec(args.file)
    print(f"simwire replay {args.file}  (scenario: {spec.repro()})")
    print(spec.knobs_line(), flush=True)
    traced = True if args.jsonl or args.chrome or args.mermaid else None  # else recovered only if read
    result, recorded_hash = replay_scenario(recorded, args.file, trace=traced)
    print_scenario(result, verdict=False)
    _write_trace(args, result.kernel_result.trace)
    return _verdict(recorded_hash, result.trace_hash, clean=result.clean)


def _verdict(recorded: str, replayed: str, *, clean: bool) -> int:
    """One last line that agrees with the hash line: a replay that does not reproduce the
    recorded run says so first, whatever the replayed run's own checks found."""
    if not recorded:
        print(f"trace hash {replayed} (the file records none to compare)")
    elif recorded == replayed:
        print(f"trace hash matches: {replayed}")
    else:
        print(f"trace hash MISMATCH: recorded {recorded}, replayed {replayed}")
        print("verdict: NOT reproduced (the replay took another path than the recorded run)")
        return 1
    print("verdict: reproduced, clean" if clean else "verdict: reproduced, with violations (above)")
    return 0 if clean else 1


def _write_trace(args: argparse.Namespace, trace: Any) -> None:
    if args.jsonl:
        trace.write_jsonl(args.jsonl)
    if args.chrome:
        trace.write_chrome(args.chrome)
    if args.mermaid:
        with open(args.mermaid, "w") as out:
            out.write(trace.to_mermaid())
