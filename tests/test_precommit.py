"""The shipped pre-commit hook, installed and run by the real pre-commit on a
repository shaped like a real one: Helm templates, JSON with comments, CI files,
node_modules, and wasmCloud manifests good and bad."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

from conftest import ROOT

TEMPLATE = """apiVersion: apps/v1
kind: Deployment
metadata:
  name: {{ .Release.Name }}
spec:
  replicas: {{ .Values.replicas }}
"""


def _git(repo: Path, *args: str) -> None:
    subprocess.run(["git", "-C", str(repo), *args], check=True, capture_output=True)


def _platform_repo(repo: Path) -> None:
    (repo / "charts/web/templates").mkdir(parents=True)
    (repo / "charts/web/templates/deployment.yaml").write_text(TEMPLATE)
    (repo / "tsconfig.json").write_text('{\n  // TypeScript allows comments\n  "strict": true\n}\n')
    (repo / ".github/workflows").mkdir(parents=True)
    (repo / ".github/workflows/ci.yml").write_text("on: push\njobs: {}\n")
    (repo / "deploy").mkdir()
    for name in ("good-multi-backend.yaml", "bad-two-unnamed.yaml"):
        shutil.copy(ROOT / "examples" / name, repo / "deploy" / name)
    _git(repo, "init", "-q")
    _git(repo, "add", "-A")


def _run_hook(repo: Path, tmp_path: Path) -> subprocess.CompletedProcess[str]:
    env = os.environ | {"PRE_COMMIT_HOME": str(tmp_path / "cache"), "NO_COLOR": "1"}
    # try-repo installs the hook from this checkout (uncommitted changes included)
    # into an isolated environment, as `repo: <url>` in a config would.
    return subprocess.run(
        [sys.executable, "-m", "pre_commit", "try-repo", str(ROOT), "bindcheck", "--all-files"],
        cwd=repo,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )


def test_the_hook_judges_our_manifests_and_passes_over_everything_else(tmp_path):
    repo = tmp_path / "platform"
    repo.mkdir()
    _platform_repo(repo)
    proc = _run_hook(repo, tmp_path)
    out = proc.stdout + proc.stderr
    assert proc.returncode == 1, out
    assert "deploy/bad-two-unnamed.yaml:5: Workload/counter: DENIED" in out
    assert "[single-unnamed]" in out
    assert (
        "deploy/good-multi-backend.yaml:8: WorkloadDeployment/shop (namespace apps): allowed" in out
    )
    assert "skipped charts/web/templates/deployment.yaml: a template" in out
    assert "skipped tsconfig.json: not a manifest of ours" in out
    assert "exit code: 2" not in out and "Traceback" not in out
    # the repository's .bindcheck.yaml applies to the hook with no argument repeated
    (repo / ".bindcheck.yaml").write_text(
        "ruleActions: {single-unnamed: warn, unique-entry: warn}\n"
    )
    _git(repo, "add", "-A")
    proc = _run_hook(repo, tmp_path)
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0 and "bindcheck (wasmCloud named host interfaces)...." in out, out
