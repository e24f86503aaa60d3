"""UPDATE ratcheting exempts only what the update did not change (webhook/ratchet.py)."""

from __future__ import annotations

import copy

import pytest
from conftest import entry, workload
from test_server import review as review_body

from webhook.admission import review
from webhook.core import build_validator
from webhook.reviews import AdmissionReview
from webhook.runtime.catalog_files import load_catalog

P = "spec.template.spec.hostInterfaces"


@pytest.fixture(scope="module")
def validator():
    return build_validator(catalog=load_catalog(None))


def update(validator, new, old):
    body = AdmissionReview.model_validate(review_body(new, "UPDATE", old=old))
    return review(validator, body).response["response"]


def kv(name, **config):
    return entry(name=name, version="0.2.0-draft", config=config)


def test_an_untouched_old_violation_is_a_warning(validator):
    old = workload([kv("a"), kv("b", backend="memcached")])
    new = copy.deepcopy(old)
    new["spec"]["replicas"] = 3
    resp = update(validator, new, old)
    assert resp["allowed"] is True
    assert resp["warnings"][0].startswith(f"[backend-unknown] {P}[1].config.backend: (existing)")


def test_replacing_the_entry_with_another_bad_one_is_denied(validator):
    # The same rule at the same field, but the entry changed: judged afresh.
    old = workload([kv("a"), kv("b", backend="memcached")])
    new = workload([kv("a"), kv("c", backend="mongo")])
    resp = update(validator, new, old)
    assert resp["allowed"] is False
    assert [c["field"] for c in resp["status"]["details"]["causes"]] == [f"{P}[1].config.backend"]


def test_changing_another_entry_keeps_an_entry_local_violation_ratcheted(validator):
    old = workload([kv("a"), kv("b", backend="memcached")])
    new = workload([kv("a2"), kv("b", backend="memcached")])
    assert update(validator, new, old)["allowed"] is True


def test_a_list_rule_is_judged_afresh_when_the_list_changes(validator):
    old = workload([entry(), entry()])
    reordered = workload([entry(version="0.2.0-draft"), entry()])
    resp = update(validator, reordered, old)
    assert resp["allowed"] is False
    assert {c["field"] for c in resp["status"]["details"]["causes"]} == {f"{P}[1].name"}


def test_a_changed_host_selector_judges_capability_afresh(validator):
    old = workload([kv("b", backend="memcached")])
    new = copy.deepcopy(old)
    new["spec"]["template"]["spec"]["hostSelector"] = {"hostgroup": "default"}
    assert update(validator, new, old)["allowed"] is False


def test_ratcheting_compares_each_value_once_however_many_denials_share_it(validator, monkeypatch):
    """100 shared denials on a list with a big selector: the selector and the list are
    serialised once each, not once per denial (it took 4 s of CPU on 1.3 MB selectors)."""
    import webhook.ratchet as ratchet_module

    calls = []
    real = ratchet_module.json.dumps

    def counting(value, **kw):
        calls.append(1)
        return real(value, **kw)

    monkeypatch.setattr(ratchet_module.json, "dumps", counting)
    # 32 packages imported twice unnamed: 64 list-wide denials (single-unnamed, unique-entry)
    entries = [entry(package=f"p{i}") for i in range(32) for _ in range(2)]
    old = workload(entries)
    old["spec"]["template"]["spec"]["hostSelector"] = {f"k{i}": "v" * 100 for i in range(5000)}
    new = copy.deepcopy(old)
    new["spec"]["replicas"] = 3
    resp = update(validator, new, old)
    assert resp["allowed"] is True and len(resp["warnings"]) >= 10, resp.get("status")
    assert len(calls) <= 4  # the selector and the list, new and old, once each
