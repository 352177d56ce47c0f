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
    from sim.kernel import run
    from sim.kernel.schedule_file import load_or_usage_error

    recorded, factory = load_or_usage_error(args.file, args.parser)
    result = run(factory(), **recorded.run_options())
    print(f"simwire replay {args.file}  (target {recorded.target})")
    print(result.render())
    if args.jsonl:
        result.trace.write_jsonl(args.jsonl)
    if args.chrome:
        result.trace.write_chrome(args.chrome)
    if args.mermaid:
        with open(args.mermaid, "w") as out:
            out.write(result.trace.to_mermaid())
    matches = not recorded.trace_hash or recorded.trace_hash == result.trace_hash
    if not matches:
        print(f"trace hash MISMATCH: recorded {recorded.trace_hash}, replayed {result.trace_hash}")
    return 0 if matches and result.ok else 1
