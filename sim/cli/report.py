"""Human-readable output of runs: knobs first, figures, violations, the repro command last."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from rich.console import Console

from simwire.violation import Violation

console = Console(highlight=False, soft_wrap=True)


def print_violations(violations: Sequence[Violation]) -> None:
    for violation in violations:
        style = "red" if str(violation.severity) == "error" else "yellow"
        console.print(violation.render(), style=style, markup=False)
        console.print()


def aligned(rows: Sequence[tuple[str, str]], indent: str = "") -> str:
    """``name  value`` lines with the values in one column: plain text, so nothing is cut at the
    terminal's width (a trace hash, a rule id) and no line ends in padding."""
    width = max((len(name) for name, _ in rows), default=0)
    return "\n".join(f"{indent}{name.ljust(width)}  {value}".rstrip() for name, value in rows)


def data_span(summary: dict[str, Any]) -> str:
    """The market-data time a run covered: in a backtest the virtual clock does not move (the
    data is replayed as fast as it is read), so this is the time that tells what was tested."""
    first, last = summary.get("data_start"), summary.get("data_end")
    if not first or not last:
        return ""
    from datetime import datetime

    seconds = (datetime.fromisoformat(last) - datetime.fromisoformat(first)).total_seconds()
    from sim.cli.progress import format_duration

    return f"{first} .. {last} ({format_duration(seconds)})"


def print_scenario(result: Any, *, verdict: bool = True) -> None:
    """The figures of a run; its knobs line (``spec.knobs_line()``) is printed before it starts.
    ``verdict=False`` leaves the last line (clean / violations) to the caller, as replay does."""
    summary = result.summary
    if "ticks" not in summary:  # a target other than trading: its events and rows
        _print_generic(result, verdict=verdict)
        return
    signals = ", ".join(f"{k}={v}" for k, v in summary.get("signals_by_type", {}).items()) or "none"
    rows = [
        ("ticks", f"{summary['ticks']:,}"),
        ("signals", f"{summary['signals']:,} ({signals})"),
        ("orders / fills / rejections", f"{summary['orders']:,} / {summary['fills']:,} / {summary['rejections']:,}"),
        ("positions opened / closed", f"{summary['positions_opened']:,} / {summary['positions_closed']:,}"),
        ("realized PnL / fees", f"{summary['realized_pnl']:.4f} / {summary['fees']:.4f}"),
        ("rows", ", ".join(f"{k}={v}" for k, v in summary.get("rows", {}).items())),
        ("market data", data_span(summary) or "-"),
        ("statements", ", ".join(f"{k}={v}" for k, v in summary.get("statements", {}).items()
                                 if not k.startswith("SELECT")) or "none"),
        ("virtual / wall seconds", f"{summary['virtual_seconds']:.1f} / {summary['wall_seconds']:.2f}"
                                   f" ({summary['ticks'] / max(summary['wall_seconds'], 1e-9):,.0f} ticks/s)"),
        ("trace hash", result.trace_hash),
    ]
    if summary.get("crashes"):  # a run with process faults: each crash, then a recovering restart
        rows.insert(-2, ("crashes / restarts", f"{summary['crashes']} / {summary['crashes']}"))
    console.print(aligned(rows), markup=False)
    _print_verdict(result, verdict=verdict)


def _print_verdict(result: Any, *, verdict: bool = True) -> None:
    if result.violations:
        console.print(f"\n{len(result.violations)} violation(s):\n", style="bold red")
        print_violations(result.violations)
        console.print(f"reproduce with: {result.spec.repro()}", markup=False)
    elif verdict:
        console.print("clean: no violations", style="bold green")


def _print_generic(result: Any, *, verdict: bool = True) -> None:
    summary = result.summary
    rows = [
        ("events", ", ".join(f"{topic}={n:,}" for topic, n in summary.get("events", {}).items()) or "none"),
        ("rows", ", ".join(f"{k}={v:,}" for k, v in summary.get("rows", {}).items()) or "none"),
        ("virtual / wall seconds", f"{summary.get('virtual_seconds', 0):.1f} / {summary.get('wall_seconds', 0):.2f}"),
        ("trace hash", result.trace_hash),
    ]
    if summary.get("crashes"):  # a run with process faults: each crash, then a recovering restart
        rows.insert(-2, ("crashes / restarts", f"{summary['crashes']} / {summary['crashes']}"))
    console.print(aligned(rows), markup=False)
    _print_verdict(result, verdict=verdict)
