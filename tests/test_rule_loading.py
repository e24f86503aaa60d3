"""Loading rule files: every malformed shape stops with file, line and reason; rules are
type-checked and their cost is bounded before they may run (webhook/cel/rules.py, cost.py)."""

from __future__ import annotations

import re
import time
from pathlib import Path

import pytest
import yaml
from conftest import PIN_RULE, entry, workload
from servers import heavy_libraries_serving_loads

from webhook.cel.cost import ITERATION_BUDGET
from webhook.cel.engines import CelEvalError, make_engine
from webhook.cel.rules import builtin_rules_dir, load_rule_text, rule_files
from webhook.certs import write_local_certs
from webhook.cli import main
from webhook.core import build_validator
from webhook.errors import RuleLoadError

BASE = """id: r
reason: FieldValueInvalid
message: m
"""

MALFORMED = {
    "complex key": (BASE + "? [a, b]\n: 1\nexpression: 'true'\n", 4),
    "binary value": (BASE + "expression: !!binary aGVsbG8=\n", 4),
    "a custom tag": (BASE + "expression: !python/name:os.system x\n", 4),
    "bad merge key": (BASE + "<<: 5\nexpression: 'true'\n", 4),
    "invalid date": (BASE + "description: 2024-13-45\nexpression: 'true'\n", 4),
    "a date": (BASE + "description: 2024-01-01\nexpression: 'true'\n", 4),
    "5000-digit integer": (BASE + "description: " + "9" * 5000 + "\nexpression: 'true'\n", 1),
    "duplicate key": (BASE + "expression: 'true'\nexpression: 'false'\n", 5),
    "document is a list": ("- id: r\n", 1),
    "document is a string": ("just text\n", 1),
    "id is a list": (BASE.replace("id: r", "id: [r]") + "expression: 'true'\n", 1),
    "id with capitals": (BASE.replace("id: r", "id: Rule") + "expression: 'true'\n", 1),
    "reason is a list": (BASE.replace("FieldValueInvalid", "[x]") + "expression: 'true'\n", 2),
    "unknown reason": (BASE.replace("FieldValueInvalid", "Nope") + "expression: 'true'\n", 2),
    "action is a map": (BASE + "action: {a: 1}\nexpression: 'true'\n", 4),
    "policy is a list": (BASE + "policy: [upstream]\nexpression: 'true'\n", 4),
    "scope is a map": (BASE + "scope: {}\nexpression: 'true'\n", 4),
    "numeric field name": (BASE + "1: x\nexpression: 'true'\n", 4),
    "expression is a map": (BASE + "expression: {a: 1}\n", 4),
    "expression is empty": (BASE + "expression: ''\n", 4),
    "message is a number": (BASE.replace("message: m", "message: 5") + "expression: 'true'\n", 3),
    "variables is a map": (BASE + "variables: {a: b}\nexpression: 'true'\n", 4),
    "variable without expression": (BASE + "variables: [{name: a}]\nexpression: 'true'\n", 4),
    "variable name not an identifier": (
        BASE + "variables: [{name: 'a b', expression: 'true'}]\nexpression: 'true'\n",
        4,
    ),
    "onlyIfShared is a string": (
        BASE + "scope: entry\nonlyIfShared: name\nexpression: self.map(x, true)\n",
        5,
    ),
    "onlyIfShared repeats a field": (
        BASE + "scope: entry\nonlyIfShared: [name, name, name, name]\n"
        "expression: self.map(x, true)\n",
        5,
    ),
    "groupBy on a list rule": (BASE + "groupBy: self\nexpression: 'true'\n", 4),
    # fieldPath is quoted into exported CEL: only .field and [index] steps load
    "fieldPath with a subscript": (BASE + "expression: 'true'\nfieldPath: .config[\"url\"]\n", 5),
    "fieldPath that closes the CEL string": (
        BASE + 'expression: \'true\'\nfieldPath: \'.x" + "" == "" || "\'\n',
        5,
    ),
    "syntax error": (BASE + "expression: 'self.all(x, '\n", 4),
    "nesting beyond the parser": (
        BASE + "expression: '" + "(" * 3000 + "true" + ")" * 3000 + "'\n",
        4,
    ),
    "expression over 10,000 characters": (
        BASE + "expression: '" + "true && " * 2000 + "true'\n",
        4,
    ),
    "alias bomb": (
        "".join(
            f"{n}: &{n} [{', '.join([f'*{p}'] * 10)}]\n"
            for p, n in zip("abcdefg", "bcdefgh", strict=True)
        )
        .replace("*a", "x")
        .replace("b: &b", "a: &a [x]\nb: &b"),
        1,
    ),
}


@pytest.mark.parametrize(("text", "line"), MALFORMED.values(), ids=MALFORMED.keys())
def test_every_malformed_rule_file_stops_the_load_with_file_line_and_reason(text, line):
    with pytest.raises(RuleLoadError) as info:
        load_rule_text(text, "bad.yaml", make_engine("google"))
    assert (info.value.source, info.value.line) == ("bad.yaml", line), str(info.value)
    assert str(info.value).startswith(f"bad.yaml:{line}: ")


def test_a_malformed_rule_file_is_exit_2_from_the_cli_never_an_internal_error(capsys, tmp_path):
    good = tmp_path / "ok.yaml"
    good.write_text("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\n")
    for name, (text, line) in MALFORMED.items():
        rules = tmp_path / "rules"
        rules.mkdir(exist_ok=True)
        (rules / "r.yaml").write_text(text)
        code = main(["check", str(good), "--rules", str(rules)])
        _, err = capsys.readouterr()
        assert code == 2, (name, err)
        assert f"r.yaml:{line}: " in err and "internal error" not in err, (name, err)


@pytest.mark.parametrize(
    ("scope", "expression", "returns"),
    [
        ("list", "self.size()", "returns int"),
        ("list", "'yes'", "returns string"),
        ("entry", "self.map(x, 1)", "returns list(int)"),
        ("entry", "self.size() > 0", "returns bool"),
        ("entry", "self.map(x, x.name)", None),  # list(dyn): decided when it runs
        ("list", "self.all(x, has(x.name))", None),
    ],
)
def test_a_rule_must_return_what_its_scope_needs(scope, expression, returns):
    text = BASE + f"scope: {scope}\nexpression: {expression!r}\n"
    if returns is None:
        assert load_rule_text(text, "r.yaml", make_engine("google"))
        return
    with pytest.raises(RuleLoadError, match=re.escape(returns)) as info:
        load_rule_text(text, "r.yaml", make_engine("celpy"))
    assert info.value.line == 5


@pytest.mark.parametrize(
    ("expression", "why"),
    [
        ("self.all(x, self.all(y, self.all(z, x == y)))", "266,304 comprehension iterations"),
        ("self.all(x, x.interfaces.all(i, i != ''))", "comprehension iterations"),
        ("self.all(x, x.config.all(k, k != ''))", "comprehension iterations"),
        (
            "self.map(x, x.config['a'] + x.config['a'] + x.config['a'] + x.config['a']"
            " + x.config['a']).size() > 0",
            "may not double its input",
        ),
        # the three-argument map (filter, then transform) multiplies like any other
        (
            "self.map(x, self.exists(y, y == x), self.map(z, self.exists(w, w == z))).size() > 0",
            "comprehension iterations",
        ),
        ("self.all(x, !x.config.a.contains(x.config.b))", "contains\\(\\) between two strings"),
    ],
)
def test_a_rule_over_the_cost_budget_is_refused_at_load(expression, why):
    text = BASE + f"expression: {expression!r}\n"
    with pytest.raises(RuleLoadError, match=why) as info:
        load_rule_text(text, "r.yaml", make_engine("google"))
    assert "costs too much" in str(info.value)
    if "iterations" in why:
        assert "costs too much: on at most 64 entries" in str(info.value)


@pytest.mark.parametrize(
    "expression",
    ["self.all(x, !x.name.contains('-'))", "self.all(x, !x.config.a.contains('x'))",
     "self.all(x, !x.config.a.contains(x.name))"],
)  # fmt: skip
def test_a_contains_with_a_bounded_side_loads(expression):
    assert load_rule_text(BASE + f"expression: {expression!r}\n", "r.yaml", make_engine("google"))


@pytest.mark.parametrize(
    "expression",
    [
        "self.all(x, x.name.matches(x.version))",
        "self.all(x, matches(x.name, x.__package__))",
        "self.all(x, x.name.matches('^' + x.version))",
    ],
)
def test_a_regular_expression_built_from_the_object_is_refused_at_load(expression):
    with pytest.raises(RuleLoadError, match="matches\\(\\) takes a string literal"):
        load_rule_text(BASE + f"expression: {expression!r}\n", "r.yaml", make_engine("google"))
    assert load_rule_text(
        BASE + "expression: self.all(x, x.name.matches('^[a-z]+$'))\n",
        "ok.yaml",
        make_engine("google"),
    )


def test_string_doubling_through_variables_is_refused_at_the_variable_that_overflows():
    variables = "\n".join(
        f"  - name: v{i}\n    expression: {prev} + {prev}"
        for i, prev in enumerate(
            ["self.map(x, x.__package__)[0]"] + [f"variables.v{j}" for j in range(20)]
        )
    )
    text = BASE + f"variables:\n{variables}\nexpression: variables.v3 != ''\n"
    with pytest.raises(
        RuleLoadError, match=r"variables\[\d+\] costs too much.*may not double"
    ) as info:
        load_rule_text(text, "r.yaml", make_engine("google"))
    assert info.value.line == 4


def test_the_shipped_rules_fit_the_budget_and_a_pairwise_user_rule_does_too():
    rules = load_rule_text(
        BASE + "expression: self.all(x, self.exists_one(y, y.__package__ == x.__package__))\n",
        "pairwise.yaml",
        make_engine("google"),
    )
    assert rules and rule_files(builtin_rules_dir())
    assert ITERATION_BUDGET >= 64 * 65


@pytest.mark.parametrize("engine", ["google", "celpy"])
def test_both_engines_stop_a_runaway_expression_at_run_time_and_say_so(engine):
    # Compiled directly, past the load-time bound, to prove the runtime caps exist.
    cel = make_engine(engine)
    program = cel.compile("self.all(x, self.all(y, self.all(z, x == y)))")
    started = time.perf_counter()
    with pytest.raises(CelEvalError, match="budget exceeded"):
        cel.bind([{"a": 1}] * 64).run(program, {})  # all equal: nothing short-circuits
    assert time.perf_counter() - started < 30


def test_a_rule_at_the_budget_gives_both_engines_the_same_verdict(tmp_path):
    rule = BASE + (
        "scope: entry\nfieldPath: .name\n"
        "expression: self.map(x, self.filter(y, y.__package__ == x.__package__).size() < 3)\n"
    )
    (tmp_path / "r.yaml").write_text(rule)
    entries = [entry(package="kv", name=f"n{i}") for i in range(40)] + [
        entry(package=f"p{i}", name="x") for i in range(24)
    ]
    verdicts = []
    for engine in ("google", "celpy"):
        validator = build_validator(extra_rule_dirs=[tmp_path], engine=engine)
        verdicts.append(validator.check(workload(entries)).violations)
    assert verdicts[0] == verdicts[1]
    assert [v.field for v in verdicts[0]] == [
        f"spec.template.spec.hostInterfaces[{i}].name" for i in range(40)
    ]


def test_the_pin_rule_used_across_tests_still_loads():
    assert load_rule_text(PIN_RULE, "pin.yaml", make_engine("google"))


def test_the_shipped_rules_are_within_the_cost_bound_the_loader_skips_for_them():
    # The loader compiles nothing of a rule whose CEL is the shipped text (it runs
    # natively), the cost estimate included; here it is made.
    from webhook.cel.cost import Estimator
    from webhook.cel.engines import parse_tree
    from webhook.cel.rules import builtin_rules_dir

    paths = sorted(builtin_rules_dir().glob("*.yaml"))
    assert len(paths) == 2
    for path in paths:
        rule = yaml.safe_load(path.read_text())
        bounds = Estimator()
        for variable in rule.get("variables", []):
            bounds.define(variable["name"], parse_tree(variable["expression"]))
        bounds.estimate(parse_tree(rule["expression"]))  # raises CostError when over


@pytest.mark.parametrize("engine", ["google", "celpy"])
def test_the_shipped_rules_compile_and_type_check_as_cel_on_both_engines(engine):
    # A server loads them to run natively and compiles nothing of them; this is where
    # their text is compiled and type-checked (the reference build does it on load).
    validator = build_validator(engine=engine, native=False)
    shipped = [r for r in validator.rules if Path(r.source).parent == builtin_rules_dir()]
    assert {r.id for r in shipped} == {"single-unnamed", "unique-entry"}
    assert all(r.native is None and r.expression is not None for r in shipped)
    assert all(program is not None for r in shipped for _, program in r.variables)


def test_a_server_with_the_shipped_rules_never_loads_the_cel_engine(tmp_path):
    # Every shipped rule runs natively: the CEL C++ library (about 8 MiB resident)
    # stays out of the process until a rule needs it.
    write_local_certs(tmp_path)
    assert "cel_expr_python" not in heavy_libraries_serving_loads(tmp_path)
    (tmp_path / "rules").mkdir()
    (tmp_path / "rules" / "r.yaml").write_text(PIN_RULE)
    loaded = heavy_libraries_serving_loads(tmp_path, "--rules", str(tmp_path / "rules"))
    assert "cel_expr_python" in loaded  # a rule of one's own runs as CEL


def test_a_loaded_rules_field_path_reaches_the_export_as_a_literal(tmp_path):
    """Even a path that loads is never spliced into CEL unquoted."""
    from webhook.export.vap import export_vap
    from webhook.violations import Policy

    rule = tmp_path / "r.yaml"
    rule.write_text(PIN_RULE.replace("fieldPath: .version", "fieldPath: .config.a-b[0]"))
    validator = build_validator(Policy.UPSTREAM, catalog=None, extra_rule_dirs=[rule])
    documents = export_vap(validator).documents
    text = str(documents)
    assert '".config.a-b[0]: "' in text


def test_every_reason_the_crds_x_kubernetes_validations_accept_loads(capsys, tmp_path):
    # apiextensions accepts FieldValueRequired, FieldValueForbidden, FieldValueInvalid and
    # FieldValueDuplicate as a rule's reason; kubectl titles Forbidden as "Forbidden".
    rule = tmp_path / "no-latest.yaml"
    rule.write_text(
        "id: no-latest\nreason: FieldValueForbidden\nmessage: pin a version\n"
        "expression: \"self.all(e, !has(e.version) || e.version != 'latest')\"\n"
    )
    manifest = tmp_path / "w.yaml"
    manifest.write_text(
        "apiVersion: runtime.wasmcloud.dev/v1alpha1\nkind: Workload\nmetadata: {name: w}\n"
        "spec:\n  components: []\n  hostInterfaces:\n"
        "    - {namespace: wasi, package: keyvalue, version: latest, interfaces: [store]}\n"
    )
    code = main(["check", str(manifest), "--rules", str(rule)])
    out, err = capsys.readouterr()
    assert code == 1, err
    assert "[no-latest] spec.hostInterfaces: Forbidden: pin a version" in out
    for reason in ("FieldValueRequired", "FieldValueInvalid", "FieldValueDuplicate"):
        text = f"id: r\nreason: {reason}\nmessage: m\nexpression: 'true'\n"
        assert load_rule_text(text, "r.yaml", make_engine("google"))


@pytest.mark.parametrize(
    ("text", "says"),
    [
        (BASE.replace("FieldValueInvalid", "FieldValueForbiden") + "expression: 'true'\n",
         "r.yaml:2: reason 'FieldValueForbiden' must be one of FieldValueRequired, "
         "FieldValueDuplicate, FieldValueInvalid, FieldValueForbidden, FieldValueTooLong, "
         "FieldValueTooMany, FieldValueNotSupported; did you mean 'FieldValueForbidden'?"),
        (BASE + "expresion: 'true'\n", "r.yaml:4: unknown rule field 'expresion'; "
         "did you mean 'expression'?"),
        (BASE + "expression: 'true'\n" + "k" * 500 + ": x\n", "r.yaml:5: unknown rule field '"
         + "k" * 57 + "...' (known: action, description"),
    ],
)  # fmt: skip
def test_a_misspelt_reason_or_field_names_the_line_and_the_closest_one(text, says):
    with pytest.raises(RuleLoadError) as info:
        load_rule_text(text, "r.yaml", make_engine("google"))
    assert str(info.value).startswith(says), str(info.value)


RULE_ON_A_MISSING_KEY = (
    "id: needs-bucket\nreason: FieldValueRequired\nmessage: every entry needs a bucket\n"
    "scope: entry\nexpression: \"self.map(x, x.config.bucket != '')\"\n"
)


def test_a_rule_that_fails_on_an_object_says_why_and_debug_prints_the_engine(
    capsys, tmp_path, caplog
):
    rule = tmp_path / "needs-bucket.yaml"
    rule.write_text(RULE_ON_A_MISSING_KEY)
    manifest = tmp_path / "w.yaml"
    manifest.write_text(
        "apiVersion: runtime.wasmcloud.dev/v1alpha1\nkind: Workload\nmetadata: {name: w}\n"
        "spec:\n  components: []\n  hostInterfaces:\n    - {namespace: wasi, package: "
        "keyvalue, interfaces: [store], config: {url: 'redis://:s3cr3t@r:6379'}}\n"
    )
    caplog.set_level("DEBUG")  # what a server at --log-level debug would record
    code = main(["check", str(manifest), "--rules", str(rule)])
    out, err = capsys.readouterr()
    assert code == 1
    assert (
        "[rule-error] spec.hostInterfaces: Invalid value: rule 'needs-bucket' could not be "
        "evaluated on this object: it reads a field or key the object does not have "
        "(bindcheck check --debug prints the engine's message)"
    ) in out
    assert "debug:" not in err and "bucket" not in caplog.text, [
        (r.name, r.getMessage()) for r in caplog.records
    ]
    code = main(["check", str(manifest), "--rules", str(rule), "--debug"])
    out, err = capsys.readouterr()
    assert code == 1
    assert "bindcheck: debug: rule 'needs-bucket' on spec.hostInterfaces: " in err
    assert '"bucket"' in err, err  # the engine names the key it did not find
    code = main(["check", str(manifest), "--rules", str(rule)])  # and only for that run
    assert "debug:" not in capsys.readouterr().err
