"""WIT interface semantics as a wasmCloud host sees them."""

from __future__ import annotations

import re
from functools import lru_cache

from webhook.model import HostInterface

_SEMVER = re.compile(
    r"^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)"
    r"(?:-([0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*))?(?:\+[0-9A-Za-z.-]+)?$"
)


def instance_id(entry: HostInterface) -> str:
    """``ns:pkg/name@version``; name and ``@version`` omitted when absent."""
    out = entry.package_id
    if entry.named:
        out += f"/{entry.name}"
    if entry.version:
        out += f"@{entry.version}"
    return out


def display(entry: HostInterface) -> str:
    """``ns:pkg [name]/iface1,iface2@version``, the host's log form."""
    out = entry.package_id
    if entry.named:
        out += f" [{entry.name}]"
    out += "/" + ",".join(entry.interfaces)
    if entry.version:
        out += f"@{entry.version}"
    return out


def includes(
    namespace: str,
    package: str,
    version: str | None,
    offered: frozenset[str],
    entry: HostInterface,
) -> bool:
    """Whether a plugin world (namespace, package, version, interface names) serves ``entry``.

    Versions must be equal where both are set; every requested interface must be offered.
    """
    if (namespace, package) != (entry.namespace, entry.package):
        return False
    if version and entry.version and version != entry.version:
        return False
    return offered.issuperset(entry.interfaces)


@lru_cache(maxsize=1024)
def parse_semver(version: str) -> tuple[int, int, int, tuple[str, ...]] | None:
    """``(major, minor, patch, prerelease)``; ``None`` when not semver."""
    match = _SEMVER.match(version)
    if match is None:
        return None
    pre = tuple(match.group(4).split(".")) if match.group(4) else ()
    return int(match.group(1)), int(match.group(2)), int(match.group(3)), pre


@lru_cache(maxsize=1024)
def compat_key(version: str) -> str:
    """The operator's merge key: ``M`` (major>0), ``0.m`` (minor>0), else ``0.0.p``.

    An unparseable version is its own key, compared verbatim.
    """
    parsed = parse_semver(version)
    if parsed is None:
        return f"={version}"
    major, minor, patch, _ = parsed
    if major > 0:
        return str(major)
    if minor > 0:
        return f"0.{minor}"
    return f"0.0.{patch}"


def _precedence(version: str) -> tuple[object, ...]:
    parsed = parse_semver(version)
    if parsed is None:
        return (0, version)
    major, minor, patch, pre = parsed
    # A release sorts after its prereleases; numeric identifiers sort below alphanumeric ones.
    pre_key = tuple((0, int(p), "") if p.isdigit() else (1, 0, p) for p in pre)
    return (1, major, minor, patch, 1 if not pre else 0, pre_key)


def newer(a: str, b: str) -> str:
    """The newer of two versions by semver precedence (``a`` on a tie)."""
    return b if _precedence(b) > _precedence(a) else a
