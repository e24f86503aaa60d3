"""Prometheus metrics: every name in one place, all prefixed ``bindcheck_``."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

REQUESTS = "bindcheck_admission_requests_total"
LATENCY = "bindcheck_admission_duration_seconds"
VIOLATIONS = "bindcheck_violations_total"
BAD_REQUESTS = "bindcheck_bad_requests_total"
CERT_EXPIRY = "bindcheck_certificate_expiry_timestamp_seconds"
CONFIG_RELOADS = "bindcheck_config_reloads_total"

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
