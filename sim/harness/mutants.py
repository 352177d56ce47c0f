"""Mutation catalogues: put a known defect back into a copy of the code, and see simwire catch it.

A catalogue is a directory of small TOML files, one mutant each (format in
``docs/catalogue.md``).  Each mutant names the code change (exact text to find and its
replacement, so a patch that no longer applies is *stale*, not silently skipped), the
probes to run on the mutated copy (``check``, ``run`` or ``explore`` with their flags), and
the rules that name its cause.  A mutant is detected when one of those rules fires: a crash
or an unrelated rule does not count.  Two more probe kinds measure beside the rules:
``snapshot`` (a run compared with a committed behaviour snapshot, ``sim/harness/snapshot.py``: a
mutant whose behaviour differs is detected, reported as ``detected_by: snapshot``) and
``pytest`` (chosen tests of the project run on the mutated copy: which of them fail is
reported as ``tests``, never counted as a detection by simwire).

Every probe runs in a subprocess with the mutated copy first on ``PYTHONPATH``, so the
mutant never touches the working tree and mutants can run side by side.
"""

from __future__ import annotations

import concurrent.futures
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import tomllib
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

PROBE_KINDS = ("check", "run", "explore", "snapshot", "pytest")
PROBE_TIMEOUT = 180.0
"""Wall seconds a probe may take before the mutant is reported as an error (a hang is a finding
about the harness, never a silent wait)."""


class CatalogueError(Exception):
    """A catalogue file is malformed; the message names the file and the field."""


class StaleMutant(Exception):
    """The mutant's change no longer applies to the code."""


@dataclass(frozen=True)
class Change:
    file: str
    find: str
    replace: str
    count: int = 1


@dataclass(frozen=True)
class Probe:
    kind: str
    args: tuple[str, ...] = ()
    """Flags of the simwire command; for ``pytest``, test node ids relative to the project root."""
    file: str = ""
    """``snapshot`` only: the committed snapshot, relative to the catalogue directory."""
    env: tuple[tuple[str, str], ...] = ()
    """Environment variables set for the probe (e.g. ``TZ``: a defect that shows only off UTC)."""


@dataclass(frozen=True)
class Mutant:
    id: str
    description: str
    family: str
    defect: int | None
    changes: tuple[Change, ...]
    probes: tuple[Probe, ...]
    expect: tuple[str, ...]
    source: str


@dataclass(frozen=True)
class Catalogue:
    root: Path
    code: str
    """The package directory mutated, relative to the project root (e.g. ``system``)."""
    mutants: tuple[Mutant, ...]
    callers: tuple[str, ...] = ()
    """Directories (relative to the project root) whose calls count for ``check`` probes, e.g. the
    entry points that build the system (``simwire check --callers``)."""
    registry: str = ""
    """The event registry ``check`` probes judge the copy by (``simwire check --registry``): a copy
    of the code is not where the project's configuration points, so the catalogue names it."""
    target: str | None = None
    """The ``--target`` of ``run``/``explore``/``snapshot`` probes that name none (``docs/targets.md``)."""
    baseline: tuple[Change, ...] = ()
    """Changes applied to every copy — the control and each mutant, before its own changes: the
    code as the catalogue's mutants start from (e.g. an example with its planted defects fixed)."""


@dataclass
class MutantResult:
    id: str
    defect: int | None
    detected: bool
    rules: list[str]
    seeds: int | None
    seconds: float
    status: str = "detected"
    """detected | missed | stale | error"""
    detail: str = ""
    probes: list[dict[str, Any]] = field(default_factory=list)
    family: str = "other"
    detected_by: str | None = None
    """``rule`` (an expected rule fired) or ``snapshot`` (behaviour differs from the committed one)."""
    snapshot: str | None = None
    """``differs`` | ``same`` when a snapshot probe ran."""
    tests: dict[str, Any] | None = None
    """What the ``pytest`` probes saw: ``{"caught": bool, "failed": [node ids], "ran": [node ids]}``."""

    def to_json(self) -> dict[str, Any]:
        return {"id": self.id, "defect": self.defect, "family": self.family, "detected": self.detected,
                "detected_by": self.detected_by, "rules": self.rules, "snapshot": self.snapshot,
                "tests": self.tests, "seeds": self.seeds, "seconds": round(self.seconds, 2),
                "status": self.status, "detail": self.detail}


def builtin_catalogue_dir() -> Path:
    return Path(__file__).parent.parent / "catalogue"


# --- loading ----------------------------------------------------------------------------------


def load_catalogue(directory: Path | str) -> Catalogue:
    root = Path(directory)
    if not root.is_dir():
        raise CatalogueError(f"{root}: not a directory")
    settings_file = root / "catalogue.toml"
    settings = _read_toml(settings_file) if settings_file.exists() else {}
    code = settings.get("code", "system")
    callers = settings.get("callers", [])
    registry = settings.get("registry", "")
    target = settings.get("target")
    baseline = _parse_changes(settings.get("baseline", []), f"{settings_file}: baseline")
    if not isinstance(code, str) or not isinstance(callers, list) or not all(isinstance(c, str) for c in callers):
        raise CatalogueError(f"{settings_file}: code must be a string and callers a list of strings")
    if not isinstance(registry, str):
        raise CatalogueError(f"{settings_file}: registry must be a string like 'my_pkg.events:REGISTRY'")
    if target is not None and not isinstance(target, str):
        raise CatalogueError(f"{settings_file}: target must be a string like 'examples.tally.target:TARGET'")
    files = sorted(p for p in root.glob("*.toml") if p.name != "catalogue.toml")
    if not files:
        raise CatalogueError(f"{root}: no mutant files (*.toml)")
    mutants = tuple(_parse_mutant(path, _read_toml(path)) for path in files)
    seen: dict[str, str] = {}
    for mutant in mutants:
        if mutant.id in seen:
            raise CatalogueError(f"{mutant.source}: id {mutant.id!r} already used by {seen[mutant.id]}")
        seen[mutant.id] = mutant.source
    return Catalogue(root, code, mutants, tuple(callers), registry, target, baseline)


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as error:
        raise CatalogueError(f"{path}: not valid TOML: {error}") from None


def _require(data: dict[str, Any], key: str, kind: type, where: str) -> Any:
    if key not in data:
        raise CatalogueError(f"{where}: missing field {key!r}")
    value = data[key]
    if not isinstance(value, kind):
        raise CatalogueError(f"{where}: field {key!r} must be {kind.__name__}, got {type(value).__name__}")
    return value


def _parse_changes(raw_changes: Any, where: str) -> tuple[Change, ...]:
    """``[[change]]`` (a mutant) or ``[[baseline]]`` (catalogue.toml) tables: file, find, replace, count."""
    if not isinstance(raw_changes, list):
        raise CatalogueError(f"{where}: must be a list of tables (file, find, replace)")
    changes = []
    for i, raw in enumerate(raw_changes):
        at = f"{where}[{i}]"
        if not isinstance(raw, dict):
            raise CatalogueError(f"{at}: must be a table (file, find, replace)")
        count = raw.get("count", 1)
        if not isinstance(count, int) or count < 1:
            raise CatalogueError(f"{at}: count must be a whole number >= 1")
        changes.append(Change(_require(raw, "file", str, at), _require(raw, "find", str, at),
                              _require(raw, "replace", str, at), count))
    return tuple(changes)


def _parse_mutant(path: Path, data: dict[str, Any]) -> Mutant:
    where = str(path)
    mutant_id = _require(data, "id", str, where)
    description = _require(data, "description", str, where)
    expect = _require(data, "expect", list, where)
    if not expect or not all(isinstance(r, str) for r in expect):
        raise CatalogueError(f"{where}: expect must list at least one rule id")
    changes = _parse_changes(_require(data, "change", list, where), f"{where}: change")
    probes = []
    for i, raw in enumerate(_require(data, "probe", list, where)):
        at = f"{where}: probe[{i}]"
        kind = _require(raw, "kind", str, at)
        if kind not in PROBE_KINDS:
            raise CatalogueError(f"{at}: kind must be one of {', '.join(PROBE_KINDS)}, got {kind!r}")
        args = raw.get("args", [])
        if not isinstance(args, list) or not all(isinstance(a, str) for a in args):
            raise CatalogueError(f"{at}: args must be a list of strings")
        file = raw.get("file", "")
        if kind == "snapshot" and (not isinstance(file, str) or not file):
            raise CatalogueError(f"{at}: a snapshot probe needs file = the committed snapshot (relative to "
                                 f"the catalogue directory)")
        if kind == "pytest" and not args:
            raise CatalogueError(f"{at}: a pytest probe needs args = the test node ids to run")
        env = raw.get("env", {})
        if not isinstance(env, dict) or not all(isinstance(v, str) for v in env.values()):
            raise CatalogueError(f"{at}: env must be a table of strings, e.g. env = {{ TZ = \"Asia/Kolkata\" }}")
        probes.append(Probe(kind, tuple(args), file if isinstance(file, str) else "", tuple(sorted(env.items()))))
    defect = data.get("defect")
    if defect is not None and not isinstance(defect, int):
        raise CatalogueError(f"{where}: defect must be the seed report's defect number (1-8) or absent")
    return Mutant(
        id=mutant_id, description=description,
        family=data.get("family", "other"), defect=defect, changes=tuple(changes), probes=tuple(probes),
        expect=tuple(expect), source=where,
    )


# --- applying -----------------------------------------------------------------------------------


def apply_mutant(mutant: Mutant, project_root: Path, code: str, workdir: Path,
                 baseline: Sequence[Change] = ()) -> Path:
    """Copy ``project_root/code`` into ``workdir`` and apply the catalogue's ``baseline``, then the
    mutant's changes there."""
    target = copy_code(project_root, code, workdir, baseline)
    apply_changes(mutant.changes, workdir)
    return target


def copy_code(project_root: Path, code: str, workdir: Path, baseline: Sequence[Change] = ()) -> Path:
    """The copy every probe runs on: ``project_root/code`` in ``workdir``, the baseline applied."""
    target = workdir / code
    shutil.copytree(project_root / code, target, ignore=shutil.ignore_patterns("__pycache__"))
    apply_changes(baseline, workdir, what="baseline: ")
    return target


def apply_changes(changes: Sequence[Change], workdir: Path, *, what: str = "") -> None:
    """Each change's ``find`` must occur exactly ``count`` times, or the copy is :class:`StaleMutant`."""
    for change in changes:
        path = workdir / change.file
        if not path.is_file():
            raise StaleMutant(f"{what}{change.file} does not exist")
        text = path.read_text(encoding="utf-8")
        found = text.count(change.find)
        if found != change.count:
            raise StaleMutant(f"{what}{change.file}: expected the text to change {change.count} time(s), found "
                              f"{found}: {change.find.strip().splitlines()[0][:80]!r}")
        path.write_text(text.replace(change.find, change.replace), encoding="utf-8")


# --- evaluating ---------------------------------------------------------------------------------


def evaluate(mutant: Mutant, catalogue: Catalogue, project_root: Path) -> MutantResult:
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix=f"simwire-{mutant.id}-") as tmp:
        workdir = Path(tmp)
        try:
            code_dir = apply_mutant(mutant, project_root, catalogue.code, workdir, catalogue.baseline)
        except StaleMutant as error:
            return MutantResult(mutant.id, mutant.defect, False, [], None, time.perf_counter() - started,
                                status="stale", detail=str(error), family=mutant.family)
        result = MutantResult(mutant.id, mutant.defect, False, [], None, 0.0, status="missed", family=mutant.family)
        fired: set[str] = set()
        context = _ProbeContext(workdir, code_dir, _callers(catalogue, project_root), catalogue.root, project_root,
                                catalogue.registry, catalogue.target)
        for probe in mutant.probes:
            if result.detected and probe.kind != "pytest":
                continue  # the suite is measured whatever simwire found; simwire's own probes stop at a detection
            outcome = _run_probe(probe, context)
            result.probes.append(outcome)
            if probe.kind == "pytest":  # measured beside simwire: its failure to run never hides a detection
                tests = outcome.get("tests") or {"caught": False, "failed": [], "ran": list(probe.args),
                                                 "error": outcome["error"]}
                result.tests = _merge_tests(result.tests, tests)
                continue
            if outcome.get("error"):
                result.status, result.detail = "error", outcome["error"]
                break
            fired |= set(outcome["rules"])
            if probe.kind == "snapshot":
                result.snapshot = "same" if outcome["snapshot"]["matches"] else "differs"
            if fired & set(mutant.expect):
                result.detected, result.detected_by, result.seeds = True, "rule", outcome.get("seeds")
            elif result.snapshot == "differs":
                result.detected, result.detected_by, result.seeds = True, "snapshot", 1
    result.rules = sorted(fired)
    result.seconds = time.perf_counter() - started
    if result.status != "error":
        result.status = "detected" if result.detected else "missed"
        result.detail = "" if result.detected else f"expected one of {', '.join(mutant.expect)}"
    return result


def _merge_tests(seen: dict[str, Any] | None, new: dict[str, Any]) -> dict[str, Any]:
    if seen is None:
        return new
    merged = {"caught": seen["caught"] or new["caught"], "failed": seen["failed"] + new["failed"],
              "ran": seen["ran"] + new["ran"]}
    errors = [e for e in (seen.get("error"), new.get("error")) if e]
    return {**merged, "error": "; ".join(errors)} if errors else merged


def _callers(catalogue: Catalogue, project_root: Path) -> list[Path]:
    return [project_root / caller for caller in catalogue.callers]


@dataclass(frozen=True)
class _ProbeContext:
    """Where a probe runs: the copy (mutated or not) and what the probe reads from the catalogue."""

    workdir: Path
    code_dir: Path
    callers: Sequence[Path]
    catalogue_dir: Path
    project_root: Path
    registry: str = ""
    target: str | None = None

    @property
    def env(self) -> dict[str, str]:
        return dict(os.environ, PYTHONPATH=os.pathsep.join(
            filter(None, [str(self.workdir), os.environ.get("PYTHONPATH")])))

    def env_of(self, probe: Probe) -> dict[str, str]:
        return {**self.env, **dict(probe.env)}


def _run_probe(probe: Probe, context: _ProbeContext) -> dict[str, Any]:
    if probe.kind == "pytest":
        return _run_tests(probe, context)
    kind = "run" if probe.kind == "snapshot" else probe.kind
    command = [sys.executable, "-m", "sim", kind, *probe.args, "--json"]
    if context.target and kind in ("run", "explore") and "--target" not in probe.args:
        command += ["--target", context.target]
    if probe.kind == "check" and "--path" not in probe.args:
        command += ["--path", str(context.code_dir)]
        if context.registry and "--registry" not in probe.args:
            command += ["--registry", context.registry]
        for caller in context.callers:
            command += ["--callers", str(caller)]
    if probe.kind == "explore":
        command += ["--first-failure", "--no-shrink"]
    if probe.kind == "snapshot":
        command += ["--expect-snapshot", str(context.catalogue_dir / probe.file)]
    try:
        proc = subprocess.run(command, cwd=context.workdir, env=context.env_of(probe), capture_output=True,
                              text=True, check=False, timeout=PROBE_TIMEOUT)
    except subprocess.TimeoutExpired:
        return {"kind": probe.kind, "rules": [],
                "error": f"{probe.kind} did not finish within {PROBE_TIMEOUT:g} s: {' '.join(command[2:])}"}
    try:
        report = json.loads(proc.stdout)
    except json.JSONDecodeError:
        tail = (proc.stderr or proc.stdout).strip().splitlines()[-3:]
        return {"kind": probe.kind, "rules": [], "error": f"{probe.kind} exited {proc.returncode}: {' | '.join(tail)}"}
    outcome = {"kind": probe.kind, **_rules_of(kind, report)}
    if probe.kind == "snapshot":
        outcome["snapshot"] = report.get("snapshot") or {"matches": False, "diff": ["(no snapshot compared)"]}
    return outcome


def _run_tests(probe: Probe, context: _ProbeContext) -> dict[str, Any]:
    """The project's own tests on the copy: run from the copy's directory with ``importlib`` import
    mode, so the copy (first on PYTHONPATH) is what ``import system`` finds, not the project's tree."""
    root = context.project_root.resolve()
    nodes = [str(root / node) for node in probe.args]
    command = [sys.executable, "-m", "pytest", "-q", "-rf", "-p", "no:cacheprovider", "--import-mode=importlib",
               "--rootdir", str(root), "-c", str(root / "pyproject.toml"), *nodes]
    env = context.env_of(probe)  # the copy first, then the project (its tests package), then the caller's path
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(context.workdir), str(root), os.environ.get("PYTHONPATH")]))
    try:
        proc = subprocess.run(command, cwd=context.workdir, env=env, capture_output=True, text=True,
                              check=False, timeout=PROBE_TIMEOUT)
    except subprocess.TimeoutExpired:
        return {"kind": "pytest", "rules": [], "error": f"pytest did not finish within {PROBE_TIMEOUT:g} s"}
    if proc.returncode not in (0, 1):  # 2+: interrupted, internal or usage error, no tests collected
        tail = (proc.stdout + proc.stderr).strip().splitlines()[-3:]
        return {"kind": "pytest", "rules": [], "error": f"pytest exited {proc.returncode}: {' | '.join(tail)}"}
    failed = sorted({_relative_node(line.split(" ", 2)[1], root, context.workdir) for line in proc.stdout.splitlines()
                     if line.startswith(("FAILED ", "ERROR "))})
    return {"kind": "pytest", "rules": [],
            "tests": {"caught": proc.returncode == 1, "failed": failed, "ran": list(probe.args)}}


def _relative_node(node: str, root: Path, cwd: Path) -> str:
    """pytest prints node ids relative to where it ran (the copy): name them from the project root."""
    path, sep, rest = node.partition("::")
    full = (cwd / path).resolve()
    return f"{full.relative_to(root)}{sep}{rest}" if full.is_relative_to(root) else node


def _rules_of(kind: str, report: dict[str, Any]) -> dict[str, Any]:
    if kind == "explore":
        failures = report.get("failures", [])
        rules = sorted({r for f in failures for r in f.get("rules", [])})
        first = min((f["seed"] for f in failures), default=None)
        return {"rules": rules, "seeds": None if first is None else first - report.get("start", 0) + 1}
    rules = sorted({v["rule"] for v in report.get("violations", [])})
    return {"rules": rules, "seeds": 1 if kind == "run" and rules else None}


@dataclass
class Control:
    """The catalogue's probes run on the *unmutated* code: they must fire nothing, or a rule that
    fires for a mutant proves nothing about the mutant."""

    rules: dict[str, list[str]]
    """Probe (``kind args``) -> rules it fired on the unmutated code; every list should be empty."""
    errors: list[str]

    @property
    def clean(self) -> bool:
        return not self.errors and not any(self.rules.values())

    def to_json(self) -> dict[str, Any]:
        return {"clean": self.clean, "rules": self.rules, "errors": self.errors}


def run_control(catalogue: Catalogue, project_root: Path, *, only: Sequence[str] = ()) -> Control:
    probes = {(p.kind, p.args, p.file, p.env): p for m in catalogue.mutants if not only or m.id in only
              for p in m.probes}
    control = Control({}, [])
    with tempfile.TemporaryDirectory(prefix="simwire-control-") as tmp:
        workdir = Path(tmp)
        try:
            code_dir = copy_code(project_root, catalogue.code, workdir, catalogue.baseline)
        except StaleMutant as error:
            control.errors.append(str(error))
            return control
        context = _ProbeContext(workdir, code_dir, _callers(catalogue, project_root), catalogue.root, project_root,
                                catalogue.registry, catalogue.target)
        for key in sorted(probes):
            outcome = _run_probe(probes[key], context)
            name = " ".join((*(f"{k}={v}" for k, v in key[3]), key[0], *key[1], *([key[2]] if key[2] else [])))
            if outcome.get("error"):
                control.errors.append(f"{name}: {outcome['error']}")
            if outcome.get("snapshot") and not outcome["snapshot"].get("matches"):
                control.errors.append(f"{name}: the unmutated code's behaviour differs from {key[2]}: "
                                      f"{' / '.join(outcome['snapshot'].get('diff', [])[:6])}")
            if outcome.get("tests", {}).get("caught"):
                control.errors.append(f"{name}: tests fail on the unmutated code: "
                                      f"{', '.join(outcome['tests']['failed'])}")
            control.rules[name] = list(outcome["rules"])
    return control


def run_catalogue(catalogue: Catalogue, project_root: Path, *, only: Sequence[str] = (), workers: int = 1,
                  on_result: Callable[[MutantResult], None] | None = None) -> list[MutantResult]:
    selected = [m for m in catalogue.mutants if not only or m.id in only]
    unknown = sorted(set(only) - {m.id for m in catalogue.mutants})
    if unknown:
        raise CatalogueError(f"unknown mutant id(s): {', '.join(unknown)}")
    results = list(_results(selected, catalogue, project_root, workers, on_result))
    order = {m.id: i for i, m in enumerate(selected)}
    return sorted(results, key=lambda r: order[r.id])


def _results(mutants: list[Mutant], catalogue: Catalogue, root: Path, workers: int,
             on_result: Callable[[MutantResult], None] | None) -> Iterator[MutantResult]:
    with concurrent.futures.ThreadPoolExecutor(max_workers=max(1, workers)) as pool:
        # threads only wait on subprocesses here; the work happens in the child processes
        futures = [pool.submit(evaluate, m, catalogue, root) for m in mutants]
        for future in concurrent.futures.as_completed(futures):
            result = future.result()
            if on_result:
                on_result(result)
            yield result
