"""What ``resolve`` may show of an entry's config: the keys the serving plugin reads.

Config values may be credentials. A value is shown only when the plugin (or its
chosen backend) reads that key and the key is neither declared secret nor named like
a credential; URLs keep scheme, host and path, never user information or a query.
Keys the plugin never reads are listed by name only: the host ignores them.
"""

from __future__ import annotations

from dataclasses import dataclass

from webhook.model import HostInterface
from webhook.runtime.catalog import ANY_KEY, CREDENTIAL_NAME, Backend, Plugin
from webhook.runtime.urls import BadUrl, parse_urls

REDACTED = "<redacted>"
_SHOWN = 200  # characters of a shown value


@dataclass(frozen=True, slots=True)
class Reading:
    """The keys a plugin reads for one entry, and which of them are secret."""

    keys: frozenset[str] | None
    """``None``: every key."""
    secret: frozenset[str] | None
    """``None``: every key."""

    def reads(self, key: str) -> bool:
        return self.keys is None or key in self.keys

    def hides(self, key: str) -> bool:
        return self.secret is None or key in self.secret or CREDENTIAL_NAME.search(key) is not None


def _keyset(keys: tuple[str, ...]) -> frozenset[str] | None:
    return None if ANY_KEY in keys else frozenset(keys)


def reading(entry: HostInterface, plugin: Plugin, backend: Backend | None) -> Reading:
    """What ``plugin`` reads of ``entry``'s config (through ``backend`` when routed)."""
    if backend is not None:
        return Reading(frozenset(("backend", *backend.keys)), frozenset(backend.secret))
    use = plugin.config
    keys, secret = _keyset(use.keys), _keyset(use.secret)
    if plugin.needs_label_key(entry):
        label = str(entry.name)  # the labelled secret's value lives under its label
        keys = None if keys is None else keys | {label}
        secret = None if secret is None else secret | {label}
    return Reading(keys, secret)


def safe_value(key: str, value: str, how: Reading) -> str:
    """A value fit to print: shown, or with credentials removed, or ``<redacted>``."""
    if how.hides(key):
        return REDACTED
    if "://" in value:
        try:
            shown = ",".join(url.shown() for url in parse_urls(value))
        except BadUrl:
            return REDACTED
        return shown if len(shown) <= _SHOWN else shown[: _SHOWN - 3] + "..."
    return value if len(value) <= _SHOWN else value[: _SHOWN - 3] + "..."


def visible_settings(entry: HostInterface, how: Reading) -> tuple[dict[str, str], list[str]]:
    """(settings the plugin reads, values made safe; names of keys it never reads)."""
    shown: dict[str, str] = {}
    ignored: list[str] = []
    for key, value in sorted(entry.config.items()):
        if how.reads(key):
            shown[key] = safe_value(key, value, how)
        else:
            ignored.append(key)
    return shown, ignored
