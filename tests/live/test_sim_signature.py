"""The simulated exchange checks signatures by MEXC's rule restated in sim/, never by the system's
own signing code: a signing change in system/ must be refused, not accepted by construction."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from sim.world.exchange.signature import expected_signature, signed_parameters
from system.exchange.signing import parameter_string, sign

API = Path(__file__).resolve().parents[2] / "sim" / "world" / "exchange" / "api.py"


@pytest.mark.parametrize("method, query, body", [
    ("GET", {"symbol": "BTC_USDT", "externalOid": "sw0a b/c"}, ""),
    ("GET", {}, ""),
    ("DELETE", {"b": "2", "a": "1"}, ""),
    ("POST", {}, '{"symbol": "BTC_USDT", "vol": 3, "side": 1}'),
])
def test_the_exchange_and_a_correct_client_agree(method, query, body):
    parameters = signed_parameters(method, query, body)
    assert parameters == parameter_string(method, query, body)
    assert expected_signature("s3cret", "key", "1736121600000", parameters) == sign(
        "s3cret", "key", "1736121600000", parameter_string(method, query, body))


def test_a_message_signed_in_another_order_is_not_the_expected_signature():
    wrong = sign("s3cret", "1736121600000", "key", "")  # time before key
    assert wrong != expected_signature("s3cret", "key", "1736121600000", "")


def test_the_simulated_api_imports_nothing_of_the_systems_signing():
    imported = {node.module for node in ast.walk(ast.parse(API.read_text())) if isinstance(node, ast.ImportFrom)}
    assert not any(module and module.startswith("system.exchange.signing") for module in imported)
