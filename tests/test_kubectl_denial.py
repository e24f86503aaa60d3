"""What ``kubectl apply`` prints when bindcheck denies, rendered through the API server's
and kubectl's own code paths, translated from their source:

- kubernetes/apiserver@24a394e5 pkg/admission/plugin/webhook/errors/statuserror.go,
  ``ToStatusErr``: the webhook's status becomes the API error, its message prefixed
  with ``admission webhook "<name>" denied the request: ``;
- kubernetes/kubectl@dee3483a pkg/cmd/util/helpers.go, ``AddSourceToErr`` (``error when
  creating "<file>": ``), ``checkErr`` and ``StandardErrorMessage``: a status whose
  reason is ``Invalid`` prints ``The <Kind> "<name>" is invalid:`` and its causes,
  dropping the message (and the webhook's name); any other reason prints
  ``Error from server (<reason>): <message>``;
- kubernetes/apimachinery pkg/api/errors/errors.go, ``IsInvalid``: reason ``Invalid``,
  or code 422 with a reason it does not know.

The README's example is this module's output, checked character for character.
"""

from __future__ import annotations

from typing import Any

from conftest import ROOT, workload
from test_server import review as review_body

from webhook.admission import review
from webhook.core import build_validator
from webhook.reviews import AdmissionReview

WEBHOOK = "hostinterfaces.bindcheck.runtime.wasmcloud.dev"
# metav1.StatusReason values, k8s.io/apimachinery/pkg/apis/meta/v1/types.go
KNOWN_REASONS = frozenset(
    [
        "Unauthorized",
        "Forbidden",
        "NotFound",
        "AlreadyExists",
        "Conflict",
        "Gone",
        "Invalid",
        "ServerTimeout",
        "StoreReadError",
        "Timeout",
        "TooManyRequests",
        "BadRequest",
        "MethodNotAllowed",
        "NotAcceptable",
        "RequestEntityTooLarge",
        "UnsupportedMediaType",
        "InternalError",
        "Expired",
        "ServiceUnavailable",
    ]
)


def to_status_err(webhook: str, result: dict[str, Any]) -> dict[str, Any]:
    """apiserver ToStatusErr."""
    result = dict(result)
    denied_by = f'admission webhook "{webhook}" denied the request'
    if result.get("code", 0) < 400:
        result["code"] = 400
    if result.get("status") in ("", None, "Success"):
        result["status"] = "Failure"
    if result.get("message"):
        result["message"] = f"{denied_by}: {result['message']}"
    elif result.get("reason"):
        result["message"] = f"{denied_by}: {result['reason']}"
    else:
        result["message"] = f"{denied_by} without explanation"
    return result


def is_invalid(status: dict[str, Any]) -> bool:
    """apimachinery IsInvalid."""
    reason = status.get("reason", "")
    return reason == "Invalid" or (reason not in KNOWN_REASONS and status.get("code") == 422)


def kubectl_prints(status: dict[str, Any], source: str) -> str:
    """kubectl apply: AddSourceToErr, then checkErr (one error, no aggregate)."""
    status = dict(status, message=f'error when creating "{source}": {status["message"]}')
    if is_invalid(status) and status.get("reason") == "Invalid":
        details = status.get("details")
        text = "The request is invalid"
        if details is None:
            return text + (f": {status['message']}" if status.get("message") else "") + "\n"
        if details.get("kind") or details.get("name"):
            text = f'The {details.get("kind", "")} "{details.get("name", "")}" is invalid'
        causes = list(dict.fromkeys(f"{c['field']}: {c['message']}" for c in details["causes"]))
        if len(causes) == 1:
            return f"{text}: {causes[0]}\n"
        return f"{text}: \n" + "".join(f"* {c}\n" for c in causes)
    reason = status.get("reason")
    if reason == "Unauthorized":
        return f"error: You must be logged in to the server ({status['message']})\n"
    if reason:
        return f"Error from server ({reason}): {status['message']}\n"
    return f"Error from server: {status['message']}\n"


def denial_for(path: str) -> dict[str, Any]:
    import yaml

    obj = yaml.safe_load((ROOT / path).read_text())
    body = AdmissionReview.model_validate(review_body(obj))
    response = review(build_validator(), body).response["response"]
    assert response["allowed"] is False
    return response["status"]


def test_kubectl_prints_the_webhooks_name_and_every_cause_on_its_own_line():
    printed = kubectl_prints(to_status_err(WEBHOOK, denial_for("examples/bad-two-unnamed.yaml")),
                             "examples/bad-two-unnamed.yaml")  # fmt: skip
    first, *causes = printed.splitlines()
    assert first == (
        'Error from server (Forbidden): error when creating "examples/bad-two-unnamed.yaml": '
        f'admission webhook "{WEBHOOK}" denied the request: Workload "counter" has 2 violations:'
    )
    assert [c.split(":")[0] for c in causes] == ["* spec.hostInterfaces[1].name"] * 2
    assert causes[0].endswith("[single-unnamed]") and causes[1].endswith("[unique-entry]")


def test_reason_invalid_would_hide_the_webhooks_name():
    # The pair bindcheck used to send (Invalid with 403): kubectl drops the message.
    status = dict(denial_for("examples/bad-two-unnamed.yaml"), reason="Invalid")
    printed = kubectl_prints(to_status_err(WEBHOOK, status), "examples/bad-two-unnamed.yaml")
    assert printed.startswith('The Workload "counter" is invalid: \n* ')
    assert WEBHOOK not in printed


def test_the_readme_shows_exactly_what_kubectl_prints():
    printed = kubectl_prints(to_status_err(WEBHOOK, denial_for("examples/bad-two-unnamed.yaml")),
                             "examples/bad-two-unnamed.yaml")  # fmt: skip
    readme = (ROOT / "README.md").read_text()
    assert "$ kubectl apply -f examples/bad-two-unnamed.yaml\n" + printed in readme


def test_an_object_without_violations_needs_no_status():
    body = AdmissionReview.model_validate(review_body(workload([])))
    assert "status" not in review(build_validator(), body).response["response"]
