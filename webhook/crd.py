"""What the runtime-operator's CRDs say, in one place: group, kinds, paths and limits.

From runtime-operator/api/runtime/v1alpha1 (workload_types.go and the generated CRDs
under charts/runtime-operator/crds/) at wasmCloud v2.7.0; the schema check, the
export, the memo and the cost bounds all read them here.
"""

from __future__ import annotations

GROUP = "runtime.wasmcloud.dev"
API_VERSION = "v1alpha1"
SPEC_PATHS: dict[str, tuple[str, ...]] = {
    "WorkloadDeployment": ("spec", "template", "spec"),
    "WorkloadReplicaSet": ("spec", "template", "spec"),
    "Workload": ("spec",),
}
"""Where each kind we judge keeps the spec holding hostInterfaces."""
LIST_PATHS = {kind: ".".join((*keys, "hostInterfaces")) for kind, keys in SPEC_PATHS.items()}
"""Field path of each kind's hostInterfaces list."""
PLURALS = {
    "WorkloadDeployment": "workloaddeployments",
    "WorkloadReplicaSet": "workloadreplicasets",
    "Workload": "workloads",
}
"""Each kind's resource name, as policies and webhook configurations match it."""
OTHER_KINDS = ("Artifact", "Host")
"""The group's other kinds (runtime-operator/config/crd/bases): not ours to judge."""

MAX_ENTRIES = 64
"""hostInterfaces entries the CRD allows (maxItems), and the most any check looks at."""
MAX_LENGTH = {"namespace": 128, "package": 128, "version": 64, "name": 64}
"""maxLength of each string field of an entry."""
NAME_PATTERN = "^[a-z0-9][a-z0-9-]*$"
"""The pattern an entry's name must match."""
ENTRY_FIELDS = frozenset(
    {"namespace", "package", "interfaces", "version", "name", "config", "configFrom", "secretFrom"}
)
"""The fields of a hostInterfaces entry; the API server prunes any other."""
