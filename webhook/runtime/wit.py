"""WIT interface semantics as a wasmCloud host sees them.

Mirrors crates/wash-runtime/src/wit.rs and the proto conversion in
crates/wash-runtime/src/washlet/mod.rs (wasmCloud/wasmCloud@7cd553cc):

- a version is parsed as strict semver (Rust's ``semver::Version::parse``); one
  that does not parse (``"0.2"``, ``"latest"``) becomes *no version*, which is
  compatible with every version;
- an empty name is no name;
- two interfaces are the same package when namespace and package are equal and
  their versions are equal where both are set (``WitInterface::same_package``).
"""

from __future__ import annotations

import re
from functools import lru_cache

from webhook.model import HostInterface
from webhook.text import SHOWN, shown

SEMVER_PATTERN = (
    r"(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)"
    r"(-(0|[1-9][0-9]*|[0-9]*[A-Za-z-][0-9A-Za-z-]*)(\.(0|[1-9][0-9]*|[0-9]*[A-Za-z-][0-9A-Za-z-]*))*)?"
    r"(\+[0-9A-Za-z-]+(\.[0-9A-Za-z-]+)*)?"
)
"""Strict semver 2.0.0, in the syntax Python's re and RE2 (CEL's ``matches``) share:
the checks and the policy export judge versions by this one pattern. Groups 1-3 are
the numbers, 4 the prerelease with its ``-``, 8 the build with its ``+``."""
_SEMVER = re.compile(SEMVER_PATTERN)
_U64_MAX = 2**64 - 1

HTTP_HOST_SERVED = frozenset({"incoming-handler", "outgoing-handler", "handler"})
"""wasi:http interfaces the host serves itself; entries asking only for these never
reach plugin matching (engine/workload.rs, bind_plugins)."""
HTTP_HOST_SERVED_P2 = HTTP_HOST_SERVED - {"handler"}
"""What hosts before v2.5.2 serve: P3's ``handler`` went to plugin matching."""
_HTTP_INCOMING = frozenset({"incoming-handler", "handler"})
_HTTP_INCOMING_P2 = frozenset({"incoming-handler"})

Semver = tuple[int, int, int, tuple[str, ...], tuple[str, ...]]
"""(major, minor, patch, prerelease identifiers, build identifiers)."""


@lru_cache(maxsize=1024)
def parse_semver(version: str) -> Semver | None:
    """The version as Rust's ``semver`` crate parses it; ``None`` when it does not.

    Strict: three numeric parts without leading zeros, each within u64; prerelease
    identifiers non-empty, numeric ones without leading zeros; no ``v`` prefix and
    no surrounding space.
    """
    if len(version) > 256:  # the CRD allows 64; a direct caller may send more
        return None
    match = _SEMVER.fullmatch(version)
    if match is None:
        return None
    major, minor, patch = (int(match.group(i)) for i in (1, 2, 3))
    if max(major, minor, patch) > _U64_MAX:
        return None
    pre = tuple(match.group(4)[1:].split(".")) if match.group(4) else ()
    build = tuple(match.group(8)[1:].split(".")) if match.group(8) else ()
    return major, minor, patch, pre, build


def host_version(version: str | None) -> str | None:
    """The version a host keeps for an entry: the text when it is strict semver, else none."""
    if not version or parse_semver(version) is None:
        return None
    return version


def versions_compatible(a: str | None, b: str | None) -> bool:
    """Equal where both are set; a missing version matches any (``same_package``).

    Both arguments are host versions (see :func:`host_version`): valid semver text,
    for which equal text is equal versions.
    """
    return a is None or b is None or a == b


def _identifier_key(ident: str) -> tuple[int, int, str]:
    # semver: numeric identifiers compare numerically and sort below alphanumeric ones
    return (0, int(ident), "") if ident.isdigit() else (1, 0, ident)


def precedence(version: Semver) -> tuple[object, ...]:
    """A sort key in Rust ``semver::Version`` order: a release sorts after its prereleases."""
    major, minor, patch, pre, build = version
    pre_key = (1,) if not pre else (0, tuple(_identifier_key(p) for p in pre))
    return (major, minor, patch, pre_key, tuple(_identifier_key(b) for b in build))


def at_least(version: str | None, minimum: str) -> bool:
    """Whether a host version is set and ``>= minimum`` (a plugin's ``claims`` test)."""
    if version is None:
        return False
    parsed, floor = parse_semver(version), parse_semver(minimum)
    return parsed is not None and floor is not None and precedence(parsed) >= precedence(floor)


def package_label(namespace: str, package: str) -> str:
    """``namespace:package`` for messages, each part clipped and escaped; never a key (a
    colon inside either part would make two different packages read the same)."""
    return f"{shown(namespace)}:{shown(package)}"


def instance_id(entry: HostInterface) -> str:
    """``ns:pkg/name@version``; name and ``@version`` omitted when absent. Data, not a
    message: whole, for the routing table."""
    out = f"{entry.namespace}:{entry.package}"
    if entry.named:
        out += f"/{entry.name}"
    if entry.version:
        out += f"@{entry.version}"
    return out


def display(entry: HostInterface) -> str:
    """``ns:pkg [name]/iface1,iface2@version``, the host's log form, for messages: every
    part clipped and escaped."""
    out = package_label(entry.namespace, entry.package)
    if entry.named:
        out += f" [{shown(str(entry.name))}]"
    out += "/" + shown(",".join(entry.interfaces), 2 * SHOWN)
    if entry.version:
        out += f"@{shown(entry.version)}"
    return out


def host_served(entry: HostInterface, p3: bool = True) -> bool:
    """A wasi:http entry the host answers itself, whatever its version or name; ``p3``:
    the host serves the P3 ``handler`` too (from v2.5.2)."""
    return (
        entry.namespace == "wasi"
        and entry.package == "http"
        and (HTTP_HOST_SERVED if p3 else HTTP_HOST_SERVED_P2).issuperset(entry.interfaces)
    )


def is_incoming_http_handler(entry: HostInterface, p3: bool = True) -> bool:
    """``WitInterface::is_incoming_http_handler``: wasi:http with a P2 or (``p3``) P3
    handler; before v2.5.2 the router looked for ``incoming-handler`` only."""
    return (
        entry.namespace == "wasi"
        and entry.package == "http"
        and not (_HTTP_INCOMING if p3 else _HTTP_INCOMING_P2).isdisjoint(entry.interfaces)
    )
