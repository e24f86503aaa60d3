"""Every exported policy compiles in Kubernetes' own CEL environment, 1.30 to 1.37.

Kubernetes' library decides (tests/celref.py): each expression is compiled as policy
creation compiles it (NewExpressions at the server's compatibility version), which is
where a policy the API server refuses with 422 would fail.
"""

from __future__ import annotations

import copy

import pytest
from celref import MINORS, evaluate, policies_of
from exports import EXPORTS


@pytest.fixture(scope="module")
def compiled() -> list[dict]:
    """One run of the reference for every export (policy names made unique)."""
    policies = []
    for name, documents in EXPORTS.items():
        for policy in policies_of(documents):
            renamed = copy.deepcopy(policy)
            renamed["metadata"]["name"] = f"{name}/{policy['metadata']['name']}"
            policies.append(renamed)
    return evaluate(policies, minors=MINORS)


@pytest.mark.parametrize("name", list(EXPORTS))
def test_every_export_compiles_in_every_kubernetes_version(name, compiled):
    assert [r["minor"] for r in compiled] == list(MINORS)
    for result in compiled:
        errors = [
            f"{e['policy']} {e['field']}: {e['error'][:300]}"
            for e in result["compileErrors"]
            if e["policy"].startswith(f"{name}/")
        ]
        assert errors == [], f"Kubernetes 1.{result['minor']}"
