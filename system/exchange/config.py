"""API credentials for the MEXC futures client: from configuration, never printed.

``secret_key`` is excluded from ``repr`` (and so from logs, tracebacks and event payloads
built by formatting the object); the access key is an identifier, but it is hidden too, since
together with a leaked signature it names the account.
"""

from __future__ import annotations

from dataclasses import dataclass, field

DEFAULT_BASE_URL = "https://contract.mexc.com"
DEFAULT_RECV_WINDOW_MS = 10_000


@dataclass(frozen=True, slots=True)
class ApiCredentials:
    access_key: str = field(repr=False)
    secret_key: str = field(repr=False)

    def __post_init__(self) -> None:
        for name in ("access_key", "secret_key"):
            value = getattr(self, name)
            if not isinstance(value, str) or not value:
                raise ValueError(f"ApiCredentials.{name} must be a non-empty string (from configuration)")
