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
    parser.add_argument("--mode", default=None,
                        help="whose required consumers to check: one of the registry's modes "
                             f"({', '.join(MODES)} for the built-in one; default: the registry's first)")
    add_target_options(parser)
    parser.add_argument("--json", action="store_true", help="print the graph as JSON instead of Mermaid")
    parser.set_defaults(func=main, parser=parser)


def main(args: argparse.Namespace) -> int:
    from contracts.scanner import build_wiring, render_mermaid

    target = resolve_target(args, "wiring")
    if target is None:
        return USAGE
    modes = tuple(target.registry.modes)
    mode = args.mode or (modes[0] if modes else "backtest")
    if modes and mode not in modes:  # the registry names its modes; a target of your own has its own
        args.parser.error(f"argument --mode: {mode!r} is not a mode of the registry; choose one of "
                          f"{', '.join(modes)}")
    graph = build_wiring(target.scan(), target.registry)
    if args.json:
        print(json.dumps(graph.for_mode(mode).to_json(), indent=2, sort_keys=True))
    else:
        print(render_mermaid(graph, mode), end="")
    return 0
