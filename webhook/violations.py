"""Violations: the one shape every check reports in.

Modelled on Kubernetes field errors (``field: Reason text: message``). Every
violation names the rule that raised it; every rule has an action.

Rule ids, by the layer that raises them::

    schema (Python, webhook/checks/schema.py; both policies)
      schema-type          a value of the wrong type (name is a number, list is a map)
      schema-required      a required field is absent (namespace, package, interfaces, spec)
      schema-max-length    a string longer than the CRD allows
      schema-pattern       name does not match ^[a-z0-9][a-z0-9-]*$
      schema-max-items     more than 64 hostInterfaces
      schema-min-items     interfaces is an empty list
      schema-unknown-field a field the CRD does not know (pruned silently; warn)
    upstream policy (CEL, rules/*.yaml)
      unique-entry         two entries with the same namespace+package+name+version
      single-unnamed       more than one unnamed entry per namespace:package
    strict policy (Python, webhook/checks/naming.py)
      name-required        entries sharing namespace:package must all be named
      name-unique          a name repeats within one namespace:package
    host capability (Python, webhook/checks/capability.py; needs a catalog)
      interface-unavailable   no plugin on the host takes the entry
      plugin-named-instances  a plugin without named instances would get several named entries
      backend-unknown         config.backend names a backend the plugin lacks
      backend-config-missing  the chosen backend needs a config key that is absent
      backend-config-invalid  config.url is not a URL the backend's client accepts
      plugin-config-missing   the plugin needs a config key that is absent
      plugin-unconfigured     the plugin cannot serve the entry as the host is started (warn)
      backend-ignored         config.backend on an entry no backend router takes (warn)
      route-collision         two entries reach a multiplexer under one name (warn)
      http-host               the HTTP entry point lacks a valid config.host
      http-host-alias         a config.host-aliases name the router drops (warn)
      hostgroup-unmatched     the hostSelector matches no host group: pending (warn)
    engine
      kind-unknown         a kind our API group does not have, e.g. kind: workload (warn)
      rule-error           a CEL rule failed to evaluate on this object
      violations-truncated more than 100 violations: the rest are counted, not listed

Actions: ``deny`` fails admission, ``warn`` admits with a warning, ``audit``
admits and only logs and counts.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable
from dataclasses import dataclass


class Reason(enum.StrEnum):
    """Kubernetes field-error reasons (``metav1.CauseType`` values)."""

    REQUIRED = "FieldValueRequired"
    DUPLICATE = "FieldValueDuplicate"
    INVALID = "FieldValueInvalid"
    TOO_LONG = "FieldValueTooLong"
    TOO_MANY = "FieldValueTooMany"
    NOT_SUPPORTED = "FieldValueNotSupported"

    @property
    def label(self) -> str:
        """The human prefix kubectl prints for this reason."""
        return _TITLES[self]


_TITLES = {
    Reason.REQUIRED: "Required value",
    Reason.DUPLICATE: "Duplicate value",
    Reason.INVALID: "Invalid value",
    Reason.TOO_LONG: "Too long",
    Reason.TOO_MANY: "Too many",
    Reason.NOT_SUPPORTED: "Unsupported value",
}


class Action(enum.StrEnum):
    """What a violated rule does to admission."""

    DENY = "deny"
    WARN = "warn"
    AUDIT = "audit"


class Policy(enum.StrEnum):
    """Naming policy: ``upstream`` mirrors the CRD's CEL rules; ``strict`` is the design note."""

    UPSTREAM = "upstream"
    STRICT = "strict"


@dataclass(frozen=True, slots=True)
class Violation:
    """One broken rule at one field."""

    field: str
    reason: Reason
    message: str
    rule: str
    action: Action = Action.DENY

    def render(self) -> str:
        """``[rule] field: Reason title: message``, the form kubectl users know."""
        return f"[{self.rule}] {self.field}: {self.reason.label}: {self.message}"


@dataclass(frozen=True, slots=True)
class RuleInfo:
    """What ``bindcheck rules`` lists of a rule."""

    id: str
    description: str
    action: Action | str
    """Its action (``off`` when switched off)."""
    policy: str
    """``upstream``, ``strict`` or ``all``."""
    where: str
    """What raises it: a Python check module, or a CEL rule file and line."""


def _python(
    rule_id: str, description: str, where: str, action: Action = Action.DENY, policy: str = "all"
) -> tuple[str, RuleInfo]:
    return rule_id, RuleInfo(rule_id, description, action, policy, where)


_SCHEMA, _NAMING, _HOST = (
    "schema (checks/schema.py)",
    "naming (checks/naming.py)",
    ("host (checks/capability.py; needs a catalog)"),
)
PYTHON_RULES: dict[str, RuleInfo] = dict(
    [
        _python("schema-type", "A value has the wrong type for the CRD schema", _SCHEMA),
        _python("schema-required", "A required field is absent", _SCHEMA),
        _python("schema-max-length", "A string is longer than the CRD allows", _SCHEMA),
        _python("schema-pattern", "A name does not match ^[a-z0-9][a-z0-9-]*$", _SCHEMA),
        _python("schema-max-items", "More than 64 hostInterfaces entries", _SCHEMA),
        _python("schema-min-items", "An entry lists no interfaces", _SCHEMA),
        _python(
            "schema-unknown-field",
            "A field the CRD does not know (the API server drops it)",
            _SCHEMA,
            Action.WARN,
        ),
        _python(
            "name-required",
            "Entries sharing a namespace:package must all be named",
            _NAMING,
            policy="strict",
        ),
        _python(
            "name-unique",
            "A name repeats within one namespace:package, whatever the version",
            _NAMING,
            policy="strict",
        ),
        _python("interface-unavailable", "No plugin on the host takes the entry", _HOST),
        _python(
            "plugin-named-instances",
            "A plugin without named instances would get several named entries of one package",
            _HOST,
        ),
        _python(
            "backend-unknown", "config.backend names a backend the plugin does not have", _HOST
        ),
        _python(
            "backend-config-missing", "The chosen backend needs a config key that is absent", _HOST
        ),
        _python(
            "backend-config-invalid",
            "config.url is not a URL the backend's client "
            "accepts (scheme, port, unencoded '/', '?' or '#' in a password)",
            _HOST,
        ),
        _python(
            "plugin-config-missing",
            "The plugin needs a config key that is absent (postgres database, a labelled secret)",
            _HOST,
        ),
        _python(
            "plugin-unconfigured",
            "The plugin cannot serve the entry the way the host is started",
            _HOST,
            Action.WARN,
        ),
        _python(
            "backend-ignored",
            "config.backend on an entry whose plugin does not route by backend",
            _HOST,
            Action.WARN,
        ),
        _python(
            "route-collision",
            "Two entries reach a multiplexed plugin under one name; one backend replaces the other",
            _HOST,
            Action.WARN,
        ),
        _python(
            "http-host",
            "The HTTP entry point lacks a valid config.host for the host's router",
            _HOST,
        ),
        _python(
            "http-host-alias", "A config.host-aliases name the router drops", _HOST, Action.WARN
        ),
        _python(
            "hostgroup-unmatched",
            "The hostSelector matches no host group: the workload stays pending",
            _HOST,
            Action.WARN,
        ),
        _python(
            "kind-unknown",
            "A kind of runtime.wasmcloud.dev that does not exist (kind: workload)",
            "core (core.py)",
            Action.WARN,
        ),
        _python(
            "rule-error", "A CEL rule could not be evaluated on the object", "engine (cel/rules.py)"
        ),
        _python(
            "violations-truncated",
            "More violations than one answer lists; the rest are counted",
            "core (core.py)",
        ),
    ]
)
"""Rule ids raised by Python checks; CEL rules come from rule files."""


def entry_label(indexes: Iterable[int]) -> str:
    """``[0]``, ``[0] and [2]``, ``[0], [2] and [5]``: how messages name entries."""
    labels = [f"[{i}]" for i in indexes]
    if len(labels) <= 1:
        return "".join(labels)
    return ", ".join(labels[:-1]) + " and " + labels[-1]
