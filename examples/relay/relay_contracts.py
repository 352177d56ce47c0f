"""relay's event contract for simwire (drafted from the code's publish/subscribe sites)."""

from contracts.registry import Consumer, Field, Registry, Topic

REGISTRY = Registry(
    name="relay",
    modes=("live",),
    topics={
        "message.received": Topic(
            "message.received",
            fields=(Field("message_id", ("str",)), Field("source", ("str",)), Field("text", ("str",)),
                    Field("tags", ("list",)), Field("received_at", ("str",))),
            producers=("Ingest",), consumers=(Consumer("Router", "routing"),),
            required_roles={"live": ("routing",)}),
        "message.routed": Topic(
            "message.routed",
            fields=(Field("message_id", ("str",)), Field("channel", ("str",)), Field("text", ("str",))),
            producers=("Router",), consumers=(Consumer("Notifier", "notify"),),
            required_roles={"live": ("notify",)}),
    },
)
