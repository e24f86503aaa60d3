"""The routing table a host would build for one workload: entry → instance → plugin → backend."""

from __future__ import annotations

from dataclasses import dataclass

from webhook.model import HostInterface
from webhook.runtime.binding import bind
from webhook.runtime.catalog import Catalog
from webhook.runtime.multiplex import choose_backend, route_key, visible_settings
from webhook.runtime.wit import instance_id


@dataclass(slots=True)
class Route:
    entry: HostInterface
    instance: str
    name: str
    plugin: str | None
    backend: str | None
    settings: dict[str, str]


def routes_for(
    entries: list[HostInterface], catalog: Catalog, selector: dict[str, str]
) -> list[Route]:
    """Routes on the first host group the workload can land on (empty when none)."""
    groups = catalog.groups_for(selector)
    if not groups:
        return []
    claims = bind(entries, catalog.plugins_of(groups[0]), catalog.package_index(groups[0]))
    out = []
    for claim in claims:
        entry = claim.entry
        choice = choose_backend(entry, claim.plugin) if claim.plugin else None
        backend = choice.backend if choice else None
        out.append(
            Route(
                entry=entry,
                instance=instance_id(entry),
                name=route_key(entry),
                plugin=claim.plugin.id if claim.plugin else None,
                backend=backend.name if backend else None,
                settings=visible_settings(entry, backend),
            )
        )
    return out
