"""UuidIds: the Ids port on random uuids (globally unique across processes and restarts)."""

from __future__ import annotations

import uuid


class UuidIds:
    """``new_id("sig")`` -> ``"sig_3f2a..."`` (32 hex digits of a uuid4)."""

    def new_id(self, prefix: str) -> str:
        if not prefix:
            raise ValueError("UuidIds.new_id: prefix must be a non-empty string")
        return f"{prefix}_{uuid.uuid4().hex}"
