"""Memoising verdicts: the same hostInterfaces get the same answer from the same validator.

A verdict depends only on the kind, the hostInterfaces list and the hostSelector
(rules and catalog are fixed for a validator's life; a reload builds a new
validator and so a new cache). Scaling a workload, bumping an image or
re-applying it unchanged sends the same list again, so those reviews skip the
checks. Keys are digests (webhook/memo/prints.py, ``verdict_key``), so memory
stays bounded whatever the lists hold; key order counts, which can only cost a
hit, and values without a digest are simply not cached.
"""

from __future__ import annotations

import sys
import threading
from collections import OrderedDict

from webhook.violations import Violation

DEFAULT_SIZE = 4096
DEFAULT_BYTES = 32 * 1024 * 1024
_OVERHEAD = 200
"""Bytes charged per violation besides its text (objects, the key, the LRU link)."""


def verdict_bytes(violations: tuple[Violation, ...]) -> int:
    """What a cached verdict costs: the memory its texts take (``sys.getsizeof``: a
    character outside Latin-1 takes two or four bytes, so counting characters
    undercounted by up to four times) plus a fixed overhead each."""
    return _OVERHEAD + sum(
        sys.getsizeof(v.field) + sys.getsizeof(v.message) + _OVERHEAD for v in violations
    )


class VerdictCache:
    """An LRU of ``digest → violations`` bounded in entries and in bytes."""

    def __init__(self, size: int = DEFAULT_SIZE, max_bytes: int = DEFAULT_BYTES) -> None:
        self.size = size
        self.max_bytes = max_bytes
        self.bytes = 0
        self._entries: OrderedDict[bytes, tuple[Violation, ...]] = OrderedDict()
        self._lock = threading.Lock()  # the CLI and server use one thread; library users may not
        self.hits = 0
        self.misses = 0

    def get(self, key: bytes) -> tuple[Violation, ...] | None:
        with self._lock:
            found = self._entries.get(key)
            if found is None:
                self.misses += 1
                return None
            self._entries.move_to_end(key)
            self.hits += 1
            return found

    def put(self, key: bytes, violations: tuple[Violation, ...]) -> None:
        cost = verdict_bytes(violations)
        if self.size <= 0 or cost > self.max_bytes // 16:  # no verdict crowds out the rest
            return
        with self._lock:
            previous = self._entries.pop(key, None)
            if previous is not None:
                self.bytes -= verdict_bytes(previous)
            self._entries[key] = violations
            self.bytes += cost
            while len(self._entries) > self.size or self.bytes > self.max_bytes:
                _, evicted = self._entries.popitem(last=False)
                self.bytes -= verdict_bytes(evicted)
