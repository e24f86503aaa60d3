"""Which plugin takes each entry, exactly as a host binds a workload at deploy time.

Follows ``UnresolvedWorkload::bind_plugins`` in crates/wash-runtime/src/engine/workload.rs
(wasmCloud/wasmCloud@7cd553cc):

1. ``wasi:http`` entries asking only for the handlers are served by the host itself
   and never reach plugin matching.
2. Plugins are tried in id order. A plugin matches an entry when its world serves
   every requested interface at a compatible version and it ``claims`` the entry;
   a plugin that refuses leaves the entry to the next one.
3. A named entry whose name is the id of a registered plugin binds only to that
   plugin, if it serves and claims the entry; otherwise it stays unmatched.
4. Otherwise a named entry passes over a plugin without named-instance support when
   another plugin with that support serves it, and an unnamed entry passes over a
   plugin with that support when a plain plugin serves it.
5. A plugin without named-instance support that ends up with more than one named
   entry of one namespace:package fails the deploy.
6. An entry no plugin takes fails the deploy.

The host converts entries first (washlet/mod.rs): an empty name is no name and a
version that is not strict semver is no version. Entries that become identical
(same package, interfaces, version, name and config) are one interface to the
host, which keeps them in a set.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass

from webhook.model import HostInterface
from webhook.runtime.catalog import Plugin
from webhook.runtime.wit import host_served, host_version, package_label


@dataclass(slots=True)  # built per entry per review: not frozen, for speed
class Claim:
    entry: HostInterface
    plugin: Plugin | None
    """``None``: served by the host itself (``host``), or by nothing."""
    host: bool = False
    """A wasi:http entry the host serves itself."""
    pinned: Plugin | None = None
    """The plugin the entry's name pins it to (rule 3), whether or not it serves it."""


@dataclass(frozen=True, slots=True)
class NamedConflict:
    """A plugin without named-instance support asked to serve several named entries."""

    plugin: Plugin
    entries: tuple[HostInterface, ...]

    @property
    def names(self) -> list[str]:
        return sorted(str(e.name) for e in self.entries)

    def message(self) -> str:
        """The host's own wording, so users can match it to host logs."""
        first = self.entries[0]
        return (
            f"plugin '{self.plugin.id}' does not support named instances, but workload "
            f"requires {len(self.entries)} named entries for "
            f"{package_label(first.namespace, first.package)} (names: {', '.join(self.names)}). "
            "The plugin must implement supports_named_instances() to handle multiplexed "
            "interfaces."
        )


@dataclass(frozen=True, slots=True)
class RouteCollision:
    """Entries a named-instance plugin keys by the same name: one replaces the other."""

    plugin: Plugin
    entries: tuple[HostInterface, ...]


def bind(
    entries: Sequence[HostInterface],
    registered: dict[str, Plugin],
    candidates: dict[tuple[str, str], list[Plugin]],
) -> list[Claim]:
    """One claim per entry, in entry order.

    ``registered``: the host's plugins by id, in id order; ``candidates``: the same
    plugins by the (namespace, package) they serve (``Catalog.candidates``).
    """
    claims = []
    # Entries that differ only by name and config are served by the same plugins.
    servers_of: dict[tuple[str, str, str | None, tuple[str, ...]], list[Plugin]] = {}
    for entry in entries:
        if host_served(entry):
            claims.append(Claim(entry, None, host=True))
            continue
        version = host_version(entry.version)
        shape = (entry.namespace, entry.package, version, entry.interfaces)
        servers = servers_of.get(shape)
        if servers is None:
            candidates_here = candidates.get(entry.package_key, ())
            servers = servers_of[shape] = [p for p in candidates_here if p.serves(entry, version)]
        pinned = registered.get(entry.name) if entry.name else None
        if pinned is not None:
            claims.append(Claim(entry, pinned if pinned in servers else None, pinned=pinned))
            continue
        claims.append(Claim(entry, _first_taker(servers, entry.named)))
    return claims


def _first_taker(servers: list[Plugin], named: bool) -> Plugin | None:
    """The first server (id order) that does not defer to another kind of server."""
    for plugin in servers:
        if plugin.named_instances != named and any(
            other.named_instances == named for other in servers if other is not plugin
        ):
            continue
        return plugin
    return None


def _host_identity(entry: HostInterface) -> tuple[object, ...]:
    """What makes two entries one interface to the host (its ``HashSet<WitInterface>``)."""
    return (
        entry.namespace,
        entry.package,
        frozenset(entry.interfaces),
        host_version(entry.version),
        entry.name or None,
        tuple(sorted(entry.config.items())),
    )


def _held(claims: Sequence[Claim], named_plugins: bool) -> list[tuple[Plugin, list[HostInterface]]]:
    """Entries held by each plugin with (or without) named-instance support, per package;
    entries the host sees as one interface count once."""
    held: dict[tuple[str, tuple[str, str]], tuple[Plugin, list[HostInterface]]] = {}
    seen: set[tuple[object, ...]] = set()
    for claim in claims:
        plugin = claim.plugin
        if plugin is None or plugin.named_instances is not named_plugins:
            continue
        identity = (plugin.id, _host_identity(claim.entry))
        if identity in seen:
            continue
        seen.add(identity)
        held.setdefault((plugin.id, claim.entry.package_key), (plugin, []))[1].append(claim.entry)
    return list(held.values())


def named_conflicts(claims: Sequence[Claim]) -> list[NamedConflict]:
    """Rule 5: plugins without named-instance support holding several named entries."""
    out = []
    for plugin, entries in _held(claims, named_plugins=False):
        named = tuple(e for e in entries if e.named)
        if len(named) > 1:
            out.append(NamedConflict(plugin, named))
    return out


def route_collisions(claims: Sequence[Claim]) -> list[RouteCollision]:
    """Entries a named-instance plugin would key by the same name (``""`` if unnamed).

    Its routing registry is a map from name to backend (plugin/multiplex.rs,
    ``build_registry_with``), filled from a set: with two entries under one name, one
    backend silently replaces the other, and which one is not defined.
    """
    out: list[RouteCollision] = []
    for plugin, entries in _held(claims, named_plugins=True):
        by_name: dict[str, list[HostInterface]] = defaultdict(list)
        for entry in entries:
            by_name[entry.name or ""].append(entry)
        out.extend(
            RouteCollision(plugin, tuple(same)) for same in by_name.values() if len(same) > 1
        )
    return out
