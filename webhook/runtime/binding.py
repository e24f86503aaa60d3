"""Which plugin claims each entry, exactly as a host binds a workload at deploy time.

1. Plugins are tried in id order; the first that serves an entry claims it.
2. A named entry whose name equals a plugin id goes to that plugin, if it serves it.
3. Otherwise a named entry passes over plugins without named-instance support
   when one with support serves it; an unnamed entry passes over plugins with
   support when a plain plugin serves it.
4. A plain plugin holding more than one named entry of one namespace:package
   cannot serve the workload.
5. An entry no plugin serves cannot be deployed.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass

from webhook.model import HostInterface
from webhook.runtime.catalog import Plugin, index_by_package


@dataclass(slots=True)  # built per entry per review: not frozen, for speed
class Claim:
    entry: HostInterface
    plugin: Plugin | None
    """``None``: no plugin on the host serves the entry."""


@dataclass(frozen=True, slots=True)
class NamedConflict:
    """A plain plugin asked to serve several named entries of one package."""

    plugin: Plugin
    package_id: str
    entries: tuple[HostInterface, ...]

    @property
    def names(self) -> list[str]:
        return sorted(str(e.name) for e in self.entries)

    def message(self) -> str:
        """The host's own wording, so users can match it to host logs."""
        return (
            f"plugin '{self.plugin.id}' does not support named instances, but workload "
            f"requires {len(self.entries)} named entries for {self.package_id} "
            f"(names: {', '.join(self.names)})"
        )


def bind(
    entries: Sequence[HostInterface],
    plugins: Sequence[Plugin],
    by_package: dict[tuple[str, str], list[Plugin]] | None = None,
) -> list[Claim]:
    """One claim per entry, in entry order. ``plugins`` must be in id order.

    ``by_package`` is :func:`index_by_package` of ``plugins``, when the caller keeps one.
    """
    by_id = {p.id: p for p in plugins}
    if by_package is None:
        by_package = index_by_package(plugins)
    claims = []
    # Entries that differ only by name and config are served by the same plugins.
    servers_of: dict[tuple[str, str, str | None, tuple[str, ...]], list[Plugin]] = {}
    for entry in entries:
        shape = (entry.namespace, entry.package, entry.version, entry.interfaces)
        servers = servers_of.get(shape)
        if servers is None:
            candidates = by_package.get(shape[:2], [])
            servers = servers_of[shape] = [p for p in candidates if p.serves(entry)]
        pinned = by_id.get(entry.name or "")
        if pinned is not None and pinned in servers:
            claims.append(Claim(entry, pinned))
            continue
        preferred = [p for p in servers if p.named_instances == entry.named]
        chosen = preferred[0] if preferred else (servers[0] if servers else None)
        claims.append(Claim(entry, chosen))
    return claims


def named_conflicts(claims: Sequence[Claim]) -> list[NamedConflict]:
    """Rule 4: plain plugins that got more than one named entry of one package."""
    held: dict[tuple[str, str], list[HostInterface]] = defaultdict(list)
    plugins: dict[str, Plugin] = {}
    for claim in claims:
        plugin = claim.plugin
        if plugin is None or plugin.named_instances or not claim.entry.named:
            continue
        plugins[plugin.id] = plugin
        held[(plugin.id, claim.entry.package_id)].append(claim.entry)
    return [
        NamedConflict(plugins[plugin_id], package_id, tuple(entries))
        for (plugin_id, package_id), entries in held.items()
        if len(entries) > 1
    ]
