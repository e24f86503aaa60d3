"""Fingerprints of what a verdict depends on, computed once per review.

Most reviews the API server sends are new lists made of entries it has sent before:
one entry added or edited, the rest as they were. So each entry (of the first
``MAX_ENTRIES``; past that the list is refused on its length) gets a digest, and
both memos read them:

- the verdict cache (webhook/verdict_cache.py) keys a whole list by the kind, the
  selector, the list's length and its entries' digests;
- :class:`EntryMemo` keeps, per entry digest and position, the typed entry the schema
  check built, and whether each plugin's config checks found it clean. A new list
  then costs the checks only on its new entries, plus everything that looks across
  entries (naming rules, binding, route collisions), which always runs.

A digest is SHA-256 of the entry's ``marshal`` bytes. marshal round-trips plain data
exactly: equal bytes mean equal values of equal types (``1``, ``1.0``, ``True`` and
``"1"`` all differ), and it refuses every other type (a date, a UUID), so such an entry
has no digest and is checked afresh every time. JSON would not do: orjson writes a
date as the string a valid entry could hold, and ``NaN`` as ``null``. Digests, never
the values, are keys. The typed entries the memo keeps hold their config values, as the
request did: they stay in this process's memory until the memo is cleared, and reach
no log, message or metric.
"""

from __future__ import annotations

import hashlib
import marshal
import threading
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from webhook.model import HostInterface

MAX_ENTRIES = 64
"""Entries the CRD allows, and the most any check looks at."""

Print = tuple[bytes, int]
"""An entry's digest, and the size of the JSON it was taken of."""


def entry_prints(raw: Any) -> list[Print | None] | None:
    """A print per entry of the first :data:`MAX_ENTRIES`; ``None`` unless ``raw`` is a
    list."""
    if type(raw) is not list:
        return None
    out: list[Print | None] = []
    for item in raw[:MAX_ENTRIES]:
        try:
            # Version 2 writes no back-references: equal values give equal bytes
            # whatever objects they share.
            blob = marshal.dumps(item, 2)
        except ValueError:  # a type marshal refuses, or nesting past its limit
            out.append(None)
            continue
        out.append((hashlib.sha256(blob).digest(), len(blob)))
    return out


def verdict_key(
    kind: str, raw: Any, prints: list[Print | None] | None, selector: Any
) -> bytes | None:
    """The verdict cache's key; ``None`` when something in the inputs has no digest.

    For a list: its length and its entries' digests (a list past the limit is judged
    on its length and its first entries only). Anything else is digested whole.
    """
    try:
        if prints is None:
            return hashlib.sha256(marshal.dumps((kind, selector, raw), 2)).digest()
        head = marshal.dumps((kind, selector, len(raw)), 2)
    except ValueError:
        return None
    digests = [p[0] for p in prints if p is not None]
    if len(digests) < len(prints):
        return None
    return hashlib.sha256(head + b"".join(digests)).digest()


class EntryMemo:
    """Typed entries by (digest, position), and config checks that found an entry clean.

    Bounded in bytes: an entry's JSON counts (three times over, for the objects built
    from it) and entries past :attr:`MAX_ENTRY_BYTES` are never kept; both maps are
    cleared when the budget is spent. A memo belongs to one validator, whose catalog
    and rules never change.
    """

    MAX_BYTES = 8 * 1024 * 1024
    MAX_ENTRY_BYTES = 4096

    def __init__(self, max_bytes: int = MAX_BYTES) -> None:
        self.max_bytes = max_bytes
        self.bytes = 0
        self._typed: dict[tuple[bytes, int], tuple[HostInterface, dict[str, Any]]] = {}
        self._clean: set[tuple[bytes, int, str, str]] = set()
        self._lock = threading.Lock()

    def typed(self, digest: bytes, index: int) -> tuple[HostInterface, dict[str, Any]] | None:
        return self._typed.get((digest, index))

    def keep_typed(
        self, digest: bytes, index: int, typed: tuple[HostInterface, dict[str, Any]], size: int
    ) -> None:
        if size > self.MAX_ENTRY_BYTES:
            return
        with self._lock:
            self._spend(3 * size)
            self._typed[(digest, index)] = typed

    def clean(self, digest: bytes, index: int, group: str, plugin: str) -> bool:
        return (digest, index, group, plugin) in self._clean

    def keep_clean(self, digest: bytes, index: int, group: str, plugin: str) -> None:
        with self._lock:
            self._spend(200 + len(group) + len(plugin))
            self._clean.add((digest, index, group, plugin))

    def _spend(self, cost: int) -> None:
        if self.bytes + cost > self.max_bytes:
            self._typed.clear()
            self._clean.clear()
            self.bytes = 0
        self.bytes += cost
