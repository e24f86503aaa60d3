"""Memoising verdicts: the same hostInterfaces get the same answer from the same validator.

A verdict depends only on the kind, the hostInterfaces list and the hostSelector
(rules and catalog are fixed for a validator's life; a reload builds a new
validator and so a new cache). Scaling a workload, bumping an image or
re-applying it unchanged sends the same list again, so those reviews skip the
checks. Keys are digests of canonical JSON, so memory stays bounded whatever
the lists hold; values that do not serialise exactly are simply not cached.
"""

from __future__ import annotations

import hashlib
import json
import threading
from collections import OrderedDict
from typing import Any

from webhook.violations import Violation

DEFAULT_SIZE = 4096


def _refuse(value: Any) -> Any:
    raise TypeError(type(value).__name__)


class VerdictCache:
    """A bounded LRU of ``digest → violations``."""

    def __init__(self, size: int = DEFAULT_SIZE) -> None:
        self.size = size
        self._entries: OrderedDict[bytes, tuple[Violation, ...]] = OrderedDict()
        self._lock = threading.Lock()  # the CLI and server use one thread; library users may not
        self.hits = 0
        self.misses = 0

    @staticmethod
    def key(kind: str, entries: Any, selector: Any) -> bytes | None:
        """A digest of the inputs a verdict depends on; ``None`` when they are not plain JSON."""
        try:
            text = json.dumps(
                [kind, entries, selector], sort_keys=True, default=_refuse, allow_nan=False
            )
        except (TypeError, ValueError):
            return None
        return hashlib.blake2b(text.encode(), digest_size=16).digest()

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
        if self.size <= 0:
            return
        with self._lock:
            self._entries[key] = violations
            self._entries.move_to_end(key)
            while len(self._entries) > self.size:
                self._entries.popitem(last=False)
