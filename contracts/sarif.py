"""SARIF 2.1.0 output of ``simwire check --format sarif``: the static-analysis format that
code-review tools (GitHub code scanning among them) display inline on a pull request.

One run, one result per finding; every rule that fired is described in the tool's ``rules``
with its ``helpUri`` into docs/rules.md; each result carries the finding's fingerprint under
``partialFingerprints`` so review tools track it across commits the way the baseline does.
Locations are relative to ``%SRCROOT%``: the configuration file's directory (the repository
root, where code review expects them), or ``--path`` when there is no configuration.
"""

from __future__ import annotations

from typing import Any

from contracts.findings import Finding
from contracts.rules import RULES_DOC_URL, help_uri, rule
from simwire.violation import Severity

SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"
FINGERPRINT_KEY = "simwire/v1"


def to_sarif(findings: list[Finding], *, version: str, notes: tuple[str, ...] = ()) -> dict[str, Any]:
    """The SARIF log; ``notes`` (what was not checked, e.g. no registry) become the run's
    tool execution notifications, so a review tool shows them beside the results."""
    rule_ids = sorted({f.violation.rule for f in findings})
    index = {rule_id: position for position, rule_id in enumerate(rule_ids)}
    return {
        "$schema": SCHEMA,
        "version": "2.1.0",
        "runs": [{
            "tool": {"driver": {
                "name": "simwire", "version": version, "informationUri": RULES_DOC_URL,
                "rules": [_rule(rule_id) for rule_id in rule_ids],
            }},
            "originalUriBaseIds": {"%SRCROOT%": {"description": {"text": "the checked project's root"}}},
            "invocations": [{"executionSuccessful": True, "toolExecutionNotifications": [
                {"level": "note", "message": {"text": note}} for note in notes]}],
            "results": [_result(f, index[f.violation.rule]) for f in findings],
        }],
    }


def _rule(rule_id: str) -> dict[str, Any]:
    entry = rule(rule_id)
    return {
        "id": rule_id,
        "shortDescription": {"text": entry.summary},
        "fullDescription": {"text": entry.why},
        "helpUri": help_uri(rule_id),
        "help": {"text": f"{entry.summary} {entry.why}"},
        "defaultConfiguration": {"level": _level(entry.severity)},
    }


def _result(finding: Finding, rule_index: int) -> dict[str, Any]:
    v = finding.violation
    text = v.message + (f" (expected: {v.expected}; seen: {v.seen})" if v.expected or v.seen else "")
    result: dict[str, Any] = {
        "ruleId": v.rule, "ruleIndex": rule_index, "level": _level(v.severity), "message": {"text": text},
        "partialFingerprints": {FINGERPRINT_KEY: finding.fingerprint},
    }
    if finding.file:
        result["locations"] = [{"physicalLocation": {
            "artifactLocation": {"uri": finding.file, "uriBaseId": "%SRCROOT%"},
            "region": {"startLine": max(finding.line, 1)},
        }}]
    else:
        result["locations"] = [{"logicalLocations": [{"name": v.location or "project", "kind": "resource"}]}]
    return result


def _level(severity: Severity) -> str:
    return "error" if severity is Severity.ERROR else "warning"
