"""Schedule files: everything needed to replay one run, as JSON — one format for every command.

    {"target": "trading", "spec": {"mode": "live", "seed": 533, "policy": "random", ...},
     "choices": [0, 1, 0, 2], "trace_hash": "…", "rules": ["oracle.not-persisted"]}

    {"target": "tests.kernel.programs:lost_update",
     "spec": {"seed": 1, "kernel": "asyncio", "policy": "random", "pct_depth": 3, "pct_horizon": null},
     "choices": [0, 1], "trace_hash": "…"}

``target`` is ``trading``, a ``module:attr`` naming a target of the session driver
(``sim.harness.targets.Target``; ``spec`` then holds ``ScenarioSpec`` fields), or a ``module:function``
naming a coroutine program for ``sim.run`` (``spec`` then holds the kernel's knobs,
:data:`PROGRAM_KNOBS`).  ``choices`` is ``RunResult.schedule``; ``trace_hash`` is what a
faithful replay reproduces; ``rules`` (optional) are the rules the recorded run violated.
``simwire replay``, ``shrink`` and ``determinism`` all read this one format; files written by
earlier versions (kernel knobs at the top level, or a ``scenario`` object) are still read.
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sim.harness.targets import Main, TargetError, resolve
from sim.kernel.result import RunResult

PROGRAM_KNOBS: dict[str, tuple[type, ...]] = {
    "seed": (int,), "kernel": (str,), "policy": (str,), "pct_depth": (int,), "pct_horizon": (int, type(None)),
}
"""The ``spec`` fields of a program target, and their types."""
_FIELDS: dict[str, tuple[type, ...]] = {
    "target": (str,), "spec": (dict,), "choices": (list,), "trace_hash": (str,), "rules": (list,),
}
_LEGACY_SCENARIO = "scenario"


class ScheduleFileError(ValueError):
    """A schedule file that cannot be read; the message names the file and the field."""


@dataclass
class ScheduleFile:
    target: str
    spec: dict[str, Any] = field(default_factory=dict)
    choices: list[int] = field(default_factory=list)
    trace_hash: str = ""
    rules: list[str] = field(default_factory=list)

    # -- writing ----------------------------------------------------------------------------

    @classmethod
    def from_result(cls, target: str, result: RunResult, *, pct_depth: int = 3,
                    pct_horizon: int | None = None) -> ScheduleFile:
        """The file of a ``sim.run`` program run."""
        knobs = {"seed": result.seed, "kernel": result.kernel, "policy": result.policy,
                 "pct_depth": pct_depth, "pct_horizon": pct_horizon}
        return cls(target=target, spec=knobs, choices=list(result.schedule), trace_hash=result.trace_hash)

    @classmethod
    def for_scenario(cls, spec: Any, choices: list[int], trace_hash: str,
                     rules: list[str] | None = None) -> ScheduleFile:
        """The file of a session-driver run (``spec``: a ``ScenarioSpec``)."""
        fields = spec.to_json()
        target = fields.pop("target")
        return cls(target=target, spec=fields, choices=list(choices), trace_hash=trace_hash,
                   rules=sorted(rules or []))

    def save(self, path: str | Path) -> None:
        data = {"target": self.target, "spec": self.spec, "choices": self.choices, "trace_hash": self.trace_hash}
        if self.rules:
            data["rules"] = self.rules
        Path(path).write_text(json.dumps(data, indent=1) + "\n")

    # -- reading ----------------------------------------------------------------------------

    @property
    def is_program(self) -> bool:
        """True for a ``sim.run`` program (a coroutine function), False for a session target."""
        from sim.harness.targets import is_scenario_target

        return not is_scenario_target(self.target)

    def scenario_spec(self, path: str | Path) -> Any:
        """The ``ScenarioSpec`` of a session-target file; errors name the file and the field."""
        from sim.harness.spec import ScenarioSpec, SpecError

        try:
            return ScenarioSpec.from_json({**self.spec, "target": self.target}, str(path))
        except SpecError as error:
            raise ScheduleFileError(str(error)) from None

    def run_options(self) -> dict[str, Any]:
        """Keyword arguments for :func:`sim.kernel.run` that replay this (program) schedule."""
        knobs = {"seed": 0, "kernel": "asyncio", "policy": "random", "pct_depth": 3, "pct_horizon": None}
        knobs.update(self.spec)
        return {**knobs, "schedule": self.choices}

    def target_factory(self, path: str | Path) -> Callable[[], Main]:
        """The resolved program; an unknown one is a :class:`ScheduleFileError` naming ``path``."""
        try:
            return resolve(self.target)
        except TargetError as error:
            raise ScheduleFileError(f"{path}: {error}") from error

    @classmethod
    def load(cls, path: str | Path) -> ScheduleFile:
        try:
            data = json.loads(Path(path).read_text())
        except OSError as error:
            raise ScheduleFileError(f"{path}: cannot read schedule file: {error.strerror}") from error
        except json.JSONDecodeError as error:
            raise ScheduleFileError(f"{path}:{error.lineno}: not JSON: {error.msg}") from error
        if not isinstance(data, dict):
            raise ScheduleFileError(f"{path}: expected a JSON object, got {type(data).__name__}")
        return cls._validated(path, _upgraded(data))

    @classmethod
    def _validated(cls, path: str | Path, data: dict[str, Any]) -> ScheduleFile:
        unknown = sorted(set(data) - set(_FIELDS))
        if unknown:
            raise ScheduleFileError(f"{path}: unknown field(s) {', '.join(unknown)}")
        if "target" not in data:
            raise ScheduleFileError(f"{path}: missing field 'target' ('trading' or a 'module:attr' spec)")
        _check_types(path, data, _FIELDS, "field")
        for index, choice in enumerate(data.get("choices", [])):
            if not isinstance(choice, int) or isinstance(choice, bool) or choice < 0:
                raise ScheduleFileError(f"{path}: choices[{index}] must be a non-negative int, got {choice!r}")
        loaded = cls(**data)
        if loaded.is_program:
            unknown = sorted(set(loaded.spec) - set(PROGRAM_KNOBS))
            if unknown:
                raise ScheduleFileError(f"{path}: unknown spec field(s) {', '.join(unknown)} for a program target")
            _check_types(path, loaded.spec, PROGRAM_KNOBS, "spec field")
        else:
            loaded.scenario_spec(path)  # every ScenarioSpec field checked now, not when replayed
        return loaded


def _check_types(path: str | Path, data: dict[str, Any], expected: dict[str, tuple[type, ...]], noun: str) -> None:
    for name, value in data.items():
        if not isinstance(value, expected[name]) or isinstance(value, bool):
            raise ScheduleFileError(
                f"{path}: {noun} {name!r} must be {' or '.join(t.__name__ for t in expected[name])}, got {value!r}"
            )


def _upgraded(data: dict[str, Any]) -> dict[str, Any]:
    """Files of earlier versions in today's shape (kernel knobs at the top level; ``scenario``)."""
    data = dict(data)
    if _LEGACY_SCENARIO in data and "spec" not in data:
        spec = data.pop(_LEGACY_SCENARIO)
        data["spec"] = spec
        data.setdefault("target", spec.get("target", "trading") if isinstance(spec, dict) else "trading")
        if isinstance(spec, dict):
            spec.pop("target", None)
    knobs = {name: data.pop(name) for name in list(data) if name in PROGRAM_KNOBS}
    if knobs and "spec" not in data:
        data["spec"] = knobs
    elif knobs:
        data.update(knobs)  # reported as unknown fields
    return data


def load_or_usage_error(path: str, parser: argparse.ArgumentParser) -> ScheduleFile:
    """For commands: the schedule file, or a usage error (exit 2) naming the file and the field."""
    try:
        return ScheduleFile.load(path)
    except ScheduleFileError as error:
        parser.error(str(error))


def program_or_usage_error(recorded: ScheduleFile, path: str,
                           parser: argparse.ArgumentParser) -> Callable[[], Main]:
    try:
        return recorded.target_factory(path)
    except ScheduleFileError as error:
        parser.error(str(error))
