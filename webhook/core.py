"""The validation core: one object in, every violation out. The CLI and the server are shells.

Data flows one way: object → workload location (workloads.py) → schema → naming
rules (CEL for ``upstream``, Python for ``strict``) → host capability (when a catalog
is loaded) → per-rule actions. What may be remembered between reviews is asked of
the validator's :class:`~webhook.facts.Facts` (webhook/facts.py); this module never
decides what is remembered.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Protocol

from webhook.cel.engines import DEFAULT_ENGINE, Bound, Engine, make_engine
from webhook.cel.rules import (
    Rule,
    builtin_rules_dir,
    evaluate,
    evaluate_native,
    load_rules,
    rule_files,
)
from webhook.checks.capability import check_capability
from webhook.checks.naming import check_strict_naming
from webhook.checks.schema import check_schema, check_spec_gap
from webhook.crd import MAX_ENTRIES
from webhook.errors import UnknownRule
from webhook.facts import FRESH, FRESH_REVIEW, Facts, Review
from webhook.model import HostInterface, Workload
from webhook.rulebook import API_VERSION_UNKNOWN, KIND_UNKNOWN, RULES, VIOLATIONS_TRUNCATED
from webhook.runtime.catalog import Catalog
from webhook.runtime.hosts import Hosts
from webhook.text import did_you_mean, shown
from webhook.violations import Action, Policy, Reason, RuleInfo, Violation
from webhook.workloads import identity, locate, unserved


@dataclass(frozen=True, slots=True)
class Outcome:
    """The verdict on one workload object."""

    kind: str
    name: str
    namespace: str
    violations: tuple[Violation, ...]

    @property
    def denials(self) -> list[Violation]:
        return [v for v in self.violations if v.action is Action.DENY]

    @property
    def warnings(self) -> list[Violation]:
        return [v for v in self.violations if v.action is Action.WARN]

    @property
    def audits(self) -> list[Violation]:
        return [v for v in self.violations if v.action is Action.AUDIT]

    @property
    def allowed(self) -> bool:
        return not self.denials


class Judge(Protocol):
    """What judges one object: a :class:`Validator`, or one per release of a cluster's
    hosts (webhook/fleet.py)."""

    def check(self, obj: Any) -> Outcome | None: ...


@dataclass(frozen=True, slots=True)
class Examined:
    """An outcome with the typed workload behind it (:meth:`Validator.examine`)."""

    outcome: Outcome
    workload: Workload
    entries: list[HostInterface]


@dataclass(frozen=True, slots=True)
class Validator:
    """Compiled rules plus settings; build once, call :meth:`check` per object.

    Thread-safe: nothing here changes after construction, and ``facts`` guards its own
    tables (webhook/memo)."""

    policy: Policy = Policy.UPSTREAM
    rules: Sequence[Rule] = ()
    catalog: Catalog | None = None
    actions: dict[str, Action] = field(default_factory=dict)
    disabled: frozenset[str] = frozenset()
    engine: Engine | None = None
    facts: Facts = FRESH
    """What is remembered between reviews: nothing (``FRESH``), or what a caller passes
    in (the server passes ``webhook.memo.Remembering``)."""
    hosts: Hosts | None = field(init=False, repr=False)
    """The catalog's hosts, ready to bind entries."""
    active: tuple[tuple[Rule, frozenset[str]], ...] = field(init=False, repr=False)
    """The rules that run under ``policy`` and are not disabled, with their
    ``onlyIfShared`` fields as a set: worked out once, not per review."""

    def __post_init__(self) -> None:
        active = tuple(
            (rule, frozenset(rule.only_if_shared))
            for rule in self.rules
            if rule.applies_to(self.policy) and rule.id not in self.disabled
        )
        object.__setattr__(self, "active", active)
        object.__setattr__(self, "hosts", Hosts(self.catalog) if self.catalog else None)

    @property
    def crd_rules(self) -> frozenset[str]:
        """The CEL rules that are the CRD's own x-kubernetes-validations: the shipped
        upstream-policy rules (rules/upstream-*.yaml), whether they run or not."""
        shipped = builtin_rules_dir()
        return frozenset(
            rule.id
            for rule in self.rules
            if rule.policy == Policy.UPSTREAM.value and Path(rule.source).parent == shipped
        )

    @property
    def crd_rules_run(self) -> bool:
        """Whether every one of :attr:`crd_rules` runs (not under policy strict, none off)."""
        return self.crd_rules <= {rule.id for rule, _ in self.active}

    def check(self, obj: Any) -> Outcome | None:
        """The outcome for a bindcheck kind; ``None`` for any other object (not ours to judge)."""
        ident = identity(obj)
        if ident is None:
            return self._unserved(obj)
        kind, name, namespace = ident
        workload, gap = locate(obj, kind, name, namespace)
        if gap is not None:
            return Outcome(kind, name, namespace, tuple(self._settle([check_spec_gap(gap)])))
        review = self.facts.review(workload)
        verdict = review.verdict()
        if verdict is None:
            verdict = tuple(self._settle(self._check_workload(workload, review)[0]))
            review.keep_verdict(verdict)
        return Outcome(kind, name, namespace, verdict)

    def examine(self, obj: Any) -> Examined | None:
        """:meth:`check`, computed fresh, with the typed workload it judged: what
        ``resolve`` builds its routing tables from. ``None`` for objects not ours."""
        ident = identity(obj)
        if ident is None:
            return None
        kind, name, namespace = ident
        workload, gap = locate(obj, kind, name, namespace)
        if gap is not None:
            found, entries = [check_spec_gap(gap)], list[HostInterface]()
        else:
            found, entries = self._check_workload(workload, FRESH_REVIEW)
        outcome = Outcome(kind, name, namespace, tuple(self._settle(found)))
        return Examined(outcome, workload, entries)

    def _unserved(self, obj: Any) -> Outcome | None:
        """An object meant for our group that the API server refuses (a misspelt kind or
        apiVersion): denied by ``kind-unknown`` or ``api-version-unknown``, nothing checked."""
        found = unserved(obj)
        if found is None:
            return None
        rule = KIND_UNKNOWN if found.field == "kind" else API_VERSION_UNKNOWN
        message = f"{found.problem}: the API server refuses it, and bindcheck checked nothing in it"
        violation = rule.at(found.field, Reason.NOT_SUPPORTED, message)
        kind = shown(found.kind, 64)
        return Outcome(kind, found.name, found.namespace, tuple(self._settle([violation])))

    def _check_workload(
        self, workload: Workload, review: Review
    ) -> tuple[list[Violation], list[HostInterface]]:
        """Every violation, before actions apply, and the entries that could be typed."""
        schema = check_schema(workload, review)
        out = list(schema.violations)
        entries = schema.entries
        if isinstance(workload.raw_entries, list) and len(workload.raw_entries) > MAX_ENTRIES:
            # The API server refuses the list on its size alone; the pairwise rules would
            # cost O(n^2) on a list an attacker can make as long as the body allows.
            return out, entries
        if self.policy is Policy.STRICT:
            out.extend(check_strict_naming(workload, entries))
        cel_input = schema.cel_input
        if cel_input is not None and self.engine is not None:
            out.extend(self._run_rules(workload, entries, cel_input, self.engine))
        if self.hosts is not None and cel_input is not None:
            out.extend(check_capability(workload, entries, self.hosts, review))
        return out, entries

    def _run_rules(
        self,
        workload: Workload,
        entries: list[HostInterface],
        cel_input: list[dict[str, Any]],
        engine: Engine,
    ) -> list[Violation]:
        """The active CEL rules, each on the entries it must see (see ``onlyIfShared``)."""
        out: list[Violation] = []
        whole: Bound | None = None  # the full list, converted for the engine once
        # Field sets on which every entry differs: entries that differ on some fields
        # differ on more, so a rule sharing a superset of them has nothing to see.
        distinct: list[frozenset[str]] = []
        for rule, shared in self.active:
            if shared and any(fields <= shared for fields in distinct):
                continue
            involved = rule.involved(entries)
            if involved == []:
                distinct.append(shared)
                continue
            if involved is None:
                some_cel, some = cel_input, entries
            else:
                some_cel, some = [cel_input[i] for i in involved], [entries[i] for i in involved]
            if rule.native is not None:
                out.extend(evaluate_native(rule, workload, some_cel, some))
            elif involved is None:
                whole = whole or engine.bind(cel_input)
                out.extend(evaluate(rule, workload, whole, entries))
            else:
                out.extend(evaluate(rule, workload, engine.bind(some_cel), some))
        return out

    def _settle(self, found: Iterable[Violation]) -> list[Violation]:
        """Drop disabled rules, apply per-rule action overrides, and bound the answer.

        Every message and field is clipped and escaped here, whatever raised it (a user
        rule's message may quote anything), and an object gets at most
        :data:`MAX_VIOLATIONS` violations and one more that counts the rest.
        """
        out: list[Violation] = []
        omitted: list[Violation] = []
        for violation in found:
            if violation.rule in self.disabled:
                continue
            action = self.actions.get(violation.rule)
            if action is not None and action is not violation.action:
                violation = replace(violation, action=action)
            if len(out) >= MAX_VIOLATIONS:
                omitted.append(violation)
                continue
            out.append(_bounded(violation))
        if omitted:
            denies = any(v.action is Action.DENY for v in omitted)
            out.append(
                VIOLATIONS_TRUNCATED.at(
                    out[0].field.split("[", 1)[0],
                    Reason.TOO_MANY,
                    f"{len(omitted)} more violations not shown; fix the ones above first",
                    action=Action.DENY if denies else Action.WARN,
                )
            )
        return out

    @property
    def rule_descriptions(self) -> dict[str, str]:
        """Every rule id this validator can raise, with what it means."""
        return {r.id: r.description for r in self.rule_table()}

    def rule_table(self) -> list[RuleInfo]:
        """Every rule: Python checks and CEL rules, with the action this validator applies
        (``off`` when disabled) and the policy it runs under."""
        table = [spec.info for spec in RULES.values()]
        table += [
            RuleInfo(r.id, r.description, r.action, r.policy, f"CEL, {r.source}:{r.line}")
            for r in self.rules
        ]
        return [
            replace(info, action=self.actions.get(info.id, info.action))
            if info.id not in self.disabled
            else replace(info, action="off")
            for info in sorted(table, key=lambda i: i.id)
        ]


MAX_VIOLATIONS = 100
"""Violations reported for one object; a 3 MiB object of bad entries gets a short answer."""
MAX_MESSAGE = 1024
MAX_FIELD = 512


def _bounded(violation: Violation) -> Violation:
    """A violation whose message and field are clipped and escaped (cheap when they are)."""
    message, field = violation.message, violation.field
    if len(message) <= MAX_MESSAGE and len(field) <= MAX_FIELD and (message + field).isprintable():
        return violation
    return replace(violation, message=shown(message, MAX_MESSAGE), field=shown(field, MAX_FIELD))


def build_validator(
    policy: Policy = Policy.UPSTREAM,
    extra_rule_dirs: Iterable[Path] = (),
    catalog: Catalog | None = None,
    actions: dict[str, Action] | None = None,
    disabled: Iterable[str] = (),
    engine: str = DEFAULT_ENGINE,
    native: bool = True,
    facts: Facts = FRESH,
) -> Validator:
    """Load and compile the built-in rules and any extra rule directories.

    Raises :class:`webhook.errors.RuleLoadError` for a bad rule file and
    :class:`webhook.errors.ConfigError` for an action override naming no rule.
    ``native=False`` runs every rule as CEL (the reference the native evaluators are
    tested against). ``facts``: what is remembered between reviews (webhook/facts.py).
    """
    cel = make_engine(engine)
    files = rule_files(builtin_rules_dir())
    for directory in extra_rule_dirs:
        files.extend(rule_files(directory))
    rules = load_rules(files, cel, native)
    validator = Validator(
        policy, rules, catalog, dict(actions or {}), frozenset(disabled), cel, facts
    )
    known = set(validator.rule_descriptions)
    for rule_id in [*validator.actions, *validator.disabled]:
        if rule_id not in known:
            hint = did_you_mean(rule_id, known) or f"; known rules: {', '.join(sorted(known))}"
            raise UnknownRule(rule_id, f"no rule with id '{shown(rule_id, 64)}'{hint}")
    return validator
