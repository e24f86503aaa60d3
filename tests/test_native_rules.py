"""The shipped rules' native evaluators against their CEL (both engines) and the CRD's
own expressions: same verdicts, same violations, same messages, on random lists."""

from __future__ import annotations

import pytest
from conftest import CRD_FACTS, workload
from hypothesis import given, settings
from hypothesis import strategies as st

from webhook.cel.engines import make_engine
from webhook.cel.rules import builtin_rules_dir, evaluate, evaluate_native, load_rule_text
from webhook.checks.schema import check_schema
from webhook.core import build_validator
from webhook.workloads import identity, locate

# Few values, so entries collide often, chosen so that concatenating fields without
# the length prefixes would make different entries alike (package "a" + version "0:1"
# and package "a0:" + version "1"; name "a1" and "a" + version "1"); 'é' makes code
# points and bytes differ.
TEXT = st.sampled_from(["a", "b", "a0:", "1:a", "é"])
NAME = st.sampled_from(["a", "a1", "b"])
ENTRY = st.fixed_dictionaries(
    {"namespace": TEXT, "package": TEXT, "interfaces": st.just(["i"])},
    optional={"name": NAME, "version": st.sampled_from(["", "1", "0:1"])},
)
ENGINES = {name: make_engine(name) for name in ("google", "celpy")}


def shipped(engine: str, native: bool):
    rules = []
    for path in sorted(builtin_rules_dir().glob("*.yaml")):
        rules += load_rule_text(path.read_text(), str(path), ENGINES[engine], native)
    return rules


RULES = {name: shipped(name, native=True) for name in ENGINES}
"""The shipped rules as a server loads them: run by their Python evaluators."""
AS_CEL = {name: shipped(name, native=False) for name in ENGINES}
"""The same files loaded to run as CEL: what the evaluators are held to."""


def _prepared(entries: list[dict]):
    obj = workload(entries)
    found, _ = locate(obj, *identity(obj))
    schema = check_schema(found)
    assert not schema.violations, schema.violations  # the strategy makes valid entries only
    return found, schema


def test_every_shipped_rule_runs_natively_and_an_edited_one_runs_as_cel():
    assert {r.id: r.native is not None for r in RULES["google"]} == {
        "single-unnamed": True,
        "unique-entry": True,
    }
    path = builtin_rules_dir() / "upstream-unique-entry.yaml"
    edited = path.read_text().replace("exists_one(j, j == k)", "exists_one(j, k == j)")
    [rule] = load_rule_text(edited, "edited.yaml", ENGINES["google"])
    assert rule.native is None


def _compare(engine: str, entries: list[dict]) -> None:
    found, schema = _prepared(entries)
    bound = ENGINES[engine].bind(schema.cel_input)
    for rule, as_cel in zip(RULES[engine], AS_CEL[engine], strict=True):
        cel = evaluate(as_cel, found, bound, schema.entries)
        native = evaluate_native(rule, found, schema.cel_input, schema.entries)
        assert native == cel, rule.id


@settings(max_examples=400, deadline=None)
@given(st.lists(ENTRY, max_size=12))
def test_native_evaluation_equals_google_cel(entries):
    _compare("google", entries)


@settings(max_examples=60, deadline=None)
@given(st.lists(ENTRY, max_size=64))
def test_native_evaluation_equals_google_cel_on_long_lists(entries):
    _compare("google", entries)


@settings(max_examples=60, deadline=None)
@given(st.lists(ENTRY, max_size=6))
def test_native_evaluation_equals_celpy(entries):
    _compare("celpy", entries)


@pytest.mark.parametrize(
    "entries",
    [
        # '1:a' + 'b' and '1:ab' + '': the length prefix keeps these apart
        [{"namespace": "a", "package": "1:ab"}, {"namespace": "a1:a", "package": "b"}],
        # name "a1" and name "a" + version "1": alike only without the length prefix
        [
            {"namespace": "a", "package": "b", "name": "a1"},
            {"namespace": "a", "package": "b", "name": "a", "version": "1"},
        ],
        # two unnamed entries of one package, different versions: only single-unnamed
        [{"namespace": "a", "package": "b"}, {"namespace": "a", "package": "b", "version": "1"}],
        # two groups of unnamed duplicates in one namespace: two violations
        [{"namespace": "a", "package": p} for p in ("b", "c", "b", "c")],
        # every entry of one identity: one violation naming them all
        [{"namespace": "é", "package": "b"}] * 64,
    ],
)
def test_tricky_lists(entries):
    full = [{**e, "interfaces": ["i"]} for e in entries]
    for engine in ENGINES:
        _compare(engine, full[:8] if engine == "celpy" else full)


@settings(max_examples=300, deadline=None)
@given(st.lists(ENTRY, max_size=20))
def test_native_verdicts_equal_the_crds_own_expressions(entries):
    engine = ENGINES["google"]
    [crd_rules] = {tuple(r["rule"] for r in k["rules"]) for k in CRD_FACTS["kinds"].values()}
    _, schema = _prepared(entries)
    bound = engine.bind(schema.cel_input)
    crd_ok = all(bound.run(engine.compile(rule), {}) for rule in crd_rules)
    outcome = NATIVE.check(workload(entries))
    assert (not outcome.violations) is crd_ok


NATIVE = build_validator(catalog=None)
