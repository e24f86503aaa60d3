from __future__ import annotations

import pytest
from conftest import CRD_FACTS, entry, rules_of, workload

from webhook import crd
from webhook.checks import schema
from webhook.crd import SPEC_PATHS
from webhook.violations import Action, Reason

P = "spec.template.spec.hostInterfaces"


@pytest.mark.parametrize(
    ("bad", "rule", "reason", "field"),
    [
        ({"name": "x" * 65}, "schema-max-length", Reason.TOO_LONG, f"{P}[0].name"),
        ({"namespace": "n" * 129}, "schema-max-length", Reason.TOO_LONG, f"{P}[0].namespace"),
        ({"package": "p" * 129}, "schema-max-length", Reason.TOO_LONG, f"{P}[0].package"),
        ({"version": "1" * 65}, "schema-max-length", Reason.TOO_LONG, f"{P}[0].version"),
        ({"name": "Cache"}, "schema-pattern", Reason.INVALID, f"{P}[0].name"),
        ({"name": "-cache"}, "schema-pattern", Reason.INVALID, f"{P}[0].name"),
        ({"name": "cache\n"}, "schema-pattern", Reason.INVALID, f"{P}[0].name"),
        ({"name": ""}, "schema-pattern", Reason.INVALID, f"{P}[0].name"),
        ({"name": 7}, "schema-type", Reason.INVALID, f"{P}[0].name"),
        ({"interfaces": []}, "schema-min-items", Reason.REQUIRED, f"{P}[0].interfaces"),
        ({"interfaces": "store"}, "schema-type", Reason.INVALID, f"{P}[0].interfaces"),
        ({"interfaces": ["store", 3]}, "schema-type", Reason.INVALID, f"{P}[0].interfaces[1]"),
        ({"config": {"port": 6379}}, "schema-type", Reason.INVALID, f"{P}[0].config.port"),
        ({"config": ["a"]}, "schema-type", Reason.INVALID, f"{P}[0].config"),
        (
            {"secretFrom": [{"name": 1}]},
            "schema-type",
            Reason.INVALID,
            f"{P}[0].secretFrom[0].name",
        ),
        ({"configFrom": "cm"}, "schema-type", Reason.INVALID, f"{P}[0].configFrom"),
    ],
)
def test_each_schema_limit_is_one_violation_with_its_reason(upstream, bad, rule, reason, field):
    outcome = upstream.check(workload([entry(**bad)]))
    assert [(v.rule, v.reason, v.field) for v in outcome.violations] == [(rule, reason, field)]


def test_name_of_exactly_64_characters_and_unicode_lengths_count_characters(upstream):
    assert upstream.check(workload([entry(name="a" * 64)])).violations == ()
    # 128 characters of 3 bytes each: within the limit, as the API server counts runes.
    assert upstream.check(workload([entry(namespace="é" * 128)])).violations == ()


@pytest.mark.parametrize("field", ["namespace", "package", "interfaces"])
def test_missing_required_fields_are_reported(upstream, field):
    e = entry()
    del e[field]
    v = upstream.check(workload([e])).violations
    assert [(x.rule, x.reason, x.field) for x in v] == [
        ("schema-required", Reason.REQUIRED, f"{P}[0].{field}")
    ]


def test_null_optional_field_counts_as_absent(upstream):
    assert upstream.check(workload([entry(name=None, version=None)])).violations == ()


def test_more_than_64_entries_is_too_many(upstream):
    entries = [entry(name=f"n{i}") for i in range(65)]
    v = upstream.check(workload(entries)).violations
    assert [(x.rule, x.reason, x.field) for x in v] == [("schema-max-items", Reason.TOO_MANY, P)]
    assert "65" in v[0].message


def test_host_interfaces_as_a_map_is_a_type_violation_not_a_crash(upstream):
    obj = workload(None)
    obj["spec"]["template"]["spec"]["hostInterfaces"] = {"namespace": "wasi"}
    v = upstream.check(obj).violations
    assert [(x.rule, x.field) for x in v] == [("schema-type", P)]
    assert "must be of type array, got object" in v[0].message


def test_entry_that_is_not_an_object_is_reported_and_the_rest_still_checked(upstream):
    entries = ["wasi:keyvalue", entry(), entry()]
    found = rules_of(upstream, workload(entries))
    assert ("schema-type", f"{P}[0]") in found
    assert ("single-unnamed", f"{P}[2].name") in found


@pytest.mark.parametrize("kind", ["WorkloadDeployment", "WorkloadReplicaSet", "Workload"])
def test_missing_spec_is_required_for_every_kind(upstream, kind):
    obj = workload([entry()], kind=kind)
    del obj["spec"]
    assert rules_of(upstream, obj) == [("schema-required", "spec")]


def test_spec_of_wrong_type_and_missing_template(upstream):
    obj = workload([entry()])
    obj["spec"] = "oops"
    assert rules_of(upstream, obj) == [("schema-type", "spec")]
    obj["spec"] = {"replicas": 1}
    assert rules_of(upstream, obj) == [("schema-required", "spec.template")]


def test_unknown_field_is_a_warning_naming_the_field(upstream):
    v = upstream.check(workload([entry(nmae="cache")])).violations
    assert [(x.rule, x.action, x.field) for x in v] == [
        ("schema-unknown-field", Action.WARN, f"{P}[0].nmae")
    ]


def test_config_values_never_appear_in_messages(upstream):
    v = upstream.check(workload([entry(config={"password": 12345678})])).violations
    assert v and all("12345678" not in x.message for x in v)


def test_control_characters_in_values_are_escaped_in_messages(upstream):
    v = upstream.check(workload([entry(name="\x1b[31mred")])).violations
    assert v[0].rule == "schema-pattern"
    assert "\x1b" not in v[0].message and "\\x1b" in v[0].message


def test_other_kinds_and_groups_are_not_judged(upstream):
    assert upstream.check({"apiVersion": "v1", "kind": "ConfigMap"}) is None
    assert upstream.check({"apiVersion": "other.dev/v1", "kind": "Workload"}) is None
    assert upstream.check(["not", "a", "map"]) is None


@pytest.mark.parametrize("kind", sorted(CRD_FACTS["kinds"]))
def test_schema_limits_are_the_upstream_crds(kind):
    facts = CRD_FACTS["kinds"][kind]
    assert ".".join(SPEC_PATHS[kind]) + ".hostInterfaces" == facts["listPath"]
    assert facts["maxItems"] == schema.MAX_ENTRIES
    fields = facts["fields"]
    assert set(fields) == crd.ENTRY_FIELDS
    assert {k: v["maxLength"] for k, v in fields.items() if "maxLength" in v} == crd.MAX_LENGTH
    assert fields["name"]["pattern"] == crd.NAME_PATTERN
    assert fields["interfaces"]["minItems"] == 1
    assert sorted(facts["required"]) == ["interfaces", "namespace", "package"]
