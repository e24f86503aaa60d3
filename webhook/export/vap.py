"""``bindcheck export vap``: bindcheck's checks as ValidatingAdmissionPolicies.

The API server runs these itself (Kubernetes 1.30+), so enforcement needs no webhook.
One policy and one binding per action (deny, warn, audit): ``validationActions``
belong to the binding, and Deny and Warn cannot share one. Each policy has a single
validation whose ``messageExpression`` lists every violation as ``[rule] field:
message`` (only the first failing validation's message reaches the user, and a
message with a line break or over 5 KiB is replaced by the static one).

What is compiled (tests/test_export_vap.py holds each to ``bindcheck check`` on
generated objects):

- CEL rules, the shipped ones and ``--rules`` files: their expressions run unchanged
  on an escaped copy of the list (``self`` as CRD validation sees it), their own
  variables renamed; messages are rendered in CEL from the same template;
- the strict naming rules, written in CEL;
- ``interface-unavailable`` and ``backend-unknown``: the catalog becomes constant
  variables (plugins, their worlds, version floors and backends, each host group's
  labels and plugins), and binding is computed in CEL as binding.py does it, so a
  changed catalog needs a new export. Objects are untyped maps in a policy, so fields read
  as ``x.namespace``.

Everything else is listed in :attr:`Export.not_expressed`, with the reason.

The jobs are split: plan.py decides what is expressible (from webhook/rulebook.py),
workload_cel.py, naming_cel.py and host_cel.py write the CEL, documents.py the
policy documents.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from webhook.core import Validator
from webhook.export.documents import binding_document, policy_document
from webhook.export.plan import plan
from webhook.violations import Action

BINDING_ACTIONS = {Action.DENY: "Deny", Action.WARN: "Warn", Action.AUDIT: "Audit"}


@dataclass
class Export:
    documents: list[dict[str, Any]]
    not_expressed: dict[str, str] = field(default_factory=dict)
    """Rule id (or feature) → why the policies do not check it."""


def export_vap(
    validator: Validator, failure_policy: str = "Fail", prefix: str = "bindcheck"
) -> Export:
    """The policies and bindings for ``validator``'s policy, rules, actions and catalog."""
    planned = plan(validator)
    catalog = validator.catalog.source if validator.catalog else "none"
    # Every action's pair, even one with no checks (its policy admits everything): so
    # re-applying an export after moving rules between actions replaces the old objects
    # instead of leaving a stale policy in the cluster (kubectl apply does not prune).
    documents: list[dict[str, Any]] = []
    for action, binding_action in BINDING_ACTIONS.items():
        mine = [c for c in planned.checks if c.action is action]
        name = f"{prefix}-{action.value}"
        documents.append(
            policy_document(
                name, mine, failure_policy, validator.policy.value, catalog,
                planned.not_expressed,
            )
        )  # fmt: skip
        documents.append(binding_document(name, binding_action))
    return Export(documents, planned.not_expressed)
