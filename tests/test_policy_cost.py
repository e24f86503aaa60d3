"""What the exported policies cost the API server, measured by Kubernetes' own CEL code.

Objects at every bound the policies judge (64 entries, 32 interfaces of 128 characters
each, strings at the CRD's limits, 64 selector labels), and past them: no expression
may come near the per-call limit, no evaluation near the budget, and past the bounds
the policy says so instead of erring. The README's cost table is this test's output.
"""

from __future__ import annotations

from typing import Any

import pytest
from celref import PER_CALL_LIMIT, RUNTIME_BUDGET, evaluate, policies_of
from conftest import ROOT, workload
from exports import EXPORTS

from webhook.export.documents import MAX_INTERFACE_CHARS, MAX_INTERFACES, MAX_SELECTOR_LABELS


def _entry(i: int, named: bool, interfaces: int, **fields: Any) -> dict[str, Any]:
    e: dict[str, Any] = {
        "namespace": "w" * 127 + "i",
        "package": "k" * 128,
        "version": "0." * 31 + "00",
        "interfaces": [f"{j:03d}" + "x" * (MAX_INTERFACE_CHARS - 3) for j in range(interfaces)],
    }
    if named:
        e["name"] = f"n{i:02d}-" + "a" * 60
    e.update(fields)
    return e


def _selected(entries: list[dict[str, Any]], labels: int = 0) -> dict[str, Any]:
    obj = workload(entries)
    if labels:
        obj["spec"]["template"]["spec"]["hostSelector"] = {f"k{j}": "v" * 63 for j in range(labels)}
    return obj


N = MAX_INTERFACES
AT_BOUNDS = {
    "64 named entries, 32 long interfaces each": _selected([_entry(i, True, N) for i in range(64)]),
    "64 unnamed entries of one package": _selected([_entry(i, False, N) for i in range(64)]),
    "64 unnamed wasi:keyvalue entries": _selected(
        [_entry(i, False, N, namespace="wasi", package="keyvalue") for i in range(64)]
    ),
    "64 named wasi:keyvalue, long backends, 64 labels": _selected(
        [
            _entry(
                i, True, N, namespace="wasi", package="keyvalue", config={"backend": "b" * 100_000}
            )
            for i in range(64)
        ],
        MAX_SELECTOR_LABELS,
    ),
}
PAST_BOUNDS = {
    "33 interfaces in an entry": _selected([_entry(i, True, N + 1) for i in range(64)]),
    "700,000 interfaces": _selected(
        [{"namespace": "wasi", "package": "keyvalue", "interfaces": ["s"] * 700_000}]
    ),
    "200,000 selector labels": _selected([_entry(0, True, 1)], 200_000),
    "a 1 MB namespace (CRDs before v2.7.0)": _selected(
        [{"namespace": "w" * 1_000_000, "package": "keyvalue", "interfaces": ["s"]}]
    ),
    "5,000 entries (CRDs before v2.7.0)": _selected(
        [{"namespace": "wasi", "package": "keyvalue", "interfaces": ["s"]}] * 5000
    ),
}
MEASURED = ["default-upstream", "default-strict", "two-groups-strict", "plain-upstream"]


@pytest.fixture(scope="module")
def costs() -> dict[str, list[dict[str, Any]]]:
    objects = [*AT_BOUNDS.values(), *PAST_BOUNDS.values()]
    out = {}
    for name in MEASURED:
        [result] = evaluate(policies_of(EXPORTS[name]), objects, minors=(37,))
        out[name] = result["verdicts"]
    return out


def cost_table(costs: dict[str, list[dict[str, Any]]]) -> str:
    rows = [
        "| object (worst over the exports measured) | costliest expression | cost | "
        "whole evaluation |",
        "|---|---|---|---|",
    ]
    for k, label in enumerate([*AT_BOUNDS, *PAST_BOUNDS]):
        worst_call = max(
            ((v["maxCallCost"], v["maxCallName"]) for c in costs.values() for v in c[k].values()),
        )
        worst_total = max(v["totalCost"] for c in costs.values() for v in c[k].values())
        rows.append(f"| {label} | `{worst_call[1]}` | {worst_call[0]:,} | {worst_total:,} |")
    return "\n".join(rows)


def test_no_object_comes_near_a_cost_limit(costs):
    for name, verdicts in costs.items():
        for k, label in enumerate([*AT_BOUNDS, *PAST_BOUNDS]):
            for policy, v in verdicts[k].items():
                where = f"{name} {policy}: {label}"
                assert v["decision"] != "error", (where, v.get("message"))
                assert v["maxCallCost"] < PER_CALL_LIMIT / 2, where
                assert v["totalCost"] < RUNTIME_BUDGET / 2, where


def test_past_the_bounds_each_policy_says_it_did_not_judge(costs):
    for name, verdicts in costs.items():
        checking = {
            p["metadata"]["name"]
            for p in policies_of(EXPORTS[name])
            if p["metadata"]["annotations"]["bindcheck.dev/rules"]
        }
        assert "bindcheck-deny" in checking
        for k in range(len(AT_BOUNDS), len(AT_BOUNDS) + len(PAST_BOUNDS)):
            for policy, v in verdicts[k].items():
                if policy in checking:
                    assert [m.split("]")[0] for m in v["violations"]] == ["[policy-limits"]
                else:  # a pair with no checks admits everything
                    assert v["violations"] == [], policy


def test_the_readme_shows_the_measured_costs(costs):
    table = cost_table(costs)
    print("\n" + table)
    assert table in (ROOT / "README.md").read_text(), "paste this table into the README"
