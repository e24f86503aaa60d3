"""Every rule bindcheck's Python checks raise, declared once.

A rule's id, what it means, what it judges (one entry, or the list and selector as a
whole), its default action, the naming policy it runs under and whether the policy
export compiles it live here and nowhere else: the checks raise through these
objects (a misspelt name fails at import), and ``bindcheck rules``, SARIF's rule
table, UPDATE ratcheting, the export and the chart's values schema read them. CEL
rules (rules/*.yaml, ``--rules``) declare the same things in their own files.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from webhook.violations import Action, Reason, RuleInfo, Violation


class Scope(enum.StrEnum):
    """What a rule's verdict depends on, which decides what an UPDATE must leave alone
    for an existing violation to ratchet (webhook/ratchet.py)."""

    ENTRY = "entry"
    """One entry (and the fixed host model): it ratchets while that entry is unchanged."""
    LIST = "list"
    """Several entries, or the selector: it ratchets while the whole list is unchanged."""


class Layer(enum.StrEnum):
    """Which check raises it."""

    SCHEMA = "schema (checks/schema.py)"
    NAMING = "naming (checks/naming.py)"
    HOST = "host (checks/capability.py; needs a catalog)"
    CORE = "core (core.py)"
    ENGINE = "engine (cel/rules.py)"


class Refuser(enum.StrEnum):
    """Who refuses an object that breaks the rule, bindcheck aside (webhook/api_server.py)."""

    API_SERVER = "api-server"
    """The API server, by the CRD's schema of every release."""
    CRD_LIMITS = "crd-limits"
    """The API server, when its CRD has the length and item limits (chart v2.7.0 and
    later, kustomize v2.5.0 and later)."""
    HOST = "host"
    """The host, when it deploys the workload: the late, vague failure bindcheck exists
    to bring forward."""


SCHEMA_FIRST = "the CRD's schema runs before any policy: objects that break it never reach one"
NOT_YET = (
    "not compiled to CEL yet (config keys, URLs, HTTP routing and named-instance checks "
    "need more of the host model in CEL); the webhook and `bindcheck check` run it"
)


@dataclass(frozen=True, slots=True)
class RuleSpec:
    """One rule a Python check raises."""

    id: str
    description: str
    layer: Layer
    scope: Scope
    action: Action = Action.DENY
    """Its default action (``--rule-action`` and the chart's ``ruleActions`` override it)."""
    policy: str = "all"
    """``all``, or the one naming policy it runs under."""
    unexported: str | None = None
    """Why ``bindcheck export vap`` cannot express it; ``None``: the export compiles it."""
    refused_by: Refuser | None = None
    """Who else refuses it; ``None``: only bindcheck (advice, or a policy of its own)."""

    def at(
        self,
        field: str,
        reason: Reason,
        message: str,
        entry: int | None = None,
        action: Action | None = None,
    ) -> Violation:
        """A violation of this rule at ``field`` (of entry ``entry``, when it has one)."""
        return Violation(field, reason, message, self.id, action or self.action, entry)

    @property
    def info(self) -> RuleInfo:
        return RuleInfo(self.id, self.description, self.action, self.policy, self.layer.value)

    @property
    def needs_catalog(self) -> bool:
        return self.layer is Layer.HOST


_S, _N, _H = Layer.SCHEMA, Layer.NAMING, Layer.HOST
_E, _L = Scope.ENTRY, Scope.LIST

SCHEMA_TYPE = RuleSpec(
    "schema-type", "A value has the wrong type for the CRD schema", _S, _E,
    unexported=SCHEMA_FIRST, refused_by=Refuser.API_SERVER,
)  # fmt: skip
SCHEMA_REQUIRED = RuleSpec(
    "schema-required",
    "A required field is absent",
    _S,
    _E,
    unexported=SCHEMA_FIRST,
    refused_by=Refuser.API_SERVER,
)
SCHEMA_MAX_LENGTH = RuleSpec(
    "schema-max-length",
    "A string is longer than the CRD allows",
    _S,
    _E,
    unexported=SCHEMA_FIRST,
    refused_by=Refuser.CRD_LIMITS,
)
SCHEMA_PATTERN = RuleSpec(
    "schema-pattern", "A name does not match ^[a-z0-9][a-z0-9-]*$", _S, _E,
    unexported=SCHEMA_FIRST, refused_by=Refuser.API_SERVER,
)  # fmt: skip
SCHEMA_MAX_ITEMS = RuleSpec(
    "schema-max-items",
    "More than 64 hostInterfaces entries",
    _S,
    _L,
    unexported=SCHEMA_FIRST,
    refused_by=Refuser.CRD_LIMITS,
)
SCHEMA_MIN_ITEMS = RuleSpec(
    "schema-min-items",
    "An entry lists no interfaces",
    _S,
    _E,
    unexported=SCHEMA_FIRST,
    refused_by=Refuser.API_SERVER,
)
SCHEMA_UNKNOWN_FIELD = RuleSpec(
    "schema-unknown-field", "A field the CRD does not know (the API server drops it)", _S, _E,
    Action.WARN, unexported=SCHEMA_FIRST,
)  # fmt: skip
NAME_REQUIRED = RuleSpec(
    "name-required", "Entries sharing a namespace:package must all be named", _N, _L,
    policy="strict",
)  # fmt: skip
NAME_UNIQUE = RuleSpec(
    "name-unique", "A name repeats within one namespace:package, whatever the version", _N, _L,
    policy="strict",
)  # fmt: skip
INTERFACE_UNAVAILABLE = RuleSpec(
    "interface-unavailable",
    "No plugin on the host takes the entry",
    _H,
    _E,
    refused_by=Refuser.HOST,
)
PLUGIN_NAMED_INSTANCES = RuleSpec(
    "plugin-named-instances",
    "A plugin without named instances would get several named entries of one package",
    _H, _L, unexported=NOT_YET, refused_by=Refuser.HOST,
)  # fmt: skip
BACKEND_UNKNOWN = RuleSpec(
    "backend-unknown",
    "config.backend names a backend the plugin does not have",
    _H,
    _E,
    refused_by=Refuser.HOST,
)
BACKEND_CONFIG_MISSING = RuleSpec(
    "backend-config-missing", "The chosen backend needs a config key that is absent", _H, _E,
    unexported=NOT_YET, refused_by=Refuser.HOST,
)  # fmt: skip
BACKEND_CONFIG_INVALID = RuleSpec(
    "backend-config-invalid",
    "config.url is not a URL the backend's client "
    "accepts (scheme, port, unencoded '/', '?' or '#' in a password)",
    _H, _L, unexported=NOT_YET, refused_by=Refuser.HOST,
)  # fmt: skip
PLUGIN_CONFIG_MISSING = RuleSpec(
    "plugin-config-missing",
    "The plugin needs a config key that is absent (postgres database, a labelled secret)",
    _H, _E, unexported=NOT_YET, refused_by=Refuser.HOST,
)  # fmt: skip
PLUGIN_UNCONFIGURED = RuleSpec(
    "plugin-unconfigured", "The plugin cannot serve the entry the way the host is started",
    _H, _E, Action.WARN, unexported=NOT_YET,
)  # fmt: skip
BACKEND_IGNORED = RuleSpec(
    "backend-ignored", "config.backend on an entry whose plugin does not route by backend",
    _H, _E, Action.WARN, unexported=NOT_YET,
)  # fmt: skip
CONFIG_UNREAD = RuleSpec(
    "config-unread",
    "Config keys the entry's plugin, or the backend it routes to, never reads",
    _H, _E, Action.WARN, unexported=NOT_YET,
)  # fmt: skip
ROUTE_COLLISION = RuleSpec(
    "route-collision",
    "Two entries reach a multiplexed plugin under one name; one backend replaces the other",
    _H, _L, Action.WARN, unexported=NOT_YET,
)  # fmt: skip
PLUGIN_ORDER_UNDEFINED = RuleSpec(
    "plugin-order-undefined",
    "Hosts that try plugins in a HashMap's order (before v2.7.0) may bind the entry to "
    "any of several plugins",
    _H, _E, Action.WARN, unexported=NOT_YET,
)  # fmt: skip
HTTP_HOST = RuleSpec(
    "http-host", "The HTTP entry point lacks a valid config.host for the host's router", _H, _L,
    unexported=NOT_YET, refused_by=Refuser.HOST,
)  # fmt: skip
HTTP_HOST_ALIAS = RuleSpec(
    "http-host-alias", "A config.host-aliases name the router drops", _H, _L, Action.WARN,
    unexported=NOT_YET,
)  # fmt: skip
HOSTGROUP_UNMATCHED = RuleSpec(
    "hostgroup-unmatched", "The hostSelector matches no host group: the workload stays pending",
    _H, _L, Action.WARN, unexported=NOT_YET,
)  # fmt: skip
KIND_UNKNOWN = RuleSpec(
    "kind-unknown",
    "A kind runtime.wasmcloud.dev does not have (kind: WorkLoad): the API server refuses it",
    Layer.CORE, _L, unexported="the policies match only the three kinds that exist",
    refused_by=Refuser.API_SERVER,
)  # fmt: skip
API_VERSION_UNKNOWN = RuleSpec(
    "api-version-unknown",
    "One of our kinds with an apiVersion no API server serves (runtime.wasmcloud.io/v1alpha1, "
    "none at all): the API server refuses it",
    Layer.CORE, _L, unexported="the policies match only runtime.wasmcloud.dev/v1alpha1",
    refused_by=Refuser.API_SERVER,
)  # fmt: skip
RULE_ERROR = RuleSpec(
    "rule-error", "A CEL rule could not be evaluated on the object", Layer.ENGINE, _L,
    unexported="a rule that fails to evaluate fails the policy (failurePolicy decides)",
)  # fmt: skip
VIOLATIONS_TRUNCATED = RuleSpec(
    "violations-truncated", "More violations than one answer lists; the rest are counted",
    Layer.CORE, _L, unexported="the policy message is clipped instead",
)  # fmt: skip

RULES: dict[str, RuleSpec] = {
    spec.id: spec
    for spec in (
        SCHEMA_TYPE, SCHEMA_REQUIRED, SCHEMA_MAX_LENGTH, SCHEMA_PATTERN, SCHEMA_MAX_ITEMS,
        SCHEMA_MIN_ITEMS, SCHEMA_UNKNOWN_FIELD, NAME_REQUIRED, NAME_UNIQUE,
        INTERFACE_UNAVAILABLE, PLUGIN_NAMED_INSTANCES, BACKEND_UNKNOWN, BACKEND_CONFIG_MISSING,
        BACKEND_CONFIG_INVALID, PLUGIN_CONFIG_MISSING, PLUGIN_UNCONFIGURED, BACKEND_IGNORED,
        CONFIG_UNREAD, ROUTE_COLLISION, PLUGIN_ORDER_UNDEFINED, HTTP_HOST, HTTP_HOST_ALIAS,
        HOSTGROUP_UNMATCHED, KIND_UNKNOWN, API_VERSION_UNKNOWN, RULE_ERROR, VIOLATIONS_TRUNCATED,
    )
}  # fmt: skip
"""Every Python rule by id."""


def scope_of(rule_id: str) -> Scope:
    """A rule's scope; CEL rules (not in :data:`RULES`) look across entries."""
    spec = RULES.get(rule_id)
    return spec.scope if spec is not None else Scope.LIST
