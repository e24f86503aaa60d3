"""CEL rules as data: loading ``rules/*.yaml``, compiling once, evaluating per object.

A rule file holds one rule per YAML document::

    id: single-unnamed              # unique; what users override actions by
    policy: upstream                # upstream | strict | all
    action: deny                    # deny | warn | audit
    reason: FieldValueDuplicate     # a Kubernetes cause type
    scope: entry                    # list: one bool; entry: one bool per entry
    variables:                      # optional, evaluated in order as variables.<name>
      - name: keys
        expression: self.map(x, ...)
    expression: self.map(x, ...)    # `self` is the hostInterfaces list (escaped field names)
    groupBy: self.map(x, ...)       # optional, entry scope: failing entries with one key
                                    # become one violation naming them all
    fieldPath: .name                # relative to the entry (entry scope) or the list
    message: "{entries} are ..."    # placeholders: entries, interface, entry, name, version
    onlyIfShared: [namespace, package, name]
                                    # optional, entry scope: see below

Field names are escaped as the Kubernetes API server escapes them for CEL:
``namespace`` is ``__namespace__``, ``package`` is ``__package__``.

``onlyIfShared`` is a claim the rule's author makes and bindcheck trusts: an
entry can only fail the rule when another entry agrees with it on all the listed
fields (an absent field counts as ``""``), and whether it fails depends only on
those entries. bindcheck then evaluates the expression on just the entries that
share their fields with another (on none: not at all). Pairwise rules cost O(n²)
in CEL, plus converting the list for the engine: about 0.6 ms at 64 entries,
on the API server's hot path. With the claim, a list whose entries all differ
costs one pass in Python, and a list with one duplicate pair costs CEL on two
entries. Where the claim applies the expression alone decides, and messages
name the same entries. tests/test_cel_engines.py holds the shipped rules to it.
"""

from __future__ import annotations

import logging
import os
import re
from collections import Counter
from collections.abc import Callable, Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from operator import itemgetter
from pathlib import Path
from typing import Any

import yaml

from webhook.cel.cost import CostError, Estimator
from webhook.cel.engines import (
    Bound,
    CelCompileError,
    CelEvalError,
    Engine,
    Program,
    parse_tree,
    result_type,
)
from webhook.cel.native import Native, native_for
from webhook.config_files import compose_config, construct_config
from webhook.errors import InputError, RuleLoadError
from webhook.model import HostInterface, Workload
from webhook.rulebook import RULE_ERROR
from webhook.runtime.wit import display
from webhook.text import did_you_mean, shown
from webhook.violations import Action, Policy, Reason, Violation, entry_label

RULE_ID = re.compile(r"^[a-z0-9][a-z0-9-]{0,62}$")
FIELD_PATH = re.compile(r"^(?:\.[A-Za-z_][A-Za-z0-9_-]*|\[[0-9]+\])*$")
"""A rule's ``fieldPath``: ``.field`` steps and ``[index]`` steps, as the API server
requires of ``x-kubernetes-validations[].fieldPath``, and nothing else: it is quoted in
messages and in exported policies."""
_PLACEHOLDER = re.compile(r"\{(entries|interface|entry|name|version)\}")
_FIELDS = {
    "id", "description", "policy", "action", "reason", "scope", "variables",
    "expression", "groupBy", "fieldPath", "message", "onlyIfShared",
}  # fmt: skip
SHAREABLE_FIELDS = ("namespace", "package", "name", "version")
"""Entry fields ``onlyIfShared`` may list: the scalar identity of an entry."""
_REQUIRED = ("id", "expression", "message", "reason")
MAX_EXPRESSION = 10_000
"""Characters of one expression; real rules are a few hundred."""


def _acceptable(produced: str, wants: str) -> bool:
    """Whether a checked result type can be what a rule field needs (``dyn``: decided
    when it runs)."""
    if wants == "any" or produced == "dyn":
        return True
    if wants == "list":
        return produced == "bool"
    if wants == "entry":
        return produced in ("list(bool)", "list(dyn)")
    return produced.startswith("list(")


_DESCRIBED = {
    "list": "a bool (scope: list)",
    "entry": "a list of bools, one per entry (scope: entry)",
    "keys": "a list, one key per entry",
}


@dataclass(frozen=True, slots=True)
class Rule:
    """A loaded, compiled rule."""

    id: str
    description: str
    policy: str
    action: Action
    reason: Reason
    scope: str
    message: str
    field_path: str
    expression: Program | None
    """``None`` when :attr:`native` runs the rule (then nothing of it is compiled)."""
    variables: tuple[tuple[str, Program | None], ...]
    group_by: Program | None
    source: str
    line: int
    only_if_shared: tuple[str, ...] = ()
    shared_key: Callable[[tuple[str, ...]], Any] | None = None
    """Picks the ``onlyIfShared`` fields from an entry's identity; ``None`` when they are
    all four (the identity itself) or there are none."""
    native: Native | None = None
    """The same rule in Python (webhook/cel/native.py), when its CEL is the shipped text."""
    cel: tuple[tuple[tuple[str, str], ...], str, str] = ((), "", "")
    """The CEL as written: (variables as (name, expression), expression, groupBy)."""

    def applies_to(self, policy: Policy) -> bool:
        return self.policy in ("all", policy.value)

    def involved(self, entries: Sequence[HostInterface]) -> list[int] | None:
        """Positions of the entries the expression must see; ``None`` for all of them.

        With ``onlyIfShared``: the entries that agree with another on its fields.
        """
        fields = self.only_if_shared
        if not fields:
            return None
        keys: list[Any] = [entry.identity for entry in entries]
        if self.shared_key is not None:
            keys = list(map(self.shared_key, keys))
        if len(set(keys)) == len(keys):  # the common list: every entry differs
            return []
        counts = Counter(keys)
        return [i for i, key in enumerate(keys) if counts[key] > 1]


def builtin_rules_dir() -> Path:
    """The shipped rules: ``$BINDCHECK_BUILTIN_RULES``, else the package's copy.

    ``webhook/data/rules`` is a link to the top-level ``rules/`` in a checkout and
    a real directory inside a built wheel.
    """
    override = os.environ.get("BINDCHECK_BUILTIN_RULES")
    return Path(override) if override else Path(__file__).resolve().parents[1] / "data" / "rules"


def rule_files(path: Path) -> list[Path]:
    """A rule file, or the ``*.yaml``/``*.yml`` files of a directory, sorted; a path that
    does not exist is a load error."""
    if path.is_file():
        return [path]
    if not path.is_dir():
        raise RuleLoadError(str(path), 0, "no such rule file or directory")
    return sorted(p for p in path.iterdir() if p.suffix in (".yaml", ".yml") and p.is_file())


def load_rules(paths: Iterable[Path], engine: Engine, native: bool = True) -> list[Rule]:
    """Load and compile every rule in ``paths``; the first bad one raises with file and line.

    ``native``: a rule whose CEL is the shipped text runs as Python and is not
    compiled (see :func:`load_rule_text`)."""
    rules: list[Rule] = []
    seen: dict[str, str] = {}
    for path in paths:
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise RuleLoadError(str(path), 0, f"cannot read rule file: {exc}") from None
        for rule in load_rule_text(text, str(path), engine, native):
            if rule.id in seen:
                raise RuleLoadError(
                    str(path), rule.line, f"rule id {rule.id!r} already defined in {seen[rule.id]}"
                )
            seen[rule.id] = f"{path}:{rule.line}"
            rules.append(rule)
    return rules


def load_rule_text(text: str, source: str, engine: Engine, native: bool = True) -> list[Rule]:
    """Rules from one YAML text (one rule per document).

    ``native``: a rule whose CEL is, byte for byte, a shipped rule's gets that rule's
    Python evaluator (webhook/cel/native.py) and is not compiled: its text is the one
    tests/test_rule_loading.py compiles, type-checks and bounds under both engines, and
    the CEL engine then never loads (about 8 MiB of a server's memory). ``False``: every
    rule is compiled and runs as CEL (the reference the evaluators are tested against).

    Read strictly, like manifests: duplicate keys, alias bombs, deep nesting and
    anything that is not plain data stop the load with file and line.
    """
    try:
        nodes = compose_config(text, source)
    except InputError as exc:
        raise RuleLoadError(source, exc.line, exc.message) from None
    rules = []
    for node in nodes:
        if not isinstance(node, yaml.MappingNode):
            raise RuleLoadError(source, node.start_mark.line + 1, "a rule must be a mapping")
        rules.append(_build_rule(node, source, engine, native))
    return rules


def _build_rule(node: yaml.MappingNode, source: str, engine: Engine, native: bool) -> Rule:
    line = node.start_mark.line + 1
    try:
        data = construct_config(node, source)
    except InputError as exc:
        raise RuleLoadError(source, exc.line, exc.message) from None
    lines = {
        k.value: k.start_mark.line + 1 for k, _ in node.value if isinstance(k, yaml.ScalarNode)
    }

    def fail(key: str, message: str) -> RuleLoadError:
        return RuleLoadError(source, lines.get(key, line), message)

    for key in data:
        if key not in _FIELDS:
            raise fail(
                str(key),
                f"unknown rule field '{shown(str(key), 60)}'"
                + (did_you_mean(str(key), _FIELDS) or f" (known: {', '.join(sorted(_FIELDS))})"),
            )
    for key in _REQUIRED:
        if not isinstance(data.get(key), str) or not data[key].strip():
            raise fail(key, f"rule field {key!r} is required and must be a non-empty string")
    rule_id = data["id"]
    if not RULE_ID.match(rule_id):
        raise fail("id", f"rule id {rule_id!r} must be lowercase letters, digits and '-'")
    policy = data.get("policy", "all")
    if policy not in ("upstream", "strict", "all"):
        raise fail("policy", f"policy {policy!r} must be upstream, strict or all")
    scope = data.get("scope", "list")
    if scope not in ("list", "entry"):
        raise fail("scope", f"scope {scope!r} must be list or entry")
    try:
        action = Action(data.get("action", "deny"))
    except ValueError:
        raise fail("action", f"action {data.get('action')!r} must be deny, warn or audit") from None
    try:
        reason = Reason(data["reason"])
    except ValueError:
        given, reasons = str(data["reason"]), [r.value for r in Reason]
        raise fail(
            "reason",
            f"reason '{shown(given)}' must be one of {', '.join(reasons)}"
            + did_you_mean(given, reasons),
        ) from None
    if "groupBy" in data and scope != "entry":
        raise fail("groupBy", "groupBy needs scope: entry")

    bounds = Estimator()
    texts = _cel_texts(data)
    evaluator = native_for(rule_id, *texts) if native else None

    def compile_at(key: str, expression: Any, wants: str, variable: str = "") -> Program | None:
        """Compile, type-check (``wants``: bool, list or bools) and bound the cost."""
        if not isinstance(expression, str) or not expression.strip():
            raise fail(key.split("[")[0], f"{key} must be a CEL expression string")
        where = lines.get(key.split("[")[0], line)
        if len(expression) > MAX_EXPRESSION:
            raise RuleLoadError(
                source, where, f"rule {rule_id!r}: {key} is over {MAX_EXPRESSION} characters"
            )
        if evaluator is not None:
            return None  # the shipped text, run as Python
        try:
            program = engine.compile(expression)
            produced = result_type(expression)
            tree = parse_tree(expression)
        except (CelCompileError, RecursionError) as exc:
            reason = "nested too deeply" if isinstance(exc, RecursionError) else str(exc)
            message = f"rule {rule_id!r}: {key} does not compile: {reason}"
            raise RuleLoadError(source, where, message) from None
        if not _acceptable(produced, wants):
            raise RuleLoadError(
                source,
                where,
                f"rule {rule_id!r}: {key} returns {produced}; it must return {_DESCRIBED[wants]}",
            )
        try:
            if variable:
                bounds.define(variable, tree)
            else:
                bounds.estimate(tree)
        except CostError as exc:
            message = f"rule {rule_id!r}: {key} {exc}"
            raise RuleLoadError(source, where, message) from None
        return program

    shared = data.get("onlyIfShared", [])
    if "onlyIfShared" in data:
        if scope != "entry":
            raise fail("onlyIfShared", "onlyIfShared needs scope: entry")
        if not (
            isinstance(shared, list)
            and shared
            and all(isinstance(f, str) and f in SHAREABLE_FIELDS for f in shared)
            and len(set(shared)) == len(shared)  # [name, name, name, name] is not all four
        ):
            choices = ", ".join(SHAREABLE_FIELDS)
            raise fail(
                "onlyIfShared", f"onlyIfShared must be a non-empty list of distinct: {choices}"
            )

    field_path = data.get("fieldPath", "")
    if not (
        isinstance(field_path, str) and len(field_path) <= 256 and FIELD_PATH.match(field_path)
    ):
        raise fail(
            "fieldPath",
            "fieldPath must be a path of .field and [index] steps, e.g. .config.backend "
            "(at most 256 characters)",
        )

    variables = []
    raw_vars = data.get("variables") or []
    if not isinstance(raw_vars, list):
        raise fail("variables", "variables must be a list of {name, expression}")
    for i, var in enumerate(raw_vars):
        if not isinstance(var, dict) or not isinstance(var.get("name"), str):
            raise fail("variables", f"variables[{i}] needs a name and an expression")
        name = var["name"]
        if not RULE_ID.match(name.replace("_", "-")) or name != name.strip():
            raise fail("variables", f"variables[{i}] name must be a CEL identifier")
        program = compile_at(f"variables[{i}]", var.get("expression"), "any", variable=name)
        variables.append((name, program))
    return Rule(
        id=rule_id,
        description=str(data.get("description") or data["message"]).strip(),
        policy=policy,
        action=action,
        reason=reason,
        scope=scope,
        message=data["message"].strip(),
        field_path=field_path,
        expression=compile_at("expression", data["expression"], scope),
        variables=tuple(variables),
        group_by=compile_at("groupBy", data["groupBy"], "keys") if "groupBy" in data else None,
        source=source,
        line=line,
        only_if_shared=tuple(shared),
        shared_key=(
            itemgetter(*map(SHAREABLE_FIELDS.index, shared))
            if shared and len(shared) < len(SHAREABLE_FIELDS)
            else None
        ),
        native=evaluator,
        cel=(tuple(texts[0]), texts[1], texts[2]),
    )


def _cel_texts(data: dict[str, Any]) -> tuple[list[tuple[str, str]], str, str]:
    """A rule's CEL as written: its variables, expression and groupBy (malformed parts
    as they are; they match no native evaluator and fail to compile below)."""
    raw_vars = data.get("variables") or []
    variables = [
        (str(v.get("name")), str(v.get("expression")))
        for v in (raw_vars if isinstance(raw_vars, list) else [])
        if isinstance(v, dict)
    ]
    return variables, str(data["expression"]), str(data.get("groupBy", ""))


ENGINE_LOG = logging.getLogger("bindcheck.rules.engine")
"""The engine's own text when a rule cannot be evaluated, for rule authors (``check
--debug``). It may quote the object's values, so it never reaches the server's logs:
it does not propagate and stays disabled, whatever the log level, except while ``check
--debug`` runs with a handler of its own."""
ENGINE_LOG.propagate = False
ENGINE_LOG.disabled = True
ENGINE_LOG.addHandler(logging.NullHandler())


def evaluate(
    rule: Rule, workload: Workload, bound: Bound, entries: list[HostInterface]
) -> list[Violation]:
    """Violations of one rule on one list (``bound`` holds it, converted for the engine).

    An evaluation failure is a ``rule-error`` violation, never an exception.
    """
    try:
        return _evaluate(rule, workload, bound, entries)
    except CelEvalError as exc:
        if ENGINE_LOG.isEnabledFor(logging.DEBUG):
            ENGINE_LOG.debug(
                "rule '%s' on %s: %s", rule.id, workload.list_path, shown(str(exc), 2000)
            )
        return [
            RULE_ERROR.at(
                workload.list_path,
                Reason.INVALID,
                f"rule {rule.id!r} could not be evaluated on this object: {_failure(exc)} "
                "(bindcheck check --debug prints the engine's message)",
            )
        ]


_FAILURES = (
    ("budget exceeded", "it ran out of its evaluation budget"),
    ("no such key", "it reads a field or key the object does not have"),
    ("key not found", "it reads a field or key the object does not have"),
    ("no_such_field", "it reads a field or key the object does not have"),
    ("no such attribute", "it reads a field or key the object does not have"),
    ("overload", "a value has a type the rule does not handle"),
    ("must return", "it returned a value of the wrong type"),
    ("one bool per entry", "it returned a value of the wrong type"),
)


def _failure(exc: CelEvalError) -> str:
    """Why evaluation failed, in words of ours: the engine's text may quote the object's
    values (a config value in a failed comparison), which no message may carry."""
    text = str(exc).lower()
    return next((why for key, why in _FAILURES if key in text), "it failed on this object")


def _evaluate(
    rule: Rule, workload: Workload, bound: Bound, entries: list[HostInterface]
) -> list[Violation]:
    # A rule loaded to run natively has nothing compiled; it never comes here
    assert rule.expression is not None, f"rule {rule.id!r} was loaded to run natively"
    variables: dict[str, Any] = {}
    for name, program in rule.variables:
        assert program is not None  # compiled with the expression
        variables[name] = bound.run(program, variables)
    result = bound.run(rule.expression, variables)
    if rule.scope == "list":
        if not isinstance(result, bool):
            raise CelEvalError(f"expression must return a bool, got {type(result).__name__}")
        if result:
            return []
        field = workload.list_path + rule.field_path
        return [Violation(field, rule.reason, _render(rule.message, []), rule.id, rule.action)]
    if not (isinstance(result, list) and len(result) == len(entries)):
        raise CelEvalError("an entry-scope expression must return one bool per entry")
    verdicts = [ok is True for ok in result]
    if all(verdicts):
        return []
    keys = bound.run(rule.group_by, variables) if rule.group_by is not None else None
    groups: list[Hashable] = (
        [repr(k) for k in keys]
        if isinstance(keys, list) and len(keys) == len(result)
        else list(range(len(result)))
    )
    return _entry_violations(rule, workload, verdicts, groups, entries)


def evaluate_native(
    rule: Rule, workload: Workload, cel_entries: list[dict[str, Any]], entries: list[HostInterface]
) -> list[Violation]:
    """Violations of a rule with a native evaluator: the same as :func:`evaluate`'s."""
    assert rule.native is not None
    verdicts, groups = rule.native(cel_entries)
    if all(verdicts):
        return []
    return _entry_violations(rule, workload, verdicts, groups, entries)


def _entry_violations(
    rule: Rule,
    workload: Workload,
    verdicts: list[bool],
    groups: list[Hashable],
    entries: list[HostInterface],
) -> list[Violation]:
    """One violation per group of failing entries, at the group's last entry."""
    grouped: dict[Hashable, list[int]] = {}
    for i, ok in enumerate(verdicts):
        if not ok:
            grouped.setdefault(groups[i], []).append(i)
    out = []
    for indexes in grouped.values():
        group = [entries[i] for i in indexes]
        out.append(
            Violation(
                workload.entry_path(group[-1].index, rule.field_path),
                rule.reason,
                _render(rule.message, group),
                rule.id,
                rule.action,
            )
        )
    return out


def _render(template: str, group: list[HostInterface]) -> str:
    """Fill the few known placeholders; anything else in braces stays as written."""
    first = group[0] if group else None
    values: Mapping[str, str] = {
        "entries": entry_label(e.index for e in group),
        "interface": first.package_label if first else "",
        "entry": display(first) if first else "",
        "name": shown(first.name or "(unnamed)") if first else "",
        "version": shown(first.version or "(no version)") if first else "",
    }
    return _PLACEHOLDER.sub(lambda m: values[m.group(1)], template)
