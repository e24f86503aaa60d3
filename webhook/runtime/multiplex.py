"""Multiplexed backends: how a named-instance plugin routes each name to a backend.

The backend comes from ``config.backend``, else the plugin's default (its
first). The unnamed entry is the default route, key ``""``. Nothing falls back
silently: an unknown backend or an import label no entry names is an error.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from webhook.model import HostInterface
from webhook.runtime.catalog import Backend, Plugin

SECRET_KEY = re.compile(r"pass|secret|token|cred|key|auth", re.IGNORECASE)
_URL_USERINFO = re.compile(r"^([a-z][a-z0-9+.-]*://)([^@/]*)@", re.IGNORECASE)


class ResolutionError(Exception):
    """A name or backend that a host could not resolve; the message is the host's."""


@dataclass(slots=True)  # built per entry per review: not frozen, for speed
class BackendChoice:
    backend: Backend | None
    unknown: str | None = None
    """The ``config.backend`` value when the plugin has no such backend."""
    missing: tuple[str, ...] = ()
    """Required config keys the entry lacks."""


def choose_backend(entry: HostInterface, plugin: Plugin) -> BackendChoice:
    """The backend ``entry`` routes to on ``plugin`` (``None`` for plugins without backends)."""
    if not plugin.backends:
        return BackendChoice(None)
    wanted = entry.config.get("backend")
    backend = plugin.backend(wanted) if wanted else plugin.backends[0]
    if backend is None:
        return BackendChoice(None, unknown=wanted)
    config = entry.config
    missing = tuple([k for k in backend.required if not config.get(k)])
    return BackendChoice(backend, missing=missing)


def route_key(entry: HostInterface) -> str:
    """The routing-table key: the name, or ``""`` for the default route."""
    return entry.name or ""


def resolve_import(routes: Sequence[HostInterface], package_id: str, label: str) -> HostInterface:
    """The entry a component's ``open(label)`` reaches; ``""`` is the default route."""
    for entry in routes:
        if entry.package_id == package_id and route_key(entry) == label:
            return entry
    raise ResolutionError(f"no {package_id} backend bound for import '{label}'")


def unknown_backend_message(package_id: str, plugin: Plugin, name: str) -> str:
    known = ", ".join(b.name for b in plugin.backends)
    return f"no {package_id} provider registered for backend '{name}' (available: {known})"


def redact(key: str, value: str, backend: Backend | None) -> str:
    """A config value fit to print, or ``<redacted>``.

    Shown: ``backend`` and the keys the backend declares, unless declared secret or
    named like a credential; credentials inside URLs are masked. Anything else may
    be a secret under an innocent name, so it is hidden.
    """
    declared = key == "backend" or (
        backend is not None and key in (*backend.required, *backend.optional)
    )
    if not declared or (backend is not None and key in backend.secret) or SECRET_KEY.search(key):
        return "<redacted>"
    return _URL_USERINFO.sub(lambda m: f"{m.group(1)}***@", value)


def visible_settings(entry: HostInterface, backend: Backend | None) -> dict[str, str]:
    """The entry's settings as ``resolve`` shows them: every key, values redacted as needed."""
    return {k: redact(k, v, backend) for k, v in sorted(entry.config.items())}
