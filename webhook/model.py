"""Typed workload data, built only from values the schema check accepted."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from webhook.text import shown


@dataclass(slots=True)
class HostInterface:
    """One ``hostInterfaces`` entry; ``name``/``version`` are ``None`` when absent.

    A value nothing mutates, yet not ``frozen``: entries are built on every review,
    and a frozen dataclass's ``__init__`` costs about twice as much.
    """

    index: int
    namespace: str
    package: str
    interfaces: tuple[str, ...]
    version: str | None = None
    name: str | None = None
    config: dict[str, str] = field(default_factory=dict)
    external_config: bool = False
    """``configFrom`` or ``secretFrom`` is set: the operator merges keys bindcheck cannot
    see over ``config`` (runtime-operator MaterializeConfigLayer), so a key missing here
    may still arrive, and a key present here may be replaced."""

    @property
    def named(self) -> bool:
        """True when the entry carries a non-empty name (``""`` counts as unnamed)."""
        return bool(self.name)

    @property
    def identity(self) -> tuple[str, str, str, str]:
        """(namespace, package, name, version), an absent name or version as ``""``."""
        return (self.namespace, self.package, self.name or "", self.version or "")

    @property
    def package_key(self) -> tuple[str, str]:
        """``(namespace, package)``, the unit names are scoped to. A pair, never a joined
        string: a colon inside either part must not make two packages collide."""
        return (self.namespace, self.package)

    @property
    def package_label(self) -> str:
        """``namespace:package`` for messages, each part clipped and escaped."""
        return f"{shown(self.namespace)}:{shown(self.package)}"


@dataclass(frozen=True, slots=True)
class Workload:
    """Where a workload's hostInterfaces live and what they hold."""

    kind: str
    name: str
    namespace: str
    list_path: str
    """Field path of the hostInterfaces list, e.g. ``spec.template.spec.hostInterfaces``."""
    raw_entries: list[Any] | None
    """The list as written (may be malformed); ``None`` when absent."""
    host_selector: dict[str, str] = field(default_factory=dict)
    """The hostSelector's string pairs (the schema check reports anything else)."""
    raw_selector: Any = None
    """The hostSelector as written; ``None`` when absent."""

    def entry_path(self, index: int, suffix: str = "") -> str:
        """Field path of one entry, optionally of a field inside it."""
        return f"{self.list_path}[{index}]{suffix}"
