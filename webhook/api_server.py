"""What the API server does with an object before the webhook or the host sees it.

The runtime-operator's CRDs enforce part of what bindcheck checks, and which part
depends on where the cluster's CRDs came from. Read from wasmCloud/wasmCloud: the
chart's CRDs (charts/runtime-operator/crds/) gained the length and item limits and
the two x-kubernetes-validations at v2.7.0 (84892f85b); the kustomize CRDs
(runtime-operator/config/crd/bases/) had them from v2.5.0 (26fb56d87). Every release's
CRD types the fields, requires namespace, package and interfaces, and holds the name
pattern and interfaces' minItems. Helm never upgrades a chart's ``crds/``, so a
cluster keeps the CRDs it was first installed with, whatever release its hosts run.

For each object this says whether that API server admits it and whether the host then
fails it: the late failure bindcheck exists to bring forward, and its reverse, an object
the API server refuses though the host would run it.
"""

from __future__ import annotations

from collections.abc import Callable, Collection
from dataclasses import dataclass

from webhook.core import Outcome
from webhook.errors import ConfigError
from webhook.rulebook import RULES, Refuser
from webhook.runtime import releases
from webhook.runtime.wit import parse_semver

VARIANTS = {"chart": "2.7.0", "kustomize": "2.5.0"}
"""Each way of installing the CRDs, and the first release whose CRDs have the limits
and the two rules."""


@dataclass(frozen=True, slots=True)
class Crds:
    """The CRDs an API server has: the release they came with, and how installed."""

    variant: str
    release: releases.Release

    @property
    def name(self) -> str:
        """``chart@2.6.1``: how ``--crds`` names them."""
        return f"{self.variant}@{self.release.tag.removeprefix('v')}"

    @property
    def described(self) -> str:
        return f"the {self.variant} CRDs of {self.release.name}"

    @property
    def checked(self) -> bool:
        """Whether these CRDs have the limits and the two rules."""
        if self.release.tag == "main":
            return True
        return _version(self.release.tag) >= _version(VARIANTS[self.variant])


def _version(tag: str) -> tuple[int, ...]:
    parsed = parse_semver(tag.removeprefix("v"))
    assert parsed is not None, tag
    return parsed[:3]


def parse_crds(text: str, host: releases.Release) -> Crds:
    """``chart`` or ``kustomize``, optionally ``@X`` for the release the CRDs came with
    (``chart@2.6``); without it, the hosts' release."""
    variant, _, release = text.partition("@")
    if variant not in VARIANTS:
        raise ConfigError("--crds takes chart or kustomize, optionally @RELEASE (chart@2.6)")
    if not release:
        return Crds(variant, host)
    try:
        return Crds(variant, releases.find(releases.PREFIX + release))
    except releases.UnknownRelease as exc:
        raise ConfigError(f"--crds: {exc}") from None


@dataclass(frozen=True, slots=True)
class Admission:
    """What the API server and the host make of one object."""

    crds: Crds
    refused_by: tuple[str, ...]
    """Rules the API server's CRD enforces that the object breaks."""
    host_fails: tuple[str, ...]
    """Rules the host fails the deployment on."""
    only_bindcheck: tuple[str, ...]
    """Denials neither of them makes: bindcheck's own policy or rules."""
    hosts_known: bool
    """Whether the host checks ran (a catalog, and an object they could read)."""

    @property
    def admitted(self) -> bool:
        return not self.refused_by

    def sentence(self) -> str | None:
        """The one line a report gives it; ``None`` when there is nothing to tell."""
        if self.refused_by:
            said = (
                f"the API server refuses it by {self.crds.described} ({', '.join(self.refused_by)})"
            )
            if self.hosts_known and not self.host_fails:
                said += "; the host itself would run it"
            return said
        if self.host_fails:
            return (
                f"the API server admits it with {self.crds.described}; the host then fails "
                "it: " + ", ".join(self.host_fails)
            )
        if self.only_bindcheck:
            host = " and the host would run it" if self.hosts_known else ""
            return (
                f"the API server admits it with {self.crds.described}{host}; only "
                "bindcheck's rules refuse it: " + ", ".join(self.only_bindcheck)
            )
        return None


def admission(
    outcome: Outcome, crds: Crds, crd_rules: Collection[str], hosts_known: bool
) -> Admission:
    """``outcome``'s findings sorted by who else refuses them. ``crd_rules``: the CEL
    rules that are the CRD's two x-kubernetes-validations (rules/upstream-*.yaml)."""
    refused, fails, own = [], [], []
    for violation in outcome.violations:
        rule = violation.rule
        spec = RULES.get(rule)
        refuser = spec.refused_by if spec is not None else None
        if rule in crd_rules or refuser is Refuser.CRD_LIMITS:
            if crds.checked:
                refused.append(rule)
            elif violation in outcome.denials:
                own.append(rule)
        elif refuser is Refuser.API_SERVER:
            refused.append(rule)
        elif refuser is Refuser.HOST:
            fails.append(rule)
        elif violation in outcome.denials:
            own.append(rule)
    # Every rule once, in the order the findings came.
    return Admission(
        crds,
        tuple(dict.fromkeys(refused)),
        tuple(dict.fromkeys(fails)),
        tuple(dict.fromkeys(own)),
        hosts_known and (not refused or all(r in crd_rules for r in refused)),
    )


Explain = Callable[[Outcome], Admission | None]
"""What the API server and the host make of an outcome, as a command chose to tell it."""
