"""Which objects are ours to judge, and where their hostInterfaces live."""

from __future__ import annotations

import difflib
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from webhook.crd import API_VERSION, GROUP, LIST_PATHS, OTHER_KINDS, SPEC_PATHS
from webhook.model import Workload
from webhook.text import shown

_OURS = f"{GROUP}/{API_VERSION}"
_GROUP_KINDS = (*SPEC_PATHS, *OTHER_KINDS)


def identity(obj: Any) -> tuple[str, str, str] | None:
    """``(kind, name, namespace)`` for a bindcheck kind, ``None`` for anything else."""
    if not isinstance(obj, dict):
        return None
    kind = obj.get("kind")
    if obj.get("apiVersion") != _OURS or not isinstance(kind, str) or kind not in SPEC_PATHS:
        return None
    return (kind, *_name(obj))


def _name(obj: dict[str, Any]) -> tuple[str, str]:
    meta = obj.get("metadata")
    meta = meta if isinstance(meta, dict) else {}
    name, namespace = meta.get("name", ""), meta.get("namespace", "")
    return (name if isinstance(name, str) else "", namespace if isinstance(namespace, str) else "")


@dataclass(frozen=True, slots=True)
class Unserved:
    """An object meant for our API group that no API server serving it accepts: a kind
    the group does not have, or an apiVersion that is a typo of ours (or missing)."""

    kind: str
    name: str
    namespace: str
    field: str
    """``kind`` or ``apiVersion``: the field at fault."""
    problem: str
    """What is wrong, quoting the user's values clipped and escaped."""


def unserved(obj: Any) -> Unserved | None:
    """The near-miss :class:`Unserved` ``obj`` is, or ``None`` (ours to judge, or plainly
    something else: another group's ``Workload``, such as Kueue's, is not a near-miss)."""
    if not isinstance(obj, dict):
        return None
    api_version, kind = obj.get("apiVersion"), obj.get("kind")
    if not isinstance(kind, str):
        return None
    ours = _closest(kind, SPEC_PATHS)
    if not isinstance(api_version, str) or not api_version:
        if ours is None:
            return None
        return Unserved(kind, *_name(obj), "apiVersion",
                        f"has no apiVersion (kubectl refuses it: {_OURS} for {ours})")  # fmt: skip
    group, _, version = api_version.partition("/")
    if group == GROUP:
        if kind in SPEC_PATHS or kind in OTHER_KINDS:
            if version == API_VERSION:
                return None
            return Unserved(kind, *_name(obj), "apiVersion",
                            f"apiVersion '{shown(api_version, 64)}' is not served: {GROUP} has "
                            f"only {API_VERSION} ({_OURS})")  # fmt: skip
        meant = _closest(kind, _GROUP_KINDS)
        hint = f"; did you mean {meant}?" if meant else ""
        return Unserved(kind, *_name(obj), "kind",
                        f"kind '{shown(kind, 64)}' is not a kind of {GROUP} (Artifact, Host, "
                        f"Workload, WorkloadDeployment, WorkloadReplicaSet){hint}")  # fmt: skip
    lowered = group.lower()
    near_group = difflib.SequenceMatcher(None, lowered, GROUP).ratio() >= 0.85
    if not ((near_group and _closest(kind, _GROUP_KINDS)) or (ours and "wasmcloud" in lowered)):
        return None
    return Unserved(kind, *_name(obj), "apiVersion",
                    f"apiVersion '{shown(api_version, 64)}' is not {GROUP}'s; did you mean "
                    f"{_OURS}?")  # fmt: skip


def _closest(kind: str, kinds: Iterable[str]) -> str | None:
    """The kind ``kind`` is a case or spelling slip of (``WorkLoad``, ``Workloads``)."""
    by_lower = {k.lower(): k for k in kinds}
    if kind.lower() in by_lower:
        return by_lower[kind.lower()]
    close = difflib.get_close_matches(kind.lower()[:64], list(by_lower), n=1, cutoff=0.8)
    return by_lower[close[0]] if close else None


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
