"""The workload as policy variables, and the shape of one compiled check.

Every policy starts from these variables: the spec, its entries and selector, the
list's field path, and per entry its name, version, host version (the semver rule of
webhook/runtime/wit.py), package key, label and display text, so the checks compiled
from them (naming_cel.py, host_cel.py) word their messages as the Python checks do.
"""

from __future__ import annotations

from dataclasses import dataclass

from webhook.crd import MAX_ENTRIES
from webhook.export.cel_text import index, lit, shown
from webhook.runtime.wit import SEMVER_PATTERN
from webhook.violations import Action


@dataclass
class Check:
    """One rule compiled to CEL, for the policy of its action."""

    rule: str
    action: Action
    variables: list[tuple[str, str]]
    """Variables this check needs (name, expression), in order."""
    violations: str
    """A CEL list of ``[rule] field: message`` strings."""


_U64_MAX = str(2**64 - 1)
_SEMVER = f"^{SEMVER_PATTERN}$"


def base_variables() -> list[tuple[str, str]]:
    spec = 'object.kind == "Workload" ? object.spec : object.spec.?template.?spec.orValue({})'
    return [
        ("spec", f"({spec})"),
        ("entries", "variables.spec.?hostInterfaces.orValue([])"),
        ("selector", "variables.spec.?hostSelector.orValue({})"),
        (
            "path",
            'object.kind == "Workload" ? "spec.hostInterfaces" : '
            '"spec.template.spec.hostInterfaces"',
        ),
        ("idx", f"{lit(list(range(MAX_ENTRIES)))}.filter(i, i < size(variables.entries))"),
        ("names", 'variables.entries.map(x, x.?name.orValue(""))'),
        ("versions", 'variables.entries.map(x, x.?version.orValue(""))'),
        # webhook.runtime.wit.host_version: the text when strict semver (parts within u64)
        (
            "hv",
            f"variables.versions.map(v, v.matches({lit('^' + SEMVER_PATTERN + '$')}) && "
            f'v.split("+")[0].split("-")[0].split(".").all(c, size(c) < 20 || '
            f'(size(c) == 20 && c <= "{_U64_MAX}")) ? v : "")',
        ),
        # (namespace, package) as one unambiguous key
        (
            "pk",
            'variables.entries.map(x, string(size(x.namespace)) + ":" + x.namespace + x.package)',
        ),
        ("labels", "variables.entries.map(x, " + label("x") + ")"),
        (
            "display",
            "variables.idx.map(i, variables.labels[i] + "
            '(variables.names[i] != "" ? " [" + ' + shown("variables.names[i]") + ' + "]" : "") + '
            '"/" + ' + shown('variables.entries[i].interfaces.join(",")', 80) + " + "
            '(variables.versions[i] != "" ? "@" + ' + shown("variables.versions[i]") + ' : ""))',
        ),
    ]


def label(x: str) -> str:
    """webhook.runtime.wit.package_label."""
    return f'{shown(f"{x}.namespace")} + ":" + {shown(f"{x}.package")}'


def item(rule: str, i: str, suffix: str, message: str) -> str:
    return f'"[{rule}] " + variables.path + {index(i)} + {lit(suffix + ": ")} + {message}'


def cel_self() -> tuple[str, str]:
    """The list as CRD validation rules see it: namespace and package escaped, nulls and
    unknown fields gone (webhook.checks.schema._typed)."""
    optional = ", ".join(
        f'?"{k}": x.?{k}' for k in ("version", "name", "config", "configFrom", "secretFrom")
    )
    return (
        "cel_self",
        'variables.entries.map(x, {"__namespace__": x.namespace, "__package__": x.package, '
        f'"interfaces": x.interfaces, {optional}}})',
    )
