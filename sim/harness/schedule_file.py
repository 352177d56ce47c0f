"""Schedule files: everything needed to replay one run, as JSON.

    {"target": "tests.kernel.programs:lost_update", "kernel": "asyncio", "policy": "random",
     "seed": 1, "pct_depth": 3, "pct_horizon": null, "choices": [0, 1], "trace_hash": "…"}

``choices`` is ``RunResult.schedule``; ``trace_hash`` is what a faithful replay reproduces.
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from sim.harness.targets import Main, TargetError, resolve
from sim.kernel.result import RunResult


class ScheduleFileError(ValueError):
    """A schedule file that cannot be read; the message names the file and the field."""


@dataclass
class ScheduleFile:
    target: str
    kernel: str = "asyncio"
    policy: str = "random"
    seed: int = 0
    choices: list[int] = field(default_factory=list)
    trace_hash: str = ""
    pct_depth: int = 3
    pct_horizon: int | None = None

    @classmethod
    def from_result(cls, target: str, result: RunResult, *, pct_depth: int = 3,
                    pct_horizon: int | None = None) -> ScheduleFile:
        return cls(target=target, kernel=result.kernel, policy=result.policy, seed=result.seed,
                   choices=list(result.schedule), trace_hash=result.trace_hash,
                   pct_depth=pct_depth, pct_horizon=pct_horizon)

    def run_options(self) -> dict[str, Any]:
        """Keyword arguments for :func:`sim.kernel.run` that replay this schedule."""
        return {"seed": self.seed, "policy": self.policy, "kernel": self.kernel, "schedule": self.choices,
                "pct_depth": self.pct_depth, "pct_horizon": self.pct_horizon}

    def target_factory(self, path: str | Path) -> Callable[[], Main]:
        """The resolved target; an unknown one is a :class:`ScheduleFileError` naming ``path``."""
        try:
            return resolve(self.target)
        except TargetError as error:
            raise ScheduleFileError(f"{path}: {error}") from error

    def save(self, path: str | Path) -> None:
        Path(path).write_text(json.dumps(asdict(self), indent=1) + "\n")

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
        return cls._validated(path, data)

    @classmethod
    def _validated(cls, path: str | Path, data: dict[str, Any]) -> ScheduleFile:
        expected: dict[str, tuple[type, ...]] = {
            "target": (str,), "kernel": (str,), "policy": (str,), "seed": (int,), "choices": (list,),
            "trace_hash": (str,), "pct_depth": (int,), "pct_horizon": (int, type(None)),
        }
        unknown = sorted(set(data) - set(expected))
        if unknown:
            raise ScheduleFileError(f"{path}: unknown field(s) {', '.join(unknown)}")
        if "target" not in data:
            raise ScheduleFileError(f"{path}: missing field 'target' (a 'module:function' spec)")
        for name, value in data.items():
            if not isinstance(value, expected[name]) or isinstance(value, bool):
                raise ScheduleFileError(
                    f"{path}: field {name!r} must be {' or '.join(t.__name__ for t in expected[name])}, "
                    f"got {value!r}"
                )
        for index, choice in enumerate(data.get("choices", [])):
            if not isinstance(choice, int) or isinstance(choice, bool) or choice < 0:
                raise ScheduleFileError(f"{path}: choices[{index}] must be a non-negative int, got {choice!r}")
        return cls(**data)


def load_or_usage_error(path: str, parser: argparse.ArgumentParser) -> tuple[ScheduleFile, Callable[[], Main]]:
    """For commands: the schedule file and its target, or a usage error (exit 2) naming the file."""
    try:
        recorded = ScheduleFile.load(path)
        return recorded, recorded.target_factory(path)
    except ScheduleFileError as error:
        parser.error(str(error))
