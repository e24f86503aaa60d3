"""The policy documents: one ValidatingAdmissionPolicy and one binding per action."""

from __future__ import annotations

from typing import Any

from webhook.crd import API_VERSION, GROUP, MAX_ENTRIES, MAX_LENGTH, PLURALS
from webhook.export.cel_text import lit
from webhook.export.workload_cel import Check, base_variables, cel_self

MESSAGE_LIMIT = 1250
"""Characters of the aggregate message: under 5 KiB even at four bytes each."""
STATIC_MESSAGE = (
    "this object breaks bindcheck's checks; run `bindcheck check` on it for the details"
)

# What a policy judges. The CRD bounds the list (64 entries) and, from wasmCloud v2.7.0,
# its strings, but not how many interfaces an entry names, how long one is, or the
# hostSelector: past these bounds an expression could pass the API server's per-call
# cost limit (1,000,000) and fail with a cost error that failurePolicy turns into a
# bare denial. A larger object gets one clear violation instead (rule POLICY_LIMITS,
# in each policy's own action), and nothing else is evaluated. Measured costs at the
# bounds are printed by tests/test_policy_cost.py and quoted in the README.
POLICY_LIMITS = "policy-limits"
MAX_INTERFACES = 32
"""Interfaces per entry (WASI packages have 4 to 15)."""
MAX_INTERFACE_CHARS = 128
MAX_SELECTOR_LABELS = 64


def _judged() -> str:
    """Whether the object is within what the policy judges (each clause bounds the cost
    of the next: && stops at the first false)."""
    strings = " && ".join(f"size(x.?{k}.orValue('')) <= {n}" for k, n in MAX_LENGTH.items())
    return (
        f"size(variables.entries) <= {MAX_ENTRIES} && "
        f"size(variables.selector) <= {MAX_SELECTOR_LABELS} && "
        f"variables.entries.all(x, size(x.interfaces) <= {MAX_INTERFACES} && {strings} && "
        f"x.interfaces.all(f, size(f) <= {MAX_INTERFACE_CHARS}))"
    )


def _unjudged() -> str:
    message = (
        f"this policy judges at most {MAX_ENTRIES} entries, each with at most "
        f"{MAX_INTERFACES} interfaces of at most {MAX_INTERFACE_CHARS} characters and "
        "strings within the CRD's limits, and a hostSelector of at most "
        f"{MAX_SELECTOR_LABELS} labels; this object is larger and was not judged. "
        "`bindcheck check` (and the webhook) judge it in full"
    )
    return f'"[{POLICY_LIMITS}] " + variables.path + ": " + {lit(message)}'


def policy_document(
    name: str,
    checks: list[Check],
    failure_policy: str,
    policy: str,
    catalog: str,
    not_expressed: dict[str, str],
) -> dict[str, Any]:
    variables = [("violations", "[]")]  # a pair with no checks admits everything
    if checks:
        variables = [*base_variables(), cel_self()]
        for check in checks:
            variables += [v for v in check.variables if v not in variables]
            variables.append((f"v_{check.rule.replace('-', '_')}", check.violations))
        listed = " + ".join(f"variables.v_{c.rule.replace('-', '_')}" for c in checks)
        variables.append(("judged", _judged()))
        variables.append(("violations", f"variables.judged ? ({listed}) : [{_unjudged()}]"))
    count = "size(variables.violations)"
    text = (
        f'(object.kind + " \\"" + object.metadata.name + "\\" has " + string({count}) + '
        f'({count} == 1 ? " violation: " : " violations: ") + variables.violations.join("; "))'
    )
    message = (
        f"(size({text}) <= {MESSAGE_LIMIT} ? {text} : "
        f'{text}.substring(0, {MESSAGE_LIMIT - 3}) + "...")'
    )
    return {
        "apiVersion": "admissionregistration.k8s.io/v1",
        "kind": "ValidatingAdmissionPolicy",
        "metadata": {
            "name": name,
            "labels": {"app.kubernetes.io/managed-by": "bindcheck"},
            "annotations": {
                "bindcheck.dev/policy": policy,
                "bindcheck.dev/catalog": catalog,
                "bindcheck.dev/rules": ",".join(c.rule for c in checks),
                "bindcheck.dev/not-expressed": ",".join(sorted(not_expressed)),
            },
        },
        "spec": {
            "failurePolicy": failure_policy,
            "matchConstraints": {
                "resourceRules": [
                    {
                        "apiGroups": [GROUP],
                        # named, not "*": the API server type-checks expressions only
                        # against versions a policy names (status.typeChecking)
                        "apiVersions": [API_VERSION],
                        "operations": ["CREATE", "UPDATE"],
                        "resources": list(PLURALS.values()),
                    }
                ]
            },
            "variables": [{"name": n, "expression": e} for n, e in variables],
            "validations": [
                {
                    "expression": f"{count} == 0",
                    "messageExpression": message,
                    "message": STATIC_MESSAGE,
                    "reason": "Forbidden",
                }
            ],
        },
    }


def binding_document(name: str, action: str) -> dict[str, Any]:
    return {
        "apiVersion": "admissionregistration.k8s.io/v1",
        "kind": "ValidatingAdmissionPolicyBinding",
        "metadata": {"name": name, "labels": {"app.kubernetes.io/managed-by": "bindcheck"}},
        "spec": {"policyName": name, "validationActions": [action]},
    }
