"""Human-readable output of runs: knobs first, figures, violations, the repro command last."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from rich.console import Console
from rich.table import Table

from simwire.violation import Violation

console = Console(highlight=False, soft_wrap=True)


def print_violations(violations: Sequence[Violation]) -> None:
    for violation in violations:
        style = "red" if str(violation.severity) == "error" else "yellow"
        console.print(violation.render(), style=style, markup=False)
        console.print()


def print_scenario(result: Any) -> None:
    """The figures of a run; its knobs line (``spec.knobs_line()``) is printed before it starts."""
    summary = result.summary
    if "ticks" not in summary:  # a target other than trading: its events and rows
        _print_generic(result)
        return
    table = Table(show_header=False, box=None, pad_edge=False)
    table.add_column(style="bold")
    table.add_column()
    signals = ", ".join(f"{k}={v}" for k, v in summary.get("signals_by_type", {}).items()) or "none"
    rows = [
        ("ticks", f"{summary['ticks']:,}"),
        ("signals", f"{summary['signals']:,} ({signals})"),
        ("orders / fills / rejections", f"{summary['orders']:,} / {summary['fills']:,} / {summary['rejections']:,}"),
        ("positions opened / closed", f"{summary['positions_opened']:,} / {summary['positions_closed']:,}"),
        ("realized PnL / fees", f"{summary['realized_pnl']:.4f} / {summary['fees']:.4f}"),
        ("rows", ", ".join(f"{k}={v}" for k, v in summary.get("rows", {}).items())),
        ("virtual / wall seconds", f"{summary['virtual_seconds']:.1f} / {summary['wall_seconds']:.2f}"
                                   f" ({summary['ticks'] / max(summary['wall_seconds'], 1e-9):,.0f} ticks/s)"),
        ("trace hash", result.trace_hash),
    ]
    for name, value in rows:
        table.add_row(name, value)
    console.print(table)
    _print_verdict(result)


def _print_verdict(result: Any) -> None:
    if result.violations:
        console.print(f"\n{len(result.violations)} violation(s):\n", style="bold red")
        print_violations(result.violations)
        console.print(f"reproduce with: {result.spec.repro()}", markup=False)
    else:
        console.print("clean: no violations", style="bold green")


def _print_generic(result: Any) -> None:
    summary = result.summary
    events = ", ".join(f"{topic}={n:,}" for topic, n in summary.get("events", {}).items()) or "none"
    console.print(f"events  {events}", markup=False)
    console.print(f"rows    {', '.join(f'{k}={v:,}' for k, v in summary.get('rows', {}).items()) or 'none'}",
                  markup=False)
    console.print(f"virtual / wall seconds  {summary.get('virtual_seconds', 0):.1f} / "
                  f"{summary.get('wall_seconds', 0):.2f}", markup=False)
    console.print(f"trace hash  {result.trace_hash}", markup=False)
    _print_verdict(result)
