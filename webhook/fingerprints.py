"""Fingerprints of what a verdict depends on, computed once per review.

Most reviews the API server sends are new lists made of entries it has sent before:
one entry added or edited, the rest as they were. So each entry (of the first
``MAX_ENTRIES``; past that the list is refused on its length) gets a digest, and
both memos read them:

- the verdict cache (webhook/verdict_cache.py) keys a whole list by the kind, the
  selector, the list's length and its entries' digests;
- :class:`EntryMemo` keeps, per entry print and position, the typed entry the schema
  check built; the entry carries what was derived from it alone (its claim in each
  host group, what the plugin's config checks found). A new list then costs the
  checks only on its new entries, plus everything that looks across entries (naming
  rules, route collisions, the HTTP entry point), which always runs.

An entry's print is bytes that only an equal value of equal types has:

- for a value a strict JSON decoder built (``from_json``: the server's reviews, read
  by orjson), its orjson encoding. Such values hold only dicts, lists, strings,
  64-bit ints, finite floats, booleans and null, and orjson writes each of those in
  one way that reads back to it (``1``, ``1.0``, ``true`` and ``"1"`` all differ), so
  equal bytes mean equal values. It is about 5x cheaper than marshal (8 µs for 64
  entries, against 39).
- for anything else (YAML documents, library callers), its ``marshal`` bytes after a
  ``\x00`` that no JSON text starts with. marshal round-trips plain data exactly and
  refuses every other type (a date, a UUID), so such an entry has no print and is
  checked afresh every time. JSON would not do here: orjson writes a date as the
  string a valid entry could hold, ``NaN`` as ``null`` and a tuple as a list.

The memo is keyed by the bytes themselves, not a digest of them, so a lookup
compares them whole and no collision can hand one entry another's verdict. Prints
and typed entries hold config values, as the request did: they stay in this
process's memory until the memo lets them go (its budget counts them), and reach no
log, message or metric.
"""

from __future__ import annotations

import hashlib
import marshal
import sys
import threading
from array import array
from collections import OrderedDict
from typing import TYPE_CHECKING, Any

import orjson

if TYPE_CHECKING:
    from webhook.model import HostInterface

MAX_ENTRIES = 64
"""Entries the CRD allows, and the most any check looks at."""

Print = bytes
"""An entry's print: its orjson or (behind a NUL) marshal bytes; see the module."""


def entry_prints(raw: Any, from_json: bool = False) -> list[Print | None] | None:
    """A print per entry of the first :data:`MAX_ENTRIES`; ``None`` unless ``raw`` is a
    list. ``from_json``: ``raw`` came from a strict JSON decoder (see the module)."""
    if type(raw) is not list:
        return None
    out: list[Print | None] = []
    if from_json:
        dumps = orjson.dumps
        for item in raw[:MAX_ENTRIES]:
            try:
                out.append(dumps(item))
            except TypeError:  # nesting past orjson's 255 levels
                out.append(None)
        return out
    for item in raw[:MAX_ENTRIES]:
        try:
            # Version 2 writes no back-references: equal values give equal bytes
            # whatever objects they share.
            out.append(_MARSHALLED + marshal.dumps(item, 2))
        except ValueError:  # a type marshal refuses, or nesting past its limit
            out.append(None)
    return out


_MARSHALLED = b"\x00"
"""Before a marshal print: no JSON print starts with it, so the two never meet."""


def verdict_key(
    kind: str, raw: Any, prints: list[Print | None] | None, selector: Any
) -> bytes | None:
    """The verdict cache's key; ``None`` when something in the inputs has no print.

    For a list: its length and its entries' prints (a list past the limit is judged on
    its length and its first entries only), one print a line: JSON numbers do not
    delimit themselves (``[12, 3]`` and ``[1, 23]``), but orjson escapes every newline
    in a string, and marshal bytes delimit themselves. Anything else is digested whole.
    """
    try:
        if prints is None:
            return hashlib.sha256(marshal.dumps((kind, selector, raw), 2)).digest()
        head = marshal.dumps((kind, selector, len(raw)), 2)
    except ValueError:
        return None
    if None in prints:
        return None
    return hashlib.sha256(head + b"\n".join(prints)).digest()  # type: ignore[arg-type]


def held_bytes(value: Any) -> int:
    """The memory ``value`` holds, by ``sys.getsizeof`` over everything it reaches
    (containers, the fields of a slotted dataclass), each object counted once. Called
    once per remembered entry, on at most :attr:`EntryMemo.MAX_ENTRY_BYTES` of JSON."""
    seen: set[int] = set()
    stack = [value]
    total = 0
    while stack:
        obj = stack.pop()
        if id(obj) in seen:
            continue
        seen.add(id(obj))
        total += sys.getsizeof(obj)
        if isinstance(obj, dict):
            stack.extend(obj.keys())
            stack.extend(obj.values())
        elif isinstance(obj, list | tuple | set | frozenset):
            stack.extend(obj)
        elif hasattr(obj, "__slots__"):
            # not ``derived``: what checks keep there is charged by :meth:`spend`
            stack.extend(
                getattr(obj, name) for name in obj.__slots__ if name != "derived"
                and hasattr(obj, name)
            )  # fmt: skip
    return total


class EntryMemo:
    """Typed entries by (print, position), with what the checks derived from each.

    An entry is kept the second time it is seen: the first sighting only notes its
    key's hash (a doorkeeper, as in TinyLFU), so an entry that never recurs (a new
    name, a one-off edit) costs no typed copy, claims or findings to keep and later
    let go. Those cost a new 3-entry review about 5 µs in the server, where the entry
    let go is cold in the CPU's caches. The notes are a fixed table of
    :attr:`NOTED_SLOTS` hashes, one per slot: a note another key overwrites only
    delays keeping an entry, and a hash two keys share only keeps one early. Neither
    changes a verdict: kept entries are found by their whole key.

    Bounded in bytes: an entry's print counts, four times over (the print itself, and
    the objects built from it), plus its claims and what config checks found
    (:meth:`spend`); entries past :attr:`MAX_ENTRY_BYTES` are never kept. Past the
    budget the oldest go first, a few at a time: letting thousands go at once stalls
    a review for milliseconds. A memo belongs to one validator, whose catalog and
    rules never change.
    """

    MAX_BYTES = 8 * 1024 * 1024
    MAX_ENTRY_BYTES = 4096
    NOTED_SLOTS = 1 << 16
    """Notes of first sightings: 512 KiB of 64-bit hashes."""

    def __init__(self, max_bytes: int = MAX_BYTES) -> None:
        self.max_bytes = max_bytes
        self.bytes = 0
        self._noted = array("q", bytes(8 * self.NOTED_SLOTS))
        # Keyed by the list's path too: violations name the field, and Workload keeps
        # its list at another path than the kinds with a template.
        # Ordered: the oldest goes first, in O(1) (a plain dict would scan the holes
        # its earlier deletions left at the front).
        self._typed: OrderedDict[tuple[bytes, int, str], tuple[HostInterface, dict[str, Any]]]
        self._typed = OrderedDict()
        self._lock = threading.Lock()

    def typed(
        self, print_: Print, index: int, path: str
    ) -> tuple[HostInterface, dict[str, Any]] | None:
        """The entry seen before at ``path[index]``."""
        return self._typed.get((print_, index, path))

    def keep_typed(
        self, print_: Print, index: int, path: str, typed: tuple[HostInterface, dict[str, Any]]
    ) -> bool:
        """Remember a valid entry seen before; whether it was kept (not on its first
        sighting, nor past :attr:`MAX_ENTRY_BYTES`)."""
        if len(print_) > self.MAX_ENTRY_BYTES:
            return False
        key = (print_, index, path)
        noted = hash(key)
        slot = noted & (self.NOTED_SLOTS - 1)
        with self._lock:
            if self._noted[slot] != noted:  # the first sighting (as far as the notes know)
                self._noted[slot] = noted
                return False
            self._noted[slot] = 0
            entry = typed[0]
            # What it holds in memory (the entry and CEL's view of it, which can be many
            # times its JSON: "[]" is 2 bytes there and 56 here), plus its print and the
            # claims that ride on it (one per host group, a few hundred bytes).
            entry.memo_bytes = held_bytes(typed) + len(print_) + 256
            self.bytes += entry.memo_bytes
            # A copy of the print's exact size: orjson's output keeps a 4 KiB buffer
            # whatever its length, which the budget would not see.
            self._typed[(memoryview(print_).tobytes(), index, path)] = typed
            self._evict()
        return True

    def spend(self, entry: HostInterface, cost: int) -> None:
        """Count ``cost`` more bytes kept with a remembered entry (what checks derived)."""
        with self._lock:
            if entry.memo_bytes:
                entry.memo_bytes += cost
                self.bytes += cost
                self._evict()

    def _evict(self) -> None:
        typed = self._typed
        while self.bytes > self.max_bytes and typed:
            entry, _ = typed.popitem(last=False)[1]
            self.bytes -= entry.memo_bytes
            entry.memo_bytes = 0
            entry.derived.clear()  # the claim <-> entry cycle (binding.py, bind)
