"""The host catalog: host groups, the plugins each registers, what each plugin serves.

Catalogs are data (YAML or JSON), never code. The embedded ones
(``webhook/data/releases/``, one per wasmCloud release, webhook/runtime/releases.py)
are the host that Kubernetes host pods run, ``wash host``, read from upstream's
source at each tag; ``--catalog FILE`` replaces them, or ``extends`` one. The
format's JSON Schema is :func:`catalog_json_schema` (``bindcheck catalog schema``,
and ``docs/catalog.schema.json`` in the repository).

Loading a catalog file is webhook/runtime/catalog_files.py; the hosts a catalog
describes, ready to bind entries, are webhook/runtime/hosts.py.

The vocabulary follows the host's own plugin trait
(crates/wash-runtime/src/plugin/mod.rs): a plugin has an id, a world (what it
imports and exports, possibly spread over several entries of one package),
``supports_named_instances`` and ``claims``; a multiplexed plugin routes each
entry to a backend chosen by ``config.backend`` (plugin/multiplex.rs).
"""

from __future__ import annotations

import re
from collections import defaultdict
from functools import cached_property
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from webhook.model import HostInterface
from webhook.runtime.wit import at_least, parse_semver, versions_compatible
from webhook.text import did_you_mean, shown

DEFAULT_CATALOG = "embedded default"
ANY_KEY = "*"
"""In ``config.keys``/``config.secret``: every key (the plugin hands the whole map on)."""
CREDENTIAL_NAME = re.compile(r"pass|pwd|secret|token|cred|key|auth|cert|private", re.IGNORECASE)
"""What a key (or word) named like a credential holds: treated as secret wherever a
backend does not declare it."""


class _Strict(BaseModel):
    model_config = ConfigDict(
        extra="forbid", frozen=True, populate_by_name=True, use_attribute_docstrings=True
    )


def _semver_or_none(value: str | None) -> str | None:
    if value is not None and parse_semver(value) is None:
        raise ValueError(f"{value!r} is not a semver version (a host would drop it)")
    return value


class World(_Strict):
    """One entry of a plugin's world: a package at a version, the interfaces it offers.

    No version: any version (the host's ``same_package``).
    """

    namespace: str
    package: str
    version: str | None = None
    imports: tuple[str, ...] = ()
    exports: tuple[str, ...] = ()

    _check_version = field_validator("version")(_semver_or_none)

    @cached_property
    def offered(self) -> frozenset[str]:
        """Every interface name of this entry, imported or exported (the host matches
        either way: ``WitWorld::includes_bidirectional``)."""
        return frozenset((*self.imports, *self.exports))


class Claims(_Strict):
    """A plugin's veto over entries its world matches (``HostPlugin::claims``)."""

    min_version: str = Field(alias="minVersion")
    """Claim only entries that pin a version at or above this one; a versionless entry
    is refused and falls through to the next plugin."""

    _check_version = field_validator("min_version")(_semver_or_none)


class ConfigUse(_Strict):
    """How a plugin reads an entry's config when the entry is not routed to a backend."""

    keys: tuple[str, ...] = ()
    """Keys the plugin reads; ``"*"``: all of them (the map is handed on whole)."""
    required: tuple[str, ...] = ()
    """Keys without which binding fails."""
    secret: tuple[str, ...] = ()
    """Keys whose values are credentials, never shown; ``"*"``: every key."""
    required_message: str = Field(default="", alias="requiredMessage")
    """The host's own error for a missing key, ``{key}`` filled in."""


class UrlRule(_Strict):
    """What the backend's client library accepts in ``config.url``."""

    schemes: tuple[str, ...] = Field(min_length=1)
    list: bool = False
    """Several URLs, comma-separated (NATS server lists)."""
    schemeless: bool = False
    """A value without ``://`` is also accepted (NATS ``host:port``, postgres
    ``key=value``) and not checked further."""


class Backend(_Strict):
    """A backend a multiplexed plugin can route an entry to (``BackendProvider``)."""

    name: str
    required: tuple[str, ...] = ()
    optional: tuple[str, ...] = ()
    secret: tuple[str, ...] = ()
    """Config keys whose values are credentials: never shown."""
    required_message: str = Field(default="", alias="requiredMessage")
    """The host's own error for a missing key, ``{key}`` filled in; default
    ``{backend} {package} backend requires a '{key}' config``."""
    url: UrlRule | None = None
    """How ``config.url`` is checked, when the backend has one."""

    @property
    def keys(self) -> tuple[str, ...]:
        return (*self.required, *self.optional)


class Multiplex(_Strict):
    """Routing by ``config.backend`` (plugin/multiplex.rs)."""

    entries: Literal["all", "named"] = "all"
    """Which entries bound to the plugin are routed: all, or only named ones (the
    others take the plugin's plain path, see ``Plugin.config``)."""
    default_backend: str = Field(alias="defaultBackend")
    """The backend of an entry without ``config.backend``."""
    backends: tuple[Backend, ...] = Field(min_length=1)

    @model_validator(mode="after")
    def _consistent(self) -> Multiplex:
        names = [b.name for b in self.backends]
        duplicates = sorted({n for n in names if names.count(n) > 1})
        if duplicates:
            raise ValueError(f"backend names must be unique: {', '.join(duplicates)}")
        if self.default_backend not in names:
            raise ValueError(
                f"defaultBackend {self.default_backend!r} is not one of the backends "
                f"({', '.join(names)})"
            )
        return self

    @cached_property
    def by_name(self) -> dict[str, Backend]:
        return {b.name: b for b in self.backends}

    def routes(self, entry: HostInterface) -> bool:
        return self.entries == "all" or entry.named


class Plugin(_Strict):
    """One host plugin, as the host's binding sees it."""

    id: str = Field(min_length=1)
    description: str = ""
    named_instances: bool = Field(default=False, alias="namedInstances")
    """``supports_named_instances()``: can route several named entries of one package."""
    claims: Claims | None = None
    worlds: tuple[World, ...] = Field(min_length=1)
    config: ConfigUse = ConfigUse()
    label_key: tuple[str, ...] = Field(default=(), alias="labelKey")
    """A named entry requesting one of these interfaces needs ``config[<name>]``
    (the secrets plugin's labelled secrets)."""
    unconfigured: str = ""
    """When set: why an entry on the plain path (not routed to a backend) cannot work
    on this host; reported as a warning."""
    multiplex: Multiplex | None = None
    source: str = ""
    """Where upstream defines it (file, commit), for readers of the catalog."""

    def serves(self, entry: HostInterface, version: str | None) -> bool:
        """Every requested interface is offered by some world entry of the same package
        at a compatible version, and the plugin claims the entry.

        ``version`` is the entry's host version (:func:`host_version`).
        """
        worlds = self._worlds_by_package.get(entry.package_key)
        if not worlds:
            return False
        compatible = [w.offered for w in worlds if versions_compatible(w.version, version)]
        if not all(any(i in offered for offered in compatible) for i in entry.interfaces):
            return False
        return self.claims is None or at_least(version, self.claims.min_version)

    @cached_property
    def _worlds_by_package(self) -> dict[tuple[str, str], list[World]]:
        out: dict[tuple[str, str], list[World]] = defaultdict(list)
        for world in self.worlds:
            out[(world.namespace, world.package)].append(world)
        return dict(out)

    @property
    def packages(self) -> list[tuple[str, str]]:
        return list(self._worlds_by_package)

    def needs_label_key(self, entry: HostInterface) -> bool:
        """A named entry asking for a labelled interface carries its value at
        ``config[<name>]``."""
        return entry.named and not set(self.label_key).isdisjoint(entry.interfaces)

    def routed(self, entry: HostInterface) -> bool:
        """Whether ``entry``, bound to this plugin, is routed to a backend."""
        return self.multiplex is not None and self.multiplex.routes(entry)


class OptInPlugin(_Strict):
    """A plugin the host registers only when started with a flag."""

    id: str
    flag: str


class HostGroup(_Strict):
    """Hosts started alike; a workload's hostSelector picks groups by their labels."""

    name: str = Field(min_length=1)
    labels: dict[str, str] = Field(default_factory=dict)
    """Labels its hosts carry; ``hostgroup: <name>`` when not given (``wash host``
    labels itself with its ``--host-group``)."""
    http: Literal["dynamic", "dev", "none"] = "dynamic"
    """The host's HTTP router: ``dynamic`` (``wash host --http-addr``, routes by
    ``config.host``), ``dev`` (``wash dev``, ignores host names), ``none`` (no
    ``--http-addr``)."""
    plugins: tuple[str, ...]
    opt_in: tuple[OptInPlugin, ...] = Field(default=(), alias="optIn")

    @property
    def effective_labels(self) -> dict[str, str]:
        return self.labels or {"hostgroup": self.name}

    def selected_by(self, selector: dict[str, str]) -> bool:
        """A hostSelector picks hosts whose labels include every pair."""
        labels = self.effective_labels
        return all(labels.get(k) == v for k, v in selector.items())


class Upstream(_Strict):
    repository: str
    commit: str
    release: str | None = None
    """The release tag the commit is (``v2.6.1``); none for an unreleased commit."""
    files: tuple[str, ...] = ()


class HostBehaviour(_Strict):
    """How the host binary binds and routes entries: what changes between wasmCloud
    releases besides the plugins (webhook/runtime/releases.py says which release does
    what). The defaults are the newest host's; a catalog states what differs."""

    named_deferral: bool = Field(default=True, alias="namedDeferral")
    """A named entry passes over a plain plugin when a named-instance plugin serves it,
    and the reverse (engine/workload.rs ``other_plugin_serves``, from v2.5.0)."""
    pin_by_id: bool = Field(default=True, alias="pinById")
    """A named entry whose name is a registered plugin's id binds to that plugin only
    (from v2.7.0, e9245832e)."""
    plugin_order: Literal["id", "hash"] = Field(default="id", alias="pluginOrder")
    """The order plugins are tried in: by id (``BTreeMap``, from v2.7.0, 9feb2fe6a) or
    a ``HashMap``'s, which is not defined."""
    claims: bool = True
    """Plugins may refuse entries their world matches (``HostPlugin::claims``,
    fc0721900; in no release yet)."""
    p3_handler: bool = Field(default=True, alias="p3Handler")
    """The host serves ``wasi:http/handler`` (P3) itself and routes it like an incoming
    handler (from v2.5.2, 5ad48416a)."""
    host_names: Literal["rfc1123", "any"] = Field(default="rfc1123", alias="hostNames")
    """What the HTTP router accepts in ``config.host``: RFC 1123 host names, with
    ``host-aliases`` (from v2.0.3, 5927b23be), or any value and no aliases."""
    no_host_error: str = Field(default="no host header found", alias="noHostError")
    """The router's error for an entry point without ``config.host`` (capitalised
    until v2.2.x, bfa30e368)."""


class Catalog(_Strict):
    """Every host group and plugin of the hosts a workload may land on."""

    upstream: Upstream | None = None
    """The upstream source this catalog was read from, if any."""
    host: HostBehaviour = HostBehaviour()
    """How its hosts bind and route (the release they run)."""
    host_groups: tuple[HostGroup, ...] = Field(alias="hostGroups", min_length=1)
    plugins: tuple[Plugin, ...]
    source: str = Field(default=DEFAULT_CATALOG, exclude=True)
    extends: str | None = Field(default=None, exclude=True)
    """The release a catalog file extends (``wasmcloud@2.7``), merged in already: the
    hosts of that release it describes when the cluster's hosts are discovered."""

    @model_validator(mode="after")
    def _references_resolve(self) -> Catalog:
        ids = [p.id for p in self.plugins]
        duplicates = sorted({i for i in ids if ids.count(i) > 1})
        if duplicates:
            raise ValueError(f"plugin ids must be unique: {', '.join(duplicates)}")
        if not self.host.claims:
            claiming = [p.id for p in self.plugins if p.claims is not None]
            if claiming:
                raise ValueError(
                    f"plugin {claiming[0]!r} declares claims, but these hosts have no "
                    "claims() (host.claims is false: no wasmCloud release has it yet)"
                )
        names = [g.name for g in self.host_groups]
        if len(names) != len(set(names)):
            raise ValueError("host group names must be unique")
        for group in self.host_groups:
            for plugin_id in (*group.plugins, *(o.id for o in group.opt_in)):
                if plugin_id not in ids:
                    raise ValueError(
                        f"host group {group.name!r} names unknown plugin "
                        f"'{shown(plugin_id, 64)}'{did_you_mean(plugin_id, ids)}"
                    )
            both = set(group.plugins) & {o.id for o in group.opt_in}
            if both:
                raise ValueError(
                    f"host group {group.name!r} lists {sorted(both)} as registered and opt-in"
                )
        return self

    def groups_for(self, selector: dict[str, str]) -> list[HostGroup]:
        """Host groups a workload can land on. Without a selector the scheduler may pick
        any host (runtime-operator workload_controller.go, findFreeHost)."""
        return [g for g in self.host_groups if g.selected_by(selector)]

    def plugin(self, plugin_id: str) -> Plugin:
        return self._by_id[plugin_id]

    @cached_property
    def _by_id(self) -> dict[str, Plugin]:
        return {p.id: p for p in self.plugins}
