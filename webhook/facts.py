"""The seam between the checks and whatever remembers facts across reviews.

The checks ask a :class:`Review` for what they need of one workload: the verdict on
this very input, the typed form of entry ``i``, or a fact derived from one entry
alone (its claim in a host group, what its plugin's config checks found). Whether
the answer is computed now or was remembered is the implementation's business:

- :data:`FRESH` computes everything each time (library callers, tests, one-off runs);
- ``webhook.memo.Remembering`` keeps verdicts and entries seen before (the server, and
  the CLI over many files). The domain never imports it: a caller passes it in.

So a memo can change how fast a verdict comes, never what it says; tests hold every
implementation to the fresh one's answers.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Sequence
from typing import TYPE_CHECKING, Any, Protocol, TypeVar

if TYPE_CHECKING:
    from webhook.model import HostInterface, Workload
    from webhook.violations import Violation

T = TypeVar("T")
Typed = tuple["HostInterface", dict[str, Any]]
"""An entry as the checks use it, and as CEL sees it (webhook/checks/schema.py)."""


class Review(Protocol):
    """What may be remembered about one workload under review."""

    def verdict(self) -> tuple[Violation, ...] | None:
        """The verdict given to an input equal to this one, if remembered."""

    def keep_verdict(self, violations: tuple[Violation, ...]) -> None:
        """Offer this input's verdict for later reviews."""

    def typed(self, index: int) -> Typed | None:
        """Entry ``index`` as typed before, if an equal entry was at that position."""

    def keep_typed(self, index: int, typed: Typed) -> None:
        """Offer entry ``index``, valid and typed, for later reviews."""

    def derived(
        self, entry: HostInterface, key: Hashable, compute: Callable[[HostInterface], T]
    ) -> T:
        """``compute(entry)``, or what it gave before for this entry and ``key``.
        ``compute`` must depend on the entry alone (and on what ``key`` names)."""

    def derive_all(
        self, entries: Sequence[HostInterface], key: Hashable, compute: Callable[[HostInterface], T]
    ) -> list[T]:
        """:meth:`derived` of each entry, in order: one call per review, not per entry
        (it runs for every entry of every review)."""


class Facts(Protocol):
    """Opens a :class:`Review` per workload; one instance serves a validator's life."""

    def review(self, workload: Workload) -> Review: ...


class _Fresh:
    """Remembers nothing: every fact is computed when asked for."""

    __slots__ = ()

    def review(self, workload: Workload) -> Review:
        return self

    def verdict(self) -> tuple[Violation, ...] | None:
        return None

    def keep_verdict(self, violations: tuple[Violation, ...]) -> None:
        return None

    def typed(self, index: int) -> Typed | None:
        return None

    def keep_typed(self, index: int, typed: Typed) -> None:
        return None

    def derived(
        self, entry: HostInterface, key: Hashable, compute: Callable[[HostInterface], T]
    ) -> T:
        return compute(entry)

    def derive_all(
        self, entries: Sequence[HostInterface], key: Hashable, compute: Callable[[HostInterface], T]
    ) -> list[T]:
        return [compute(entry) for entry in entries]


FRESH: Facts = _Fresh()
"""The implementation that computes each fact fresh."""
FRESH_REVIEW: Review = _Fresh()
"""Its review, for callers that check one workload's parts directly (tests, resolve)."""
