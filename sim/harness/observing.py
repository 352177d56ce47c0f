"""The bus observer protocol for harness parts that only watch publishes.

A bus observer (``docs/architecture.md``) is told of every subscribe, unsubscribe, publish and
isolated handler error.  Most of the harness's observers (the storage gate, the data timeline,
the reference model's strategy replay) care about publishes alone; they subclass this and
implement ``on_publish``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


class PublishObserver:
    def on_subscribe(self, subscription: Any) -> None:
        pass

    def on_unsubscribe(self, subscription: Any) -> None:
        pass

    def on_handler_error(self, subscription: Any, topic: str, payload: Mapping[str, Any],
                         error: BaseException) -> None:
        pass

    def on_publish(self, topic: str, payload: Mapping[str, Any], subscribers: tuple[Any, ...]) -> None:
        raise NotImplementedError
