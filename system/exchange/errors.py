"""Typed failures of the MEXC futures client.

The split that matters to callers is *transient* (the same request may succeed later:
HTTP 5xx, rate limit 510, no reply) versus everything else (the exchange refused: retrying
the same request is pointless).  ``ExchangeTimeout`` is transient but special: the request
may have taken effect, so a caller must find out (query by ``externalOid``) before it sends
an order again.  Messages never contain credentials or signed headers.
"""

from __future__ import annotations

RATE_LIMIT_CODE = 510
AUTH_CODES = frozenset({401, 402, 403, 406, 602})
"""Unauthorised, key expired, no permission, IP not allowed, signature verification failed."""


class ExchangeError(Exception):
    """Base of every client failure; ``endpoint`` is the request path."""

    def __init__(self, endpoint: str, message: str) -> None:
        super().__init__(f"{endpoint}: {message}")
        self.endpoint = endpoint


class ExchangeTransientError(ExchangeError):
    """The request may succeed if sent again later."""


class ExchangeUnavailable(ExchangeTransientError):
    """HTTP 5xx or a failed connection: the request was not processed."""

    def __init__(self, endpoint: str, message: str, *, status: int | None = None) -> None:
        super().__init__(endpoint, message)
        self.status = status


class ExchangeTimeout(ExchangeTransientError):
    """No reply in time: the request may or may not have taken effect."""


class RateLimited(ExchangeTransientError):
    """Error code 510: too many requests; wait before the next one."""

    code = RATE_LIMIT_CODE


class ExchangeRejected(ExchangeError):
    """The exchange answered with an error code (not 510): it refused the request."""

    def __init__(self, endpoint: str, code: int, message: str) -> None:
        super().__init__(endpoint, f"code {code}: {message}")
        self.code = code
        self.reason = message


class AuthenticationError(ExchangeRejected):
    """Credentials or signature refused (codes in ``AUTH_CODES``)."""


class MalformedReply(ExchangeError):
    """The reply is not what the API documents; ``field`` names the first bad field."""

    def __init__(self, endpoint: str, field: str, problem: str) -> None:
        super().__init__(endpoint, f"malformed reply: field {field!r} {problem}")
        self.field = field
