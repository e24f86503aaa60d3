"""Prometheus metrics: every name in one place, all prefixed ``bindcheck_``."""

from __future__ import annotations

import time
from collections.abc import Sized

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, ProcessCollector

REQUESTS = "bindcheck_admission_requests_total"
LATENCY = "bindcheck_admission_duration_seconds"
VIOLATIONS = "bindcheck_violations_total"
BAD_REQUESTS = "bindcheck_bad_requests_total"
CERT_EXPIRY = "bindcheck_certificate_expiry_timestamp_seconds"
CONFIG_RELOADS = "bindcheck_config_reloads_total"
LAST_RELOAD = "bindcheck_last_reload_success_timestamp_seconds"
IN_FLIGHT = "bindcheck_in_flight_requests"
CONNECTIONS = "bindcheck_open_connections"

LATENCY_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1, 2.5, 5, 10, 30)


class Metrics:
    """A registry of its own, so tests and multiple apps never collide."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self._children: dict[tuple[object, ...], Counter] = {}
        r = self.registry
        self.requests = Counter(
            REQUESTS.removesuffix("_total"),
            "Admission reviews answered",
            ["kind", "operation", "verdict"],
            registry=r,
        )
        self.latency = Histogram(
            LATENCY,
            "Time to answer an admission review",
            registry=r,
            # Up to the longest webhook timeout the chart allows (30 s): a review
            # that ran into the API server's timeout still lands in a finite bucket.
            buckets=LATENCY_BUCKETS,
        )
        self.violations = Counter(
            VIOLATIONS.removesuffix("_total"), "Violations found", ["rule", "action"], registry=r
        )
        self.bad_requests = Counter(
            BAD_REQUESTS.removesuffix("_total"),
            "Requests refused as malformed",
            ["reason"],
            registry=r,
        )
        self.cert_expiry = Gauge(CERT_EXPIRY, "Serving certificate notAfter", registry=r)
        self.reloads = Counter(
            CONFIG_RELOADS.removesuffix("_total"),
            "Catalog/rules/certificate reloads",
            ["what", "result"],
            registry=r,
        )
        self.last_reload = Gauge(
            LAST_RELOAD,
            "When each source (config, certificates, client-ca, hosts) last loaded or was "
            "read successfully",
            ["what"],
            registry=r,
        )
        # process_cpu_seconds_total, process_resident_memory_bytes, open fds...: read
        # from /proc at scrape time only
        ProcessCollector(registry=r)
        self.in_flight = Gauge(IN_FLIGHT, "Requests being answered", registry=r)
        self.connections = Gauge(CONNECTIONS, "Open client connections", registry=r)

    def loaded(self, what: str, at_start: bool = False) -> None:
        """A source reloaded (counted) or loaded at start (not a reload): its time kept."""
        if not at_start:
            self.reloads.labels(what, "ok").inc()
        self.last_reload.labels(what).set(time.time())

    def watch_serving(self, in_flight: Sized, connections: Sized) -> None:
        """In-flight requests and open connections, counted when scraped: the server's
        own sets, so the hot path does no bookkeeping for them."""
        self.in_flight.set_function(lambda: len(in_flight))
        self.connections.set_function(lambda: len(connections))

    def count_request(self, kind: str, operation: str, verdict: str) -> None:
        self._child(self.requests, (kind, operation, verdict)).inc()

    def count_violation(self, rule: str, action: str) -> None:
        self._child(self.violations, (rule, action)).inc()

    def _child(self, family: Counter, labels: tuple[str, ...]) -> Counter:
        """A labelled counter, looked up once: ``labels()`` costs a few µs per call.
        Label values come from fixed sets (kinds, operations, rule ids), so the map
        stays small."""
        key = (id(family), *labels)
        child = self._children.get(key)
        if child is None:
            child = self._children[key] = family.labels(*labels)
        return child
