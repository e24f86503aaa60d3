from __future__ import annotations

from dataclasses import replace

import pytest
from conftest import SAMPLES, entry, rules_of, workload

from webhook.checking import check_paths
from webhook.violations import Action, Reason

P = "spec.template.spec.hostInterfaces"


def test_two_unnamed_entries_of_one_package_are_denied_naming_both(upstream):
    outcome = upstream.check(workload([entry(), entry(version="0.2.0-draft")]))
    assert [(v.rule, v.reason, v.field) for v in outcome.denials] == [
        ("single-unnamed", Reason.DUPLICATE, f"{P}[1].name")
    ]
    assert "[0] and [1] are unnamed wasi:keyvalue entries" in outcome.denials[0].message


def test_a_rule_sharing_fewer_fields_still_runs_after_one_with_more(upstream):
    # unique-entry (4 fields) finds these distinct; single-unnamed (3 of them) does not,
    # whichever runs first: only a superset of an all-distinct field set may be skipped.
    reordered = replace(upstream, rules=tuple(reversed(upstream.rules)))
    assert [r.id for r in reordered.rules] == ["unique-entry", "single-unnamed"]
    obj = workload([entry(), entry(version="0.2.0-draft")])
    for validator in (upstream, reordered):
        assert [v.rule for v in validator.check(obj).denials] == ["single-unnamed"]


def test_exact_duplicates_are_denied_by_unique_entry(upstream):
    outcome = upstream.check(workload([entry(name="a"), entry(name="b"), entry(name="a")]))
    assert [(v.rule, v.field) for v in outcome.denials] == [("unique-entry", f"{P}[2].name")]
    assert outcome.denials[0].message.startswith("[0] and [2] are the same entry")


def test_same_name_at_incompatible_versions_is_allowed_upstream(upstream):
    outcome = upstream.check(
        workload([entry(name="a", version="1.0.0"), entry(name="a", version="2.0.0")])
    )
    assert outcome.violations == ()


def test_named_and_one_unnamed_entry_is_allowed_upstream_but_not_strict(upstream, strict):
    entries = [entry(), entry(name="cache")]
    assert upstream.check(workload(entries)).violations == ()
    assert rules_of(strict, workload(entries)) == [("name-required", f"{P}[0].name")]


def test_strict_names_are_unique_whatever_the_version(strict):
    entries = [entry(name="a", version="1.0.0"), entry(name="a", version="2.0.0")]
    outcome = strict.check(workload(entries))
    assert [(v.rule, v.reason, v.field) for v in outcome.violations] == [
        ("name-unique", Reason.DUPLICATE, f"{P}[1].name")
    ]


def test_strict_single_entry_needs_no_name(strict):
    assert strict.check(workload([entry(), entry(package="blobstore")])).violations == ()


@pytest.mark.parametrize(("a", "b"), [("0.2.0", "0.2.3"), ("1.2.0", "1.9.1"), ("0.2", "latest")])
def test_one_name_at_two_versions_passes_the_naming_rules(upstream, a, b):
    # The CRD allows it and the operator merges nothing at upstream's commit
    # (EnsureHostInterface has no production caller): both entries reach the host.
    # What the host then does with them is a capability check (route-collision).
    outcome = upstream.check(workload([entry(name="x", version=a), entry(name="x", version=b)]))
    assert outcome.violations == ()


def test_all_violations_are_reported_at_once(upstream):
    entries = [entry(), entry(), entry(name="Bad"), entry(package="p" * 200)]
    rules = {r for r, _ in rules_of(upstream, workload(entries))}
    assert {"single-unnamed", "unique-entry", "schema-pattern", "schema-max-length"} <= rules


@pytest.mark.parametrize("kind", ["WorkloadDeployment", "WorkloadReplicaSet", "Workload"])
def test_every_kind_is_checked_at_its_own_path(upstream, kind):
    obj = workload([entry(), entry()], kind=kind)
    path = "spec.hostInterfaces" if kind == "Workload" else P
    assert rules_of(upstream, obj)[0] == ("single-unnamed", f"{path}[1].name")


def test_rule_actions_can_be_overridden_and_rules_switched_off():
    from webhook.core import build_validator

    v = build_validator(actions={"single-unnamed": Action.WARN}, disabled=["unique-entry"])
    outcome = v.check(workload([entry(), entry()]))
    assert outcome.allowed
    assert [(x.rule, x.action) for x in outcome.violations] == [("single-unnamed", Action.WARN)]


def test_unknown_rule_in_an_override_is_a_config_error():
    from webhook.core import build_validator
    from webhook.errors import ConfigError

    with pytest.raises(ConfigError, match="no rule with id 'no-such-rule'"):
        build_validator(actions={"no-such-rule": Action.WARN})


@pytest.mark.parametrize("policy", ["upstream", "strict"])
def test_upstream_samples_are_allowed_under_both_policies(policy):
    from webhook.core import build_validator
    from webhook.runtime.catalog_files import load_catalog
    from webhook.violations import Policy

    # The samples are upstream main's (7cd553cc); v2.7.0 lacks async messaging 0.3.0
    # (tests/test_releases.py).
    v = build_validator(Policy(policy), catalog=load_catalog("wasmcloud@main"))
    report = check_paths([str(p) for p in SAMPLES], v)
    assert report.errors == []
    assert len(report.results) == 7 and report.denied == 0
    assert [(r.source, r.outcome.name, r.outcome.violations) for r in report.results] == [
        (r.source, r.outcome.name, ()) for r in report.results
    ]
    assert report.skipped == 1  # the Service beside the workload in service.yaml
