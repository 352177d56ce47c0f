"""Registry cross-checks: the scanned sites against the declared contract.

Each function compares one kind of site with the :class:`~contracts.registry.Registry` and
returns violations whose ``expected`` is the registry's word and ``seen`` the code's.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from contracts.registry.model import Registry
from contracts.rules import violation
from contracts.scanner.model import PublishSite, ScanResult, SubscribeSite
from simwire.violation import Violation


@dataclass(frozen=True, order=True)
class MissingConsumer:
    """A role required for ``topic`` in ``mode`` that no reachable subscribe site fills."""

    mode: str
    topic: str
    role: str
    unreachable: tuple[tuple[str, str], ...] = ()   # (component, site) that would fill it, never created


def registry_violations(result: ScanResult, registry: Registry) -> list[Violation]:
    result = resolve_roles(result, registry)
    return [*_topic_and_payload(result, registry), *_subscribers(result, registry),
            *_handler_reads(result, registry), *_missing_consumer_violations(result, registry),
            *_never_published(result)]


def registry_free_violations(result: ScanResult) -> list[Violation]:
    """What the sites say about each other with no registry: handlers reading keys no
    publisher sends, and topics subscribed that nothing publishes."""
    return [*_handler_reads(result, None), *_never_published(result)]


def resolve_roles(result: ScanResult, registry: Registry) -> ScanResult:
    """Subscribe sites that pass no ``role=`` take the role of the registry's consumer entry
    for their component (the handler's owner) on that topic, when there is exactly one."""
    subscribes = []
    for site in result.subscribes:
        inferable = site.topic is not None and site.role is None and not site.unreadable_name
        topic = registry.topics.get(site.topic) if inferable else None
        roles = sorted({c.role for c in topic.consumers if c.component == site.declared_component}) if topic else []
        subscribes.append(replace(site, role=roles[0]) if len(roles) == 1 else site)
    return replace(result, subscribes=tuple(subscribes))


def missing_consumers(result: ScanResult, registry: Registry, modes: tuple[str, ...] | None = None
                      ) -> list[MissingConsumer]:
    result = resolve_roles(result, registry)
    found = []
    for mode in modes or registry.modes:
        for name in sorted(registry.topics):
            for role in registry.required_roles(name, mode):
                sites = [s for s in result.subscribes if s.topic == name and s.role == role
                         and registry.runs_in(s.component, mode)]  # another mode's consumer does not count
                if not any(result.reachable(s.component) for s in sites):
                    found.append(MissingConsumer(mode, name, role, tuple((s.component, s.location) for s in sites)))
    return found


def _topic_and_payload(result: ScanResult, registry: Registry) -> list[Violation]:
    """Producers per component; payload problems once per site, naming every component that
    runs it (a base class publishing for three managers is one mistake, not three)."""
    found = []
    by_site: dict[tuple[str, str], list[PublishSite]] = {}
    for site in result.publishes:
        if site.topic is None:
            continue
        topic = registry.topics.get(site.topic)
        if topic is None:
            found.append(_unknown_topic(site.topic, site.location, "published"))
        elif site.component not in topic.producers:
            found.append(violation(
                "static.undeclared-producer", f"{site.component} publishes {topic.name} but is not a declared producer",
                location=site.location, expected=f"producers: {', '.join(topic.producers) or '(none)'}",
                seen=site.component,
            ))
        if topic is not None and site.keys is not None:
            by_site.setdefault((site.location, site.topic), []).append(site)
    for (location, name), sites in by_site.items():
        topic, site = registry.topics[name], sites[0]
        who = ", ".join(sorted({s.component for s in sites}))
        keys = site.keys or ()
        missing = [f.name for f in topic.fields if f.required and f.name not in keys]
        if missing and site.keys_complete:
            found.append(violation(
                "static.payload-missing-field",
                f"{who} publishes {name} without required field(s) {', '.join(missing)}",
                location=location, expected=", ".join(f.name for f in topic.fields if f.required),
                seen=", ".join(keys), missing=missing,
            ))
        declared = {f.name for f in topic.fields}
        unknown = [k for k in keys if k not in declared]
        if unknown and not topic.allow_extra_fields:
            found.append(violation(
                "static.payload-unknown-field", f"{who} publishes {name} with undeclared field(s) {', '.join(unknown)}",
                location=location, expected=", ".join(f.name for f in topic.fields), seen=", ".join(unknown),
                unknown=unknown,
            ))
    return found


def _subscribers(result: ScanResult, registry: Registry) -> list[Violation]:
    found = []
    for site in result.subscribes:
        if site.topic is None:
            continue
        topic = registry.topics.get(site.topic)
        if topic is None:
            found.append(_unknown_topic(site.topic, site.location, "subscribed"))
            continue
        if site.unreadable_name or site.declared_component is None:
            continue   # static.subscribe-unnamed already says so
        declared = {(c.component, c.role) for c in topic.consumers}
        if site.role is None or (site.declared_component, site.role) not in declared:
            found.append(violation(
                "static.undeclared-consumer",
                f"{site.declared_component}:{site.role or '(no role)'} subscribes to {topic.name} but is not a "
                "declared consumer",
                location=site.location,
                expected=", ".join(f"{c.component}:{c.role}" for c in topic.consumers) or "(no consumers)",
                seen=f"{site.declared_component}:{site.role or '(no role= and no consumer entry)'}",
            ))
    return found


def _handler_reads(result: ScanResult, registry: Registry | None) -> list[Violation]:
    """One violation per subscription and key (at its first read), naming every component
    that runs it; ``details["reads"]`` lists every line reading it.

    A field the registry declares optional may be read although no publisher sends it yet:
    the contract allows its absence, and the handler must cope (``data.get``)."""
    first: dict[tuple[str, str], tuple[SubscribeSite, str, list[str]]] = {}   # (site, key) -> site, problem, known
    components: dict[tuple[str, str], set[str]] = {}
    reads: dict[tuple[str, str], list[str]] = {}
    for site in result.subscribes:
        if site.topic is None:
            continue
        publishers = [p for p in result.publishes if p.topic == site.topic]
        sent = ({k for p in publishers for k in p.keys or ()}
                if publishers and all(p.keys is not None and p.keys_complete for p in publishers) else None)
        topic = registry.topics.get(site.topic) if registry is not None else None
        declared = {f.name for f in topic.fields} if topic else None
        optional = {f.name for f in topic.fields if not f.required} if topic else set()
        for key, where in site.reads:
            problem = "" if key in optional else _read_problem(key, declared, sent)
            if problem:
                known = sorted(declared if declared is not None else sent or ())
                first.setdefault((site.location, key), (site, problem, known))
                components.setdefault((site.location, key), set()).add(site.component)
                lines = reads.setdefault((site.location, key), [])
                if where not in lines:
                    lines.append(where)
    return [
        violation(
            "static.handler-reads-unpublished",
            f"{', '.join(sorted(components[at, key]))} handler {site.handler} reads {key!r} from "
            f"{site.topic}, but {problem}",
            location=reads[at, key][0], expected=f"one of: {', '.join(known)}", seen=key,
            subscribe_site=at, reads=reads[at, key],
        )
        for (at, key), (site, problem, known) in first.items()
    ]


def _never_published(result: ScanResult) -> list[Violation]:
    """Topics subscribed somewhere and published nowhere.  Judged only when every publish
    site's topic was read (an unresolved topic might be the missing one)."""
    if any(p.topic is None for p in result.publishes):
        return []
    published = {p.topic for p in result.publishes}
    first: dict[str, SubscribeSite] = {}
    for site in result.subscribes:
        if site.topic is not None and site.topic not in published:
            first.setdefault(site.topic, site)
    return [violation(
        "static.topic-never-published", f"{site.component} subscribes to {topic!r}, which nothing publishes",
        location=site.location, expected=f"a publish of {topic!r} somewhere in the scanned code",
        seen=f"published topics: {', '.join(sorted(published)) or '(none)'}",
    ) for topic, site in sorted(first.items())]


def _read_problem(key: str, declared: set[str] | None, sent: set[str] | None) -> str:
    if declared is not None and key not in declared:
        return "the registry does not declare it"
    if sent is not None and key not in sent:
        return "no publisher sends it"
    return ""


def _missing_consumer_violations(result: ScanResult, registry: Registry) -> list[Violation]:
    """One violation per (topic, role), naming every mode that requires it."""
    grouped: dict[tuple[str, str], list[MissingConsumer]] = {}
    for missing in missing_consumers(result, registry):
        grouped.setdefault((missing.topic, missing.role), []).append(missing)
    found = []
    for (topic, role), entries in sorted(grouped.items()):
        modes = ", ".join(m.mode for m in entries)
        unreachable = entries[0].unreachable
        components = {component for component, _ in unreachable}
        creators = sorted({f"{f.component}.{f.name}()" for f in result.factories
                           if not f.references and components & set(f.creates)})
        seen = ("no subscribe site with this role" if not unreachable else
                "subscribed only by " + ", ".join(f"{c} ({where})" for c, where in unreachable)
                + f", created only by {', '.join(creators) or 'factories'} that nothing calls")
        found.append(violation(
            "static.missing-required-consumer",
            f"{topic} requires a live subscriber with role {role!r} in {modes}; none is reachable",
            location=unreachable[0][1] if unreachable else f"registry topic {topic}",
            expected=f"a subscribe(..., role={role!r}) in a component that is created in {modes}",
            seen=seen, modes=[m.mode for m in entries], topic=topic, role=role,
        ))
    return found


def _unknown_topic(topic: str, location: str, verb: str) -> Violation:
    return violation("static.unknown-topic", f"topic {topic!r} is {verb} but not declared in the registry",
                     location=location, expected="a topic of the registry", seen=topic)
