"""The MEXC contract API v1 signature as the *exchange* checks it, written apart from the system's.

The simulated exchange must not verify requests with the code it is verifying: a signing
change in ``system/`` would then be accepted by construction (issue 11's "signing change the
exchange refuses").  So the rule of MEXC's documentation is restated here, from the
documentation, not imported: ``hex(HMAC-SHA256(secret, access_key + request_time + parameters))``
where the parameters of a GET/DELETE are its query parameters sorted by name, ``name=value``
URL-encoded and joined by ``&`` (empty values left out), and of a POST the JSON body as sent.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping
from urllib.parse import quote


def signed_parameters(method: str, query: Mapping[str, str], body: str) -> str:
    """What the exchange expects the client to have signed for this request."""
    if method.upper() == "POST":
        return body
    pairs = sorted((name, value) for name, value in query.items() if value is not None)
    return "&".join(f"{name}={quote(str(value), safe='')}" for name, value in pairs)


def expected_signature(secret: str, access_key: str, request_time: str, parameters: str) -> str:
    digest = hmac.new(secret.encode("utf-8"), (access_key + request_time + parameters).encode("utf-8"),
                      hashlib.sha256)
    return digest.hexdigest()
