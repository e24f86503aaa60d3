""".bindcheck.yaml: one file that check, export vap and the other commands read, with
flags winning over it (the chart's reading of it is in tests/test_chart.py)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from conftest import PIN_RULE, entry, workload

from webhook.cli import main

TWO_UNNAMED = workload([entry(version="0.2.0-draft"), entry(version="0.2.0")])


def repo(tmp_path: Path, config: str | None) -> Path:
    """A repository with a denied manifest in apps/ and, when given, a config at its root."""
    (tmp_path / ".git").mkdir()
    (tmp_path / "apps").mkdir()
    (tmp_path / "apps" / "w.yaml").write_text(yaml.safe_dump(TWO_UNNAMED))
    if config is not None:
        (tmp_path / ".bindcheck.yaml").write_text(config)
    return tmp_path


def check_json(capsys, *args: str) -> tuple[int, dict]:
    code = main(["check", *args, "--format", "json"])
    return code, json.loads(capsys.readouterr().out)


SEVERITY = {"violations": "error", "warnings": "warning", "audits": "audit"}


def rules_found(report: dict) -> list[tuple[str, str]]:
    return sorted(
        (f["rule"], severity)
        for r in report["results"]
        for key, severity in SEVERITY.items()
        for f in r[key]
    )


def test_check_reads_the_nearest_config_up_to_the_repository_root(capsys, tmp_path, monkeypatch):
    root = repo(tmp_path, "ruleActions: {single-unnamed: warn}\n")
    monkeypatch.chdir(root / "apps")
    code, report = check_json(capsys, ".")
    assert code == 0 and rules_found(report) == [("single-unnamed", "warning")]
    # a config above the repository's root is not this repository's
    (root / "apps" / ".git").mkdir()
    code, report = check_json(capsys, ".")
    assert code == 1 and rules_found(report) == [("single-unnamed", "error")]


def test_flags_win_over_the_config_and_none_reads_none(capsys, tmp_path, monkeypatch):
    root = repo(tmp_path, "policy: strict\nruleActions: {single-unnamed: warn}\n")
    monkeypatch.chdir(root)
    _, report = check_json(capsys, "apps")
    assert ("name-required", "error") in rules_found(report)  # strict, from the file
    _, report = check_json(capsys, "apps", "--policy", "upstream")
    assert rules_found(report) == [("single-unnamed", "warning")]
    _, report = check_json(capsys, "apps", "--policy", "upstream", "--rule-action",
                           "single-unnamed=audit")  # fmt: skip
    assert rules_found(report) == [("single-unnamed", "audit")]
    code, report = check_json(capsys, "apps", "--config", "none")
    assert code == 1 and rules_found(report) == [("single-unnamed", "error")]


def test_paths_in_the_config_are_taken_from_its_directory(capsys, tmp_path, monkeypatch):
    root = repo(
        tmp_path,
        "rules: [policy/rules]\nruleActions: {needs-version: warn}\nexclude: [vendor]\n"
        "failOnWarnings: true\n",
    )
    (root / "policy" / "rules").mkdir(parents=True)
    (root / "policy" / "rules" / "pin.yaml").write_text(PIN_RULE)
    (root / "apps" / "vendor").mkdir()
    (root / "apps" / "vendor" / "x.yaml").write_text(yaml.safe_dump(TWO_UNNAMED))
    ok = workload([entry(name="cache")], name="ok")
    (root / "apps" / "w.yaml").write_text(yaml.safe_dump(ok))
    monkeypatch.chdir(root / "apps")
    code, report = check_json(capsys, ".")
    assert report["summary"]["objects"] == 1  # vendor/ left out
    assert rules_found(report) == [("needs-version", "warning")]
    assert code == 1  # failOnWarnings


def test_export_reads_the_config_as_check_does(capsys, tmp_path, monkeypatch):
    root = repo(
        tmp_path, "policy: strict\nhost: wasmcloud@2.6\nruleActions: {single-unnamed: warn}\n"
    )
    monkeypatch.chdir(root)
    assert main(["export", "vap", "-q", "-o", "from-config.yaml"]) == 0
    flags = [
        "--policy",
        "strict",
        "--host",
        "wasmcloud@2.6",
        "--rule-action",
        "single-unnamed=warn",
    ]
    assert main(["export", "vap", "-q", "--config", "none", "-o", "from-flags.yaml", *flags]) == 0
    assert main(["export", "vap", "-q", "--config", "none", "-o", "default.yaml"]) == 0
    capsys.readouterr()
    from_config = (root / "from-config.yaml").read_text()
    assert from_config == (root / "from-flags.yaml").read_text()
    assert from_config != (root / "default.yaml").read_text()


def test_rules_lists_the_actions_the_config_sets(capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(repo(tmp_path, "ruleActions: {route-collision: off}\n"))
    assert main(["rules", "--format", "json"]) == 0
    rows = {r["id"]: r["action"] for r in json.loads(capsys.readouterr().out)["rules"]}
    assert rows["route-collision"] == "off"  # an unquoted off is YAML 1.1's false


def test_serve_reads_a_config_only_when_told(tmp_path, monkeypatch):
    from webhook.cli import _settle, build_parser

    root = repo(tmp_path, "policy: strict\n")
    monkeypatch.chdir(root)
    args = build_parser().parse_args(["serve"])
    _settle(args)
    assert args.policy == "upstream"  # a server's settings never depend on where it started
    args = build_parser().parse_args(["serve", "--config", str(root / ".bindcheck.yaml")])
    _settle(args)
    assert args.policy == "strict"


@pytest.mark.parametrize(
    ("config", "said"),
    [
        ("polcy: strict\n", ":1: polcy: unknown key 'polcy'; did you mean 'policy'?"),
        ("policy: strict\nhost: wasmcloud@2.9\n", ":2: host: unknown wasmCloud release "
         "'wasmcloud@2.9'; known: wasmcloud@{2.0,"),
        ("ruleActions:\n  route-collision: warn\n  single-unamed: warn\n",
         ":3: ruleActions.single-unamed: no rule with id 'single-unamed'; did you mean "
         "'single-unnamed'?"),
        ("ruleActions: {single-unnamed: block}\n",
         ":1: ruleActions.single-unnamed: Input should be 'deny', 'warn', 'audit' or 'off'"),
        ("host: wasmcloud@2.6\ncatalog: none\n", ":2: catalog: set host or catalog, not both"),
        ("rules:\n  - policy\n", ":2: rules.0: no such file or directory: "),
        ("catalog: hosts.yaml\n", ":1: catalog: no such file or directory: "),
        ("- policy\n", ":1: <root>: the config is a mapping of settings"),
        ("policy: strict\n---\npolicy: upstream\n", ":3: <root>: expected one YAML document"),
        ("policy: [\n", "invalid YAML"),
    ],
)  # fmt: skip
def test_a_bad_config_names_file_line_and_key(capsys, tmp_path, monkeypatch, config, said):
    root = repo(tmp_path, config)
    monkeypatch.chdir(root)
    assert main(["check", "apps"]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"bindcheck: {root / '.bindcheck.yaml'}") and said in err, err


def test_a_rule_id_misspelt_on_the_command_line_is_not_blamed_on_the_config(
    capsys, tmp_path, monkeypatch
):
    monkeypatch.chdir(repo(tmp_path, "ruleActions: {single-unnamed: warn}\n"))
    assert main(["check", "apps", "--rule-action", "single-unamed=warn"]) == 2
    assert capsys.readouterr().err.startswith("bindcheck: no rule with id 'single-unamed'")


def test_an_empty_config_changes_nothing(capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(repo(tmp_path, "# nothing yet\n"))
    code, report = check_json(capsys, "apps")
    assert code == 1 and rules_found(report) == [("single-unnamed", "error")]


def test_a_validator_from_parsed_flags_alone_is_the_default_one():
    """bench/floor_asgi.py and library callers build one without the project config."""
    from webhook.cli import build_parser, make_validator

    validator = make_validator(build_parser().parse_args(["serve"]))
    assert validator.policy.value == "upstream"


def test_a_config_that_is_no_regular_file_is_refused_at_once(capsys, tmp_path):
    import os

    fifo = tmp_path / "fifo.yaml"
    os.mkfifo(fifo)  # opening it for reading would wait for a writer for ever
    assert main(["check", str(tmp_path), "--config", str(fifo)]) == 2
    assert capsys.readouterr().err == f"bindcheck: {fifo}: <root>: not a regular file\n"
    assert main(["check", str(tmp_path), "--config", str(tmp_path / "absent.yaml")]) == 2
    assert "cannot read the config" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("argv", "catalog"),
    [(["check", "apps"], "wasmcloud@2.6"), (["check", "apps", "--kubeconfig", "k"], None),
     (["audit"], None), (["audit", "--host", "wasmcloud@2.5"], "wasmcloud@2.5")],
)  # fmt: skip
def test_the_clusters_hosts_replace_the_configs_host(tmp_path, monkeypatch, argv, catalog):
    from webhook.cli import _settle, build_parser

    monkeypatch.chdir(repo(tmp_path, "host: wasmcloud@2.6\npolicy: strict\n"))
    args = build_parser().parse_args(argv)
    _settle(args)
    assert args.catalog == catalog and args.policy == "strict"
