"""One module per ``simwire`` subcommand.

Each module defines ``register(subparsers)``, which adds its parser and sets
``func=<callable(args) -> int>`` as the parser default.  :mod:`sim.cli` discovers the
modules here, so adding a command is adding a file.
"""
