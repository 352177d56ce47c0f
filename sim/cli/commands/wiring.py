"""``simwire wiring``: the wiring graph of a code base, as a Mermaid flowchart or JSON.

Components -> topics -> components (edges labelled with the subscriber's role), the tables
each component writes, and, in red, the consumers the registry requires in the chosen mode
that no reachable component provides.
"""

from __future__ import annotations

import argparse
import json
from typing import Any

from sim.cli.commands.check import USAGE, add_target_options, resolve_target
from sim.harness.spec import MODES


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "wiring",
        help="print the publish/subscribe wiring as a Mermaid flowchart (or JSON)",
        description="Scan a code base's source and print its wiring for one mode: components -> topics -> "
                    "components, tables written, missing required consumers in red. Paste the output into "
                    "any Mermaid renderer (GitHub renders ```mermaid blocks).",
    )
    parser.add_argument("--mode", choices=MODES, default="backtest",
                        help="whose required consumers to check (default: %(default)s)")
    add_target_options(parser)
    parser.add_argument("--json", action="store_true", help="print the graph as JSON instead of Mermaid")
    parser.set_defaults(func=main)


def main(args: argparse.Namespace) -> int:
    from contracts.scanner import build_wiring, render_mermaid

    target = resolve_target(args, "wiring")
    if target is None:
        return USAGE
    graph = build_wiring(target.scan(), target.registry)
    if args.json:
        print(json.dumps(graph.for_mode(args.mode).to_json(), indent=2, sort_keys=True))
    else:
        print(render_mermaid(graph, args.mode), end="")
    return 0
