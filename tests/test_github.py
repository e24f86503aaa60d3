"""GitHub annotations (``--format github``) and the composite action (action.yml).

The action is run here the way the Actions runner runs a composite action's steps, as
far as this machine can: each ``run`` step through ``bash --noprofile --norc -eo
pipefail`` (the runner's ``shell: bash``), with ``GITHUB_ACTION_PATH`` set to the
action's checkout and ``${{ inputs.* }}`` expanded in ``env`` only, into a fresh
virtual environment. The ``uses: actions/setup-python`` step is the runner's own and
is replaced by that environment's Python.
"""

from __future__ import annotations

import re
import subprocess
import sys

import yaml
from conftest import ROOT

from webhook.cli import main
from webhook.report.github import escape_data, escape_property

OURS = "apiVersion: runtime.wasmcloud.dev/v1alpha1\nkind: Workload\n"
TWO_UNNAMED = (
    "spec:\n  hostInterfaces:\n"
    "    - {namespace: wasi, package: keyvalue, interfaces: [store]}\n"
    "    - {namespace: wasi, package: keyvalue, interfaces: [atomics]}\n"
)


def test_each_finding_is_an_annotation_on_its_line(capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "deploy").mkdir()
    (tmp_path / "deploy" / "w.yaml").write_text(f"{OURS}metadata: {{name: w}}\n{TWO_UNNAMED}")
    code = main(["check", "--format", "github", "deploy"])
    out = capsys.readouterr().out.splitlines()
    assert code == 1
    assert out[0].startswith(
        "::error file=deploy/w.yaml,line=7,title=bindcheck single-unnamed%3A Workload/w::"
        "spec.hostInterfaces[1].name: Duplicate value:"
    )
    assert out[-1] == "1 object checked, 1 denied, 0 skipped"


def test_a_hostile_value_cannot_end_the_command_or_start_another(capsys, tmp_path):
    path = tmp_path / "w.yaml"
    name = "x\\n::error file=evil::owned%0A,y"
    path.write_text(f'{OURS}metadata: {{name: "{name}"}}\n{TWO_UNNAMED}')
    assert main(["check", "--format", "github", str(path)]) == 1
    lines = capsys.readouterr().out.splitlines()
    commands = [line for line in lines if line.startswith("::")]
    assert commands and all(re.match(r"::(error|warning|notice) file=[^:]*::", c) for c in commands)
    assert not any(line.startswith("::error file=evil") for line in lines)
    assert "Workload/x%0A%3A%3Aerror file=evil%3A%3Aowned%250A%2Cy" in commands[0]


def test_escaping_follows_the_actions_toolkit():
    # actions/toolkit packages/core/__tests__/command.test.ts, "command escapes message"
    # and "command escapes property"
    assert escape_data("percent % percent % cr \r cr \r lf \n lf \n") == (
        "percent %25 percent %25 cr %0D cr %0D lf %0A lf %0A"
    )
    assert escape_property("prop1:value,1%\r\n") == "prop1%3Avalue%2C1%25%0D%0A"


def _steps(action: dict, inputs: dict[str, str], venv, repo) -> list:
    """Run each ``run`` step of the composite action as the runner would."""
    results = []
    for step in action["runs"]["steps"]:
        if "uses" in step:
            assert step["uses"].startswith("actions/setup-python@")
            continue
        assert step["shell"] == "bash" and "${{" not in step["run"]  # inputs only via env
        env = {"PATH": f"{venv / 'bin'}:/usr/bin:/bin", "GITHUB_ACTION_PATH": str(ROOT),
               "HOME": str(repo.parent), "PIP_DISABLE_PIP_VERSION_CHECK": "1"}  # fmt: skip
        for key, value in step.get("env", {}).items():
            env[key] = re.sub(r"\$\{\{\s*inputs\.([\w-]+)\s*\}\}", lambda m: inputs[m[1]], value)
        results.append(subprocess.run(
            ["bash", "--noprofile", "--norc", "-eo", "pipefail", "-c", step["run"]],
            env=env, capture_output=True, text=True, timeout=300, cwd=repo,
        ))  # fmt: skip
    return results


def test_the_action_installs_from_its_checkout_and_annotates(tmp_path):
    action = yaml.safe_load((ROOT / "action.yml").read_text())
    assert action["runs"]["using"] == "composite"
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    repo = tmp_path / "repo"
    (repo / "deploy" / "vendor").mkdir(parents=True)
    (repo / "deploy" / "w.yaml").write_text(f"{OURS}metadata: {{name: w}}\n{TWO_UNNAMED}")
    (repo / "deploy" / "vendor" / "v.yaml").write_text("kind: [\n")  # unreadable: exit 2
    defaults = {name: spec.get("default", "") for name, spec in action["inputs"].items()}
    install, check = _steps(action, defaults | {"paths": "deploy", "args": "--exclude vendor"},
                            venv, repo)  # fmt: skip
    assert install.returncode == 0, install.stderr[-2000:]
    assert check.returncode == 1, check.stderr[-2000:]
    assert "::error file=deploy/w.yaml,line=7,title=bindcheck single-unnamed" in check.stdout
    # An input is words for bindcheck, never shell: no command runs, no glob expands.
    hostile = defaults | {"paths": "deploy $(touch pwned) *"}
    _, check = _steps(action, hostile, venv, repo)
    assert check.returncode == 2 and not (repo / "pwned").exists()
    assert "bindcheck: $(touch: cannot read" in check.stderr
    assert "bindcheck: *: cannot read" in check.stderr
