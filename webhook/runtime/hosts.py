"""The hosts a catalog describes, ready to bind entries: one :class:`Hosts` per catalog.

A catalog (webhook/runtime/catalog.py) is a frozen schema; this is what the checks,
``resolve`` and the policy export work from: each host group's plugins in the order
a host tries them, the same plugins by the package they serve, the group's binder,
and the offers a message lists when nothing serves an entry. The export compiles
these same tables into CEL, so the webhook and the policies read one host model.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence

from webhook.runtime.binding import Binder
from webhook.runtime.catalog import Catalog, HostGroup, Plugin


def index_by_package(plugins: Sequence[Plugin]) -> dict[tuple[str, str], list[Plugin]]:
    """Plugins by the (namespace, package) they serve, order kept within each package."""
    by_package: dict[tuple[str, str], list[Plugin]] = defaultdict(list)
    for plugin in plugins:
        for key in plugin.packages:
            by_package[key].append(plugin)
    return dict(by_package)


def offer(plugin: Plugin, version: str | None, offered: frozenset[str]) -> str:
    """One line of what a plugin offers for a package, as messages list it."""
    at = f"@{version}" if version else " (any version)"
    only = f", only versions >= {plugin.claims.min_version}" if plugin.claims else ""
    return f"{', '.join(sorted(offered))}{at} from '{plugin.id}'{only}"


class Hosts:
    """Per host group of ``catalog``: its plugins, its binder and its offers."""

    def __init__(self, catalog: Catalog) -> None:
        self.catalog = catalog
        self._registered: dict[str, dict[str, Plugin]] = {
            g.name: {i: catalog.plugin(i) for i in sorted(set(g.plugins))}
            for g in catalog.host_groups
        }
        self._candidates = {
            name: index_by_package(list(plugins.values()))
            for name, plugins in self._registered.items()
        }
        self._binders = {
            name: Binder(plugins, self._candidates[name], catalog.host)
            for name, plugins in self._registered.items()
        }
        self._offers: dict[str, dict[tuple[str, str], list[str]]] = {}
        for name, plugins in self._registered.items():
            by_package: dict[tuple[str, str], list[str]] = defaultdict(list)
            for plugin in plugins.values():
                for world in plugin.worlds:
                    by_package[(world.namespace, world.package)].append(
                        offer(plugin, world.version, world.offered)
                    )
            self._offers[name] = dict(by_package)

    @property
    def groups(self) -> tuple[HostGroup, ...]:
        return self.catalog.host_groups

    def groups_for(self, selector: dict[str, str]) -> list[HostGroup]:
        return self.catalog.groups_for(selector)

    def registered(self, group: HostGroup) -> dict[str, Plugin]:
        """The group's plugins by id, in id order (the order a host tries them in)."""
        return self._registered[group.name]

    def candidates(self, group: HostGroup) -> dict[tuple[str, str], list[Plugin]]:
        """The group's plugins by the package they serve, in id order."""
        return self._candidates[group.name]

    def binder(self, group: HostGroup) -> Binder:
        """Binds entries as a host of ``group`` does (webhook/runtime/binding.py)."""
        return self._binders[group.name]

    def offers(self, group: HostGroup) -> dict[tuple[str, str], list[str]]:
        """What the group's plugins offer, per package, one line per world entry."""
        return self._offers[group.name]
