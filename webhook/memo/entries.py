"""The entry memo: typed entries seen before, with the facts derived from each alone.

Keyed by an entry's print (webhook/memo/prints.py), its position and the list's path.
What the checks derived from a remembered entry (its claim in each host group, what
its plugin's config checks found, its HTTP entry point findings) is kept beside it,
in the memo's own record, never on the entry: entries stay plain values, and no
reference runs from an entry back to what was derived from it, so an entry the memo
lets go is freed by reference counting at once.
"""

from __future__ import annotations

import sys
import threading
from array import array
from collections import OrderedDict
from collections.abc import Callable, Hashable, Sequence
from typing import TYPE_CHECKING, Any, TypeVar

from webhook.memo.verdicts import verdict_bytes
from webhook.violations import Violation

if TYPE_CHECKING:
    from webhook.facts import Typed
    from webhook.memo.prints import Print
    from webhook.model import HostInterface

T = TypeVar("T")
_UNKNOWN = object()


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
            stack.extend(getattr(obj, name) for name in obj.__slots__ if hasattr(obj, name))
    return total


def fact_bytes(fact: object) -> int:
    """What a derived fact costs the budget: the violations in it, and in the tuples it
    nests, charged what their texts take (:func:`verdict_bytes`); claims, the other
    facts, are in :attr:`EntryMemo.CLAIMS_ALLOWANCE`."""
    if not isinstance(fact, tuple):
        return 0
    violations = tuple(v for v in fact if isinstance(v, Violation))
    nested = sum(fact_bytes(item) for item in fact if isinstance(item, tuple))
    return (verdict_bytes(violations) if violations or not fact else 0) + nested


class _Kept:
    """One remembered entry: its typed forms, what was derived from it, what it costs."""

    __slots__ = ("bytes", "derived", "typed")

    def __init__(self, typed: Typed, cost: int) -> None:
        self.typed = typed
        self.derived: dict[Hashable, Any] = {}
        self.bytes = cost


class EntryMemo:
    """Typed entries by (print, position, path), with what the checks derived from each.

    An entry is kept the second time it is seen: the first sighting only notes its
    key's hash (a doorkeeper, as in TinyLFU), so an entry that never recurs (a new
    name, a one-off edit) costs no typed copy, claims or findings to keep and later
    let go. The notes are a fixed table of :attr:`NOTED_SLOTS` hashes, one per slot:
    a note another key overwrites only delays keeping an entry, and a hash two keys
    share only keeps one early. Neither changes a verdict: kept entries are found by
    their whole key.

    Bounded in bytes: what a kept entry holds in memory (the entry and CEL's view of
    it), its print, a fixed allowance for its claims, and the violations derived from
    it; entries past :attr:`MAX_ENTRY_BYTES` are never kept. Past the budget the
    oldest go first, a few at a time: letting thousands go at once stalls a review
    for milliseconds. A memo belongs to one validator, whose catalog and rules never
    change. Concurrent reviews may derive one fact twice (the same value); every
    change to the tables and the budget happens under the lock.
    """

    MAX_BYTES = 8 * 1024 * 1024
    MAX_ENTRY_BYTES = 4096
    NOTED_SLOTS = 1 << 16
    """Notes of first sightings: 512 KiB of 64-bit hashes."""
    CLAIMS_ALLOWANCE = 256
    """Bytes charged up front for the claims a kept entry gets (one per host group)."""

    def __init__(self, max_bytes: int = MAX_BYTES) -> None:
        self.max_bytes = max_bytes
        self.bytes = 0
        self._noted = array("q", bytes(8 * self.NOTED_SLOTS))
        # Ordered: the oldest goes first, in O(1) (a plain dict would scan the holes
        # its earlier deletions left at the front).
        self.kept: OrderedDict[tuple[bytes, int, str], _Kept] = OrderedDict()
        """Kept entries by (print, position, path). Reviews read it without the lock
        (one dict read is atomic; writes take it)."""
        # The record of each kept entry object, so a fact about an entry the memo
        # handed out finds its record. The record holds the entry, so while it is
        # here that id names that entry: a live object's id is never another's, and
        # whoever asks about an entry holds it, so a record found by id is its own.
        self.by_entry: dict[int, _Kept] = {}
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self.kept)

    def typed(self, print_: Print, index: int, path: str) -> Typed | None:
        """The entry seen before at ``path[index]``."""
        kept = self.kept.get((print_, index, path))
        return None if kept is None else kept.typed

    def keep_typed(self, print_: Print, index: int, path: str, typed: Typed) -> bool:
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
            # What it holds in memory (the entry and CEL's view of it, which can be many
            # times its JSON: "[]" is 2 bytes there and 56 here), plus its print.
            kept = _Kept(typed, held_bytes(typed) + len(print_) + self.CLAIMS_ALLOWANCE)
            self.bytes += kept.bytes
            # A copy of the print's exact size: orjson's output keeps a 4 KiB buffer
            # whatever its length, which the budget would not see.
            old = self.kept.pop(key, None)
            if old is not None:
                self._forget(old)
            self.kept[(memoryview(print_).tobytes(), index, path)] = kept
            self.by_entry[id(typed[0])] = kept
            self._evict()
        return True

    def remembers(self, entry: HostInterface) -> bool:
        """Whether ``entry`` is an entry object this memo keeps."""
        kept = self.by_entry.get(id(entry))
        return kept is not None and kept.typed[0] is entry

    def derived(
        self, entry: HostInterface, key: Hashable, compute: Callable[[HostInterface], T]
    ) -> T:
        """``compute(entry)``, kept with ``entry`` when the memo keeps it."""
        kept = self.by_entry.get(id(entry))
        if kept is None:
            return compute(entry)  # not an entry the memo keeps
        found = kept.derived.get(key, _UNKNOWN)
        return self._derive(kept, entry, key, compute) if found is _UNKNOWN else found

    def derive_all(
        self, entries: Sequence[HostInterface], key: Hashable, compute: Callable[[HostInterface], T]
    ) -> list[T]:
        """:meth:`derived` of each entry, in one call: it runs for every entry of every
        review, and a call per entry doubled the cost of a review of seen entries, so
        the loop repeats :meth:`derived`'s three lookups inline."""
        get = self.by_entry.get
        out: list[T] = []
        append = out.append
        for entry in entries:
            kept = get(id(entry))
            if kept is not None:
                found = kept.derived.get(key, _UNKNOWN)
                append(self._derive(kept, entry, key, compute) if found is _UNKNOWN else found)
            else:
                append(compute(entry))  # not an entry the memo keeps
        return out

    def _derive(
        self,
        kept: _Kept,
        entry: HostInterface,
        key: Hashable,
        compute: Callable[[HostInterface], T],
    ) -> T:
        """Compute a fact about a kept entry and keep it, charged :func:`fact_bytes`."""
        found = compute(entry)
        cost = fact_bytes(found)
        with self._lock:
            if self.by_entry.get(id(entry)) is kept:  # not let go meanwhile
                kept.derived[key] = found
                kept.bytes += cost
                self.bytes += cost
                self._evict()
        return found

    def _forget(self, kept: _Kept) -> None:
        self.bytes -= kept.bytes
        if self.by_entry.get(id(kept.typed[0])) is kept:
            del self.by_entry[id(kept.typed[0])]

    def _evict(self) -> None:
        while self.bytes > self.max_bytes and self.kept:
            self._forget(self.kept.popitem(last=False)[1])
