"""Naming rules in CEL: the rule files' expressions, and the strict policy's two rules."""

from __future__ import annotations

import re

from webhook.cel.rules import Rule
from webhook.export.cel_text import entry_label, index, lit, shown
from webhook.export.workload_cel import Check, item
from webhook.rulebook import NAME_REQUIRED
from webhook.violations import Action

_PLACEHOLDER = re.compile(r"\{(entries|interface|entry|name|version)\}")
_TOKEN = re.compile(
    r"""(?P<string>[rR]?(?:'''.*?'''|\"\"\".*?\"\"\"|'(?:\\.|[^'\\])*'|"(?:\\.|[^"\\])*"))"""
    r"|(?P<vars>\bvariables\s*\.\s*(?P<var>[A-Za-z_][A-Za-z0-9_]*))"
    r"|(?P<ident>(?<![.\w])[A-Za-z_][A-Za-z0-9_]*)",
    re.S,
)


def _rewrite(expression: str, prefix: str) -> str:
    """A rule's CEL for a policy: ``self`` is the escaped list, the rule's variables are
    renamed into the policy's namespace. String literals are left alone."""

    def swap(match: re.Match[str]) -> str:
        if match.group("string"):
            return match.group(0)
        if match.group("vars"):
            return f"variables.{prefix}_{match.group('var')}"
        return "variables.cel_self" if match.group("ident") == "self" else match.group(0)

    return _TOKEN.sub(swap, expression)


def cel_rule(k: int, rule: Rule, action: Action) -> Check:
    prefix = f"r{k}"
    texts, expression, group_by = rule.cel
    variables = [(f"{prefix}_{name}", _rewrite(text, prefix)) for name, text in texts]
    variables.append((f"{prefix}_ok", _rewrite(expression, prefix)))
    if rule.scope == "list":
        message = _render(rule.message, None)
        whole = f'"[{rule.id}] " + variables.path + {lit(rule.field_path + ": ")} + {message}'
        return Check(rule.id, action, variables, f"(variables.{prefix}_ok ? [] : [{whole}])")
    fails = f"variables.{prefix}_fails"
    variables.append(
        (f"{prefix}_fails", f"variables.idx.filter(i, variables.{prefix}_ok[i] != true)")
    )
    key_i, key_j = "i", "j"
    if group_by:
        variables.append((f"{prefix}_groups", _rewrite(group_by, prefix)))
        key_i, key_j = f"variables.{prefix}_groups[i]", f"variables.{prefix}_groups[j]"
    # Each failing entry's group, computed once (64 x 64 at worst): CEL has no
    # common subexpressions, and a message names the group several times.
    members = f"variables.{prefix}_members"
    variables.append(
        (f"{prefix}_members", f"variables.idx.map(i, {fails}.filter(j, {key_j} == {key_i}))")
    )
    last = f"{fails}.filter(i, {members}[i][size({members}[i]) - 1] == i)"
    message = _render(rule.message, f"{members}[i]")
    violations = f"{last}.map(i, {item(rule.id, 'i', rule.field_path, message)})"
    return Check(rule.id, action, variables, violations)


def _render(template: str, group: str | None) -> str:
    """webhook.cel.rules._render in CEL; ``group`` is a CEL list of entry indexes."""
    first = f"{group}[0]" if group else None
    values = {
        "entries": entry_label(group) if group else '""',
        "interface": f"variables.labels[{first}]" if first else '""',
        "entry": f"variables.display[{first}]" if first else '""',
        "name": (
            f'(variables.names[{first}] != "" ? {shown(f"variables.names[{first}]")} : "(unnamed)")'
            if first
            else '""'
        ),
        "version": (
            f'(variables.versions[{first}] != "" ? {shown(f"variables.versions[{first}]")} : '
            '"(no version)")'
            if first
            else '""'
        ),
    }
    parts, at = [], 0
    for match in _PLACEHOLDER.finditer(template):
        parts.append(lit(template[at : match.start()]))
        parts.append(values[match.group(1)])
        at = match.end()
    parts.append(lit(template[at:]))
    kept = [p for p in parts if p != '""']
    return "(" + " + ".join(kept) + ")" if kept else '""'


def strict_naming(rule_id: str, action: Action) -> Check:
    # Groups computed once (64 x 64 at worst); messages then only look them up.
    package = "variables.labels[i]"
    same = "variables.idx.filter(j, variables.pk[j] == variables.pk[i])"
    sharing = [
        ("same_package", f"variables.idx.map(i, {same})"),
        ("same_package_label", f"variables.idx.map(i, {entry_label('variables.same_package[i]')})"),
    ]
    if rule_id == NAME_REQUIRED.id:
        message = (
            f'variables.same_package_label[i] + " all import " + {package} + "; entry " + '
            f'{index("i")} + " needs a unique name so each import can be routed '
            '(e.g. name: cache)"'
        )
        wanted = (
            'variables.idx.filter(i, variables.names[i] == "" && '
            "size(variables.same_package[i]) > 1)"
        )
        one = item(rule_id, "i", ".name", message)
        return Check(rule_id, action, sharing, f"{wanted}.map(i, {one})")
    same_name = (
        "same_name",
        "variables.idx.map(i, variables.same_package[i].filter(j, "
        "variables.names[j] == variables.names[i]))",
    )
    message = (
        f'{entry_label("variables.same_name[i]")} + " are " + {package} + '
        f'" entries all named \\"" + {shown("variables.names[i]")} + '
        f'"\\"; names must be unique within " + {package} + '
        f'" whatever the version; rename " + {index("i")}'
    )
    wanted = 'variables.idx.filter(i, variables.names[i] != "" && variables.same_name[i][0] != i)'
    one = item(rule_id, "i", ".name", message)
    return Check(rule_id, action, [sharing[0], same_name], f"{wanted}.map(i, {one})")
