"""Which objects are ours to judge, and where their hostInterfaces live."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from webhook.crd import GROUP, LIST_PATHS, OTHER_KINDS, SPEC_PATHS
from webhook.model import Workload


def identity(obj: Any) -> tuple[str, str, str] | None:
    """``(kind, name, namespace)`` for a bindcheck kind, ``None`` for anything else."""
    if not isinstance(obj, dict):
        return None
    api_version, kind = obj.get("apiVersion"), obj.get("kind")
    if not isinstance(api_version, str) or not api_version.startswith(GROUP + "/"):
        return None
    if not isinstance(kind, str) or kind not in SPEC_PATHS:
        return None
    meta = obj.get("metadata")
    meta = meta if isinstance(meta, dict) else {}
    name, namespace = meta.get("name", ""), meta.get("namespace", "")
    return (
        str(kind),
        name if isinstance(name, str) else "",
        (namespace if isinstance(namespace, str) else ""),
    )


def unknown_kind(obj: Any) -> tuple[str, str, str] | None:
    """``(kind, name, namespace)`` of an object in our API group whose kind the group does
    not have (``kind: workload``): the API server refuses it, so it deserves a word."""
    if not isinstance(obj, dict):
        return None
    api_version, kind = obj.get("apiVersion"), obj.get("kind")
    if not isinstance(api_version, str) or not api_version.startswith(GROUP + "/"):
        return None
    if not isinstance(kind, str) or kind in SPEC_PATHS or kind in OTHER_KINDS:
        return None
    meta = obj.get("metadata")
    meta = meta if isinstance(meta, dict) else {}
    name, namespace = meta.get("name", ""), meta.get("namespace", "")
    return (
        kind,
        name if isinstance(name, str) else "",
        namespace if isinstance(namespace, str) else "",
    )


@dataclass(frozen=True, slots=True)
class SpecGap:
    """A spec path that is absent (``present`` False) or holds a non-object ``value``."""

    path: str
    present: bool
    value: Any


def locate(
    obj: dict[str, Any], kind: str, name: str, namespace: str
) -> tuple[Workload, SpecGap | None]:
    """Find the hostInterfaces list, or the spec path that stops the descent to it."""
    node: Any = obj
    keys = SPEC_PATHS[kind]
    for depth, key in enumerate(keys):
        child = node.get(key)
        if not isinstance(child, dict):
            path = ".".join(keys[: depth + 1])
            gap = SpecGap(path, key in node, child)
            return Workload(kind, name, namespace, path + ".hostInterfaces", None), gap
        node = child
    raw_selector = node.get("hostSelector")
    selector = (
        {k: v for k, v in raw_selector.items() if type(k) is str and type(v) is str}
        if isinstance(raw_selector, dict)
        else {}
    )
    raw = node.get("hostInterfaces")
    return Workload(kind, name, namespace, LIST_PATHS[kind], raw, selector, raw_selector), None
