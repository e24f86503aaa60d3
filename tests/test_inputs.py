"""What ``check`` reads (webhook/inputs.py): only regular files, bounded in size, memory flat
in the number of documents."""

from __future__ import annotations

import os
import subprocess
import sys
import time

import pytest
import yaml
from conftest import entry, workload

from webhook.cli import main
from webhook.inputs import MAX_FILE_BYTES


def run(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_devices_and_pipes_are_skipped_with_a_reason_never_read(capsys, tmp_path):
    fifo = tmp_path / "pipe.yaml"
    os.mkfifo(fifo)
    started = time.monotonic()
    code, out, _ = run(capsys, "check", "/dev/zero", "/dev/urandom", str(fifo))
    assert time.monotonic() - started < 5
    assert code == 0
    assert out.count("not a regular file (a device, pipe or socket)") == 3


def test_a_file_over_the_size_limit_is_an_error_read_no_further(capsys, tmp_path):
    sparse = tmp_path / "huge.yaml"
    with sparse.open("wb") as f:
        f.truncate(1024 * 1024 * 1024)  # a 1 GiB sparse file
    started = time.monotonic()
    code, out, _ = run(capsys, "check", str(sparse))
    assert time.monotonic() - started < 5
    assert code == 2 and f"over the {MAX_FILE_BYTES // 2**20} MiB limit" in out


PEAK = (
    "import resource, sys\n"
    "from webhook.cli import main\n"
    "code = main(sys.argv[1:])\n"
    "print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, file=sys.stderr)\n"
    "sys.exit(code)\n"
)


def _peak_rss_kib(path) -> int:
    """The peak RSS of one ``check`` process, as that process measures itself."""
    proc = subprocess.run(
        [sys.executable, "-c", PEAK, "check", "--format", "json", "-o", os.devnull,
         "--catalog", "none", str(path)],
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert proc.returncode == 1, proc.stderr
    return int(proc.stderr.strip().splitlines()[-1])


def test_memory_stays_flat_in_the_number_of_denied_documents(tmp_path):
    def corpus(count: int):
        path = tmp_path / f"{count}.yaml"
        docs = []
        for i in range(count):
            obj = workload([entry(), entry(), entry(name=f"Bad{i}")], name=f"w{i}")
            docs.append(yaml.safe_dump(obj))
        path.write_text("---\n".join(docs))
        return path

    small, large = corpus(1_000), corpus(8_000)
    small_rss = _peak_rss_kib(small)
    large_rss = _peak_rss_kib(large)
    # Eight times the documents (each with distinct denials): at most a few MiB more, not
    # the ~70 MiB that keeping every document would take.
    assert large_rss - small_rss < 20 * 1024, (small_rss, large_rss)


# Repositories as they are: Helm templates and kustomize patches (issue 23, items 1, 2).

OURS_HEAD = "apiVersion: runtime.wasmcloud.dev/v1alpha1\nkind: Workload\n"


def _check(capsys, *argv: str) -> tuple[int, str]:
    code = main(["check", *argv])
    return code, capsys.readouterr().out


@pytest.mark.parametrize(
    "name_line",
    ['  name: "{{ .Values.cacheName }}"', "  name: {{ .Values.cacheName }}",
     "  name: '{{- include \"x.name\" . }}'"],
)  # fmt: skip
def test_a_template_is_skipped_alike_whether_its_placeholders_are_quoted_or_not(
    capsys, tmp_path, name_line
):
    path = tmp_path / "w.yaml"
    path.write_text(
        f"{OURS_HEAD}metadata:\n{name_line}\nspec:\n  hostInterfaces:\n"
        "    - {namespace: wasi, package: keyvalue, interfaces: [store], name: "
        '"{{ .Values.cacheName }}"}\n'
    )
    code, out = _check(capsys, str(path))
    assert code == 0, out
    assert (
        f"note: skipped {path}: a template ({{{{ ... }}}}): render it first, helm template" in out
    )
    assert "0 objects checked" in out and "DENIED" not in out
    assert _check(capsys, "--fail-on-skipped", str(path))[0] == 1


def test_fail_on_skipped_ignores_templates_of_other_kinds(capsys, tmp_path):
    (tmp_path / "cm.yaml").write_text(
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: '{{ .Release.Name }}'\n"
    )
    assert _check(capsys, "--fail-on-skipped", str(tmp_path))[0] == 0


def test_a_rendered_stream_on_stdin_is_checked_even_with_braces_in_a_value(
    capsys, monkeypatch, tmp_path
):
    import io
    import sys

    text = (
        f"{OURS_HEAD}metadata: {{name: w}}\nspec:\n  hostInterfaces:\n"
        "    - {namespace: wasi, package: keyvalue, interfaces: [store], "
        'config: {bucket: "{{lit}}"}}\n'
    )
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(text.encode())))
    _, out = _check(capsys, "-")
    assert "<stdin>:1: Workload/w" in out and "1 object checked" in out


KUSTOMIZATION = """apiVersion: kustomize.config.k8s.io/v1beta1
kind: Kustomization
resources: [../base]
patches:
  - path: scale.yaml
  - patch: |-
      - op: replace
        path: /spec/replicas
        value: 3
patchesStrategicMerge: [more.yaml]
patchesJson6902:
  - target: {kind: Workload, name: w}
    path: ../shared/json.yaml
"""
PATCH = (
    "apiVersion: runtime.wasmcloud.dev/v1alpha1\nkind: WorkloadDeployment\n"
    "metadata: {name: w}\nspec:\n  replicas: 3\n"
)
"""Half an object: on its own, denied for its missing spec.template."""


def test_files_a_kustomization_names_as_patches_are_skipped_with_the_reason(capsys, tmp_path):
    overlay, shared = tmp_path / "overlays" / "prod", tmp_path / "overlays" / "shared"
    overlay.mkdir(parents=True)
    shared.mkdir()
    (overlay / "kustomization.yaml").write_text(KUSTOMIZATION)
    for path in (overlay / "scale.yaml", overlay / "more.yaml", shared / "json.yaml"):
        path.write_text(PATCH)
    (overlay / "extra.yaml").write_text(PATCH)  # not named: an incomplete object, judged
    code, out = _check(capsys, str(tmp_path))
    kustomization = overlay / "kustomization.yaml"
    for patch in ("scale.yaml", "more.yaml"):
        assert (
            f"note: skipped {overlay / patch}: a kustomize patch named by {kustomization}: "
            f"kustomize build {overlay} | bindcheck check -"
        ) in out
    assert f"note: skipped {shared / 'json.yaml'}: a kustomize patch" in out
    assert f"{overlay / 'extra.yaml'}:1: WorkloadDeployment/w: DENIED" in out and code == 1
    assert "1 object checked" in out
    # as pre-commit passes it: the file alone, its kustomization read from its directory
    code, out = _check(capsys, str(overlay / "scale.yaml"))
    assert code == 0 and "a kustomize patch named by" in out
    assert _check(capsys, "--fail-on-skipped", str(overlay / "scale.yaml"))[0] == 1


def test_a_broken_or_hostile_kustomization_leaves_the_files_checked(capsys, tmp_path):
    bomb = (
        "a: &a [x, x, x, x, x, x, x, x, x]\n"
        + "".join(
            f"{c}: &{c} [*{p}, *{p}, *{p}, *{p}, *{p}, *{p}, *{p}, *{p}]\n"
            for p, c in zip("abcdefgh", "bcdefghi", strict=True)
        )
        + "patches: [{path: scale.yaml}]\n"
    )
    (tmp_path / "kustomization.yaml").write_text(bomb)
    (tmp_path / "scale.yaml").write_text(PATCH)
    code, out = _check(capsys, str(tmp_path / "scale.yaml"))
    assert code == 1 and "WorkloadDeployment/w: DENIED" in out


@pytest.mark.parametrize("glob", ["./vendor", "vendor/", "vendor"])
def test_exclude_takes_a_directory_written_as_users_write_it(capsys, tmp_path, monkeypatch, glob):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "vendor").mkdir()
    (tmp_path / "vendor" / "w.yaml").write_text(PATCH)
    code, out = _check(capsys, ".", "--exclude", glob)
    assert code == 0 and "0 objects checked" in out
