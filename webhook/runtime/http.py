"""The host's HTTP router: which entry is a workload's entry point, and its host names.

Follows ``DynamicRouter::on_workload_resolved`` in crates/wash-runtime/src/host/http.rs
(wasmCloud/wasmCloud@7cd553cc), the router ``wash host --http-addr`` runs: the first
entry that is an incoming ``wasi:http`` handler must carry ``config.host``, a valid
RFC 1123 host name, or the workload fails; ``config.host-aliases`` is a
comma-separated list whose invalid names are dropped without a word.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from webhook.model import HostInterface
from webhook.runtime.wit import is_incoming_http_handler

HOST_KEY = "host"
ALIASES_KEY = "host-aliases"
MAX_ALIASES = 256
_NAMED_CHARACTERS = {":": "':' (a port or a scheme?)", "/": "'/' (a URL or a path?)",
                     "_": "'_'", " ": "a space", "@": "'@'", "*": "'*' (a wildcard?)"}  # fmt: skip


_LABEL = r"(?!-)[A-Za-z0-9-]{1,63}(?<!-)"
_HOSTNAME = re.compile(rf"{_LABEL}(?:\.{_LABEL})*")


def is_valid_hostname(host: str) -> bool:
    """``is_valid_hostname``: 1-253 characters, dot-separated labels of 1-63 ASCII
    letters, digits and '-', none starting or ending with '-'. One regular expression
    (a test holds it to a transcription of the Rust): the entry point's host is checked
    on every review."""
    return len(host) <= 253 and _HOSTNAME.fullmatch(host) is not None


def why_invalid(host: str) -> str:
    """What is wrong with a host name, without quoting it (config values are never shown)."""
    if not host:
        return "it is empty"
    if len(host) > 253:
        return f"it is {len(host)} characters long (at most 253)"
    for char, described in _NAMED_CHARACTERS.items():
        if char in host:
            return f"it contains {described}"
    labels = host.split(".")
    if any(not label for label in labels):
        return "it has an empty label (two dots in a row, or a leading or trailing dot)"
    if any(len(label) > 63 for label in labels):
        return "a label is longer than 63 characters"
    if any(label.startswith("-") or label.endswith("-") for label in labels):
        return "a label starts or ends with '-'"
    return "it has a character other than ASCII letters, digits, '-' and '.'"


@dataclass(frozen=True, slots=True)
class EntryPoint:
    """The entry the router reads, and what it finds there."""

    entry: HostInterface
    host: str | None
    """``config.host`` as written; ``None`` when absent."""
    bad_aliases: tuple[int, ...]
    """Positions (1-based) in ``host-aliases`` of names the router drops, among the
    first :data:`MAX_ALIASES`."""
    unchecked: int = 0
    """Names past the first :data:`MAX_ALIASES`, not looked at."""


def first_handler(entries: Sequence[HostInterface], p3: bool = True) -> HostInterface | None:
    """The entry the router reads: the first incoming handler (``iter().find``); ``p3``:
    a P3 ``handler`` counts (from v2.5.2)."""
    for entry in entries:
        if is_incoming_http_handler(entry, p3):
            return entry
    return None


def read_entry_point(entry: HostInterface) -> EntryPoint:
    """The host name and the aliases the router drops, of an incoming-handler entry.
    At most :data:`MAX_ALIASES` names are checked: the CRD bounds no config value, and
    CPU per review stays linear in its bytes with a small constant."""
    text = entry.config.get(ALIASES_KEY, "")
    pieces = text.split(",", MAX_ALIASES)
    unchecked = text.count(",", len(text) - len(pieces[-1])) + 1 if len(pieces) > MAX_ALIASES else 0
    aliases = [a.strip() for a in pieces[:MAX_ALIASES]]
    bad = tuple(
        i for i, alias in enumerate((a for a in aliases if a), 1) if not is_valid_hostname(alias)
    )
    return EntryPoint(entry, entry.config.get(HOST_KEY), bad, unchecked)
