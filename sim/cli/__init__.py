"""The ``simwire`` command line.

Exit codes, for every subcommand: 0 clean, 1 violations or failures found, 2 usage error
(bad flag or value; argparse prints the message).
"""

from __future__ import annotations

import argparse
import importlib
import pkgutil
import sys
from collections.abc import Sequence

import sim.cli.commands
from sim.harness.spec import SpecError


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="simwire",
        description="Deterministic simulation and contract verification for async trading systems.",
    )
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    subparsers.required = True
    for module_info in sorted(pkgutil.iter_modules(sim.cli.commands.__path__), key=lambda m: m.name):
        module = importlib.import_module(f"sim.cli.commands.{module_info.name}")
        module.register(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except SpecError as error:  # a scenario knob out of range, wherever it was built: a usage error
        print(f"simwire {args.command}: error: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
