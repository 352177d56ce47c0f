"""The per-topic compiled payload checks: sound (True only when the generic walk finds nothing)
and taken for the clean payloads a real run publishes."""

from __future__ import annotations

from typing import Any
from unittest import mock

import pytest

from contracts.monitor import _PayloadValidator
from contracts.registry import load_registry
from contracts.validators import compile_payload_check
from sim.harness import session
from sim.harness.recorder import EventRecorder
from sim.harness.scenario import ScenarioSpec, run_scenario

REGISTRY = load_registry()


@pytest.fixture(scope="module")
def published() -> list[tuple[str, dict[str, Any]]]:
    """Every payload of a short paper run, as published (copies: handlers may keep them)."""
    events: list[tuple[str, dict[str, Any]]] = []

    class Keeping(EventRecorder):
        def on_publish(self, topic, payload, subscribers):
            events.append((topic, dict(payload)))
            super().on_publish(topic, payload, subscribers)

    with mock.patch.object(session, "EventRecorder", Keeping):
        assert run_scenario(ScenarioSpec(mode="paper", hours=0.5), trace=False).clean
    return events


def variants(payload: dict[str, Any]) -> list[dict[str, Any]]:
    """Payloads one step away from ``payload``: a field missing, renamed, of another type, a
    bool for a number, None, an unhashable value, an extra field."""
    out = []
    for name, value in payload.items():
        out.append({k: v for k, v in payload.items() if k != name})
        out.append({(k + "_x" if k == name else k): v for k, v in payload.items()})
        for other in (None, True, 1, 1.5, "text", [1], {"a": 1}, (1,)):
            if type(other) is not type(value):
                out.append({**payload, name: other})
    out.append({**payload, "unexpected": 1})
    return out


def test_a_clean_run_s_payloads_all_take_the_compiled_path(published):
    validators = {topic: _PayloadValidator(REGISTRY.topics[topic]) for topic in {t for t, _ in published}}
    walked = []
    for topic, payload in published:
        validator = validators[topic]
        with mock.patch.object(validator, "check_fields", side_effect=lambda p, t=topic: walked.append(t) or []):
            assert validator.problems(payload) == []
    assert walked == [], f"complete, clean payloads took the generic walk: {sorted(set(walked))}"


def test_the_compiled_check_is_sound_on_payloads_one_step_from_a_real_one(published):
    seen_topics: set[str] = set()
    for topic, payload in published:
        if topic in seen_topics:
            continue
        seen_topics.add(topic)
        validator = _PayloadValidator(REGISTRY.topics[topic])
        for variant in variants(payload):
            if validator.complete_and_clean(variant):
                assert validator.check_fields(variant) == [], (topic, variant)
    assert len(seen_topics) >= 8  # the run covered the trading topics


def test_each_way_of_being_wrong_is_sent_to_the_generic_walk():
    fields = [("side", frozenset({str}), frozenset({"BUY", "SELL"})), ("price", frozenset({float, int}), frozenset()),
              ("note", frozenset({str, type(None)}), frozenset())]
    check = compile_payload_check(fields)
    good = {"side": "BUY", "price": 1.0, "note": None}
    assert check(good) and check({**good, "price": 2}) and check({**good, "note": "n"})
    for bad in ({**good, "side": "HOLD"}, {**good, "side": ["BUY"]}, {**good, "price": True},
                {**good, "price": "1"}, {**good, "extra": 1}, {"side": "BUY", "price": 1.0},
                {"side": "BUY", "price": 1.0, "notes": None}):
        assert not check(bad), bad


def test_field_names_are_data_never_code():
    check = compile_payload_check([("a'] or True #\n", frozenset({int}), frozenset())])
    assert check({"a'] or True #\n": 1}) and not check({"a": 1})
