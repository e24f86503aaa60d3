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


@pytest.mark.parametrize("name", ["default-upstream", "default-strict"])
def test_every_kubernetes_version_judges_like_bindcheck_check(name):
    """Evaluated as admission does in the CEL environment of 1.30 to 1.37, each export's
    violations on the corpus and the samples are the same in every version, and are
    what ``bindcheck check`` finds for the rules the export expresses (no version errs).
    Objects with a field of the wrong type are left out: every CRD shape refuses them
    before admission (test_apiserver.py sends them through the API server)."""
    from exports import VALIDATORS, corpus, expressed_rules, samples

    from webhook.violations import Action

    checker = VALIDATORS[name]
    documents = EXPORTS[name]
    expressed = expressed_rules(documents)
    objects = [*corpus(40, seed=11), *samples()]
    results = evaluate(policies_of(documents), objects, minors=MINORS)
    judged = 0
    for k, obj in enumerate(objects):
        outcome = checker.check(obj)
        if any(v.rule == "schema-type" for v in outcome.violations):
            continue  # every CRD types these fields: such an object never reaches a policy
        judged += 1
        ours = sorted(
            f"[{v.rule}] {v.field}: {v.message}"
            for v in outcome.violations
            if v.rule in expressed and v.action is Action.DENY
        )
        for result in results:
            deny = result["verdicts"][k]["bindcheck-deny"]
            where = f"{obj['metadata']['name']} on 1.{result['minor']}"
            assert deny["decision"] != "error", (where, deny.get("message"))
            assert sorted(deny["violations"]) == ours, where
    assert judged > 40
