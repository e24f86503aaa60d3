"""Both CEL engines give the same verdicts; our rule files agree with the CRD's own rules."""

from __future__ import annotations

import pytest
from conftest import CRD_FACTS, PIN_RULE, entry, workload
from hypothesis import given, settings
from hypothesis import strategies as st
from test_property import ENTRY

from webhook.cel.engines import CelCompileError, make_engine
from webhook.cel.rules import builtin_rules_dir, evaluate, load_rule_text
from webhook.checks.schema import check_schema
from webhook.core import build_validator
from webhook.errors import RuleLoadError
from webhook.violations import Policy
from webhook.workloads import identity, locate

SMALL_LISTS = st.lists(ENTRY, min_size=0, max_size=8)  # celpy is slow: keep lists short
CEL_ONLY = build_validator(Policy.UPSTREAM, native=False)


@pytest.fixture(scope="module")
def pair():
    return {
        # CEL only: the native evaluators have their own comparison (test_native_rules.py).
        (engine, policy): build_validator(Policy(policy), engine=engine, native=False)
        for engine in ("google", "celpy")
        for policy in ("upstream", "strict")
    }


@settings(max_examples=40, deadline=None)
@given(SMALL_LISTS)
def test_google_and_celpy_give_identical_violations(pair, entries):
    obj = workload(entries)
    for policy in ("upstream", "strict"):
        google = pair[("google", policy)].check(obj).violations
        celpy = pair[("celpy", policy)].check(obj).violations
        assert google == celpy


def _crd_rules():
    rules = {
        kind: [r["rule"] for r in facts["rules"]] for kind, facts in CRD_FACTS["kinds"].items()
    }
    assert len({tuple(r) for r in rules.values()}) == 1, "the three CRDs carry the same rules"
    return rules["Workload"]


@settings(max_examples=150, deadline=None)
@given(st.lists(ENTRY, min_size=0, max_size=20))
def test_rule_files_agree_with_the_crd_expressions_verbatim(upstream, entries):
    engine = make_engine("google")
    crd = [engine.compile(rule) for rule in _crd_rules()]
    cel_input = [
        {("__" + k + "__" if k in ("namespace", "package") else k): v for k, v in e.items()}
        for e in entries
    ]
    bound = engine.bind(cel_input)
    crd_ok = all(bound.run(p, {}) for p in crd)
    for validator in (upstream, CEL_ONLY):  # the native evaluators, and our rule files' CEL
        outcome = validator.check(workload(entries))
        ours = [v for v in outcome.violations if v.rule in ("unique-entry", "single-unnamed")]
        assert (not ours) is crd_ok


@pytest.mark.parametrize("engine", ["google", "celpy"])
def test_has_on_absent_fields_and_the_ternary_compile_and_run(engine):
    cel = make_engine(engine)
    program = cel.compile("self.map(x, has(x.name) ? x.name : '')")
    assert cel.bind([{"name": "a"}, {}]).run(program, {}) == ["a", ""]


@pytest.mark.parametrize("engine", ["google", "celpy"])
def test_a_syntax_error_is_a_compile_error(engine):
    with pytest.raises(CelCompileError):
        make_engine(engine).compile("self.all(x, ")


RULE = PIN_RULE


def test_a_user_rule_reports_each_failing_entry(tmp_path):
    (tmp_path / "pin.yaml").write_text(RULE)
    v = build_validator(extra_rule_dirs=[tmp_path])
    out = v.check(workload([{"namespace": "wasi", "package": "http", "interfaces": ["h"]}]))
    assert [(x.rule, x.field, x.message) for x in out.violations] == [
        ("needs-version", "spec.template.spec.hostInterfaces[0].version",
         "[0] (wasi:http/h) must pin a version")
    ]  # fmt: skip


def test_a_rule_that_does_not_compile_names_file_and_line(tmp_path):
    bad = RULE.replace("self.map(x, has(x.version))", "self.map(x, has(x.version) &&)")
    with pytest.raises(RuleLoadError) as info:
        load_rule_text(bad, "pin.yaml", make_engine("google"))
    assert info.value.line == 5 and "pin.yaml:5" in str(info.value)


@pytest.mark.parametrize(
    ("edit", "line"),
    [(("reason: FieldValueRequired", "reason: Nope"), 2), (("scope: entry", "scope: all"), 3),
     (("id: needs-version", "id: Bad Id"), 1), (("fieldPath", "fieldPth"), 4)],
)  # fmt: skip
def test_bad_rule_fields_are_load_errors_at_their_line(edit, line):
    with pytest.raises(RuleLoadError) as info:
        load_rule_text(RULE.replace(*edit), "r.yaml", make_engine("google"))
    assert info.value.line == line


def test_a_rule_that_fails_at_evaluation_is_reported_not_raised(tmp_path):
    (tmp_path / "r.yaml").write_text(RULE.replace("has(x.version)", "x.version == '1'"))
    v = build_validator(extra_rule_dirs=[tmp_path])
    out = v.check(workload([{"namespace": "wasi", "package": "http", "interfaces": ["h"]}]))
    assert [x.rule for x in out.violations] == ["rule-error"]


BUILTIN = build_validator(Policy.UPSTREAM)
GUARDED = [r for r in CEL_ONLY.rules if r.only_if_shared]  # as CEL: the claim is about the text


def test_the_shipped_pairwise_rules_declare_only_if_shared():
    assert {r.id for r in GUARDED} == {"unique-entry", "single-unnamed"}


def _full_and_guarded(rule, entries):
    """The rule's violations on the whole list, and on the entries its guard selects."""
    obj = workload(entries)
    found, _ = locate(obj, *identity(obj))
    schema = check_schema(found)
    full = evaluate(rule, found, BUILTIN.engine.bind(schema.cel_input), schema.entries)
    involved = rule.involved(schema.entries)
    subset = [schema.cel_input[i] for i in involved]
    guarded = evaluate(
        rule, found, BUILTIN.engine.bind(subset), [schema.entries[i] for i in involved]
    )
    return full, guarded if involved else []


@settings(max_examples=300, deadline=None)
@given(st.lists(ENTRY, min_size=0, max_size=20))
def test_only_if_shared_claims_of_the_shipped_rules_hold(entries):
    """On just the entries the guard selects, a rule finds exactly what it finds on all."""
    for rule in GUARDED:
        full, guarded = _full_and_guarded(rule, entries)
        assert guarded == full


def test_an_unsound_only_if_shared_claim_is_what_the_property_catches():
    # Two unnamed keyvalue entries of different versions break single-unnamed, yet
    # agree on nothing that includes the version: a claim listing it would be wrong.
    text = (builtin_rules_dir() / "upstream-single-unnamed.yaml").read_text()
    wrong = text.replace("[namespace, package, name]", "[namespace, package, name, version]")
    (rule,) = load_rule_text(wrong, "wrong.yaml", BUILTIN.engine, native=False)
    full, guarded = _full_and_guarded(rule, [entry(version="0.2.0"), entry(version="0.2.1")])
    assert [v.rule for v in full] == ["single-unnamed"] and guarded == []


def test_a_guarded_rule_runs_on_the_entries_that_agree_and_names_them():
    entries = [entry(name=f"n{i}") for i in range(10)] + [entry(name="n3")]
    out = BUILTIN.check(workload(entries))
    assert [(v.rule, v.field) for v in out.violations] == [
        ("unique-entry", "spec.template.spec.hostInterfaces[10].name")
    ]
    assert out.violations[0].message.startswith(
        "[3] and [10] are the same entry (wasi:keyvalue [n3]/store)"
    )


@pytest.mark.parametrize(
    ("value", "scope"),
    [("[]", "entry"), ("[colour]", "entry"), ("name", "entry"), ("[interfaces]", "entry"),
     ("[name]", "list")],
)  # fmt: skip
def test_only_if_shared_must_list_identity_fields_of_an_entry_rule(value, scope):
    text = RULE.replace("scope: entry", f"scope: {scope}") + f"onlyIfShared: {value}\n"
    with pytest.raises(RuleLoadError) as info:
        load_rule_text(text, "r.yaml", make_engine("google"))
    assert info.value.line == RULE.count("\n") + 1 and "onlyIfShared" in str(info.value)
