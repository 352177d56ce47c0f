"""Request signing: the MEXC contract API v1 algorithm on a known vector."""

from __future__ import annotations

from system.exchange.signing import parameter_string, sign, signed_headers

# Computed independently: printf '<key><time><params>' | openssl dgst -sha256 -hmac '<secret>'
VECTOR = {
    "access_key": "mx0vglAccessKey", "secret_key": "secretKeyForTheVector", "request_time": "1700000000000",
    "parameters": '{"price":60000,"symbol":"BTC_USDT"}',
    "signature": "687cd3cf6e7d9dc2f4a75c6d6fbff01753fa860aba8e16523af9ef5cfefe478a",
}


def test_signature_matches_the_known_vector() -> None:
    assert sign(VECTOR["secret_key"], VECTOR["access_key"], VECTOR["request_time"],
                VECTOR["parameters"]) == VECTOR["signature"]


def test_a_changed_input_changes_the_signature() -> None:
    assert sign(VECTOR["secret_key"], VECTOR["access_key"], "1700000000001", VECTOR["parameters"]) \
        != VECTOR["signature"]


def test_get_parameters_are_sorted_encoded_and_skip_none() -> None:
    assert parameter_string("GET", {"symbol": "BTC_USDT", "page_num": 1, "side": None, "a": "x y"}) == \
        "a=x%20y&page_num=1&symbol=BTC_USDT"
    assert parameter_string("GET") == ""


def test_post_signs_the_body_exactly_as_sent() -> None:
    body = '{"vol":3,"symbol":"BTC_USDT"}'
    assert parameter_string("POST", {"ignored": 1}, body) == body


def test_signed_headers_carry_key_time_signature_and_window_but_not_the_secret() -> None:
    headers = signed_headers(access_key=VECTOR["access_key"], secret_key=VECTOR["secret_key"],
                             request_time=VECTOR["request_time"], parameters=VECTOR["parameters"], recv_window_ms=5000)
    assert headers["ApiKey"] == VECTOR["access_key"]
    assert headers["Request-Time"] == VECTOR["request_time"]
    assert headers["Signature"] == VECTOR["signature"]
    assert headers["Recv-Window"] == "5000"
    assert VECTOR["secret_key"] not in repr(headers)
