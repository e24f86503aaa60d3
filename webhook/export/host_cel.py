"""The host model in CEL: the catalog's hosts as constants, and binding computed from them.

The constants are the tables the checks use (webhook/runtime/hosts.py: each group's
plugins in id order, by package, and the offers messages list), so a policy binds an
entry as webhook/runtime/binding.py does. A changed catalog needs a new export.
"""

from __future__ import annotations

from typing import Any

from webhook.errors import ConfigError
from webhook.export.cel_text import index, lit
from webhook.export.workload_cel import Check, item
from webhook.rulebook import BACKEND_UNKNOWN, INTERFACE_UNAVAILABLE
from webhook.runtime.catalog import CREDENTIAL_NAME, Catalog, HostGroup, Plugin
from webhook.runtime.hosts import Hosts
from webhook.runtime.multiplex import BACKEND_TYPE, BACKEND_TYPE_MAX, UNQUOTED_BACKEND
from webhook.runtime.wit import HTTP_HOST_SERVED, HTTP_HOST_SERVED_P2, parse_semver
from webhook.violations import Action


def _key(namespace: str, package: str) -> str:
    return f"{len(namespace)}:{namespace}{package}"


def _plugin_record(plugin: Plugin) -> dict[str, Any]:
    worlds: dict[str, list[dict[str, Any]]] = {}
    for world in plugin.worlds:
        worlds.setdefault(_key(world.namespace, world.package), []).append(
            {"v": world.version or "", "o": sorted(world.offered)}
        )
    floor = plugin.claims.min_version if plugin.claims else ""
    if floor:
        parsed = parse_semver(floor)
        if parsed is None or parsed[3] or parsed[4]:
            raise ConfigError(
                f"plugin {plugin.id!r}: claims.minVersion {floor!r} has a prerelease or build "
                "part, which the policy export cannot compare; export with another catalog"
            )
    record: dict[str, Any] = {"m": floor, "w": worlds, "n": plugin.named_instances}
    mux = plugin.multiplex
    if mux is not None:
        record["x"] = {
            "all": mux.entries == "all",
            "d": mux.default_backend,
            "b": [b.name for b in mux.backends],
            "k": ", ".join(b.name for b in mux.backends),
        }
    return record


def _gt(a: str, b: str) -> str:
    """Numeric ``a > b`` for digit strings of any length (no int overflow)."""
    return f"(size({a}) > size({b}) || (size({a}) == size({b}) && {a} > {b}))"


def _at_least(version: str, floor: str) -> str:
    """webhook.runtime.wit.at_least for a floor without prerelease or build."""
    v = f'{version}.split("+")[0].split("-")[0].split(".")'
    m = f'{floor}.split(".")'
    pre = f'{version}.split("+")[0].contains("-")'
    tail = f"!{pre}"
    for i in (2, 1, 0):
        a, b = f"{v}[{i}]", f"{m}[{i}]"
        tail = f"({_gt(a, b)} || ({a} == {b} && {tail}))"
    return f'({version} != "" && {tail})'


def _serves(plugin: str) -> str:
    """Plugin.serves for entry ``i``; ``plugin`` is a CEL expression naming its id."""
    record = f"variables.plugins[{plugin}]"
    worlds = f"{record}.w[variables.pk[i]]"
    compatible = '(w.v == "" || variables.hv[i] == "" || w.v == variables.hv[i])'
    return (
        f"(variables.pk[i] in {record}.w && variables.entries[i].interfaces.all(f, "
        f"{worlds}.exists(w, {compatible} && f in w.o)) && "
        f'({record}.m == "" || {_at_least("variables.hv[i]", f"{record}.m")}))'
    )


def _candidates(hosts: Hosts, group: HostGroup) -> dict[str, list[str]]:
    """The group's plugin ids by the package they serve, in id order (Hosts.candidates)."""
    return {
        _key(*package): [p.id for p in plugins]
        for package, plugins in hosts.candidates(group).items()
    }


def _offers(hosts: Hosts, group: HostGroup) -> dict[str, str]:
    """What the messages list when nothing serves an entry, per package (Hosts.offers)."""
    return {_key(*package): "; ".join(lines) for package, lines in hosts.offers(group).items()}


def unavailable(hosts: Hosts, action: Action) -> Check:
    catalog = hosts.catalog
    rule = INTERFACE_UNAVAILABLE.id
    variables = _catalog_variables(hosts)
    served_itself = HTTP_HOST_SERVED if catalog.host.p3_handler else HTTP_HOST_SERVED_P2
    host_served = (
        'variables.entries[i].namespace == "wasi" && variables.entries[i].package == "http" && '
        f"variables.entries[i].interfaces.all(f, f in {lit(sorted(served_itself))})"
    )
    chain = '""'
    for g, group, selected, where in reversed(_groups(catalog)):
        variables.append((f"g{g}_offers", lit(_offers(hosts, group))))
        pinned = _pinned(catalog, g)
        served = (
            f"({host_served}) || ({pinned} ? {_serves('variables.names[i]')} : "
            f"(variables.pk[i] in variables.g{g}_candidates && "
            f"variables.g{g}_candidates[variables.pk[i]].exists(p, {_serves('p')})))"
        )
        offers = (
            f"(variables.pk[i] in variables.g{g}_offers ? "
            f'"no plugin serves that combination of version and interfaces; for " + '
            f'variables.labels[i] + " it offers " + variables.g{g}_offers[variables.pk[i]] : '
            f'"no plugin serves " + variables.labels[i] + " at all")'
        )
        for opt in reversed(group.opt_in):
            hint = f"the plugin '{opt.id}' serves it on hosts started with {opt.flag}"
            offers = f"({_serves(lit(opt.id))} ? {lit(hint)} : {offers})"
        why = (
            f'({pinned} ? "; its name is the id of the plugin \'" + variables.names[i] + '
            "\"', so the host binds it to that plugin only, which does not serve it. Rename "
            f'the entry to let the host choose by package" : '
            f'", which is not available on this host{where}: " + {offers})'
        )
        message = f'{index("i")} + " requests " + variables.display[i] + {why}'
        chain = f"(({selected}) && !({served}) ? {item(rule, 'i', '', message)} : {chain})"
    violations = f'variables.idx.map(i, {chain}).filter(m, m != "")'
    return Check(rule, action, variables, violations)


def _catalog_variables(hosts: Hosts) -> list[tuple[str, str]]:
    """The catalog as constants, for every catalog check: the plugins, and per host group
    its labels, its plugins and its plugins by the package they serve."""
    catalog = hosts.catalog
    variables = [("plugins", lit({p.id: _plugin_record(p) for p in catalog.plugins}))]
    for g, group in enumerate(catalog.host_groups):
        variables += [
            (f"g{g}_labels", lit(dict(group.effective_labels))),
            (f"g{g}_plugins", lit(sorted(hosts.registered(group)))),
            (f"g{g}_candidates", lit(_candidates(hosts, group))),
            # once per object, not once per entry: the selector is the workload's
            (
                f"g{g}_selected",
                f"variables.selector.all(k, k in variables.g{g}_labels && "
                f"variables.g{g}_labels[k] == variables.selector[k])",
            ),
        ]
    return variables


def _groups(catalog: Catalog) -> list[tuple[int, HostGroup, str, str]]:
    """Per host group: its index, the group, the CEL test that the workload's selector
    picks it, and the ``where`` of its messages."""
    many = len(catalog.host_groups) > 1
    return [
        (
            g,
            group,
            f"variables.g{g}_selected",
            f" in host group '{group.name}'" if many else "",
        )
        for g, group in enumerate(catalog.host_groups)
    ]


def _pinned(catalog: Catalog, g: int) -> str:
    """Whether entry ``i``'s name pins a plugin of group ``g`` (hosts from v2.7.0 only)."""
    if not catalog.host.pin_by_id:
        return "false"
    return f'(variables.names[i] != "" && variables.names[i] in variables.g{g}_plugins)'


def _taker(catalog: Catalog, g: int) -> str:
    """The id of the plugin a host of group ``g`` binds entry ``i`` to, or "" (binding.py:
    a name that is a registered plugin's id pins it; otherwise the first server, in id
    order, that does not defer to a server of the entry's kind; the release decides
    whether names pin and servers defer)."""
    candidates = f"variables.g{g}_candidates"
    servers = f"{candidates}[variables.pk[i]].filter(p, {_serves('p')})"
    first = f'(size({servers}) > 0 ? {servers}[0] : "")'
    if catalog.host.named_deferral:
        own_kind = f'{servers}.filter(p, variables.plugins[p].n == (variables.names[i] != ""))'
        first = f"(size({own_kind}) > 0 ? {own_kind}[0] : {first})"
    unpinned = f'(variables.pk[i] in {candidates} ? {first} : "")'
    return (
        f"({_pinned(catalog, g)} ? "
        f'({_serves("variables.names[i]")} ? variables.names[i] : "") : {unpinned})'
    )


def _backend_named(wanted: str) -> str:
    """multiplex.backend_named: the value quoted only when it reads as a backend type.
    Clipped before either expression runs, so a long value costs no more than a short one."""
    clip = f'(size({wanted}) <= {BACKEND_TYPE_MAX} ? {wanted} : "")'
    word = lit(f"^{BACKEND_TYPE.pattern}$")
    credential = lit(f"(?i){CREDENTIAL_NAME.pattern}")
    quoted = " + ".join([lit("backend '"), "c", lit("'")])
    return (
        f"[{clip}].map(c, c.matches({word}) && !c.matches({credential}) ? "
        f"{quoted} : {lit(UNQUOTED_BACKEND)})[0]"
    )


def backend_unknown(hosts: Hosts, override: Action | None) -> list[Check]:
    """capability._GroupCheck._backend's unknown backend: a deny, or a warning where
    configFrom/secretFrom may supply the backend (unless an override sets both)."""
    catalog = hosts.catalog
    rule = BACKEND_UNKNOWN.id
    variables = [
        *_catalog_variables(hosts),
        (
            "external",
            "variables.entries.map(x, size(x.?configFrom.orValue([])) > 0 || "
            "size(x.?secretFrom.orValue([])) > 0)",
        ),
    ]
    for g in range(len(catalog.host_groups)):
        variables.append((f"g{g}_taker", f"variables.idx.map(i, {_taker(catalog, g)})"))
    checks = []
    for external, default in ((False, Action.DENY), (True, Action.WARN)):
        if override is not None and external:
            break  # one check, both kinds of entry, the override's action
        chain = '""'
        for g, _, selected, _ in reversed(_groups(catalog)):
            taker = f"variables.g{g}_taker[i]"
            mux = f"variables.plugins[{taker}].x"
            wanted = f"variables.entries[i].?config.?backend.orValue({mux}.d)"
            unknown = (
                f'{taker} != "" && has(variables.plugins[{taker}].x) && '
                f'({mux}.all || variables.names[i] != "") && !({wanted} in {mux}.b)'
            )
            unless = lit(" (unless configFrom/secretFrom replaces it)")
            message = " + ".join(
                [
                    index("i"),
                    lit(": no "),
                    "variables.labels[i]",
                    lit(" provider registered for "),
                    _backend_named(wanted),
                    lit("; '"),
                    taker,
                    lit("' has: "),
                    f"{mux}.k",
                    f'(variables.external[i] ? {unless} : "")',
                ]
            )
            chain = (
                f"(({selected}) && ({unknown}) ? "
                f"{item(rule, 'i', '.config.backend', message)} : {chain})"
            )
        which = "" if override is not None else f"variables.external[i] == {lit(external)} && "
        violations = f'variables.idx.filter(i, {which}true).map(i, {chain}).filter(m, m != "")'
        checks.append(Check(rule, override or default, variables, violations))
    return checks
