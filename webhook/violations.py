"""Violations: the one shape every check reports in.

Modelled on Kubernetes field errors (``field: Reason text: message``). Every
violation names the rule that raised it; every rule has an action.

Python checks declare their rules in webhook/rulebook.py; CEL rules in their files.

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
    FORBIDDEN = "FieldValueForbidden"
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
    Reason.FORBIDDEN: "Forbidden",
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
    entry: int | None = None
    """The index of the entry it is about, for rules that judge one entry alone."""

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


def entry_label(indexes: Iterable[int]) -> str:
    """``[0]``, ``[0] and [2]``, ``[0], [2] and [5]``: how messages name entries."""
    labels = [f"[{i}]" for i in indexes]
    if len(labels) <= 1:
        return "".join(labels)
    return ", ".join(labels[:-1]) + " and " + labels[-1]
