"""The rule registry (webhook/rulebook.py) is the one home of every Python rule: the
export's builders, the chart and the entry each violation is about follow it."""

from __future__ import annotations

import re
from pathlib import Path

from conftest import ROOT, entry, workload

from webhook.core import build_validator
from webhook.export.plan import BUILDERS
from webhook.rulebook import RULES, RuleSpec, Scope
from webhook.runtime.catalog_files import load_catalog, parse_catalog
from webhook.violations import Policy

P = "spec.template.spec.hostInterfaces"

SCHEMA_BREAKERS = [
    ("schema-type", {"namespace": "wasi", "package": "keyvalue", "interfaces": "store"}),
    ("schema-required", {"namespace": "wasi", "interfaces": ["store"]}),
    ("schema-max-length", entry(name="n" * 300)),
    ("schema-pattern", entry(name="Not_A_Label")),
    ("schema-min-items", entry(interfaces=[])),
    ("schema-unknown-field", entry(colour="blue")),
]
"""One entry per entry-scoped schema rule; each sits at its own index."""

KV = {"interfaces": ["store", "atomics", "batch"], "version": "0.2.0-draft"}
PG = {"interfaces": ["types", "query", "prepared"], "version": "0.1.1-draft"}
HOST_BREAKERS = [
    ("interface-unavailable", entry("wasi", "nosuch", version="0.1.0")),
    ("backend-unknown", entry(name="a", config={"backend": "etcd"}, **KV)),
    ("backend-config-missing", entry(name="b", config={"backend": "redis"}, **KV)),
    ("plugin-config-missing", entry("wasmcloud", "postgres", **PG)),
    ("plugin-unconfigured", entry("wasmcloud", "postgres", config={"database": "db"}, **PG)),
    ("backend-ignored", entry(config={"backend": "redis"}, **KV)),
    (
        "config-unread",
        entry(name="c", config={"backend": "redis", "url": "redis://r", "password": "p"}, **KV),
    ),
]
"""One entry per entry-scoped host rule on the embedded default catalog."""


def test_the_export_builds_exactly_the_rules_the_registry_marks_as_exported():
    exported = {spec.id for spec in RULES.values() if spec.unexported is None}
    assert set(BUILDERS) == exported


def test_every_rule_the_registry_declares_is_in_its_table_once():
    import webhook.rulebook as rulebook

    declared = [v for v in vars(rulebook).values() if isinstance(v, RuleSpec)]
    assert sorted(s.id for s in declared) == sorted(RULES)
    assert all(RULES[s.id] is s for s in declared)


def test_no_module_spells_a_rule_id_outside_the_registry():
    ids = "|".join(re.escape(i) for i in RULES)
    spelt = []
    for path in sorted((ROOT / "webhook").rglob("*.py")):
        if path.name == "rulebook.py":
            continue
        for n, line in enumerate(path.read_text().splitlines(), 1):
            if re.search(rf"[\"']({ids})[\"']", line):
                spelt.append(f"{Path(path).relative_to(ROOT)}:{n}: {line.strip()}")
    assert spelt == []


def _entry_scoped(breakers, validator):
    entries = [b for _, b in breakers]
    outcome = validator.check(workload(entries))
    assert outcome is not None
    seen = {}
    for violation in outcome.violations:
        spec = RULES.get(violation.rule)  # CEL rules (rules/) are not in it
        if spec is not None and spec.scope is Scope.ENTRY:
            seen.setdefault(violation.rule, set()).add(violation.entry)
            assert violation.field.startswith(f"{P}[{violation.entry}]"), violation
    return seen


def test_entry_scoped_violations_name_the_entry_they_are_about():
    schema = _entry_scoped(SCHEMA_BREAKERS, build_validator(Policy.UPSTREAM, catalog=None))
    assert schema == {rule: {k} for k, (rule, _) in enumerate(SCHEMA_BREAKERS)}
    hosted = build_validator(Policy.UPSTREAM, catalog=load_catalog(None))
    host = _entry_scoped(HOST_BREAKERS, hosted)
    # The postgres entry without a database is also one the host, as started, cannot serve.
    planted = {rule: {k} for k, (rule, _) in enumerate(HOST_BREAKERS)}
    assert host == planted | {"plugin-unconfigured": {3, 4}}
    # Two plain keyvalue servers on a host that tries plugins in hash order (v2.6)
    two_servers = parse_catalog(
        "extends: wasmcloud@2.6\nplugins: [{id: redis-kv, worlds: [{namespace: wasi, "
        "package: keyvalue, imports: [store]}]}]\nhostGroups: [{name: default, plugins: "
        "[redis-kv, wasi-keyvalue]}]\n",
        "two-servers",
    )
    order = _entry_scoped(
        [("plugin-order-undefined", entry(interfaces=["store"]))],
        build_validator(Policy.UPSTREAM, catalog=two_servers),
    )
    assert order == {"plugin-order-undefined": {0}}
    # The lists together reach every entry-scoped rule: none goes unchecked here.
    entry_rules = {s.id for s in RULES.values() if s.scope is Scope.ENTRY}
    assert entry_rules == set(schema) | set(host) | set(order)
