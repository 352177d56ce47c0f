"""Snapshots of the schema model and the registry: any drift fails with a readable diff.

The snapshots are plain text files under ``__snapshots__/test_snapshots/`` (one line per
column, field, lineage entry); after an intended change, accept it with
``pytest tests/contracts/test_snapshots.py --snapshot-update`` and review the diff in git.
"""

from __future__ import annotations

import difflib
import shutil
from pathlib import Path

import pytest
from syrupy.extensions.single_file import SingleFileSnapshotExtension, WriteMode

from contracts.migrations import load_schema
from contracts.registry import Registry
from contracts.registry.trading import REGISTRY
from contracts.snapshots import render_registry, render_schema

REPO = Path(__file__).resolve().parents[2]
MIGRATIONS = REPO / "system" / "migrations"


class TextSnapshot(SingleFileSnapshotExtension):
    """One UTF-8 text file per snapshot, so git and pytest show line diffs."""

    _write_mode = WriteMode.TEXT
    file_extension = "txt"


@pytest.fixture
def text_snapshot(snapshot):
    return snapshot.use_extension(TextSnapshot)


def test_schema_model_of_the_migrations(text_snapshot):
    assert render_schema(load_schema(MIGRATIONS)) == text_snapshot


def test_trading_registry(text_snapshot):
    assert render_registry(REGISTRY) == text_snapshot


def test_a_changed_migration_shows_as_exactly_the_changed_lines(tmp_path):
    copy = Path(shutil.copytree(MIGRATIONS, tmp_path / "migrations"))
    numbers = sorted(int(path.name[:3]) for path in copy.glob("*.sql"))
    (copy / f"{numbers[-1] + 1:03d}_orders_add_venue.sql").write_text(
        "-- a comment does not change the model\nALTER TABLE orders ADD COLUMN venue SYMBOL;\n")
    before = render_schema(load_schema(MIGRATIONS)).splitlines()
    after = render_schema(load_schema(copy)).splitlines()
    changes = [line for line in difflib.unified_diff(before, after, lineterm="", n=0)
               if line.startswith(("+", "-")) and not line.startswith(("+++", "---"))]
    assert changes == ["+  column venue: SYMBOL"]


def test_registry_rendering_does_not_depend_on_declaration_order():
    shuffled = Registry(
        REGISTRY.name, REGISTRY.modes, dict(reversed(list(REGISTRY.topics.items()))),
        lineage=tuple(reversed(REGISTRY.lineage)), required_columns=REGISTRY.required_columns,
        services=tuple(reversed(REGISTRY.services)), conventions=REGISTRY.conventions,
    )
    assert render_registry(shuffled) == render_registry(REGISTRY)
