"""Request signing of the MEXC contract API v1.

``signature = hex(HMAC-SHA256(secret_key, access_key + request_time + parameter_string))``,
sent with the headers ``ApiKey``, ``Request-Time`` (epoch milliseconds), ``Signature`` and
``Recv-Window``.  The parameter string of a GET or DELETE is its query parameters sorted by
name, ``name=value`` joined by ``&`` (values URL-encoded, ``None`` left out); of a POST it is the
JSON body exactly as sent, which is why the client serialises the body once and signs and sends
the same bytes.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping
from typing import Any
from urllib.parse import quote


def parameter_string(method: str, params: Mapping[str, Any] | None = None, body: str = "") -> str:
    """What gets signed besides the key and the time, for ``method``."""
    if method.upper() == "POST":
        return body
    if not params:
        return ""
    return "&".join(f"{name}={quote(str(value), safe='')}" for name, value in sorted(params.items())
                    if value is not None)


def sign(secret_key: str, access_key: str, request_time: str, parameters: str) -> str:
    """Lower-case hex HMAC-SHA256 of ``access_key + request_time + parameters``."""
    message = f"{access_key}{request_time}{parameters}".encode()
    return hmac.new(secret_key.encode(), message, hashlib.sha256).hexdigest()


def signed_headers(*, access_key: str, secret_key: str, request_time: str, parameters: str,
                   recv_window_ms: int) -> dict[str, str]:
    return {
        "ApiKey": access_key,
        "Request-Time": request_time,
        "Signature": sign(secret_key, access_key, request_time, parameters),
        "Recv-Window": str(recv_window_ms),
        "Content-Type": "application/json",
    }
