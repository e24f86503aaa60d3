"""The routing table a host would build for one workload: entry → plugin → backend."""

from __future__ import annotations

from dataclasses import dataclass, field

from webhook.model import HostInterface
from webhook.runtime.binding import Claim
from webhook.runtime.catalog import UrlRule
from webhook.runtime.http import ALIASES_KEY, HOST_KEY
from webhook.runtime.multiplex import choose_backend, route_key
from webhook.runtime.settings import Reading, reading, visible_settings
from webhook.runtime.wit import instance_id

HTTP_READING = Reading(frozenset({HOST_KEY, ALIASES_KEY}), frozenset())
"""What the host's HTTP router reads of a wasi:http entry."""


@dataclass(slots=True)
class Route:
    entry: HostInterface
    instance: str
    name: str
    """The import label the route answers; ``""`` for the default route."""
    served_by: str
    """``plugin``, ``host`` (wasi:http) or ``nobody`` (the deploy would fail)."""
    plugin: str | None
    backend: str | None
    """The backend a multiplexed plugin routes to; ``None`` on a plugin's plain path."""
    settings: dict[str, str]
    ignored: list[str] = field(default_factory=list)
    """Config keys the serving plugin never reads."""
    url_rule: UrlRule | None = None
    """What the chosen backend's client accepts as ``config.url``; a probe refuses the rest."""


def routes_for(claims: list[Claim]) -> list[Route]:
    """One route per claim."""
    out = []
    for claim in claims:
        entry, plugin = claim.entry, claim.plugin
        backend = None
        if plugin is not None and plugin.multiplex is not None and plugin.routed(entry):
            backend = choose_backend(entry, plugin.multiplex).backend
        if plugin is not None:
            settings, ignored = visible_settings(entry, reading(entry, plugin, backend))
        elif claim.host:
            settings, ignored = visible_settings(entry, HTTP_READING)
        else:
            settings, ignored = {}, []
        out.append(
            Route(
                entry=entry,
                instance=instance_id(entry),
                name=route_key(entry),
                served_by="host" if claim.host else ("plugin" if plugin else "nobody"),
                plugin=plugin.id if plugin else None,
                backend=backend.name if backend else None,
                settings=settings,
                ignored=ignored,
                url_rule=backend.url if backend else None,
            )
        )
    return out
