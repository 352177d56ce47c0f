"""``simwire init``: draft a registry module and a ``[tool.simwire]`` section for a project.

Exit 0 after writing, 2 on usage errors (no such directory, a file that would be overwritten).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

USAGE = 2


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "init",
        help="draft a registry and [tool.simwire] configuration from the code's publish/subscribe sites",
        description="Read a project's source (never importing it) and write simwire_registry.py (topics, payload "
                    "fields, producers and consumers as the code has them) and a [tool.simwire] section "
                    "(in pyproject.toml, else simwire.toml) with its paths, candidate ports and migrations. "
                    "Everything a person must decide is marked TODO. Then run `simwire check`.",
    )
    parser.add_argument("--path", type=Path, default=Path("."), help="the project's root (default: .)")
    parser.add_argument("--force", action="store_true", help="overwrite simwire_registry.py / simwire.toml")
    parser.add_argument("--stdout", action="store_true", help="print the drafts instead of writing them")
    parser.set_defaults(func=main)


def main(args: argparse.Namespace) -> int:
    from contracts.draft import draft, write_draft

    if not args.path.is_dir():
        print(f"simwire init: error: --path {args.path}: not a directory", file=sys.stderr)
        return USAGE
    result = draft(args.path)
    if args.stdout:
        print(result.registry)
        print(result.config)
        return 0
    try:
        written = write_draft(args.path.resolve(), result, force=args.force)
    except FileExistsError as error:
        print(f"simwire init: error: {error}", file=sys.stderr)
        return USAGE
    for path in written:
        print(f"wrote {path}")
    print("next: review the TODOs, then `simwire check` (and `simwire check --baseline-write` to adopt "
          "today's findings)")
    return 0
