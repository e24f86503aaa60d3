"""UPDATE ratcheting: a violation the old object already had, on a value that did not change,
is a warning; anything the update touches is judged afresh.

Kubernetes ratchets CRD validation the same way (KEP-4008): an error is tolerated only
where the new value equals the old one. Here the value a violation depends on is its
entry, for the rules that judge one entry alone (webhook/rulebook.py, ``Scope.ENTRY``;
the violation names its entry), and the whole list and the hostSelector for everything
else (pairwise rules, user rules, the host's binding of
the list). Values are compared as canonical JSON, so ``1`` and ``true`` differ.
"""

from __future__ import annotations

import json
from dataclasses import replace
from typing import Any

from webhook.core import Outcome
from webhook.model import Workload
from webhook.rulebook import Scope, scope_of
from webhook.violations import Action, Violation
from webhook.workloads import identity, locate


def ratchet(new: Outcome, new_obj: Any, old: Outcome, old_obj: Any) -> Outcome:
    """``new`` with the denials that ratchet turned into warnings."""
    existing = {(v.rule, v.field) for v in old.denials}
    if not existing:
        return new
    now, before = _workload(new_obj), _workload(old_obj)
    if now is None or before is None:
        return new
    diff = _Diff(now, before)
    violations = tuple(
        replace(v, action=Action.WARN, message="(existing) " + v.message)
        if v.action is Action.DENY and (v.rule, v.field) in existing and diff.unchanged(v)
        else v
        for v in new.violations
    )
    return replace(new, violations=violations)


def _workload(obj: Any) -> Workload | None:
    ident = identity(obj)
    return None if ident is None else locate(obj, *ident)[0]


class _Diff:
    """What an update changed, each part compared at most once a review: the selector,
    the whole list, and each entry a violation names. So the work is linear in the
    objects however many violations share one value (comparing per violation made 100
    denials on a 1.3 MB selector cost 4 s)."""

    def __init__(self, now: Workload, before: Workload) -> None:
        self.now, self.before = now, before
        self._selector: bool | None = None
        self._list: bool | None = None
        self._entries: dict[int, bool] = {}

    def unchanged(self, violation: Violation) -> bool:
        if self._selector is None:
            self._selector = _same(self.now.raw_selector, self.before.raw_selector)
        if not self._selector:
            return False
        index = violation.entry
        if index is not None and scope_of(violation.rule) is Scope.ENTRY:
            if index not in self._entries:
                self._entries[index] = _same(
                    _item(self.now.raw_entries, index), _item(self.before.raw_entries, index)
                )
            return self._entries[index]
        if self._list is None:
            self._list = _same(self.now.raw_entries, self.before.raw_entries)
        return self._list


def _item(entries: Any, index: int) -> Any:
    return entries[index] if isinstance(entries, list) and index < len(entries) else None


def _same(a: Any, b: Any) -> bool:
    try:
        return json.dumps(a, sort_keys=True) == json.dumps(b, sort_keys=True)
    except (TypeError, ValueError, RecursionError):
        return False
