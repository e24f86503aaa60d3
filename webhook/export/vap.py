"""``bindcheck export vap``: bindcheck's checks as ValidatingAdmissionPolicies.

The API server runs these itself (Kubernetes 1.30+), so enforcement needs no webhook.
One policy and one binding per action (deny, warn, audit): ``validationActions``
belong to the binding, and Deny and Warn cannot share one. Each policy has a single
validation whose ``messageExpression`` lists every violation as ``[rule] field:
message`` (only the first failing validation's message reaches the user, and a
message with a line break or over 5 KiB is replaced by the static one).

What is compiled (tests/test_export_vap.py holds each to ``bindcheck check`` on
generated objects):

- CEL rules, the shipped ones and ``--rules`` files: their expressions run unchanged
  on an escaped copy of the list (``self`` as CRD validation sees it), their own
  variables renamed; messages are rendered in CEL from the same template;
- the strict naming rules, written in CEL;
- ``interface-unavailable`` and ``backend-unknown``: the catalog becomes constant
  variables (plugins, their worlds, version floors and backends, each host group's
  labels and plugins), and binding is computed in CEL as binding.py does it, so a
  changed catalog needs a new export. Objects are untyped maps in a policy, so fields read
  as ``x.namespace``.

Everything else is listed in :attr:`Export.not_expressed`, with the reason.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from webhook.cel.rules import Rule
from webhook.checks.schema import MAX_LENGTH
from webhook.core import Validator
from webhook.errors import ConfigError
from webhook.export.cel_text import entry_label, index, lit, shown
from webhook.fingerprints import MAX_ENTRIES
from webhook.runtime.catalog import Catalog, HostGroup, Plugin
from webhook.runtime.wit import HTTP_HOST_SERVED, parse_semver
from webhook.violations import PYTHON_RULES, Action, Policy

GROUP = "runtime.wasmcloud.dev"
API_VERSION = "v1alpha1"
RESOURCES = ["workloaddeployments", "workloadreplicasets", "workloads"]
MESSAGE_LIMIT = 1250
"""Characters of the aggregate message: under 5 KiB even at four bytes each."""
STATIC_MESSAGE = (
    "this object breaks bindcheck's checks; run `bindcheck check` on it for the details"
)
BINDING_ACTIONS = {Action.DENY: "Deny", Action.WARN: "Warn", Action.AUDIT: "Audit"}

# What a policy judges. The CRD bounds the list (64 entries) and, from wasmCloud v2.7.0,
# its strings, but not how many interfaces an entry names, how long one is, or the
# hostSelector: past these bounds an expression could pass the API server's per-call
# cost limit (1,000,000) and fail with a cost error that failurePolicy turns into a
# bare denial. A larger object gets one clear violation instead (rule POLICY_LIMITS,
# in each policy's own action), and nothing else is evaluated. Measured costs at the
# bounds are printed by tests/test_policy_cost.py and quoted in the README.
POLICY_LIMITS = "policy-limits"
MAX_INTERFACES = 32
"""Interfaces per entry (WASI packages have 4 to 15)."""
MAX_INTERFACE_CHARS = 128
MAX_SELECTOR_LABELS = 64

NOT_EXPRESSED = {
    "schema": "the CRD's schema runs before any policy: objects that break it never reach one",
    "kind-unknown": "the policies match only the three kinds that exist",
    "violations-truncated": "the policy message is clipped instead",
    "rule-error": "a rule that fails to evaluate fails the policy (failurePolicy decides)",
    "ratcheting": "UPDATE ratcheting is not exported: an UPDATE is judged like a CREATE",
    "probes": "resolve --probe connects to backends; a policy cannot",
}
_NOT_YET = (
    "not compiled to CEL yet (config keys, URLs, HTTP routing and named-instance checks "
    "need more of the host model in CEL); the webhook and `bindcheck check` run it"
)


@dataclass
class Export:
    documents: list[dict[str, Any]]
    not_expressed: dict[str, str] = field(default_factory=dict)
    """Rule id (or feature) → why the policies do not check it."""


@dataclass
class _Check:
    rule: str
    action: Action
    variables: list[tuple[str, str]]
    """Variables this check needs (name, expression), in order."""
    violations: str
    """A CEL list of ``[rule] field: message`` strings."""


def export_vap(
    validator: Validator, failure_policy: str = "Fail", prefix: str = "bindcheck"
) -> Export:
    """The policies and bindings for ``validator``'s policy, rules, actions and catalog."""
    not_expressed = dict(NOT_EXPRESSED)
    checks: list[_Check] = []
    for k, rule in enumerate(validator.rules):
        if not rule.applies_to(validator.policy) or rule.id in validator.disabled:
            continue
        checks.append(_cel_rule(k, rule, validator.actions.get(rule.id, rule.action)))
    for rule_id, info in PYTHON_RULES.items():
        if rule_id in validator.disabled or info.policy not in ("all", validator.policy.value):
            continue
        action = validator.actions.get(rule_id, Action(info.action))
        if rule_id in ("name-required", "name-unique") and validator.policy is Policy.STRICT:
            checks.append(_strict_naming(rule_id, action))
        elif rule_id == "interface-unavailable" and validator.catalog is not None:
            checks.append(_unavailable(validator.catalog, action))
        elif rule_id == "backend-unknown" and validator.catalog is not None:
            override = validator.actions.get(rule_id)
            checks += _backend_unknown(validator.catalog, override)
        elif rule_id.startswith("schema-"):
            not_expressed[rule_id] = NOT_EXPRESSED["schema"]
        elif rule_id in NOT_EXPRESSED:
            continue
        elif validator.catalog is not None or rule_id not in _CATALOG_RULES:
            not_expressed[rule_id] = _NOT_YET
    # Every action's pair, even one with no checks (its policy admits everything): so
    # re-applying an export after moving rules between actions replaces the old objects
    # instead of leaving a stale policy in the cluster (kubectl apply does not prune).
    documents: list[dict[str, Any]] = []
    for action, binding_action in BINDING_ACTIONS.items():
        mine = [c for c in checks if c.action is action]
        name = f"{prefix}-{action.value}"
        documents.append(_policy(name, mine, failure_policy, validator, not_expressed))
        documents.append(_binding(name, binding_action))
    return Export(documents, not_expressed)


_CATALOG_RULES = {
    "interface-unavailable", "plugin-named-instances", "backend-unknown",
    "backend-config-missing", "backend-config-invalid", "plugin-config-missing",
    "plugin-unconfigured", "backend-ignored", "route-collision", "http-host",
    "http-host-alias", "hostgroup-unmatched",
}  # fmt: skip


# --- the shared variables ---------------------------------------------------------

_SEMVER = (
    r"^(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)"
    r"(-(0|[1-9][0-9]*|[0-9]*[A-Za-z-][0-9A-Za-z-]*)(\.(0|[1-9][0-9]*|[0-9]*[A-Za-z-][0-9A-Za-z-]*))*)?"
    r"(\+[0-9A-Za-z-]+(\.[0-9A-Za-z-]+)*)?$"
)
_U64_MAX = str(2**64 - 1)


def _base_variables() -> list[tuple[str, str]]:
    spec = 'object.kind == "Workload" ? object.spec : object.spec.?template.?spec.orValue({})'
    return [
        ("spec", f"({spec})"),
        ("entries", "variables.spec.?hostInterfaces.orValue([])"),
        ("selector", "variables.spec.?hostSelector.orValue({})"),
        (
            "path",
            'object.kind == "Workload" ? "spec.hostInterfaces" : '
            '"spec.template.spec.hostInterfaces"',
        ),
        ("idx", f"{lit(list(range(MAX_ENTRIES)))}.filter(i, i < size(variables.entries))"),
        ("names", 'variables.entries.map(x, x.?name.orValue(""))'),
        ("versions", 'variables.entries.map(x, x.?version.orValue(""))'),
        # webhook.runtime.wit.host_version: the text when strict semver (parts within u64)
        (
            "hv",
            f"variables.versions.map(v, v.matches({lit(_SEMVER)}) && "
            f'v.split("+")[0].split("-")[0].split(".").all(c, size(c) < 20 || '
            f'(size(c) == 20 && c <= "{_U64_MAX}")) ? v : "")',
        ),
        # (namespace, package) as one unambiguous key
        (
            "pk",
            'variables.entries.map(x, string(size(x.namespace)) + ":" + x.namespace + x.package)',
        ),
        ("labels", "variables.entries.map(x, " + _label("x") + ")"),
        (
            "display",
            "variables.idx.map(i, variables.labels[i] + "
            '(variables.names[i] != "" ? " [" + ' + shown("variables.names[i]") + ' + "]" : "") + '
            '"/" + ' + shown('variables.entries[i].interfaces.join(",")', 80) + " + "
            '(variables.versions[i] != "" ? "@" + ' + shown("variables.versions[i]") + ' : ""))',
        ),
    ]


def _label(x: str) -> str:
    """webhook.runtime.wit.package_label."""
    return f'{shown(f"{x}.namespace")} + ":" + {shown(f"{x}.package")}'


def _item(rule: str, i: str, suffix: str, message: str) -> str:
    return f'"[{rule}] " + variables.path + {index(i)} + {lit(suffix + ": ")} + {message}'


# --- CEL rules --------------------------------------------------------------------

_PLACEHOLDER = re.compile(r"\{(entries|interface|entry|name|version)\}")
_TOKEN = re.compile(
    r"""(?P<string>[rR]?(?:'''.*?'''|\"\"\".*?\"\"\"|'(?:\\.|[^'\\])*'|"(?:\\.|[^"\\])*"))"""
    r"|(?P<vars>\bvariables\s*\.\s*(?P<var>[A-Za-z_][A-Za-z0-9_]*))"
    r"|(?P<ident>(?<![.\w])[A-Za-z_][A-Za-z0-9_]*)",
    re.S,
)


def _rewrite(expression: str, prefix: str) -> str:
    """A rule's CEL for a policy: ``self`` is the escaped list, the rule's variables are
    renamed into the policy's namespace. String literals are left alone."""

    def swap(match: re.Match[str]) -> str:
        if match.group("string"):
            return match.group(0)
        if match.group("vars"):
            return f"variables.{prefix}_{match.group('var')}"
        return "variables.cel_self" if match.group("ident") == "self" else match.group(0)

    return _TOKEN.sub(swap, expression)


def _cel_rule(k: int, rule: Rule, action: Action) -> _Check:
    prefix = f"r{k}"
    texts, expression, group_by = rule.cel
    variables = [(f"{prefix}_{name}", _rewrite(text, prefix)) for name, text in texts]
    variables.append((f"{prefix}_ok", _rewrite(expression, prefix)))
    if rule.scope == "list":
        message = _render(rule.message, None)
        item = f'"[{rule.id}] " + variables.path + {lit(rule.field_path + ": ")} + {message}'
        return _Check(rule.id, action, variables, f"(variables.{prefix}_ok ? [] : [{item}])")
    fails = f"variables.{prefix}_fails"
    variables.append(
        (f"{prefix}_fails", f"variables.idx.filter(i, variables.{prefix}_ok[i] != true)")
    )
    key_i, key_j = "i", "j"
    if group_by:
        variables.append((f"{prefix}_groups", _rewrite(group_by, prefix)))
        key_i, key_j = f"variables.{prefix}_groups[i]", f"variables.{prefix}_groups[j]"
    # Each failing entry's group, computed once (64 x 64 at worst): CEL has no
    # common subexpressions, and a message names the group several times.
    members = f"variables.{prefix}_members"
    variables.append(
        (f"{prefix}_members", f"variables.idx.map(i, {fails}.filter(j, {key_j} == {key_i}))")
    )
    last = f"{fails}.filter(i, {members}[i][size({members}[i]) - 1] == i)"
    message = _render(rule.message, f"{members}[i]")
    violations = f"{last}.map(i, {_item(rule.id, 'i', rule.field_path, message)})"
    return _Check(rule.id, action, variables, violations)


def _render(template: str, group: str | None) -> str:
    """webhook.cel.rules._render in CEL; ``group`` is a CEL list of entry indexes."""
    first = f"{group}[0]" if group else None
    values = {
        "entries": entry_label(group) if group else '""',
        "interface": f"variables.labels[{first}]" if first else '""',
        "entry": f"variables.display[{first}]" if first else '""',
        "name": (
            f'(variables.names[{first}] != "" ? {shown(f"variables.names[{first}]")} : "(unnamed)")'
            if first
            else '""'
        ),
        "version": (
            f'(variables.versions[{first}] != "" ? {shown(f"variables.versions[{first}]")} : '
            '"(no version)")'
            if first
            else '""'
        ),
    }
    parts, at = [], 0
    for match in _PLACEHOLDER.finditer(template):
        parts.append(lit(template[at : match.start()]))
        parts.append(values[match.group(1)])
        at = match.end()
    parts.append(lit(template[at:]))
    kept = [p for p in parts if p != '""']
    return "(" + " + ".join(kept) + ")" if kept else '""'


def _cel_self() -> tuple[str, str]:
    """The list as CRD validation rules see it: namespace and package escaped, nulls and
    unknown fields gone (webhook.checks.schema._typed)."""
    optional = ", ".join(
        f'?"{k}": x.?{k}' for k in ("version", "name", "config", "configFrom", "secretFrom")
    )
    return (
        "cel_self",
        'variables.entries.map(x, {"__namespace__": x.namespace, "__package__": x.package, '
        f'"interfaces": x.interfaces, {optional}}})',
    )


# --- strict naming ----------------------------------------------------------------


def _strict_naming(rule_id: str, action: Action) -> _Check:
    # Groups computed once (64 x 64 at worst); messages then only look them up.
    package = "variables.labels[i]"
    same = "variables.idx.filter(j, variables.pk[j] == variables.pk[i])"
    sharing = [
        ("same_package", f"variables.idx.map(i, {same})"),
        ("same_package_label", f"variables.idx.map(i, {entry_label('variables.same_package[i]')})"),
    ]
    if rule_id == "name-required":
        message = (
            f'variables.same_package_label[i] + " all import " + {package} + "; entry " + '
            f'{index("i")} + " needs a unique name so each import can be routed '
            '(e.g. name: cache)"'
        )
        wanted = (
            'variables.idx.filter(i, variables.names[i] == "" && '
            "size(variables.same_package[i]) > 1)"
        )
        item = _item(rule_id, "i", ".name", message)
        return _Check(rule_id, action, sharing, f"{wanted}.map(i, {item})")
    same_name = (
        "same_name",
        "variables.idx.map(i, variables.same_package[i].filter(j, "
        "variables.names[j] == variables.names[i]))",
    )
    message = (
        f'{entry_label("variables.same_name[i]")} + " are " + {package} + '
        f'" entries all named \\"" + {shown("variables.names[i]")} + '
        f'"\\"; names must be unique within " + {package} + '
        f'" whatever the version; rename " + {index("i")}'
    )
    wanted = 'variables.idx.filter(i, variables.names[i] != "" && variables.same_name[i][0] != i)'
    item = _item(rule_id, "i", ".name", message)
    return _Check(rule_id, action, [sharing[0], same_name], f"{wanted}.map(i, {item})")


# --- interface-unavailable --------------------------------------------------------


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


def _candidates(catalog: Catalog, group: HostGroup) -> dict[str, list[str]]:
    """The group's plugins by the package they serve, in id order (index_by_package)."""
    out: dict[str, list[str]] = {}
    for plugin_id in sorted(catalog.registered(group)):
        for world in catalog.plugin(plugin_id).worlds:
            ids = out.setdefault(_key(world.namespace, world.package), [])
            if plugin_id not in ids:
                ids.append(plugin_id)
    return out


def _offers(catalog: Catalog, group: HostGroup) -> dict[str, str]:
    """capability._GroupCheck._offers' list, per package, for this group's plugins."""
    out: dict[str, list[str]] = {}
    for plugin in catalog.registered(group).values():
        for world in plugin.worlds:
            at = f"@{world.version}" if world.version else " (any version)"
            only = f", only versions >= {plugin.claims.min_version}" if plugin.claims else ""
            out.setdefault(_key(world.namespace, world.package), []).append(
                f"{', '.join(sorted(world.offered))}{at} from '{plugin.id}'{only}"
            )
    return {k: "; ".join(v) for k, v in out.items()}


def _unavailable(catalog: Catalog, action: Action) -> _Check:
    rule = "interface-unavailable"
    variables = _catalog_variables(catalog)
    host_served = (
        'variables.entries[i].namespace == "wasi" && variables.entries[i].package == "http" && '
        f"variables.entries[i].interfaces.all(f, f in {lit(sorted(HTTP_HOST_SERVED))})"
    )
    chain = '""'
    for g, group, selected, where in reversed(_groups(catalog)):
        variables.append((f"g{g}_offers", lit(_offers(catalog, group))))
        pinned = f'(variables.names[i] != "" && variables.names[i] in variables.g{g}_plugins)'
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
        chain = f"(({selected}) && !({served}) ? {_item(rule, 'i', '', message)} : {chain})"
    violations = f'variables.idx.map(i, {chain}).filter(m, m != "")'
    return _Check(rule, action, variables, violations)


# --- backend-unknown --------------------------------------------------------------


def _catalog_variables(catalog: Catalog) -> list[tuple[str, str]]:
    """The catalog as constants, for every catalog check: the plugins, and per host group
    its labels, its plugins and its plugins by the package they serve."""
    variables = [("plugins", lit({p.id: _plugin_record(p) for p in catalog.plugins}))]
    for g, group in enumerate(catalog.host_groups):
        variables += [
            (f"g{g}_labels", lit(dict(group.effective_labels))),
            (f"g{g}_plugins", lit(sorted(catalog.registered(group)))),
            (f"g{g}_candidates", lit(_candidates(catalog, group))),
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


def _taker(g: int) -> str:
    """The id of the plugin a host of group ``g`` binds entry ``i`` to, or "" (binding.py:
    a name that is a registered plugin's id pins it; otherwise the first server, in id
    order, that does not defer to a server of the entry's kind)."""
    candidates = f"variables.g{g}_candidates"
    servers = f"{candidates}[variables.pk[i]].filter(p, {_serves('p')})"
    own_kind = f'{servers}.filter(p, variables.plugins[p].n == (variables.names[i] != ""))'
    unpinned = (
        f"(variables.pk[i] in {candidates} ? "
        f'(size({own_kind}) > 0 ? {own_kind}[0] : (size({servers}) > 0 ? {servers}[0] : "")) '
        ': "")'
    )
    return (
        f'(variables.names[i] != "" && variables.names[i] in variables.g{g}_plugins ? '
        f'({_serves("variables.names[i]")} ? variables.names[i] : "") : {unpinned})'
    )


def _backend_unknown(catalog: Catalog, override: Action | None) -> list[_Check]:
    """capability._GroupCheck._backend's unknown backend: a deny, or a warning where
    configFrom/secretFrom may supply the backend (unless an override sets both)."""
    rule = "backend-unknown"
    variables = [
        *_catalog_variables(catalog),
        (
            "external",
            "variables.entries.map(x, size(x.?configFrom.orValue([])) > 0 || "
            "size(x.?secretFrom.orValue([])) > 0)",
        ),
    ]
    for g in range(len(catalog.host_groups)):
        variables.append((f"g{g}_taker", f"variables.idx.map(i, {_taker(g)})"))
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
                    lit(" provider registered for the backend that config.backend names; '"),
                    taker,
                    lit("' has: "),
                    f"{mux}.k",
                    f'(variables.external[i] ? {unless} : "")',
                ]
            )
            chain = (
                f"(({selected}) && ({unknown}) ? "
                f"{_item(rule, 'i', '.config.backend', message)} : {chain})"
            )
        which = "" if override is not None else f"variables.external[i] == {lit(external)} && "
        violations = f'variables.idx.filter(i, {which}true).map(i, {chain}).filter(m, m != "")'
        checks.append(_Check(rule, override or default, variables, violations))
    return checks


# --- documents --------------------------------------------------------------------


def _judged() -> str:
    """Whether the object is within what the policy judges (each clause bounds the cost
    of the next: && stops at the first false)."""
    strings = " && ".join(f"size(x.?{k}.orValue('')) <= {n}" for k, n in MAX_LENGTH.items())
    return (
        f"size(variables.entries) <= {MAX_ENTRIES} && "
        f"size(variables.selector) <= {MAX_SELECTOR_LABELS} && "
        f"variables.entries.all(x, size(x.interfaces) <= {MAX_INTERFACES} && {strings} && "
        f"x.interfaces.all(f, size(f) <= {MAX_INTERFACE_CHARS}))"
    )


def _unjudged() -> str:
    message = (
        f"this policy judges at most {MAX_ENTRIES} entries, each with at most "
        f"{MAX_INTERFACES} interfaces of at most {MAX_INTERFACE_CHARS} characters and "
        "strings within the CRD's limits, and a hostSelector of at most "
        f"{MAX_SELECTOR_LABELS} labels; this object is larger and was not judged. "
        "`bindcheck check` (and the webhook) judge it in full"
    )
    return f'"[{POLICY_LIMITS}] " + variables.path + ": " + {lit(message)}'


def _policy(
    name: str,
    checks: list[_Check],
    failure_policy: str,
    validator: Validator,
    not_expressed: dict[str, str],
) -> dict[str, Any]:
    variables = [("violations", "[]")]  # a pair with no checks admits everything
    if checks:
        variables = [*_base_variables(), _cel_self()]
        for check in checks:
            variables += [v for v in check.variables if v not in variables]
            variables.append((f"v_{check.rule.replace('-', '_')}", check.violations))
        listed = " + ".join(f"variables.v_{c.rule.replace('-', '_')}" for c in checks)
        variables.append(("judged", _judged()))
        variables.append(("violations", f"variables.judged ? ({listed}) : [{_unjudged()}]"))
    count = "size(variables.violations)"
    text = (
        f'(object.kind + " \\"" + object.metadata.name + "\\" has " + string({count}) + '
        f'({count} == 1 ? " violation: " : " violations: ") + variables.violations.join("; "))'
    )
    message = (
        f"(size({text}) <= {MESSAGE_LIMIT} ? {text} : "
        f'{text}.substring(0, {MESSAGE_LIMIT - 3}) + "...")'
    )
    catalog = validator.catalog.source if validator.catalog else "none"
    return {
        "apiVersion": "admissionregistration.k8s.io/v1",
        "kind": "ValidatingAdmissionPolicy",
        "metadata": {
            "name": name,
            "labels": {"app.kubernetes.io/managed-by": "bindcheck"},
            "annotations": {
                "bindcheck.dev/policy": validator.policy.value,
                "bindcheck.dev/catalog": catalog,
                "bindcheck.dev/rules": ",".join(c.rule for c in checks),
                "bindcheck.dev/not-expressed": ",".join(sorted(not_expressed)),
            },
        },
        "spec": {
            "failurePolicy": failure_policy,
            "matchConstraints": {
                "resourceRules": [
                    {
                        "apiGroups": [GROUP],
                        # named, not "*": the API server type-checks expressions only
                        # against versions a policy names (status.typeChecking)
                        "apiVersions": [API_VERSION],
                        "operations": ["CREATE", "UPDATE"],
                        "resources": RESOURCES,
                    }
                ]
            },
            "variables": [{"name": n, "expression": e} for n, e in variables],
            "validations": [
                {
                    "expression": f"{count} == 0",
                    "messageExpression": message,
                    "message": STATIC_MESSAGE,
                    "reason": "Forbidden",
                }
            ],
        },
    }


def _binding(name: str, action: str) -> dict[str, Any]:
    return {
        "apiVersion": "admissionregistration.k8s.io/v1",
        "kind": "ValidatingAdmissionPolicyBinding",
        "metadata": {"name": name, "labels": {"app.kubernetes.io/managed-by": "bindcheck"}},
        "spec": {"policyName": name, "validationActions": [action]},
    }
