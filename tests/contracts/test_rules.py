"""The rule catalogue is complete, consistent and is what docs/rules.md says."""

import re

import pytest

from contracts.rules import RULES, render_markdown, rule, violation
from simwire.violation import Severity
from tests.contracts.helpers import REPO

RULE_ID = re.compile(r"""["']((?:kernel|contract|sql|static|schema|oracle)\.[a-z0-9-]+)["']""")


def rule_ids_used_in_code() -> set[str]:
    used = set()
    for package in ("contracts", "sim"):
        for path in (REPO / package).rglob("*.py"):
            used.update(RULE_ID.findall(path.read_text(encoding="utf-8")))
    return used


def test_docs_rules_md_is_generated_from_the_catalogue() -> None:
    on_disk = (REPO / "docs" / "rules.md").read_text(encoding="utf-8")
    assert on_disk == render_markdown(), "regenerate: python -m contracts.rules > docs/rules.md"


def test_every_rule_id_used_in_code_is_catalogued_and_documented() -> None:
    used = rule_ids_used_in_code()
    assert {"static.lock-order", "sql.dedup-key-missing", "contract.payload-type"} <= used  # the scan works
    documented = set(re.findall(r"^## (\S+)$", (REPO / "docs" / "rules.md").read_text(), re.MULTILINE))
    assert sorted(used - {r.id for r in RULES}) == []
    assert sorted(used - documented) == []


def test_catalogue_entries_are_unique_and_complete() -> None:
    ids = [r.id for r in RULES]
    assert len(ids) == len(set(ids))
    for entry in RULES:
        assert RULE_ID.fullmatch(f'"{entry.id}"'), entry.id
        assert entry.summary and entry.why and entry.example and entry.reporter, entry.id
        assert isinstance(entry.severity, Severity)


def test_the_kernel_rules_named_by_the_architecture_are_catalogued() -> None:
    for rule_id in ("kernel.deadlock", "kernel.leaked-task", "kernel.unawaited", "kernel.unretrieved-exception",
                    "kernel.lock-order"):
        assert rule(rule_id).id == rule_id


def test_violation_takes_its_severity_from_the_catalogue_and_rejects_unknown_ids() -> None:
    assert violation("static.sql-unresolved", "m").severity is Severity.WARNING
    assert violation("static.lock-order", "m", location="a.py:1", cycle=["a"]).details == {"cycle": ["a"]}
    with pytest.raises(KeyError, match=r"not in contracts/rules\.py"):
        violation("static.no-such-rule", "m")
