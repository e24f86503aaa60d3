"""The wasmCloud releases bindcheck models, and which host model each one runs.

Every tag of wasmCloud/wasmCloud from v2.0.0 to v2.7.0 was read, and tags that bind
and route alike share a model (a catalog in webhook/data/releases/, each stating
what differs from the next newer one, ``extends``). A name is ``wasmcloud@X``: a
patch (``2.6.0``, ``v2.6.0``), a minor, which stands for its newest patch (``2.6`` is
2.6.1), or ``main``, the newest commit read (in no release). The default is the
newest release, not an unreleased commit.

Users find the release their cluster runs in a Host object's ``status.version``
(runtime-operator api/runtime/v1alpha1/host_types.go), in the host image's tag
(``ghcr.io/wasmcloud/wash:X.Y.Z``), or in the runtime-operator chart's appVersion.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from webhook.text import shown

PREFIX = "wasmcloud@"


@dataclass(frozen=True, slots=True)
class Release:
    tag: str
    """``v2.6.1``, or ``main``."""
    commit: str
    date: str
    model: str
    """The model file it runs: webhook/data/releases/wasmcloud-<model>.yaml."""

    @property
    def name(self) -> str:
        return PREFIX + self.tag.removeprefix("v")


RELEASES: tuple[Release, ...] = (
    Release("v2.0.0", "42d201ae887642007ecbc46168a3404be84adeb0", "2026-03-22", "2.0.0"),
    Release("v2.0.1", "9800a5afb7e779800c1f008a2a560ce15dcf5eb2", "2026-03-22", "2.0.0"),
    Release("v2.0.2", "beb3a11cce6013d6529f40364712978433ca8e46", "2026-04-01", "2.0.0"),
    Release("v2.0.3", "edb9a3a0a4c5b1f8c8a620561340d5e64c47b17d", "2026-04-13", "2.0.3"),
    Release("v2.0.4", "1eba3b068dd0ebc9fd45a9daa785bdb4476d8fd2", "2026-04-21", "2.0.3"),
    Release("v2.0.5", "7bfee37826ad59adad1fbd7d0fb75ab7a1e94aba", "2026-04-24", "2.0.3"),
    Release("v2.0.6", "fbeadb1d5ecf8ed1c73db5d7cb7f68669c3a4d71", "2026-05-01", "2.0.3"),
    Release("v2.0.7", "00b98ac5ed98be092e5a42c8bda3f4b61e135a4f", "2026-05-05", "2.0.3"),
    Release("v2.1.0", "d8f795fe2eb952e92dfa9641854066905949b962", "2026-05-07", "2.0.3"),
    Release("v2.2.0", "d17df9291d6f014364898ea24e244891d2863625", "2026-05-20", "2.0.3"),
    Release("v2.2.1", "e3d875fce87df8b0447fb0401402508077c64dfd", "2026-05-21", "2.0.3"),
    Release("v2.3.0", "3d418e2b8c9b425a2cb4dcf2938dd2de0c77017e", "2026-06-02", "2.3.0"),
    Release("v2.4.0", "72f30cbb9a4d5c8663999bfcc0161c288c7088ba", "2026-06-16", "2.3.0"),
    Release("v2.5.0", "6a8a4fd68eec90dde2c79b6299c4778ca08c3e5a", "2026-06-30", "2.5.0"),
    Release("v2.5.1", "eb711f47c5bd6011ab318922eea4c85542e87f1d", "2026-07-01", "2.5.0"),
    Release("v2.5.2", "ec012da03cf649427d700eef4a0ba6d9731cee58", "2026-07-10", "2.5.2"),
    Release("v2.6.0", "9bf8e97b28bfbc26d629aca1d5c4d8f14a8cfe6b", "2026-07-28", "2.6.1"),
    Release("v2.6.1", "df8a8bcd69adc9c23ded842e504071a5272d04ed", "2026-07-29", "2.6.1"),
    Release("v2.7.0", "9561cb59759fa15b0a64bdb0b318255309aeddcd", "2026-08-11", "2.7.0"),
    Release("main", "7cd553cc57cfb5a64717d76b11ddeea2cd8c0a8b", "2026-08-19", "main"),
)
DEFAULT = "wasmcloud@2.7"
"""The newest release."""

_BY_TAG = {r.tag: r for r in RELEASES}
_MINORS = {
    f"v{m.group(1)}": r
    for r in RELEASES  # later patches overwrite earlier ones: a minor is its newest
    if (m := re.fullmatch(r"v(\d+\.\d+)\.\d+", r.tag))
}


class UnknownRelease(ValueError):
    """A release name bindcheck has no model of; the message lists the known ones."""


def known() -> str:
    minors = ", ".join(t.removeprefix("v") for t in _MINORS)
    return (
        f"{PREFIX}{{{minors}}} (each its newest patch), any patch such as {PREFIX}2.6.0, "
        f"or {PREFIX}main"
    )


def is_release_name(value: str) -> bool:
    return value.startswith(PREFIX)


def find(name: str) -> Release:
    """The release a ``wasmcloud@X`` name means."""
    wanted = name.removeprefix(PREFIX).strip()
    tag = wanted if wanted == "main" or wanted.startswith("v") else f"v{wanted}"
    found = _BY_TAG.get(tag) or _MINORS.get(tag)
    if found is None:
        raise UnknownRelease(f"unknown wasmCloud release '{shown(name, 64)}'; known: {known()}")
    return found
