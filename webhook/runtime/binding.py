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

Releases differ (``Catalog.host``, webhook/runtime/releases.py): before v2.7.0 rule 3
does not exist and plugins are tried in a ``HashMap``'s order, before v2.5.0 rule 4
does not (the first server takes every entry), and before v2.5.2 rule 1 leaves P3's
``handler`` to plugin matching. Where hash order could choose between two servers
(a catalog of one's own on an older release), bindcheck binds as id order would and
records the other candidates (``Claim.rivals``), which the checks warn of.

The host converts entries first (washlet/mod.rs): an empty name is no name and a
version that is not strict semver is no version. Entries that become identical
(same package, interfaces, version, name and config) are one interface to the
host, which keeps them in a set.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from webhook.model import HostInterface
from webhook.runtime.catalog import HostBehaviour, Plugin
from webhook.runtime.wit import host_served, host_version, package_label
from webhook.text import shown

MAIN_BEHAVIOUR = HostBehaviour()


@dataclass(slots=True)  # nothing mutates a claim; ``holding`` is set as it is built
class Claim:
    entry: HostInterface
    plugin: Plugin | None
    """``None``: served by the host itself (``host``), or by nothing."""
    host: bool = False
    """A wasi:http entry the host serves itself."""
    pinned: Plugin | None = None
    """The plugin the entry's name pins it to (rule 3), whether or not it serves it."""
    holding: tuple[str, str, str, str] | None = None
    """What the plugin keys the entry by, where two entries under one key clash (see
    :func:`holdings`); ``None`` when it holds nothing to compare."""
    rivals: tuple[Plugin, ...] = ()
    """Other plugins that take the entry instead when the host tries them in a
    ``HashMap``'s order (``pluginOrder: hash``): which one binds is not defined."""

    def __post_init__(self) -> None:
        plugin, entry = self.plugin, self.entry
        if plugin is None:
            return
        if plugin.named_instances:
            self.holding = (plugin.id, entry.namespace, entry.package, entry.name or "")
        elif entry.name:
            self.holding = (plugin.id, entry.namespace, entry.package, "")


@dataclass(frozen=True, slots=True)
class NamedConflict:
    """A plugin without named-instance support asked to serve several named entries."""

    plugin: Plugin
    entries: tuple[HostInterface, ...]

    @property
    def names(self) -> list[str]:
        return sorted(shown(str(e.name)) for e in self.entries)

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


class Binder:
    """Binds entries as a host with ``registered`` plugins would (rules 1-4).

    ``registered``: the host's plugins by id, in id order; ``candidates``: the same
    plugins by the (namespace, package) they serve. Which plugins serve an entry
    depends only on its shape (package, version, interfaces), so shapes are memoised
    across reviews; a shape longer than :attr:`MAX_SHAPE` characters is not (its
    strings come from the request), and the memo is cleared when full.
    """

    MAX_SHAPES = 1024
    MAX_SHAPE = 512

    def __init__(
        self,
        registered: dict[str, Plugin],
        candidates: dict[tuple[str, str], list[Plugin]],
        behaviour: HostBehaviour = MAIN_BEHAVIOUR,
    ) -> None:
        self.registered = registered
        self.candidates = candidates
        self.behaviour = behaviour
        self._pins = registered if behaviour.pin_by_id else {}
        self._shapes: dict[tuple[str, str, str | None, tuple[str, ...]], _Shape] = {}

    def bind(self, entries: Sequence[HostInterface]) -> list[Claim]:
        """One claim per entry, in entry order."""
        return [self.claim(entry) for entry in entries]

    def claim(self, entry: HostInterface) -> Claim:
        """Where ``entry`` lands; it depends on the entry alone, so a memo may keep it."""
        if host_served(entry, self.behaviour.p3_handler):
            return Claim(entry, None, host=True)
        version = host_version(entry.version)
        key = (entry.namespace, entry.package, version, entry.interfaces)
        shape = self._shapes.get(key)
        if shape is None:
            shape = self._shape(entry, version, key)
        pinned = self._pins.get(entry.name) if entry.name else None
        if pinned is not None:
            return Claim(entry, pinned if pinned in shape.servers else None, pinned=pinned)
        if entry.name:
            return Claim(entry, shape.named, rivals=shape.named_rivals)
        return Claim(entry, shape.unnamed, rivals=shape.unnamed_rivals)

    def _shape(
        self,
        entry: HostInterface,
        version: str | None,
        key: tuple[str, str, str | None, tuple[str, ...]],
    ) -> _Shape:
        candidates = self.candidates.get(entry.package_key, ())
        servers = [p for p in candidates if p.serves(entry, version)]
        deferral = self.behaviour.named_deferral
        if deferral:
            named, unnamed = _first_taker(servers, True), _first_taker(servers, False)
        else:  # before v2.5.0 the first server takes every entry, named or not
            named = unnamed = servers[0] if servers else None
        if self.behaviour.plugin_order == "hash" and len(servers) > 1:
            rivals = (_rivals(servers, named, True, deferral),
                      _rivals(servers, unnamed, False, deferral))  # fmt: skip
        else:
            rivals = ((), ())
        shape = _Shape(servers, named, unnamed, *rivals)
        size = len(key[0]) + len(key[1]) + len(key[2] or "") + sum(map(len, key[3]))
        if size <= self.MAX_SHAPE:
            if len(self._shapes) >= self.MAX_SHAPES:
                self._shapes.clear()
            self._shapes[key] = shape
        return shape


@dataclass(frozen=True, slots=True)
class _Shape:
    servers: list[Plugin]
    named: Plugin | None
    unnamed: Plugin | None
    named_rivals: tuple[Plugin, ...] = ()
    unnamed_rivals: tuple[Plugin, ...] = ()


def _rivals(
    servers: list[Plugin], taker: Plugin | None, named: bool, deferral: bool
) -> tuple[Plugin, ...]:
    """The servers other than ``taker`` that some order of trying them lets take the
    entry: with deferral, those of the kind it prefers when there is one, else all."""
    able = servers
    if deferral:
        preferred = [p for p in servers if p.named_instances == named]
        able = preferred or servers
    return tuple(p for p in able if p is not taker)


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


def holdings(claims: Sequence[Claim]) -> tuple[list[NamedConflict], list[RouteCollision]]:
    """Rule 5's conflicts, and the route collisions of named-instance plugins.

    A plugin without named-instance support fails with more than one named entry of a
    package. A plugin with it keys its routing registry by name alone (plugin/multiplex.rs,
    ``build_registry_with``), filled from a set: two entries under one name (``""`` when
    unnamed) mean one backend silently replaces the other, and which one is not defined.
    Entries the host sees as one interface count once.
    """
    keys = [c.holding for c in claims if c.holding is not None]
    if len(set(keys)) == len(keys):  # the common list: no two entries to compare
        return [], []
    groups: dict[tuple[str, str, str, str], tuple[Plugin, list[HostInterface]]] = {}
    for claim in claims:
        if claim.holding is None or claim.plugin is None:
            continue
        held = groups.get(claim.holding)
        if held is None:
            groups[claim.holding] = (claim.plugin, [claim.entry])
        else:
            held[1].append(claim.entry)
    conflicts: list[NamedConflict] = []
    collisions: list[RouteCollision] = []
    for plugin, entries in groups.values():
        if len(entries) < 2:  # the common case: nothing to compare
            continue
        distinct = list({_host_identity(e): e for e in reversed(entries)}.values())[::-1]
        if len(distinct) < 2:
            continue
        if plugin.named_instances:
            collisions.append(RouteCollision(plugin, tuple(distinct)))
        else:
            conflicts.append(NamedConflict(plugin, tuple(distinct)))
    return conflicts, collisions


def named_conflicts(claims: Sequence[Claim]) -> list[NamedConflict]:
    """Rule 5: plugins without named-instance support holding several named entries."""
    return holdings(claims)[0]


def route_collisions(claims: Sequence[Claim]) -> list[RouteCollision]:
    """Entries a named-instance plugin would key by the same name (see :func:`holdings`)."""
    return holdings(claims)[1]
