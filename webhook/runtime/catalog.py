"""The host catalog: host groups, their plugins, the worlds and backends each plugin serves.

Catalogs are data (YAML or JSON), never code. The embedded default describes a
standard wasmCloud host; ``--catalog FILE`` replaces it.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from functools import cached_property
from importlib import resources
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from webhook.errors import CatalogError
from webhook.model import HostInterface
from webhook.runtime.wit import includes

DEFAULT_CATALOG = "embedded default"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


class World(_Strict):
    """One package a plugin serves; no version means any version."""

    namespace: str
    package: str
    version: str | None = None
    imports: tuple[str, ...] = ()
    exports: tuple[str, ...] = ()

    @cached_property
    def offered(self) -> frozenset[str]:
        """Every interface name of the world, imported or exported."""
        return frozenset((*self.imports, *self.exports))

    def serves(self, entry: HostInterface) -> bool:
        return includes(self.namespace, self.package, self.version, self.offered, entry)


class Backend(_Strict):
    """A backend a multiplexing plugin can route a name to."""

    name: str
    required: tuple[str, ...] = ()
    optional: tuple[str, ...] = ()
    secret: tuple[str, ...] = ()
    """Config keys whose values are credentials: never shown."""


class Plugin(_Strict):
    id: str
    named_instances: bool = Field(default=False, alias="namedInstances")
    worlds: tuple[World, ...] = Field(min_length=1)
    backends: tuple[Backend, ...] = ()
    """Default first. Empty: the plugin takes its settings straight from config."""

    def serves(self, entry: HostInterface) -> bool:
        return any(w.serves(entry) for w in self.worlds)

    def backend(self, name: str) -> Backend | None:
        return self._backends_by_name.get(name)

    @cached_property
    def _backends_by_name(self) -> dict[str, Backend]:
        return {b.name: b for b in self.backends}


class HostGroup(_Strict):
    name: str
    labels: dict[str, str] = {}
    default: bool = False
    plugins: tuple[str, ...]

    def selected_by(self, selector: dict[str, str]) -> bool:
        """A workload's hostSelector picks groups whose labels include every pair."""
        return all(self.labels.get(k) == v for k, v in selector.items())


class Catalog(_Strict):
    host_groups: tuple[HostGroup, ...] = Field(alias="hostGroups", min_length=1)
    plugins: tuple[Plugin, ...]
    source: str = Field(default=DEFAULT_CATALOG, exclude=True)

    @model_validator(mode="after")
    def _references_resolve(self) -> Catalog:
        ids = [p.id for p in self.plugins]
        if len(ids) != len(set(ids)):
            raise ValueError(f"plugin ids must be unique: {sorted(ids)}")
        for group in self.host_groups:
            for plugin_id in group.plugins:
                if plugin_id not in ids:
                    raise ValueError(
                        f"host group {group.name!r} names unknown plugin {plugin_id!r}"
                    )
        return self

    def groups_for(self, selector: dict[str, str]) -> list[HostGroup]:
        """Host groups a workload can land on: by selector, or the default groups without one."""
        if not selector:
            defaults = [g for g in self.host_groups if g.default]
            return defaults or list(self.host_groups)
        return [g for g in self.host_groups if g.selected_by(selector)]

    def plugins_of(self, group: HostGroup) -> list[Plugin]:
        """The group's plugins in id order (the order a host tries them in)."""
        return self._by_group[group.name][0]

    def package_index(self, group: HostGroup) -> dict[tuple[str, str], list[Plugin]]:
        """The group's plugins by (namespace, package)."""
        return self._by_group[group.name][1]

    @cached_property
    def _by_group(self) -> dict[str, tuple[list[Plugin], dict[tuple[str, str], list[Plugin]]]]:
        # Computed once: plugins_of and package_index sit on the admission hot path.
        by_id = {p.id: p for p in self.plugins}
        out = {}
        for group in self.host_groups:
            ordered = sorted((by_id[i] for i in group.plugins), key=lambda p: p.id)
            out[group.name] = (ordered, index_by_package(ordered))
        return out


def index_by_package(plugins: Sequence[Plugin]) -> dict[tuple[str, str], list[Plugin]]:
    """Plugins by the (namespace, package) they serve, id order kept within each package."""
    by_package: dict[tuple[str, str], list[Plugin]] = defaultdict(list)
    for plugin in plugins:
        for key in dict.fromkeys((w.namespace, w.package) for w in plugin.worlds):
            by_package[key].append(plugin)
    return dict(by_package)


def load_catalog(path: str | None) -> Catalog | None:
    """``None``/absent → embedded default; ``"none"`` → no catalog; else the file."""
    if path == "none":
        return None
    if path is None:
        text = resources.files("webhook").joinpath("data/default-catalog.yaml").read_text()
        return parse_catalog(text, DEFAULT_CATALOG)
    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise CatalogError(path, "", f"cannot read catalog: {exc}") from None
    return parse_catalog(text, path)


def parse_catalog(text: str, source: str) -> Catalog:
    """Validate a catalog text; errors name the path inside the file."""
    try:
        data: Any = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise CatalogError(source, "", f"invalid YAML: {exc}") from None
    if not isinstance(data, dict):
        raise CatalogError(source, "", "a catalog is a mapping with hostGroups and plugins")
    try:
        catalog = Catalog.model_validate(data)
    except ValidationError as exc:
        err = exc.errors()[0]
        path = ".".join(str(p) for p in err["loc"])
        raise CatalogError(source, path, err["msg"]) from None
    catalog.__dict__["source"] = source  # frozen model; set once, before anyone holds it
    return catalog
