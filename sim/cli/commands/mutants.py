"""``simwire mutants``: put each catalogued defect back into a copy of the code and check it is caught."""

from __future__ import annotations

import argparse
import dataclasses
import difflib
import json
import sys
from pathlib import Path
from typing import Any

from sim.cli.options import existing_dir, output_file, positive_int


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "mutants",
        help="apply each mutant of a catalogue to a copy of the code and check simwire detects it",
        description="Apply each mutant of a catalogue (default: the built-in catalogue of the seed report's "
                    "defects and more) to a fresh temporary copy of the code, run the probes its entry names, "
                    "and report whether a rule naming its cause fired. A stale mutant (its change no longer "
                    "applies) counts as a failure. Exit 0 only when every mutant is detected.",
    )
    parser.add_argument("--catalog", type=Path, default=None, metavar="DIR",
                        help="catalogue directory (default: the built-in one); format in docs/catalogue.md")
    parser.add_argument("--only", action="append", default=[], metavar="ID",
                        help="run only this mutant (repeatable)")
    parser.add_argument("--root", type=existing_dir, default=None, metavar="DIR",
                        help="project root holding the code to mutate (default: where `system` is installed from)")
    parser.add_argument("--target", default=None, metavar="MODULE:ATTR",
                        help="the target of run/explore probes that name none (default: the catalogue's "
                             "`target`, else trading; see docs/targets.md)")
    parser.add_argument("--workers", type=positive_int, default=2,
                        help="mutants evaluated at once (default: %(default)s)")
    parser.add_argument("--junit-xml", type=output_file, metavar="FILE",
                        help="write a JUnit XML report: one case per mutant (a miss fails), and the control")
    parser.add_argument("--json", action="store_true",
                        help='print {"mutants": [{"id", "defect", "family", "detected", "detected_by", "rules", '
                             '"snapshot", "tests", "seeds", "seconds"}], '
                             '"detected": n, "total": n}')
    parser.set_defaults(func=main, parser=parser)


def main(args: argparse.Namespace) -> int:
    from sim.harness import mutants

    try:
        catalogue = mutants.load_catalogue(args.catalog or mutants.builtin_catalogue_dir())
        _check_only(args, [m.id for m in catalogue.mutants])
        if args.target:
            catalogue = dataclasses.replace(catalogue, target=args.target)
        root = args.root or _default_root(catalogue.code)
        progress = None if args.json else _announce
        results = mutants.run_catalogue(catalogue, root, only=args.only, workers=args.workers, on_result=progress)
        control = mutants.run_control(catalogue, root, only=args.only)
    except mutants.CatalogueError as error:
        print(f"simwire mutants: {error}", file=sys.stderr)
        return 2
    detected = sum(r.detected for r in results)
    if args.junit_xml:
        _write_junit(args.junit_xml, results, control)
    if args.json:
        print(json.dumps({"mutants": [r.to_json() for r in results], "detected": detected,
                          "total": len(results), "control": control.to_json()}, indent=2, sort_keys=True))
    else:
        _print_table(results)
        _print_control(control)
    return 0 if detected == len(results) and control.clean else 1


def _check_only(args: argparse.Namespace, ids: list[str]) -> None:
    """``--only M13`` when the id is ``M13-fee-not-charged``: a usage error that suggests it."""
    from sim.harness.mutants import CatalogueError

    for wanted in args.only:
        if wanted in ids:
            continue
        close = [i for i in ids if i.startswith(wanted + "-") or i.startswith(wanted)]
        if not close:
            close = difflib.get_close_matches(wanted, ids, n=3)
        hint = f"; did you mean {' or '.join(close)}?" if close else "; the ids are listed by `simwire mutants --json`"
        raise CatalogueError(f"--only {wanted}: no mutant has this id{hint}")


def _write_junit(path: Path, results: list[Any], control: Any) -> None:
    from sim.cli.junit import Case, write_junit

    cases = [Case(r.id, "simwire.mutants", r.seconds,
                  "" if r.detected else f"{r.status}: {', '.join(r.rules) or r.detail}",
                  "" if r.detected else f"mutant {r.id} was not detected; run: simwire mutants --only {r.id}")
             for r in results]
    cases.append(Case("control (unmutated code fires nothing)", "simwire.mutants", 0.0,
                      "" if control.clean else "probes fired rules on the unmutated code",
                      "" if control.clean else "\n".join(
                          [f"{probe}: {', '.join(rules)}" for probe, rules in control.rules.items() if rules]
                          + list(control.errors))))
    write_junit(path, "simwire mutants", cases)


def _print_control(control: Any) -> None:
    from sim.cli.report import console

    if control.clean:
        console.print(f"control: the {len(control.rules)} probes fire nothing on the unmutated code", style="green")
        return
    console.print("control FAILED: on the unmutated code, probes fired rules (so these detections prove nothing):",
                  style="bold red")
    for probe, rules in control.rules.items():
        if rules:
            console.print(f"  {probe}: {', '.join(rules)}", markup=False)
    for error in control.errors:
        console.print(f"  {error}", markup=False)


def _default_root(code: str) -> Path:
    import importlib

    package = importlib.import_module(code)
    return Path(package.__file__).resolve().parent.parent


def _announce(result: Any) -> None:
    print(f"  {result.status:8} {result.id} ({result.seconds:.1f} s)", file=sys.stderr)


def _print_table(results: list[Any]) -> None:
    """Plain columns, never cut at the terminal's width (ids and rule names are what a reader
    copies into --only and grep), no trailing padding."""
    from sim.cli.report import console

    rows = [("id", "defect", "detected", "seconds", "seeds", "rules fired")]
    for r in results:
        rules = ", ".join(r.rules) or r.detail
        if r.detected_by == "snapshot":
            rules = f"behaviour differs from the snapshot; {rules}"
        if r.tests is not None:
            rules += f" | tests: {', '.join(r.tests['failed']) or 'none failed'}"
        rows.append((r.id, str(r.defect or "-"), "yes" if r.detected else str(r.status), f"{r.seconds:.1f}",
                     str(r.seeds or "-"), rules))
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]) - 1)]
    for index, row in enumerate(rows):
        line = "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=False)) + "  " + row[-1]
        detected = index == 0 or results[index - 1].detected
        console.print(line.rstrip(), style=None if detected else "red", markup=False)
    console.print(f"{sum(r.detected for r in results)}/{len(results)} detected")
