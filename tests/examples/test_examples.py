"""The example apps (examples/): `simwire check` finds exactly the defects planted in each, nothing else.

Each app was written as its authors would, not for simwire; its README lists the planted
defects.  The check runs through the CLI entry point with the app's own configuration, the
way a user runs it, and the JSON report must hold those findings and no other.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from sim.cli import main

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"

PLANTED = {
    "signalbot": [
        ("static.handler-reads-unpublished", "signalbot/orders.py:21", "confidence"),
        ("static.unawaited-async", "signalbot/persistence.py:24",
         "self.event_bus.subscribe('order_created', self._on_order_created)"),
        ("sql.unknown-column", "signalbot/persistence.py:28", "note"),
        ("static.topic-never-published", "signalbot/strategy.py:20",
         "published topics: order_created, price_updated, signal_generated"),
    ],
    "relay": [
        ("static.nondeterminism-source", "relay/router.py:20", "datetime.now"),
        ("static.unawaited-async", "relay/router.py:21",
         "self.store.save_delivery(message['message_id'], channel, delivered_at)"),
        ("static.handler-reads-unpublished", "relay/router.py:33", "priority"),
        ("sql.unknown-column", "relay/store.py:29", "channel"),
    ],
}


@pytest.mark.parametrize("app", sorted(PLANTED))
def test_check_finds_exactly_the_planted_defects(app, capsys):
    config = EXAMPLES / app / "pyproject.toml"
    assert main(["check", "--config", str(config), "--format", "json"]) == 1
    report = json.loads(capsys.readouterr().out)
    assert [(v["rule"], v["location"], v["seen"]) for v in report["violations"]] == PLANTED[app]
    assert report["registry"] == app


@pytest.mark.parametrize("app", sorted(PLANTED))
def test_the_readme_lists_every_planted_finding_and_the_command(app):
    readme = (EXAMPLES / app / "README.md").read_text(encoding="utf-8")
    assert f"simwire check --config examples/{app}/pyproject.toml" in readme
    for rule, location, _ in PLANTED[app]:
        assert f"`{rule}`" in readme and f"`{location}`" in readme


@pytest.mark.parametrize("app", sorted(PLANTED))
def test_configuration_and_registry_stay_small(app):
    """Onboarding is configuration: [tool.simwire] plus the registry fit in 80 lines."""
    pyproject = (EXAMPLES / app / "pyproject.toml").read_text(encoding="utf-8").splitlines()
    simwire = pyproject[next(i for i, line in enumerate(pyproject) if line.startswith("[tool.simwire]")):]
    registry = (EXAMPLES / app / f"{app}_contracts.py").read_text(encoding="utf-8").splitlines()
    assert len(simwire) + len(registry) <= 80


def test_the_signalbot_migrations_parse_as_they_are_with_the_rollback_excluded():
    from contracts.migrations import parse_migrations

    directory = EXAMPLES / "signalbot" / "migrations"
    schema, findings = parse_migrations(directory, exclude=["*_rollback.sql"])
    assert findings == []
    assert "note" not in schema.tables["orders"].columns
    _, [collision] = parse_migrations(directory)
    assert collision.seen == "number 4 shared by 004_orders_drop_note.sql, 004_orders_drop_note_rollback.sql"
