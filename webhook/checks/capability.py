"""What a host would do with the workload: binding, named instances, backends, HTTP routing.

Each host group the workload may land on is checked as its hosts would bind the
workload (webhook/runtime/binding.py); the same violation from several groups is
reported once. bindcheck assumes every entry is imported or exported by some
component: a host binds only those, and a manifest does not say which they are.
"""

from __future__ import annotations

from collections.abc import Hashable

from webhook.checks.schema import quote
from webhook.facts import FRESH_REVIEW, Review
from webhook.model import HostInterface, Workload
from webhook.rulebook import (
    BACKEND_CONFIG_INVALID,
    BACKEND_CONFIG_MISSING,
    BACKEND_IGNORED,
    BACKEND_UNKNOWN,
    CONFIG_UNREAD,
    HOSTGROUP_UNMATCHED,
    HTTP_HOST,
    HTTP_HOST_ALIAS,
    INTERFACE_UNAVAILABLE,
    PLUGIN_CONFIG_MISSING,
    PLUGIN_NAMED_INSTANCES,
    PLUGIN_ORDER_UNDEFINED,
    PLUGIN_UNCONFIGURED,
    ROUTE_COLLISION,
)
from webhook.runtime.binding import Claim, NamedConflict, holdings
from webhook.runtime.catalog import CREDENTIAL_NAME, HostGroup, Multiplex, Plugin
from webhook.runtime.hosts import Hosts, offer
from webhook.runtime.http import (
    ALIASES_KEY,
    MAX_ALIASES,
    EntryPoint,
    first_handler,
    is_valid_hostname,
    read_entry_point,
    why_invalid,
)
from webhook.runtime.multiplex import (
    BACKEND_KEY,
    choose_backend,
    missing_key_message,
    unknown_backend_message,
)
from webhook.runtime.settings import Reading, reading
from webhook.runtime.urls import remembered_url_problem
from webhook.runtime.wit import display, host_version, package_label
from webhook.text import shown
from webhook.violations import Action, Reason, Violation, entry_label

EXTERNAL = " (or provide it through configFrom/secretFrom)"


def check_capability(
    workload: Workload,
    entries: list[HostInterface],
    hosts: Hosts,
    review: Review = FRESH_REVIEW,
) -> list[Violation]:
    """Violations a host of every group the workload may land on would hit at deploy time.

    What depends on one entry alone (its claim, its config findings, its HTTP entry
    point findings) is asked of ``review``, which may have it already (webhook/facts.py).
    """
    catalog = hosts.catalog
    groups = catalog.groups_for(workload.host_selector)
    if not groups:
        return [_unmatched_selector(workload, hosts)]
    out: list[Violation] = []
    seen: set[tuple[str, str]] = set()  # one report per field and rule across groups
    for group in groups:
        where = f" in host group '{group.name}'" if len(catalog.host_groups) > 1 else ""
        found = _GroupCheck(workload, hosts, group, where, review).run(entries)
        for violation in found:
            if (violation.field, violation.rule) not in seen:
                seen.add((violation.field, violation.rule))
                out.append(violation)
    return out


def _unmatched_selector(workload: Workload, hosts: Hosts) -> Violation:
    catalog = hosts.catalog
    selector = ", ".join(
        f"{quote(k)}={quote(v)}" for k, v in sorted(workload.host_selector.items())
    )
    known = "; ".join(
        f"{g.name} ({', '.join(f'{k}={v}' for k, v in sorted(g.effective_labels.items()))})"
        for g in catalog.host_groups
    )
    return HOSTGROUP_UNMATCHED.at(
        workload.list_path.rsplit(".", 1)[0] + ".hostSelector",
        Reason.NOT_SUPPORTED,
        f"no host group in the catalog ({catalog.source}) matches hostSelector {selector}; "
        f"the workload stays pending until a host with those labels joins. Known groups: {known}",
    )


class _GroupCheck:
    """The checks for one host group; one instance per group per review."""

    __slots__ = (
        "binder", "catalog", "entry_key", "group", "hosts", "http_key", "review", "routers",
        "where", "workload",
    )  # fmt: skip

    def __init__(
        self, workload: Workload, hosts: Hosts, group: HostGroup, where: str, review: Review
    ) -> None:
        self.workload = workload
        self.review = review
        self.hosts = hosts
        self.catalog = hosts.catalog
        self.group = group
        self.where = where
        self.binder = binder = hosts.binder(group)
        # What this group's facts are kept under, per remembered entry: the binder for
        # what the entry gets in the group, the group's name for its entry point. Both
        # are built once, not per review (a key tuple per review is measurable).
        self.entry_key: Hashable = binder
        self.http_key: Hashable = group.name
        self.routers: dict[tuple[object, ...], Plugin | None] = {}
        """The multiplexer a named entry of each shape would reach; lists repeat shapes."""

    def run(self, entries: list[HostInterface]) -> list[Violation]:
        out: list[Violation] = []
        claims = []
        for claim, config in self.review.derive_all(entries, self.entry_key, self._entry_facts):
            claims.append(claim)
            if claim.plugin is not None:
                out.extend(config)
                if claim.rivals:
                    out.append(self._undefined_order(claim, claim.plugin))
            elif not claim.host:
                out.append(self._unavailable(claim))
        conflicts, collisions = holdings(claims)
        out.extend(self._named_conflict(c) for c in conflicts)
        out.extend(self._collision(c.plugin, c.entries) for c in collisions)
        if self.group.http == "dynamic":
            out.extend(self._http([c.entry for c in claims]))
        return out

    def _path(self, entry: HostInterface, suffix: str = "") -> str:
        return self.workload.entry_path(entry.index, suffix)

    # An entry no plugin takes

    def _unavailable(self, claim: Claim) -> Violation:
        entry = claim.entry
        head = f"[{entry.index}] requests {display(entry)}"
        if claim.pinned is not None:
            why = (
                f"; its name is the id of the plugin '{claim.pinned.id}', so the host binds it "
                f"to that plugin only, which does not serve it. Rename the entry to let the "
                "host choose by package"
            )
        else:
            why = f", which is not available on this host{self.where}: {self._offers(entry)}"
        return INTERFACE_UNAVAILABLE.at(
            self._path(entry), Reason.NOT_SUPPORTED, head + why, entry=entry.index
        )

    def _offers(self, entry: HostInterface) -> str:
        """What this host has for the entry's package, or which flag would add it."""
        version = host_version(entry.version)
        for opt in self.group.opt_in:
            plugin = self.catalog.plugin(opt.id)
            if plugin.serves(entry, version):
                return f"the plugin '{plugin.id}' serves it on hosts started with {opt.flag}"
        offers = [
            line
            for plugin in self.hosts.registered(self.group).values()
            for world in plugin.worlds
            if (world.namespace, world.package) == entry.package_key
            for line in [offer(plugin, world.version, world.offered)]
        ]
        label = package_label(entry.namespace, entry.package)
        if not offers:
            return f"no plugin serves {label} at all"
        return (
            f"no plugin serves that combination of version and interfaces; for {label} it "
            f"offers {'; '.join(offers)}"
        )

    def _undefined_order(self, claim: Claim, taker: Plugin) -> Violation:
        entry = claim.entry
        others = ", ".join(f"'{p.id}'" for p in claim.rivals)
        return PLUGIN_ORDER_UNDEFINED.at(
            self._path(entry),
            Reason.NOT_SUPPORTED,
            f"[{entry.index}] requests {display(entry)}, which '{taker.id}' and {others} all "
            f"serve, and hosts{self.where} try plugins in a HashMap's order (wasmCloud before "
            "v2.7.0): which one binds can change from one host start to the next. bindcheck "
            f"checked it as '{taker.id}' (id order) would serve it; keep one plugin for it, or "
            "run v2.7.0 or later (plugins tried by id)",
            entry=entry.index,
        )

    # Named instances

    def _named_conflict(self, conflict: NamedConflict) -> Violation:
        first = conflict.entries[0]
        label = package_label(first.namespace, first.package)
        capable = [
            p for p in self.catalog.plugins
            if p.named_instances and first.package_key in p.packages
        ]  # fmt: skip
        registered = self.hosts.registered(self.group)
        here = [p for p in capable if p.id in registered]
        indexes = entry_label(e.index for e in conflict.entries)
        if here:
            versions = sorted(
                {w.version or "any version" for p in here for w in p.worlds
                 if (w.namespace, w.package) == first.package_key}
            )  # fmt: skip
            fix = (
                f"'{here[0].id}' on this host supports named instances of {label} at "
                f"{', '.join(versions)}; pin that version on {indexes} (or drop the version)"
            )
        elif capable:
            fix = f"enable the '{capable[0].id}' plugin on this host{self.where}"
        else:
            fix = f"keep one named entry of {label}, or run hosts with a plugin that can"
        return PLUGIN_NAMED_INSTANCES.at(
            self._path(conflict.entries[-1], ".name"),
            Reason.NOT_SUPPORTED,
            f"{conflict.message()} Here{self.where}: {indexes}; {fix}",
            entry=conflict.entries[-1].index,
        )

    def _collision(self, plugin: Plugin, entries: tuple[HostInterface, ...]) -> Violation:
        name = entries[0].name
        under = f'the name "{shown(name)}"' if name else "the default route (no name)"
        return ROUTE_COLLISION.at(
            self._path(entries[-1], ".version"),
            Reason.DUPLICATE,
            f"{entry_label(e.index for e in entries)} both reach '{plugin.id}' under {under}, "
            "and its routing registry is keyed by name alone: one backend silently replaces "
            "the other, and which one is not defined. Give them different names",
            entry=entries[-1].index,
        )

    # Config the plugin reads

    def _entry_facts(self, entry: HostInterface) -> tuple[Claim, tuple[Violation, ...]]:
        """What this group makes of ``entry`` alone: where it lands, and what its
        plugin's config checks find. One fact, asked of the review once per entry: a
        remembered entry is bound and checked once per host group."""
        claim = self.binder.claim(entry)
        plugin = claim.plugin
        return claim, (tuple(self._config(entry, plugin)) if plugin is not None else ())

    def _config(self, entry: HostInterface, plugin: Plugin) -> list[Violation]:
        mux = plugin.multiplex
        if mux is not None and (mux.entries == "all" or entry.name):
            backend = choose_backend(entry, mux).backend
            routed = self._backend(entry, plugin, mux)
            if backend is None:  # an unknown backend reads nothing we could name
                return routed
            how = reading(entry, plugin, backend)
            return routed + self._unread(entry, plugin, how, f" through its {backend.name} backend")
        out = []
        config = entry.config
        if not entry.external_config:
            for key in plugin.config.required:
                if not config.get(key):
                    text = (
                        plugin.config.required_message.format(key=key)
                        if (plugin.config.required_message)
                        else f"'{plugin.id}' requires a '{key}' config"
                    )
                    out.append(self._missing(entry, key, f"{text}: set config.{key}{EXTERNAL}"))
            if plugin.needs_label_key(entry) and str(entry.name) not in config:
                label = shown(str(entry.name))
                out.append(
                    self._missing(
                        entry,
                        label,
                        f'the component requires secret "{label}" but it was not provided '
                        f"in its resolved bind-time config: '{plugin.id}' reads a labelled "
                        f"secret from config.{label}; set it{EXTERNAL}",
                    )
                )
        if plugin.unconfigured:
            out.append(
                PLUGIN_UNCONFIGURED.at(
                    self._path(entry),
                    Reason.NOT_SUPPORTED,
                    f"[{entry.index}] binds to '{plugin.id}'{self.where}: {plugin.unconfigured}",
                    entry=entry.index,
                )
            )
        how = reading(entry, plugin, None)
        if BACKEND_KEY in config and not how.reads(BACKEND_KEY):
            out.append(self._backend_ignored(entry, plugin))
        out.extend(self._unread(entry, plugin, how))
        return out

    def _unread(
        self, entry: HostInterface, plugin: Plugin, how: Reading, via: str = ""
    ) -> list[Violation]:
        """Keys the host ignores (``config.backend`` is backend-ignored's). Named, never
        shown: a key nobody reads may still hold a credential, such as a Redis
        password the host then connects without."""
        unread = sorted(k for k in entry.config if k != BACKEND_KEY and not how.reads(k))
        if not unread:
            return []
        names = ", ".join(f"'{shown(k, 40)}'" for k in unread[:10])
        more = f" and {len(unread) - 10} more" if len(unread) > 10 else ""
        one = len(unread) == 1
        credential = any(CREDENTIAL_NAME.search(k) for k in unread)
        why = (
            "; one looks like a credential, and the host connects without it" if credential else ""
        )
        return [
            CONFIG_UNREAD.at(
                self._path(entry, f".config.{shown(unread[0], 40)}"),
                Reason.NOT_SUPPORTED,
                f"[{entry.index}] sets config {names}{more}, which '{plugin.id}'{via}{self.where} "
                f"never reads: the host ignores {'it' if one else 'them'}{why}. Remove "
                f"{'it' if one else 'them'}; bindcheck resolve lists what it reads",
                entry=entry.index,
            )
        ]

    def _missing(self, entry: HostInterface, key: str, message: str) -> Violation:
        return PLUGIN_CONFIG_MISSING.at(
            self._path(entry, f".config.{key}"),
            Reason.REQUIRED,
            f"[{entry.index}]: {message}",
            entry=entry.index,
        )

    def _backend(self, entry: HostInterface, plugin: Plugin, mux: Multiplex) -> list[Violation]:
        choice = choose_backend(entry, mux)
        backend = choice.backend
        if backend is not None and backend.url is not None and "url" in entry.config:
            why = remembered_url_problem(entry.config["url"], backend.url)
            if why is not None:
                return [
                    BACKEND_CONFIG_INVALID.at(
                        self._path(entry, ".config.url"),
                        Reason.INVALID,
                        f"[{entry.index}] routes to the {backend.name} backend of "
                        f"'{plugin.id}', which cannot use config.url: {why}",
                        entry=entry.index,
                    )
                ]
        if not (choice.unknown or choice.missing):
            return []
        if choice.unknown:
            replaced = (
                " (unless configFrom/secretFrom replaces it)" if entry.external_config else ""
            )
            return [
                BACKEND_UNKNOWN.at(
                    self._path(entry, ".config.backend"),
                    Reason.NOT_SUPPORTED,
                    f"[{entry.index}]: {unknown_backend_message(entry, plugin)}{replaced}",
                    action=Action.WARN if entry.external_config else Action.DENY,
                    entry=entry.index,
                )
            ]
        if entry.external_config or backend is None:
            return []
        return [
            BACKEND_CONFIG_MISSING.at(
                self._path(entry, f".config.{key}"),
                Reason.REQUIRED,
                f"[{entry.index}] routes to the {backend.name} backend of '{plugin.id}'"
                f"{self.where}: {missing_key_message(entry, backend, key)}; set config.{key}"
                f"{EXTERNAL}",
                entry=entry.index,
            )
            for key in choice.missing
        ]

    def _backend_ignored(self, entry: HostInterface, plugin: Plugin) -> Violation:
        what = f" ({plugin.description})" if plugin.description else ""
        version = host_version(entry.version)
        shape = (entry.package_key, version, entry.interfaces)
        if shape not in self.routers:
            self.routers[shape] = next(
                (p for p in self.hosts.registered(self.group).values()
                 if p.multiplex is not None and p.named_instances and p.serves(entry, version)),
                None,
            )  # fmt: skip
        router = self.routers[shape]
        if router is not None and not entry.named:
            fix = (
                f"unnamed entries go to the plain plugin: give the entry a name (the "
                f"component's import label) to route it through '{router.id}'"
            )
        else:
            fix = "remove config.backend, or use a host whose plugin routes by backend"
        return BACKEND_IGNORED.at(
            self._path(entry, ".config.backend"),
            Reason.NOT_SUPPORTED,
            f"[{entry.index}] sets config.backend, but the host binds it to '{plugin.id}'"
            f"{what}{self.where}, which does not read it; {fix}",
            entry=entry.index,
        )

    # HTTP routing

    def _http(self, entries: list[HostInterface]) -> list[Violation] | tuple[Violation, ...]:
        """The entry point's host names; kept with a remembered entry, like its claims."""
        entry = first_handler(entries, self.catalog.host.p3_handler)
        if entry is None:
            return []
        return self.review.derived(
            entry,
            self.http_key,
            lambda e: tuple(self._entry_point(read_entry_point(e))),
        )

    def _entry_point(self, point: EntryPoint) -> list[Violation]:
        entry = point.entry
        out = []
        if point.host is None and not entry.external_config:
            typo = next((k for k in ("address", "hostname", "hosts") if k in entry.config), None)
            hint = f" (config.{typo} is not read; the key is host)" if typo else ""
            out.append(
                HTTP_HOST.at(
                    self._path(entry, ".config.host"),
                    Reason.REQUIRED,
                    f"[{entry.index}] is the workload's HTTP entry point, and the host's "
                    f"router{self.where} finds workloads by config.host{hint}; without it "
                    f'the host fails the workload ("{self.catalog.host.no_host_error}"). '
                    "Set config.host to the host name requests arrive with, e.g. "
                    "host: app.example.com",
                    entry=entry.index,
                )
            )
        if self.catalog.host.host_names == "any":
            return out  # before v2.0.3: any value routes, and host-aliases is not read
        if point.host is not None and not is_valid_hostname(point.host):
            out.append(
                HTTP_HOST.at(
                    self._path(entry, ".config.host"),
                    Reason.INVALID,
                    f"config.host of [{entry.index}] is not a valid RFC 1123 host name "
                    f"({why_invalid(point.host)}), and the host's router{self.where} fails the "
                    'workload for it ("primary host ... is not a valid RFC 1123 hostname"). '
                    "Write a bare host name such as app.example.com: no scheme, port or path",
                    entry=entry.index,
                )
            )
        if point.bad_aliases or point.unchecked:
            listed = point.bad_aliases[:10]
            names = ", ".join(str(i) for i in listed)
            more = len(point.bad_aliases) - len(listed)
            parts = []
            if listed:
                parts.append(
                    f"name(s) {names}{f' and {more} more' if more else ''} of the "
                    "comma-separated list are not valid RFC 1123 host names, and the router "
                    "drops them without a word"
                )
            if point.unchecked:
                parts.append(
                    f"{point.unchecked} names past the first {MAX_ALIASES} were not checked"
                )
            out.append(
                HTTP_HOST_ALIAS.at(
                    self._path(entry, f".config.{ALIASES_KEY}"),
                    Reason.INVALID,
                    f"config.{ALIASES_KEY} of [{entry.index}]: " + "; ".join(parts),
                    entry=entry.index,
                )
            )
        return out
