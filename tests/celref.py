"""Kubernetes' own CEL code as a test oracle: tests/kube/celref, built by .ci/envtest.

``evaluate`` hands policies and objects to the Go program, which compiles every
expression as policy creation does and evaluates them as admission does, in the CEL
environment of each Kubernetes minor version asked for (see tests/kube/celref/main.go).
"""

from __future__ import annotations

import functools
import json
import subprocess
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
MINORS = tuple(range(30, 38))
"""Kubernetes 1.30 (the first with ValidatingAdmissionPolicy v1) to 1.37, the library's own."""
PER_CALL_LIMIT = 1_000_000
"""k8s.io/apiserver pkg/apis/cel/config.go: PerCallLimit."""
RUNTIME_BUDGET = 10_000_000
"""... and RuntimeCELCostBudget, per policy evaluation."""


def _built(what: str) -> Path:
    done = subprocess.run(
        ["bash", str(ROOT / ".ci" / "envtest"), what], capture_output=True, text=True, check=False
    )
    if done.returncode != 0:
        raise RuntimeError(f".ci/envtest {what} failed:\n{done.stderr[-3000:]}")
    return Path(done.stdout.strip().splitlines()[-1])


@functools.cache
def binary() -> Path:
    return _built("--celref")


@functools.cache
def controller_manager() -> Path:
    """kube-controller-manager of the same release, for policy status (type checking)."""
    return _built("--controller-manager")


def evaluate(
    policies: list[dict[str, Any]],
    objects: list[dict[str, Any]] = (),  # type: ignore[assignment]
    minors: tuple[int, ...] = MINORS,
    old_objects: list[dict[str, Any] | None] | None = None,
) -> list[dict[str, Any]]:
    """One result per minor: ``compileErrors`` and, per object, each policy's verdict
    (``decision`` admit|deny|error, ``message``, ``totalCost``, ``maxCallCost``,
    ``maxCallName``)."""
    reviews = []
    for k, obj in enumerate(objects):
        old = old_objects[k] if old_objects else None
        reviews.append(
            {"object": obj, "oldObject": old, "operation": "UPDATE" if old else "CREATE"}
        )
    request = {"minors": list(minors), "policies": policies, "objects": reviews}
    done = subprocess.run(
        [str(binary())],
        input=json.dumps(request),
        capture_output=True,
        text=True,
        check=False,
        timeout=600,
    )
    if done.returncode != 0:
        raise RuntimeError(f"celref failed: {done.stderr[-3000:]}")
    return json.loads(done.stdout)  # type: ignore[no-any-return]


def policies_of(documents: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [d for d in documents if d.get("kind") == "ValidatingAdmissionPolicy"]
