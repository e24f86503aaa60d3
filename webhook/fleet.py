"""The cluster's own hosts: which release each host group runs, and a workload checked
against the hosts its hostSelector really matches (``--kubeconfig`` on check and audit).

The runtime-operator publishes each host as a ``Host`` object in its namespace
(runtime-operator/api/runtime/v1alpha1/host_types.go at v2.7.0): its labels are the
host's (``hostgroup: <name>`` among them) and ``status.version`` is the wash-runtime
crate's version the host was built from (crates/wash-runtime/src/host/mod.rs,
``env!("CARGO_PKG_VERSION")``). That is the wasmCloud release from v2.0.6 on, where the
crate took the workspace version; v2.0.0 to v2.0.5 all report ``0.2.0``. The scheduler
picks among hosts whose labels include the workload's hostSelector
(internal/controller/runtime/workload_controller.go, findFreeHost), so a workload is
checked against the release of every host group it may land on, and a selector no host
matches is ``hostgroup-unmatched`` against the cluster's real groups.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from webhook.cluster import Cluster
from webhook.core import Outcome, Validator
from webhook.crd import API_VERSION, GROUP
from webhook.facts import Facts
from webhook.runtime import releases
from webhook.runtime.catalog import Catalog, HostGroup
from webhook.runtime.catalog_files import load_catalog
from webhook.text import shown
from webhook.violations import Violation
from webhook.workloads import identity, locate

PRE_WORKSPACE_VERSION = "0.2.0"
"""What hosts of v2.0.0 to v2.0.5 report: wash-runtime's own version then."""
_SEMVER = re.compile(r"v?(\d+)\.(\d+)\.(\d+)(?:[-+].*)?")


@dataclass(frozen=True, slots=True)
class ClusterHost:
    namespace: str
    name: str
    labels: dict[str, str]
    version: str
    models: tuple[str, ...]
    """The release names it is checked as (two for ``0.2.0``)."""
    note: str | None
    """Why its version did not name one release exactly, if it did not."""


def _numbers(tag: str) -> tuple[int, int, int] | None:
    m = _SEMVER.fullmatch(tag)
    return (int(m[1]), int(m[2]), int(m[3])) if m else None


def releases_for(version: str) -> tuple[tuple[str, ...], str | None]:
    """The release names a host's ``status.version`` stands for, and a note when it is
    not exactly one known release (then the nearest older one, or the oldest)."""
    if version == PRE_WORKSPACE_VERSION:
        models = ("wasmcloud@2.0.0", "wasmcloud@2.0.3")
        return models, "0.2.0 is any of v2.0.0 to v2.0.5: checked as v2.0.0 and as v2.0.3"
    wanted = _numbers(version)
    tagged = [(n, r) for r in releases.RELEASES if (n := _numbers(r.tag)) is not None]
    if wanted is None:
        note = f"version '{shown(version, 40)}' is not semver: checked as {releases.DEFAULT}"
        return (releases.DEFAULT,), note
    exact = [r for n, r in tagged if n == wanted]
    if exact:
        return (exact[0].name,), None
    older = [r for n, r in tagged if n < wanted]
    chosen = older[-1] if older else tagged[0][1]
    return (chosen.name,), (
        f"version {shown(version, 40)} is no release bindcheck knows: checked as "
        f"{chosen.name}, the nearest {'older' if older else 'known'} one"
    )


def read_hosts(cluster: Cluster) -> list[ClusterHost]:
    """Every Host object the credentials may list, in every namespace."""
    hosts = []
    for obj in cluster.list(GROUP, API_VERSION, "hosts", "Host"):
        meta, status = _mapping(obj.get("metadata")), _mapping(obj.get("status"))
        labels = _mapping(meta.get("labels"))
        version = status.get("version")
        version = version if isinstance(version, str) else ""
        models, note = releases_for(version)
        hosts.append(ClusterHost(
            str(meta.get("namespace", "")), str(meta.get("name", "")),
            {str(k): str(v) for k, v in labels.items()}, version, models, note,
        ))  # fmt: skip
    return hosts


def _mapping(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _groups(hosts: Iterable[ClusterHost], model: Catalog) -> tuple[HostGroup, ...]:
    """One host group per distinct label set, run as the model's group of the same name
    (its ``hostgroup`` label) runs, else as the model's first group: a release's
    standard host."""
    by_labels: dict[tuple[tuple[str, str], ...], str] = {}
    for host in hosts:
        key = tuple(sorted(host.labels.items()))
        if key not in by_labels:
            name = host.labels.get("hostgroup") or "unlabelled"
            taken = set(by_labels.values())
            by_labels[key] = name if name not in taken else f"{name}-{len(taken)}"
    named = {g.name: g for g in model.host_groups}
    out = []
    for key, name in by_labels.items():
        base = named.get(dict(key).get("hostgroup", ""), model.host_groups[0])
        out.append(HostGroup.model_construct(
            name=name, labels=dict(key), http=base.http, plugins=base.plugins, opt_in=base.opt_in
        ))  # fmt: skip
    return tuple(out)


def cluster_catalog(
    release: str, hosts: list[ClusterHost], source: str, model: Catalog | None = None
) -> Catalog:
    """``release``'s model (or ``model``, a catalog that describes its hosts), its host
    groups replaced by the cluster's groups of ``hosts``."""
    model = model if model is not None else load_catalog(release)
    assert model is not None  # a release name always loads a model
    return model.model_copy(update={"host_groups": _groups(hosts, model), "source": source})


def describes(custom: Catalog, release: str) -> bool:
    """Whether ``custom`` describes hosts of ``release``: it extends a release that runs
    the same host model (``wasmcloud@2.6`` stands for 2.6.0 and 2.6.1 alike)."""
    if custom.extends is None:
        return False
    return releases.find(custom.extends).model == releases.find(release).model


class Fleet:
    """A validator per release the cluster's hosts run; :meth:`check` judges a workload
    against the releases of the host groups its hostSelector matches."""

    def __init__(self, base: Validator, hosts: list[ClusterHost], facts: Callable[[], Facts]):
        self.hosts = hosts
        names = sorted(
            {m for h in hosts for m in h.models},
            key=lambda n: releases.RELEASES.index(releases.find(n)),
        )
        # a catalog file that extends a release describes that release's hosts
        custom = base.catalog if base.catalog is not None and base.catalog.extends else None
        self.validators = []
        for name in names:
            own = custom if custom is not None and describes(custom, name) else None
            source = f"the cluster's {name} hosts" + (
                f", as {own.source} describes them" if own is not None else ""
            )
            catalog = cluster_catalog(name, [h for h in hosts if name in h.models], source, own)
            self.validators.append(
                (name, dataclasses.replace(base, catalog=catalog, facts=facts()))
            )
        # a selector no host matches is judged against every group the cluster has
        everything = cluster_catalog(names[-1], hosts, "the cluster's Host objects")
        self.unmatched = dataclasses.replace(base, catalog=everything, facts=facts())
        self.rule_descriptions = base.rule_descriptions

    def check(self, obj: Any) -> Outcome | None:
        ident = identity(obj)
        if ident is None:
            return self.unmatched.check(obj)  # not ours, or a near-miss: no host involved
        workload, _ = locate(obj, *ident)
        chosen = [
            (name, v) for name, v in self.validators
            if v.catalog is not None and v.catalog.groups_for(workload.host_selector)
        ]  # fmt: skip
        if not chosen:
            return self.unmatched.check(obj)
        outcomes = [(name, v.check(obj)) for name, v in chosen]
        if len(outcomes) == 1:
            return outcomes[0][1]
        return _merged(outcomes)


def _merged(outcomes: list[tuple[str, Outcome | None]]) -> Outcome | None:
    """One outcome for hosts of several releases: each finding once, marked with the
    releases whose hosts raise it unless all of them do."""
    present = [(name, o) for name, o in outcomes if o is not None]
    if not present:
        return None
    raised: dict[tuple[str, str, str], tuple[Violation, list[str]]] = {}
    for name, o in present:
        for v in o.violations:
            raised.setdefault((v.rule, v.field, v.message), (v, []))[1].append(name)
    out = [
        v if len(names) == len(present) else dataclasses.replace(v, message=_on(v, names))
        for v, names in raised.values()
    ]
    first = present[0][1]
    return Outcome(first.kind, first.name, first.namespace, tuple(out))


def _on(v: Violation, releases_raising: list[str]) -> str:
    return f"{v.message} (on the cluster's {', '.join(releases_raising)} hosts)"


def judge_for(base: Validator, hosts: list[ClusterHost], facts: Callable[[], Facts]) -> Any:
    """What reviews are judged with: a :class:`Fleet` over ``hosts``, or ``base`` (its own
    catalog) while the cluster has none."""
    return Fleet(base, hosts, facts) if hosts else base


def signature(hosts: Iterable[ClusterHost]) -> frozenset[tuple[tuple[tuple[str, str], ...], str]]:
    """What a judgement depends on: each label set with a version. Host names and
    heartbeat fields (``lastSeen``, free memory) change often and decide nothing."""
    return frozenset((tuple(sorted(h.labels.items())), h.version) for h in hosts)


def describe(hosts: list[ClusterHost]) -> list[dict[str, Any]]:
    """The host groups as ``/readyz`` shows them: labels, releases and how many hosts."""
    groups: dict[tuple[tuple[str, str], ...], dict[str, Any]] = {}
    for host in hosts:
        key = tuple(sorted(host.labels.items()))
        group = groups.setdefault(key, {
            "labels": {shown(k, 63): shown(v, 63) for k, v in key}, "hosts": 0, "releases": [],
        })  # fmt: skip
        group["hosts"] += 1
        group["releases"] = sorted({*group["releases"], *host.models})
    return list(groups.values())
