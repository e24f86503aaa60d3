"""Multiplexed backends: how a named-instance plugin routes each entry to a backend.

Follows crates/wash-runtime/src/plugin/multiplex.rs (wasmCloud/wasmCloud@7cd553cc):
the backend comes from ``config.backend``, else the plugin's default backend type
(``in-memory`` for every built-in multiplexer); the routing registry is keyed by the
entry's name, the unnamed entry being the default route ``""``; a component's import
label resolves against that registry. Nothing falls back silently: an unknown backend
and a label no entry names are errors.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from webhook.model import HostInterface
from webhook.runtime.catalog import CREDENTIAL_NAME, Backend, Multiplex, Plugin
from webhook.runtime.wit import package_label
from webhook.text import shown

BACKEND_KEY = "backend"
"""``BACKEND_CONFIG_KEY``: the config key naming the backend type."""


class ResolutionError(Exception):
    """A name or backend that a host could not resolve; the message is the host's."""


@dataclass(slots=True)  # built per entry per review: not frozen, for speed
class BackendChoice:
    backend: Backend | None
    unknown: bool = False
    """``config.backend`` names a backend the plugin does not have."""
    missing: tuple[str, ...] = ()
    """Required config keys the entry lacks (or leaves empty: the host then fails to
    connect, or opens the wrong place)."""


def choose_backend(entry: HostInterface, multiplex: Multiplex) -> BackendChoice:
    """The backend ``entry`` routes to (``Multiplexer::instantiate``)."""
    config = entry.config
    wanted = config.get(BACKEND_KEY)
    backend = multiplex.by_name.get(multiplex.default_backend if wanted is None else wanted)
    if backend is None:
        return BackendChoice(None, unknown=True)
    return BackendChoice(backend, missing=tuple([k for k in backend.required if not config.get(k)]))


BACKEND_TYPE = re.compile(r"[a-z]+(?:-[a-z]+)*")
"""How every backend type a host registers reads (``in-memory``, ``redis``)."""
BACKEND_TYPE_MAX = 24
UNQUOTED_BACKEND = "the backend that config.backend names"


def backend_named(value: object) -> str:
    """How a message names the backend ``config.backend`` asks for.

    The host quotes it (``no wasi:keyvalue provider registered for backend 'etcd'``,
    multiplex.rs ``instantiate`` at v2.7.0). A config value may be a credential put under
    the wrong key, so bindcheck quotes it only when it reads as a backend type does:
    lowercase words joined by ``-``, at most 24 characters, nothing named like a
    credential. Any other value is described, never quoted.
    """
    if (
        isinstance(value, str)
        and len(value) <= BACKEND_TYPE_MAX
        and BACKEND_TYPE.fullmatch(value)
        and not CREDENTIAL_NAME.search(value)
    ):
        return f"backend '{value}'"
    return UNQUOTED_BACKEND


def unknown_backend_message(entry: HostInterface, plugin: Plugin) -> str:
    """The host's error, naming the backend as ``backend_named`` allows."""
    assert plugin.multiplex is not None
    known = ", ".join(b.name for b in plugin.multiplex.backends)
    return (
        f"no {package_label(entry.namespace, entry.package)} provider registered for "
        f"{backend_named(entry.config.get(BACKEND_KEY))}; '{plugin.id}' has: {known}"
    )


def missing_key_message(entry: HostInterface, backend: Backend, key: str) -> str:
    """The host's error for a missing backend key."""
    template = backend.required_message or "{backend} {package} backend requires a '{key}' config"
    return template.format(backend=backend.name, package=shown(entry.package), key=key)


def route_key(entry: HostInterface) -> str:
    """The routing-registry key: the name, or ``""`` for the default route."""
    return entry.name or ""


def resolve_import(
    routes: Sequence[HostInterface], package: tuple[str, str], label: str
) -> HostInterface:
    """The entry a component's import labelled ``label`` reaches; ``""`` is the default
    route (``Multiplexer::resolve``)."""
    for entry in routes:
        if entry.package_key == package and route_key(entry) == label:
            return entry
    raise ResolutionError(f"no {package_label(*package)} backend bound for import '{shown(label)}'")
