"""The :class:`~webhook.facts.Facts` that remembers: verdicts, typed entries, derived facts."""

from __future__ import annotations

from collections.abc import Callable, Hashable, Sequence
from typing import TYPE_CHECKING, TypeVar

from webhook.facts import FRESH_REVIEW
from webhook.memo.entries import EntryMemo
from webhook.memo.prints import Print, entry_prints, verdict_key
from webhook.memo.verdicts import DEFAULT_SIZE, VerdictCache

if TYPE_CHECKING:
    from webhook.facts import Review, Typed
    from webhook.model import HostInterface, Workload
    from webhook.violations import Violation

T = TypeVar("T")


class Remembering:
    """Remembers across reviews what cannot differ between equal inputs.

    ``json_prints``: every object this validator is given was built by a strict JSON
    decoder (the server's reviews, read by orjson), whose encoding is then a print 5x
    cheaper than marshal (webhook/memo/prints.py). Chosen once, by whoever knows where
    the objects come from; never per call. ``cache_size`` 0 remembers nothing.
    """

    def __init__(
        self,
        json_prints: bool = False,
        cache_size: int = DEFAULT_SIZE,
        entry_bytes: int = EntryMemo.MAX_BYTES,
    ) -> None:
        self.json_prints = json_prints
        self.verdicts = VerdictCache(cache_size)
        self.entries = EntryMemo(entry_bytes) if cache_size > 0 else None

    def review(self, workload: Workload) -> Review:
        if self.entries is None and self.verdicts.size <= 0:
            return FRESH_REVIEW  # nothing to remember: no prints to compute
        raw = workload.raw_entries
        prints = entry_prints(raw, self.json_prints)
        key = verdict_key(workload.kind, raw, prints, workload.raw_selector)
        return _Remembered(self, workload.list_path, prints, key)


class _Remembered:
    """One review's view of a :class:`Remembering`: the prints are computed once."""

    __slots__ = ("_kept", "_key", "_memo", "_path", "_prints", "_verdicts")

    def __init__(
        self,
        owner: Remembering,
        path: str,
        prints: list[Print | None] | None,
        key: bytes | None,
    ) -> None:
        self._verdicts = owner.verdicts if owner.verdicts.size > 0 else None
        self._memo = memo = owner.entries
        # The memo's table, read directly: this lookup runs for every entry of every
        # review (derived facts go through EntryMemo.derive_all, one call per review).
        self._kept = memo.kept if memo is not None else None
        self._path = path
        self._prints = prints
        self._key = key

    def verdict(self) -> tuple[Violation, ...] | None:
        if self._key is None or self._verdicts is None:
            return None
        return self._verdicts.get(self._key)

    def keep_verdict(self, violations: tuple[Violation, ...]) -> None:
        if self._key is not None and self._verdicts is not None:
            self._verdicts.put(self._key, violations)

    def typed(self, index: int) -> Typed | None:
        prints, kept = self._prints, self._kept
        if prints is None or kept is None:
            return None
        print_ = prints[index]
        if print_ is None:
            return None
        found = kept.get((print_, index, self._path))
        return None if found is None else found.typed

    def keep_typed(self, index: int, typed: Typed) -> None:
        prints, memo = self._prints, self._memo
        if prints is not None and memo is not None:
            print_ = prints[index]
            if print_ is not None:
                memo.keep_typed(print_, index, self._path, typed)

    def derived(
        self, entry: HostInterface, key: Hashable, compute: Callable[[HostInterface], T]
    ) -> T:
        if self._memo is None:
            return compute(entry)
        return self._memo.derived(entry, key, compute)

    def derive_all(
        self, entries: Sequence[HostInterface], key: Hashable, compute: Callable[[HostInterface], T]
    ) -> list[T]:
        if self._memo is None:
            return [compute(entry) for entry in entries]
        return self._memo.derive_all(entries, key, compute)
