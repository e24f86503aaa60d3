"""UPDATE ratcheting: a violation the old object already had, on a value that did not change,
is a warning; anything the update touches is judged afresh.

Kubernetes ratchets CRD validation the same way (KEP-4008): an error is tolerated only
where the new value equals the old one. Here the value a violation depends on is its
entry, for the checks that look at one entry alone, and the whole list and the
hostSelector for everything else (pairwise rules, user rules, the host's binding of
the list). Values are compared as canonical JSON, so ``1`` and ``true`` differ.
"""

from __future__ import annotations

import json
import re
from dataclasses import replace
from typing import Any

from webhook.core import Outcome
from webhook.manifests import identity, locate
from webhook.model import Workload
from webhook.violations import Action, Violation

ENTRY_LOCAL = frozenset(
    {
        "schema-type", "schema-required", "schema-max-length", "schema-pattern",
        "schema-min-items", "schema-unknown-field", "interface-unavailable", "backend-unknown",
        "backend-config-missing", "plugin-config-missing", "plugin-unconfigured",
        "backend-ignored",
    }
)  # fmt: skip
"""Rules whose verdict on an entry depends on that entry (and the host) alone."""
_INDEX = re.compile(r"\[(\d+)\]")


def ratchet(new: Outcome, new_obj: Any, old: Outcome, old_obj: Any) -> Outcome:
    """``new`` with the denials that ratchet turned into warnings."""
    existing = {(v.rule, v.field) for v in old.denials}
    if not existing:
        return new
    now, before = _workload(new_obj), _workload(old_obj)
    if now is None or before is None:
        return new
    violations = tuple(
        replace(v, action=Action.WARN, message="(existing) " + v.message)
        if v.action is Action.DENY and (v.rule, v.field) in existing and _unchanged(v, now, before)
        else v
        for v in new.violations
    )
    return replace(new, violations=violations)


def _workload(obj: Any) -> Workload | None:
    ident = identity(obj)
    return None if ident is None else locate(obj, *ident)[0]


def _unchanged(violation: Violation, now: Workload, before: Workload) -> bool:
    if _same(now.raw_selector, before.raw_selector) is False:
        return False
    if violation.rule in ENTRY_LOCAL and violation.field.startswith(now.list_path + "["):
        match = _INDEX.match(violation.field, len(now.list_path))
        if match is not None:
            index = int(match.group(1))
            return _same(_item(now.raw_entries, index), _item(before.raw_entries, index))
    return _same(now.raw_entries, before.raw_entries)


def _item(entries: Any, index: int) -> Any:
    return entries[index] if isinstance(entries, list) and index < len(entries) else None


def _same(a: Any, b: Any) -> bool:
    try:
        return json.dumps(a, sort_keys=True) == json.dumps(b, sort_keys=True)
    except (TypeError, ValueError, RecursionError):
        return False
