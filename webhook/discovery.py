"""``serve --discover-hosts``: the cluster's Host objects, read again every interval.

Each pass lists ``hosts.runtime.wasmcloud.dev`` in every namespace with fresh
credentials (the pod's projected token rotates; a kubeconfig may be rewritten) within
one deadline, and installs a new judge only when what decides a judgement changed:
the host groups' label sets and versions (webhook/fleet.py, ``signature``).

A periodic list rather than a watch: the runtime-operator rewrites each Host's status
on every heartbeat (``lastSeen``, ``systemMemoryFree``, ``systemCPUUsage``;
runtime-operator/api/runtime/v1alpha1/host_types.go at v2.7.0), so a watch would
stream an event per host per heartbeat to learn, almost always, nothing. A list every
30 s costs one request, needs only ``get`` and ``list``, and a missed change is late by
one interval, never lost. A pass that fails keeps the last good hosts serving and is
shown on ``/readyz``; the loop never ends.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from pathlib import Path

from webhook.cluster import (
    SERVICE_ACCOUNT,
    Cluster,
    ClusterError,
    in_cluster_credentials,
    load_kubeconfig,
)
from webhook.core import Judge
from webhook.fleet import ClusterHost, describe, judge_for, read_hosts, signature
from webhook.server import ServerState

log = logging.getLogger("bindcheck")
DEFAULT_INTERVAL = 30.0
PASS_TIMEOUT = 10.0
"""One pass's deadline: every page of the list, and the connection."""


def connector(
    kubeconfig: Path | None,
    context: str | None,
    timeout: float = PASS_TIMEOUT,
    service_account: Path = SERVICE_ACCOUNT,
) -> Callable[[], Cluster]:
    """A fresh :class:`Cluster` for each pass: the kubeconfig's, else the pod's own
    service account (mounted at ``service_account``)."""

    def connect() -> Cluster:
        if kubeconfig is not None:
            return Cluster(load_kubeconfig(str(kubeconfig), context), timeout)
        return Cluster(in_cluster_credentials(service_account), timeout)

    return connect


def current_hosts(connect: Callable[[], Cluster]) -> list[ClusterHost]:
    """The Host objects now; none when the cluster has no Host kind (404: no
    runtime-operator installed yet)."""
    try:
        return read_hosts(connect())
    except ClusterError as exc:
        if exc.status == 404:
            return []
        raise


def changed(state: ServerState, hosts: list[ClusterHost]) -> bool:
    """Whether ``hosts`` differ from the ones serving in what decides a judgement."""
    return state.hosts is None or signature(hosts) != signature(state.hosts)


def installed(state: ServerState, hosts: list[ClusterHost], judge: Judge | None = None) -> None:
    """Serve ``hosts`` (and ``judge``, when built from them and the validator serving)."""
    state.install(hosts=hosts, judge=judge)
    for host in hosts:
        if host.note:
            log.warning("Host %s/%s: %s", host.namespace[:63], host.name[:253], host.note)
    groups = describe(hosts)
    log.info(
        "the cluster's hosts changed: %d Host object(s) in %d group(s)%s",
        len(hosts), len(groups),
        "".join(f"; {g['labels']} on {', '.join(g['releases'])}" for g in groups)
        or ": checking against the configured catalog",
    )  # fmt: skip


def discover_once(state: ServerState, connect: Callable[[], Cluster]) -> None:
    """The first pass, before serving: a failure serves the configured catalog and says
    why on ``/readyz`` until a pass succeeds."""
    try:
        installed(state, current_hosts(connect))
        state.metrics.loaded("hosts", at_start=True)
    except Exception as exc:
        state.install(hosts=[])
        state.report_failure("hosts", exc)


async def watch_hosts(
    state: ServerState, connect: Callable[[], Cluster], interval: float = DEFAULT_INTERVAL
) -> None:
    """Read the hosts every ``interval`` seconds, forever. The list runs in a worker
    thread (reviews never wait on the API server), and so is the new judge; it is
    installed only if the validator it was built from still serves (a config reload in
    between: built again on the loop)."""
    while True:
        await asyncio.sleep(interval)
        try:
            hosts = await asyncio.to_thread(current_hosts, connect)
            if changed(state, hosts):
                base = state.validator
                judge = await asyncio.to_thread(judge_for, base, hosts, state.facts)
                installed(state, hosts, judge if state.validator is base else None)
            else:
                state.hosts = hosts  # same groups and releases: /readyz counts the hosts
            state.problems.pop("hosts", None)
            state.metrics.loaded("hosts")
        except Exception as exc:  # never let a pass end the watcher
            state.report_failure("hosts", exc)
