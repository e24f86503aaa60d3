"""``bindcheck catalog show`` and ``bindcheck catalog schema``: the host, as bindcheck sees it."""

from __future__ import annotations

import json
from typing import Any

from webhook.runtime.catalog import ANY_KEY, Catalog, HostBehaviour, HostGroup, Plugin
from webhook.runtime.catalog_files import catalog_json_schema
from webhook.runtime.hosts import Hosts

_ROUTERS = {
    "dynamic": "routes by config.host (wash host --http-addr): the first wasi:http handler "
    "entry needs a valid host name",
    "dev": "serves one workload whatever the host name (wash dev)",
    "none": "no HTTP server (no --http-addr)",
}


def show_text(catalog: Catalog) -> str:
    lines = [f"host catalog: {catalog.source}"]
    if catalog.upstream is not None:
        up = catalog.upstream
        release = f" (release {up.release})" if up.release else ""
        lines.append(f"read from {up.repository}@{up.commit}{release}")
    lines.extend(["", "how its hosts bind and route:", *_behaviour_lines(catalog.host)])
    for group in catalog.host_groups:
        lines.extend(["", *_group_lines(catalog, group)])
    return "\n".join(lines) + "\n"


def _behaviour_lines(host: HostBehaviour) -> list[str]:
    order = "by id" if host.plugin_order == "id" else "in a HashMap's order (not defined)"
    return [
        f"  plugins are tried {order}",
        "  a named entry whose name is a plugin's id binds to that plugin only"
        if host.pin_by_id
        else "  no pinning by plugin id",
        "  named entries pass over plain plugins when a named-instance plugin serves them, "
        "and unnamed ones the reverse"
        if host.named_deferral
        else "  the first plugin that serves an entry takes it, named or not",
        "  plugins may refuse entries (claims)"
        if host.claims
        else "  no plugin refuses an entry it serves",
        "  the host serves wasi:http incoming-handler, outgoing-handler"
        + (" and the P3 handler" if host.p3_handler else " (P3 handler: to the plugins)"),
        "  config.host: an RFC 1123 host name, with host-aliases"
        if host.host_names == "rfc1123"
        else "  config.host: any value; host-aliases is not read",
    ]


def _group_lines(catalog: Catalog, group: HostGroup) -> list[str]:
    labels = ", ".join(f"{k}={v}" for k, v in sorted(group.effective_labels.items()))
    lines = [
        f"host group {group.name} (hosts labelled {labels})",
        f"  wasi:http: served by the host; router {group.http}: {_ROUTERS[group.http]}",
        "  plugins, in the order the host tries them:",
    ]
    for plugin in Hosts(catalog).registered(group).values():
        lines.extend(_plugin_lines(plugin))
    for opt in group.opt_in:
        lines.append(f"  opt-in, registered only with {opt.flag}:")
        lines.extend(_plugin_lines(catalog.plugin(opt.id)))
    return lines


def _plugin_lines(plugin: Plugin) -> list[str]:
    kind = "named instances" if plugin.named_instances else "plain (no named instances)"
    lines = [f"    {plugin.id}: {kind}" + (f"; {plugin.description}" if plugin.description else "")]
    for world in plugin.worlds:
        at = f"@{world.version}" if world.version else " (any version)"
        parts = []
        if world.imports:
            parts.append(f"imports {', '.join(world.imports)}")
        if world.exports:
            parts.append(f"exports {', '.join(world.exports)}")
        lines.append(f"      {world.namespace}:{world.package}{at}: {'; '.join(parts)}")
    if plugin.claims is not None:
        lines.append(f"      claims only entries pinning version >= {plugin.claims.min_version}")
    use = plugin.config
    if use.keys:
        keys = "every key" if ANY_KEY in use.keys else ", ".join(use.keys)
        required = f" (required: {', '.join(use.required)})" if use.required else ""
        lines.append(f"      reads config: {keys}{required}")
    if plugin.label_key:
        lines.append(f"      a named {'/'.join(plugin.label_key)} entry reads config.<its name>")
    if plugin.multiplex is not None:
        mux = plugin.multiplex
        which = "every entry" if mux.entries == "all" else "named entries"
        lines.append(f"      routes {which} by config.backend (default {mux.default_backend}):")
        for backend in mux.backends:
            needs = f" needs {', '.join(backend.required)}" if backend.required else ""
            may = f"; may set {', '.join(backend.optional)}" if backend.optional else ""
            lines.append(f"        {backend.name}{needs}{may}")
    if plugin.unconfigured:
        lines.append(f"      note: {plugin.unconfigured}")
    return lines


def show_json(catalog: Catalog) -> str:
    hosts = Hosts(catalog)
    data: dict[str, Any] = {
        "source": catalog.source,
        **catalog.model_dump(by_alias=True, exclude_none=True, mode="json"),
        "bindingOrder": {g.name: list(hosts.registered(g)) for g in catalog.host_groups},
    }
    return json.dumps(data, indent=2) + "\n"


def schema() -> str:
    return catalog_json_schema()
