"""Shared helpers for the simulator's own tests: both kernels, one parsed schema."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import pytest

import sim
from contracts.migrations import load_schema
from contracts.schema import Schema
from sim.world.questdb import DEFAULT_MIGRATIONS, SimQuestDB


@pytest.fixture(params=["asyncio", "trio"])
def simulate(request: pytest.FixtureRequest) -> Callable[[Callable[[], Awaitable[Any]]], Any]:
    """Run a coroutine function under one simulation kernel (virtual time) and return its value."""

    def run(main: Callable[[], Awaitable[Any]]) -> Any:
        result = sim.run(main, kernel=request.param, detectors=False)
        result.raise_for_error()
        return result.value

    return run


@pytest.fixture(scope="session")
def migrations_schema() -> Schema:
    return load_schema(DEFAULT_MIGRATIONS)


@pytest.fixture
def db(migrations_schema: Schema) -> SimQuestDB:
    """A fresh database built from the real migrations (the parsed schema is shared, copied)."""
    return SimQuestDB(migrations_schema)
