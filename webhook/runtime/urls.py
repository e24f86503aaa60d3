"""Backend URLs as people write them: passwords with ``/``, ``#`` or ``@``, lists of servers.

One parser for what ``resolve`` shows, what ``check`` says of a bad URL and whom
``--probe`` connects to. User information runs to the *last* ``@`` (a password is
often pasted without percent-encoding); a NATS URL may list several servers,
comma-separated.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING
from urllib.parse import unquote

if TYPE_CHECKING:
    from webhook.runtime.catalog import UrlRule

_SCHEME = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*")


class BadUrl(ValueError):
    """A URL that cannot be used; the message never contains the URL."""


@dataclass(frozen=True, slots=True)
class Url:
    scheme: str
    user: str | None
    password: str | None
    host: str
    port: int | None
    path: str
    query: str

    @property
    def has_credentials(self) -> bool:
        return bool(self.user or self.password)

    def shown(self) -> str:
        """``scheme://[***@]host[:port][/path][?***]``: nothing secret."""
        at = "***@" if self.user is not None or self.password is not None else ""
        host = f"[{self.host}]" if ":" in self.host else self.host
        port = f":{self.port}" if self.port is not None else ""
        return f"{self.scheme}://{at}{host}{port}{self.path}{'?***' if self.query else ''}"


def parse_url(text: str) -> Url:
    """One URL; :class:`BadUrl` says what is wrong without quoting it."""
    scheme, sep, rest = text.strip().partition("://")
    if not sep or not _SCHEME.fullmatch(scheme):
        raise BadUrl("it is not a URL (scheme://host)")
    userinfo, at, location = rest.rpartition("@")
    user = password = None
    if at:
        name, colon, secret = userinfo.partition(":")
        user = unquote(name) if name else None
        password = unquote(secret) if colon else None
        if not colon and name:  # a bare token: nats://TOKEN@host
            user, password = None, unquote(name)
    cut = len(location)
    for mark in "/?#":
        found = location.find(mark)
        if found >= 0:
            cut = min(cut, found)
    hostport, tail = location[:cut], location[cut:]
    path, _, query = tail.partition("?")
    path = path.partition("#")[0]
    if scheme.lower().endswith("unix"):  # unix:///run/redis.sock: a socket path, no host
        return Url(scheme.lower(), user, password, hostport, None, path, query)
    host, port = _host_port(hostport)
    return Url(scheme.lower(), user, password, host, port, path, query.partition("#")[0])


def _host_port(text: str) -> tuple[str, int | None]:
    if text.startswith("["):  # [::1]:4222
        host, bracket, rest = text[1:].partition("]")
        if not bracket:
            raise BadUrl("an IPv6 address lacks its closing ']'")
        port_text = rest[1:] if rest.startswith(":") else ""
    else:
        host, _, port_text = text.partition(":")
    if not host:
        raise BadUrl("it names no host")
    if not port_text:
        return host, None
    if not port_text.isdigit() or not 0 < int(port_text) < 65536:
        raise BadUrl("its port is not a number between 1 and 65535")
    return host, int(port_text)


MAX_URLS = 64
"""Servers in one URL list (NATS takes several) that bindcheck reads."""


def parse_urls(text: str) -> list[Url]:
    """A comma-separated list of URLs (NATS takes several servers)."""
    return [parse_url(piece) for piece in text.split(",", MAX_URLS)[:MAX_URLS] if piece.strip()]


def url_problem(value: str, rule: UrlRule) -> str | None:
    """Why a backend's client library could not use ``value`` as its URL; ``None`` if it
    can. Never quotes the value."""
    if "://" not in value:
        return None if rule.schemeless else f"it is not a URL; write {rule.schemes[0]}://host:port"
    if rule.list and value.count(",") >= MAX_URLS:
        # the CRD bounds no config value: a bound keeps a review's CPU linear and small
        return f"it lists more than {MAX_URLS} URLs; bindcheck reads at most {MAX_URLS}"
    pieces = [p for p in value.split(",") if p.strip()] if rule.list else [value]
    if len(pieces) > 1 and not rule.list:
        return "it lists several URLs; this backend takes one"
    for piece in pieces:
        try:
            url = parse_url(piece)
        except BadUrl as exc:
            return str(exc)
        if url.scheme not in rule.schemes:
            schemes = ", ".join(f"{s}://" for s in rule.schemes)
            return f"its scheme is not one of {schemes}"
        raw_userinfo = piece.strip().partition("://")[2].rpartition("@")[0]
        if any(mark in raw_userinfo for mark in "/?#"):
            return (
                "its user or password holds '/', '?' or '#', which ends a URL's host part "
                "for the host's URL parser: percent-encode them (%2F, %3F, %23)"
            )
    return None


MAX_REMEMBERED = 4096
_remembered: dict[tuple[bytes, tuple[str, ...], bool, bool], str | None] = {}


def remembered_url_problem(value: str, rule: UrlRule) -> str | None:
    """:func:`url_problem`, memoised: the same backends recur in review after review.

    Keyed by a digest of the value, so no URL, and no password in one, outlives the
    request that carried it; the memo is cleared when full.
    """
    digest = hashlib.blake2b(value.encode("utf-8", "surrogatepass"), digest_size=16).digest()
    key = (digest, rule.schemes, rule.list, rule.schemeless)
    try:
        return _remembered[key]
    except KeyError:
        pass
    problem = url_problem(value, rule)
    if len(_remembered) >= MAX_REMEMBERED:
        _remembered.clear()
    _remembered[key] = problem
    return problem
