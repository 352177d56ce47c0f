"""Shared by the contract-check tests: the fixture paths and a way to apply a defect."""

import shutil
from pathlib import Path

from contracts.registry import Registry, load_registry
from tests.contracts.fixtures.defects import Defect

FIXTURES = Path(__file__).parent / "fixtures"
CLEAN = FIXTURES / "trading_clean"
MIGRATIONS = FIXTURES / "migrations"
REGISTRY_SPEC = str(FIXTURES / "registry.py")
REPO = Path(__file__).resolve().parents[2]


def fixture_registry() -> Registry:
    return load_registry(REGISTRY_SPEC)


def with_defect(tmp_path: Path, defect: Defect) -> Path:
    """A copy of the clean fixture with ``defect``'s edits applied (each must match once)."""
    root = tmp_path / "code"
    shutil.copytree(CLEAN, root)
    for edit in defect.edits:
        path = root / edit.file
        text = path.read_text()
        assert text.count(edit.old) == 1, f"{defect.name}: edit must match {edit.file} exactly once: {edit.old!r}"
        path.write_text(text.replace(edit.old, edit.new))
    return root
