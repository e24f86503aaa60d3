"""Objects meant for our API group that the API server refuses, and objects skipped.

A typo of our apiVersion or kind is refused by the API server (kubectl: "no matches
for kind"), so the CI gate denies it rather than skipping it; another group's object
of the same kind name (Kueue's and Cartographer's ``Workload``) is not ours at all and
is skipped, and every skipped object is listed (text with ``-v``, always in JSON).
"""

from __future__ import annotations

import json

import pytest

from webhook.cli import main

OURS = "runtime.wasmcloud.dev/v1alpha1"
BODY = (
    "metadata: {name: w}\nspec:\n  components: []\n  hostInterfaces:\n"
    "    - {namespace: wasi, package: keyvalue, interfaces: [store]}\n"
)


def run(capsys, *argv: str) -> tuple[int, str]:
    code = main(list(argv))
    return code, capsys.readouterr().out


def _file(tmp_path, header: str):
    path = tmp_path / "w.yaml"
    path.write_text(header + BODY)
    return str(path)


@pytest.mark.parametrize(
    ("header", "rule", "says"),
    [
        ("apiVersion: runtime.wasmcloud.io/v1alpha1\nkind: Workload\n", "api-version-unknown",
         f"is not runtime.wasmcloud.dev's; did you mean {OURS}?"),
        ("apiVersion: runtime.wasmclod.dev/v1alpha1\nkind: Host\n", "api-version-unknown",
         f"did you mean {OURS}?"),
        ("kind: Workload\n", "api-version-unknown",
         f"has no apiVersion (kubectl refuses it: {OURS}"),
        ("apiVersion: runtime.wasmcloud.dev\nkind: Workload\n", "api-version-unknown",
         "is not served: runtime.wasmcloud.dev has only v1alpha1"),
        ("apiVersion: runtime.wasmcloud.dev/v1beta1\nkind: WorkloadDeployment\n",
         "api-version-unknown", "apiVersion 'runtime.wasmcloud.dev/v1beta1' is not served"),
        (f"apiVersion: {OURS}\nkind: WorkLoad\n", "kind-unknown", "did you mean Workload?"),
        (f"apiVersion: {OURS}\nkind: WorkloadDeployments\n", "kind-unknown",
         "did you mean WorkloadDeployment?"),
    ],
)  # fmt: skip
def test_a_near_miss_of_our_group_or_kinds_is_denied_with_a_suggestion(
    capsys, tmp_path, header, rule, says
):
    code, out = run(capsys, "check", _file(tmp_path, header))
    assert code == 1, out
    assert f"[{rule}]" in out and says in out and "checked nothing in it" in out
    assert "1 object checked, 1 denied, 0 skipped" in out


@pytest.mark.parametrize(
    "header",
    [
        "apiVersion: kueue.x-k8s.io/v1beta1\nkind: Workload\n",  # Kueue's Workload
        "apiVersion: carto.run/v1alpha1\nkind: Workload\n",  # Cartographer's
        "apiVersion: k8s.wasmcloud.dev/v1alpha1\nkind: WasmCloudHostConfig\n",  # wasmCloud 1.x
        "apiVersion: core.oam.dev/v1beta1\nkind: Application\n",  # wadm
        "apiVersion: apps/v1\nkind: Deployment\n",
    ],
)
def test_other_groups_objects_are_skipped_not_judged(capsys, tmp_path, header):
    code, out = run(capsys, "check", _file(tmp_path, header))
    assert code == 0 and "0 objects checked, 0 denied, 1 skipped" in out


def test_a_correct_object_of_ours_is_still_judged(capsys, tmp_path):
    code, out = run(capsys, "check", _file(tmp_path, f"apiVersion: {OURS}\nkind: Workload\n"))
    assert code == 0 and "Workload/w: allowed" in out


def test_items_of_any_list_kind_are_read_as_kubectl_does(capsys, tmp_path):
    path = tmp_path / "list.yaml"
    path.write_text(
        f"apiVersion: {OURS}\nkind: WorkloadList\nitems:\n"
        f"  - apiVersion: {OURS}\n    kind: Workload\n    metadata: {{name: a}}\n"
        "    spec:\n      hostInterfaces:\n"
        "        - {namespace: wasi, package: keyvalue, interfaces: [store]}\n"
        "        - {namespace: wasi, package: keyvalue, interfaces: [atomics]}\n"
    )
    code, out = run(capsys, "check", str(path))
    assert code == 1 and f"{path}:4: Workload/a: DENIED" in out
    assert "[single-unnamed]" in out and "kind-unknown" not in out


def test_skipped_objects_are_listed_with_verbose_and_always_in_json(capsys, tmp_path):
    path = tmp_path / "mixed.yaml"
    path.write_text(
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: settings}\n---\n"
        f"apiVersion: {OURS}\nkind: Host\nmetadata: {{name: h}}\n"
    )
    code, out = run(capsys, "check", str(path))
    assert code == 0 and "ConfigMap" not in out and "2 skipped" in out
    code, out = run(capsys, "check", "-v", str(path))
    assert f"note: skipped {path}:1: v1 ConfigMap/settings (not a kind bindcheck judges)" in out
    assert f"note: skipped {path}:5: {OURS} Host/h" in out
    code, out = run(capsys, "check", "--format", "json", str(path))
    listed = json.loads(out)["skippedObjects"]
    assert listed == [
        {"source": str(path), "line": 1, "apiVersion": "v1", "kind": "ConfigMap",
         "name": "settings"},
        {"source": str(path), "line": 5, "apiVersion": OURS, "kind": "Host", "name": "h"},
    ]  # fmt: skip


def test_a_hostile_skipped_object_is_clipped_and_escaped_when_listed(capsys, tmp_path):
    path = tmp_path / "x.yaml"
    path.write_text(f'apiVersion: v1\nkind: "C\\e[31m{"x" * 5000}"\nmetadata: {{name: n}}\n')
    code, out = run(capsys, "check", "-v", str(path))
    assert code == 0 and "\x1b" not in out and "x" * 200 not in out and "\\x1b[31m" in out
