"""What a policy can express: the validator's rules sorted into compiled checks and reasons.

Decided apart from building (as Kyverno decides what a policy can express before it
builds one): each Python rule's registry entry says whether the export compiles it
(webhook/rulebook.py, ``unexported``), :data:`BUILDERS` says how, and a test keeps the
two in step. CEL rules are always compiled.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from webhook.core import Validator
from webhook.export.host_cel import backend_unknown, unavailable
from webhook.export.naming_cel import cel_rule, strict_naming
from webhook.export.workload_cel import Check
from webhook.rulebook import (
    API_VERSION_UNKNOWN,
    BACKEND_UNKNOWN,
    INTERFACE_UNAVAILABLE,
    KIND_UNKNOWN,
    NAME_REQUIRED,
    NAME_UNIQUE,
    RULE_ERROR,
    RULES,
    SCHEMA_FIRST,
    VIOLATIONS_TRUNCATED,
    RuleSpec,
)
from webhook.violations import Action

FEATURES = {
    "schema": SCHEMA_FIRST,
    "ratcheting": "UPDATE ratcheting is not exported: an UPDATE is judged like a CREATE",
    "probes": "resolve --probe connects to backends; a policy cannot",
}
"""What the webhook does besides its rules that no policy does; always listed."""
ALWAYS_LISTED = (KIND_UNKNOWN, API_VERSION_UNKNOWN, VIOLATIONS_TRUNCATED, RULE_ERROR)
"""What the engine does around the checks: listed whatever the flags say."""

Builder = Callable[[Validator, RuleSpec, Action], list[Check]]


def _naming(validator: Validator, spec: RuleSpec, action: Action) -> list[Check]:
    return [strict_naming(spec.id, action)]


def _unavailable(validator: Validator, spec: RuleSpec, action: Action) -> list[Check]:
    assert validator.hosts is not None  # a host rule is planned only with a catalog
    return [unavailable(validator.hosts, action)]


def _backend_unknown(validator: Validator, spec: RuleSpec, action: Action) -> list[Check]:
    assert validator.hosts is not None
    # its default depends on the entry (configFrom may supply a backend); an override
    # sets one action for both kinds of entry
    return backend_unknown(validator.hosts, validator.actions.get(spec.id))


BUILDERS: dict[str, Builder] = {
    NAME_REQUIRED.id: _naming,
    NAME_UNIQUE.id: _naming,
    INTERFACE_UNAVAILABLE.id: _unavailable,
    BACKEND_UNKNOWN.id: _backend_unknown,
}
"""How each rule the registry marks as exported is compiled."""


@dataclass
class Plan:
    checks: list[Check] = field(default_factory=list)
    not_expressed: dict[str, str] = field(default_factory=dict)
    """Rule id (or feature) → why the policies do not check it."""


def plan(validator: Validator) -> Plan:
    """The checks the policies compile for ``validator``, and what they leave out."""
    out = Plan(not_expressed={**FEATURES, **{s.id: str(s.unexported) for s in ALWAYS_LISTED}})
    for k, rule in enumerate(validator.rules):
        if rule.applies_to(validator.policy) and rule.id not in validator.disabled:
            out.checks.append(cel_rule(k, rule, validator.actions.get(rule.id, rule.action)))
    for spec in RULES.values():
        if spec.id in validator.disabled or spec.policy not in ("all", validator.policy.value):
            continue
        if spec.needs_catalog and validator.hosts is None:
            continue  # not run without a catalog, so nothing to leave out
        if spec.unexported is not None:
            out.not_expressed[spec.id] = spec.unexported
            continue
        action = validator.actions.get(spec.id, spec.action)
        out.checks.extend(BUILDERS[spec.id](validator, spec, action))
    return out
