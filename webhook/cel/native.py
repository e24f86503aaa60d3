"""The shipped rules evaluated in Python: the same answers as their CEL, in O(n).

Uniqueness in CEL is pairwise: ``exists_one`` over the list for each entry, O(n²),
about 2 ms on a 64-entry list where every entry takes part. Counting keys in a dict
gives the same per-entry verdicts and group keys in one pass.

CEL stays the reference. A native evaluator is attached to a rule only when the
rule's CEL text is exactly the text it was written from (a digest of variables,
expression and groupBy), so an edited rule file runs as CEL again; and
tests/test_native_rules.py holds each evaluator to both CEL engines on random lists
and to the CRD's own expressions.

Inputs are the entries as CEL sees them (``__namespace__``/``__package__`` escaped,
nulls pruned), already schema-checked: every value read here is a string.
"""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from collections.abc import Callable, Hashable, Sequence
from typing import Any

Verdicts = tuple[list[bool], list[Hashable]]
"""One bool per entry (``True``: passes) and one group key per entry."""
Native = Callable[[Sequence[dict[str, Any]]], Verdicts]


def _sized(text: str) -> str:
    """CEL's ``string(size(s)) + ':' + s``: ``size`` counts code points, as ``len`` does."""
    return f"{len(text)}:{text}"


def unique_entry(entries: Sequence[dict[str, Any]]) -> Verdicts:
    """rules/upstream-unique-entry.yaml: an entry passes when no other has its key
    (``variables.keys.map(k, variables.keys.exists_one(j, j == k))``)."""
    keys: list[Hashable] = [
        _sized(x["__namespace__"])
        + _sized(x["__package__"])
        + (_sized(x["name"]) if "name" in x else "0:")
        + x.get("version", "")
        for x in entries
    ]
    counts = Counter(keys)
    return [counts[k] == 1 for k in keys], keys


def single_unnamed(entries: Sequence[dict[str, Any]]) -> Verdicts:
    """rules/upstream-single-unnamed.yaml: an unnamed entry (no name, or ``''``) passes only when
    no other unnamed entry has its namespace and package."""
    unnamed = [
        "" if x.get("name", "") != "" else _sized(x["__namespace__"]) + x["__package__"]
        for x in entries
    ]
    counts = Counter(unnamed)
    verdicts = [k == "" or counts[k] == 1 for k in unnamed]
    groups: list[Hashable] = [(x["__namespace__"], x["__package__"]) for x in entries]
    return verdicts, groups


def rule_digest(variables: Sequence[tuple[str, str]], expression: str, group_by: str) -> str:
    """What identifies a rule's CEL: its variables, expression and groupBy, exactly."""
    text = json.dumps([list(map(list, variables)), expression, group_by])
    return hashlib.sha256(text.encode()).hexdigest()


NATIVE: dict[str, tuple[str, Native]] = {
    "unique-entry": (
        "96148cfb94ea23f881803f175a1a301ff9b607ca212331d49f2dff968f102a05",
        unique_entry,
    ),
    "single-unnamed": (
        "725870f70b3f4c78a68fe9dfbaae53035b3db9a972115bb4c7295bbeadcd958f",
        single_unnamed,
    ),
}
"""Rule id → (digest of the CEL it implements, evaluator)."""


def native_for(
    rule_id: str, variables: Sequence[tuple[str, str]], expression: str, group_by: str
) -> Native | None:
    """The evaluator for this exact rule text, or ``None`` (the rule runs as CEL)."""
    found = NATIVE.get(rule_id)
    if found is None or found[0] != rule_digest(variables, expression, group_by):
        return None
    return found[1]
