from __future__ import annotations

import io
import json
import re
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
import yaml
from conftest import ROOT, SAMPLES, entry, workload

from webhook.cli import main

EXAMPLES = ROOT / "examples"
BAD = str(EXAMPLES / "bad-two-unnamed.yaml")
GOOD = str(EXAMPLES / "good-multi-backend.yaml")


def run(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_allowed_manifests_exit_0(capsys):
    # upstream main's samples (7cd553cc), on main's host: v2.7.0 lacks messaging 0.3.0
    code, out, _ = run(capsys, "check", "--host", "wasmcloud@main", GOOD, *map(str, SAMPLES))
    assert code == 0
    assert out.strip().endswith("8 objects checked, 0 denied, 1 skipped")


def test_a_denial_exits_1_and_prints_file_line_rule_and_field(capsys):
    code, out, _ = run(capsys, "check", BAD)
    assert code == 1
    assert f"{BAD}:15: error: [single-unnamed] spec.hostInterfaces[1].name: Duplicate value:" in out


def test_invalid_yaml_exits_2_naming_file_and_line_and_other_files_are_still_checked(
    capsys, tmp_path
):
    broken = tmp_path / "broken.yaml"
    broken.write_text("apiVersion: runtime.wasmcloud.dev/v1alpha1\nkind: [\n")
    code, out, _ = run(capsys, "check", str(broken), BAD)
    assert code == 2
    assert f"{broken}:3: invalid YAML" in out
    assert "Workload/counter: DENIED" in out


def test_a_bad_yaml_document_does_not_hide_the_documents_after_it(capsys, tmp_path):
    denied = Path(BAD).read_text()
    stream = tmp_path / "stream.yaml"
    stream.write_text(
        "apiVersion: runtime.wasmcloud.dev/v1alpha1\nkind: Workload\nmetadata: {name: a\n"
        "---\n"  # the error is found on this line: the next document starts here
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: b, x: [\n"
        "--- # a separator may carry a comment\n" + denied
    )
    code, out, _ = run(capsys, "check", str(stream))
    assert code == 2
    assert f"{stream}:4: invalid YAML" in out  # ours: an error
    assert f"skipped {stream}:8: not a manifest of ours" in out  # a ConfigMap: skipped
    assert "Workload/counter: DENIED" in out  # and the document after both is judged
    assert f"{stream}:{8 + 15}: error: [single-unnamed]" in out  # at its own line


def test_a_file_of_many_bad_documents_is_read_only_so_far(capsys, tmp_path):
    from webhook.manifests import MAX_BAD_DOCUMENTS

    # each bad document restarts the parser: unbounded, this file would take minutes
    stream = tmp_path / "many.yaml"
    stream.write_text("apiVersion: runtime.wasmcloud.dev/v1alpha1\nkind: [\n---\n" * 20_000)
    code, out, _ = run(capsys, "check", str(stream))
    assert code == 2 and out.count("invalid YAML") == MAX_BAD_DOCUMENTS
    line = 3 * MAX_BAD_DOCUMENTS  # the separator parsing would have resumed at
    assert f"{stream}:{line}: {MAX_BAD_DOCUMENTS} documents are not valid YAML: the rest" in out


def test_files_that_are_not_manifests_of_ours_are_skipped_with_a_reason(capsys, tmp_path):
    (tmp_path / "chart" / "templates").mkdir(parents=True)
    (tmp_path / "chart" / "templates" / "w.yaml").write_text(
        "apiVersion: runtime.wasmcloud.dev/v1alpha1\nkind: Workload\nmetadata:\n"
        "  name: {{ .Values.name }}\n"
    )
    (tmp_path / "tsconfig.json").write_text('{\n  // comments are not JSON\n  "a": 1\n}\n')
    (tmp_path / "broken.yaml").write_text("kind: [\n")
    (tmp_path / "node_modules" / "pkg").mkdir(parents=True)
    (tmp_path / "node_modules" / "pkg" / "bad.yaml").write_text("runtime.wasmcloud.dev: [\n")
    code, out, _ = run(capsys, "check", str(tmp_path), BAD)
    assert code == 1, out  # the denial of BAD; nothing unreadable
    assert "a template ({{ ... }}): render it first" in out
    assert "tsconfig.json: not a manifest of ours (invalid JSON" in out
    assert f"note: skipped {tmp_path / 'broken.yaml'}: not a manifest of ours" in out
    assert "node_modules" not in out
    assert out.rstrip().endswith("1 object checked, 1 denied, 0 skipped, 3 files not ours")
    code, out, _ = run(
        capsys, "check", str(tmp_path), "--exclude", "chart/*", "--exclude", "*.json"
    )
    assert code == 0 and "3 files not ours" not in out and "1 file not ours" in out


def test_directories_are_searched_recursively(capsys, tmp_path):
    (tmp_path / "a" / "b").mkdir(parents=True)
    (tmp_path / "a" / "b" / "x.yml").write_text(Path(BAD).read_text())
    (tmp_path / "notes.txt").write_text("not a manifest")
    code, out, _ = run(capsys, "check", str(tmp_path))
    assert code == 1 and "1 object checked, 1 denied" in out


def test_stdin_is_read_for_dash(capsys, monkeypatch):
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(Path(BAD).read_bytes())))
    code, out, _ = run(capsys, "check", "-")
    assert code == 1 and "<stdin>:5: Workload/counter: DENIED" in out


def test_json_output_follows_the_contract(capsys):
    code, out, _ = run(capsys, "check", BAD, GOOD, "--format", "json")
    data = json.loads(out)
    assert code == 1
    assert data["summary"] == {"objects": 2, "denied": 1, "warned": 0, "skipped": 0}
    first = data["results"][0]
    assert {k: first[k] for k in ("source", "line", "kind", "name", "allowed")} == {
        "source": BAD, "line": 5, "kind": "Workload", "name": "counter", "allowed": False,
    }  # fmt: skip
    assert set(first["violations"][0]) == {"field", "reason", "message", "rule", "line"}
    assert first["violations"][0]["line"] == 15  # the line of the offending field


def test_junit_output_has_a_failure_per_denied_object(capsys):
    _, out, _ = run(capsys, "check", BAD, GOOD, "--format", "junit")
    suite = ET.fromstring(out.split("?>", 1)[1]).find("testsuite")
    assert suite.get("tests") == "2" and suite.get("failures") == "1"
    assert len(suite.findall("testcase/failure")) == 1


def test_sarif_output_has_rules_results_and_locations(capsys):
    _, out, _ = run(capsys, "check", BAD, "--format", "sarif")
    sarif = json.loads(out)
    assert sarif["version"] == "2.1.0"
    run_ = sarif["runs"][0]
    rule_ids = [r["id"] for r in run_["tool"]["driver"]["rules"]]
    assert "single-unnamed" in rule_ids and "schema-pattern" in rule_ids
    result = next(r for r in run_["results"] if r["ruleId"] == "single-unnamed")
    assert result["level"] == "error"
    assert rule_ids[result["ruleIndex"]] == "single-unnamed"
    loc = result["locations"][0]["physicalLocation"]
    assert loc["region"]["startLine"] == 15
    # under the working directory: relative to it, however the path was given
    assert loc["artifactLocation"] == {"uri": "examples/bad-two-unnamed.yaml",
                                       "uriBaseId": "%SRCROOT%"}  # fmt: skip
    assert run_["originalUriBaseIds"]["%SRCROOT%"]["uri"] == ROOT.as_uri() + "/"


def test_sarif_names_a_file_outside_the_working_directory_by_its_absolute_uri(
    capsys, tmp_path, monkeypatch
):
    inside = tmp_path / "repo"
    (inside / "deploy").mkdir(parents=True)
    (inside / "deploy" / "w.yaml").write_text(Path(BAD).read_text())
    monkeypatch.chdir(inside)
    _, out, _ = run(capsys, "check", "--format", "sarif", "../repo/deploy/w.yaml", BAD)
    uris = [r["locations"][0]["physicalLocation"]["artifactLocation"]
            for r in json.loads(out)["runs"][0]["results"]]  # fmt: skip
    assert {"uri": "deploy/w.yaml", "uriBaseId": "%SRCROOT%"} in uris
    assert {"uri": Path(BAD).as_uri()} in uris  # no base: %SRCROOT% would misplace it


def test_catalog_none_skips_capability_checks(capsys):
    code, _, _ = run(capsys, "check", BAD, "--catalog", "none", "--format", "json")
    assert code == 1  # naming still denies
    code, out, _ = run(capsys, "check", BAD, "--catalog", "none", "--format", "json")
    rules = {v["rule"] for v in json.loads(out)["results"][0]["violations"]}
    assert "backend-config-missing" not in rules


def test_a_plain_keyvalue_host_denies_two_named_entries_listing_names_sorted(capsys):
    catalog = str(EXAMPLES / "plain-keyvalue-host.yaml")
    code, out, _ = run(capsys, "check", GOOD, "--catalog", catalog)
    assert code == 1
    assert ("plugin 'wasi-keyvalue' does not support named instances, but workload requires "
            "2 named entries for wasi:keyvalue (names: cache, sessions)") in out  # fmt: skip


@pytest.mark.parametrize(
    "argv",
    [["check"], ["check", "x.yaml", "--policy", "lax"], ["check", "x", "--rule-action", "oops"],
     ["nope"]],
)  # fmt: skip
def test_bad_usage_exits_2(capsys, argv):
    with pytest.raises(SystemExit) as info:
        main(argv)
    assert info.value.code == 2


def test_a_bad_catalog_or_rule_dir_exits_2_with_the_reason(capsys, tmp_path):
    bad = tmp_path / "cat.yaml"
    bad.write_text("hostGroups: []\nplugins: []\n")
    code, _, err = run(capsys, "check", GOOD, "--catalog", str(bad))
    assert code == 2 and f"{bad}:1: hostGroups:" in err
    code, _, err = run(capsys, "check", GOOD, "--rules", str(tmp_path / "missing"))
    assert code == 2 and "no such rule file or directory" in err


def test_unreadable_file_exits_2(capsys, tmp_path):
    code, out, _ = run(capsys, "check", str(tmp_path / "missing.yaml"))
    assert code == 2 and "cannot read" in out


def test_an_internal_error_exits_3_with_a_short_report_not_a_traceback(tmp_path):
    # A real process, with the core broken from outside the way a bug would break it.
    script = (
        "import sys, webhook.checking as c\n"
        "c.run_check = lambda *a: 1 / 0\n"
        "from webhook.cli import main\n"
        f"sys.exit(main(['check', {GOOD!r}]))\n"
    )
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
    assert proc.returncode == 3
    assert "internal error: ZeroDivisionError" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_sarif_output_validates_against_an_independent_sarif_2_1_0_model(capsys):
    import sarif_pydantic

    _, out, _ = run(capsys, "check", str(EXAMPLES), "--format", "sarif")
    log = sarif_pydantic.Sarif.model_validate(json.loads(out))
    results = log.runs[0].results
    assert len(results) == 7  # 6 denials and 1 warning across examples/
    assert {r.level.value for r in results} == {"error", "warning"}
    assert all(r.locations[0].physical_location.region.start_line >= 1 for r in results)


def test_an_unwritable_output_file_exits_2_with_the_reason(capsys, tmp_path):
    code, _, err = run(capsys, "check", GOOD, "-o", str(tmp_path / "missing" / "out.txt"))
    assert code == 2 and "cannot write" in err and "No such file or directory" in err


def test_an_empty_directory_passes_with_a_warning(capsys, tmp_path):
    code, out, err = run(capsys, "check", str(tmp_path))
    assert code == 0 and "0 objects checked" in out
    assert f"no manifests found in {tmp_path}" in err


def test_a_misspelled_kind_of_our_group_is_denied_not_silently_skipped(capsys, tmp_path):
    path = tmp_path / "w.yaml"
    path.write_text(
        "apiVersion: runtime.wasmcloud.dev/v1alpha1\nkind: workload\nmetadata: {name: w}\n"
        "---\napiVersion: runtime.wasmcloud.dev/v1alpha1\nkind: Host\nmetadata: {name: h}\n"
    )
    code, out, _ = run(capsys, "check", str(path))
    assert code == 1 and "did you mean Workload?" in out and "[kind-unknown]" in out
    assert out.rstrip().endswith("1 object checked, 1 denied, 1 skipped")
    assert run(capsys, "check", str(path), "--rule-action", "kind-unknown=warn")[0] == 0


def test_quiet_leaves_out_clean_objects_and_notes(capsys, tmp_path):
    (tmp_path / "notes.yaml").write_text("kind: [\n")
    code, out, _ = run(capsys, "check", "--quiet", GOOD, BAD, str(tmp_path / "notes.yaml"))
    assert code == 1
    assert "shop" not in out and "counter: DENIED" in out and "note: skipped" not in out


def test_colour_only_when_asked_or_on_a_terminal_without_no_color(capsys, monkeypatch):
    assert "\x1b[" not in run(capsys, "check", BAD)[1]  # captured: not a terminal
    assert "\x1b[31mDENIED\x1b[0m" in run(capsys, "check", BAD, "--color", "always")[1]
    monkeypatch.setattr(sys.stdout, "isatty", lambda: True)
    assert "\x1b[31m" in run(capsys, "check", BAD)[1]
    monkeypatch.setenv("NO_COLOR", "1")
    assert "\x1b[" not in run(capsys, "check", BAD)[1]


def test_audit_findings_show_in_text_output(capsys):
    code, out, _ = run(capsys, "check", BAD, "--rule-action", "single-unnamed=audit")
    assert code == 1  # unique-entry still denies
    assert "audit: [single-unnamed]" in out


def test_rules_lists_every_rule_with_action_policy_and_purpose(capsys, tmp_path):
    code, out, _ = run(capsys, "rules", "--rule-action", "http-host=warn")
    assert code == 0
    lines = {line.split()[0]: line for line in out.splitlines()[1:] if line and line[0] != " "}
    assert "deny" in lines["single-unnamed"] and "upstream" in lines["single-unnamed"]
    assert "warn" in lines["http-host"] and "strict" in lines["name-unique"]
    code, out, _ = run(
        capsys,
        "rules",
        "--format",
        "json",
        "--rules",
        str(ROOT / "rules" / "upstream-unique-entry.yaml"),
    )
    assert code == 2  # the shipped rule loaded twice: a duplicate id, said clearly


def test_version_prints_the_version(capsys):
    from webhook import __version__

    code, out, _ = run(capsys, "version")
    assert code == 0 and out.strip() == f"bindcheck {__version__}"


def test_every_option_of_every_command_says_its_default():
    from webhook.cli import build_parser

    parser = build_parser()
    subparsers = next(a for a in parser._actions if a.dest == "command").choices
    for name, sub in subparsers.items():
        for action in sub._actions:
            if action.dest in ("help", "paths", "catalog_command") or not action.option_strings:
                continue
            assert action.help and "default" in action.help, (name, action.dest)


def test_findings_are_listed_in_line_order(capsys, tmp_path):
    path = tmp_path / "w.yaml"
    # the schema finding (line 9) comes from a check that runs before the naming ones
    path.write_text(
        "apiVersion: runtime.wasmcloud.dev/v1alpha1\nkind: Workload\nmetadata: {name: w}\n"
        "spec:\n  hostInterfaces:\n"
        "    - {namespace: wasi, package: keyvalue, interfaces: [store]}\n"
        "    - {namespace: wasi, package: keyvalue, interfaces: [atomics]}\n"
        "    - namespace: wasi\n      package: blobstore\n      interfaces: [blobstore]\n"
        "      confg: {}\n"
    )
    code, out, _ = run(capsys, "check", str(path))
    lines = [
        int(row.split(":")[1])
        for row in out.splitlines()
        if row.startswith("  ") and not row.startswith("  note: ")
    ]
    assert code == 1 and len(lines) >= 2 and lines == sorted(lines), out


@pytest.mark.parametrize(
    ("argv", "says"),
    [(["chek", "x"], "did you mean 'check'?"),
     (["check", "--fail-on-warnigs", "x"], "did you mean '--fail-on-warnings'?"),
     (["check", "--format", "sarf", "x"], "did you mean 'sarif'?"),
     (["check", "--rule-action", "single-unamed=warn", "x"], "did you mean 'single-unnamed'?"),
     (["export", "vap", "--rule-action", "unique-entri=off"], "did you mean 'unique-entry'?")],
)  # fmt: skip
def test_a_misspelt_command_flag_choice_or_rule_id_names_what_was_meant(capsys, argv, says):
    try:
        code = main(argv)
    except SystemExit as exc:  # argparse's own errors leave through SystemExit
        code = exc.code
    assert code == 2 and says in capsys.readouterr().err


def test_a_rule_id_nothing_resembles_lists_the_known_ones(capsys):
    assert main(["check", "--rule-action", "zzz=warn", "x"]) == 2
    assert "known rules: api-version-unknown," in capsys.readouterr().err


def test_a_catalog_naming_a_misspelt_plugin_says_which_was_meant(capsys, tmp_path):
    catalog = tmp_path / "c.yaml"
    catalog.write_text("extends: wasmcloud@2.7\nwithoutPlugins: [wasi-keyvalue-multiplex]\n")
    assert main(["catalog", "show", "--catalog", str(catalog)]) == 2
    err = capsys.readouterr().err
    assert (
        f"{catalog}:2: withoutPlugins:" in err
        and "did you mean 'wasi-keyvalue-multiplexed'?" in err
    )


def _keys(value: object) -> set[str]:
    """Every member name in a JSON value, at any depth."""
    if isinstance(value, dict):
        return set(value).union(*map(_keys, value.values()))
    if isinstance(value, list):
        return set().union(*map(_keys, value))
    return set()


def test_the_readme_and_the_code_give_the_json_format_every_member_it_has(capsys, tmp_path):
    """The contract is the json_format docstring, in the README verbatim, and it names
    exactly the members a run that has one of everything writes."""
    from webhook.report import json_format

    contract = json_format.__doc__.split("::\n\n", 1)[1].strip()
    assert f"```text\n{contract}\n```" in (ROOT / "README.md").read_text()
    (tmp_path / "bad.yaml").write_text(Path(BAD).read_text())
    (tmp_path / "other.yaml").write_text("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\n")
    (tmp_path / "chart.yaml").write_text("kind: Workload\nname: {{ .Values.name }}\n")
    (tmp_path / "broken.yaml").write_text(
        "apiVersion: runtime.wasmcloud.dev/v1alpha1\nkind: Workload\nspec: [\n"
    )
    written: set[str] = set()
    for action in ("deny", "warn", "audit"):
        _, out, _ = run(capsys, "check", str(tmp_path), "--format", "json",
                        "--rule-action", f"single-unnamed={action}")  # fmt: skip
        data = json.loads(out)
        assert all(data[k] for k in ("errors", "skippedFiles", "skippedObjects")), data
        written |= _keys(data)
    assert written == set(re.findall(r'"(\w+)"', contract))


def _subcommands(parser) -> dict[str, object]:
    """``{"check": parser, "export vap": parser, ...}``: every leaf command."""
    import argparse

    found: dict[str, object] = {}
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                inner = _subcommands(sub)
                found.update({f"{name} {k}": v for k, v in inner.items()} or {name: sub})
    return found


@pytest.mark.parametrize("command", ["check", "resolve", "audit", "serve", "export vap"])
def test_the_readme_synopsis_of_a_command_names_every_option_it_takes(command):
    from webhook.cli import build_parser

    readme = (ROOT / "README.md").read_text()
    # a line "bindcheck COMMAND ... [--option ...]" and the indented lines under it
    found = re.search(rf"^bindcheck {command} [^\n]*\[[^\n]*(?:\n {{8,}}[^\n]*)*", readme, re.M)
    assert found, f"README has no synopsis of bindcheck {command}"
    synopsis = found.group()

    def named(option: str) -> bool:
        return re.search(rf"(?<![\w-]){re.escape(option)}(?![\w-])", synopsis) is not None

    missing = [
        action.option_strings[-1]
        for action in _subcommands(build_parser())[command]._actions
        if action.option_strings
        and "--help" not in action.option_strings
        and not any(map(named, action.option_strings))
    ]
    assert missing == [], f"README's synopsis of bindcheck {command} lacks {missing}"


def test_a_reader_that_stops_early_is_no_internal_error(tmp_path):
    import subprocess
    import sys

    manifest = tmp_path / "many.yaml"
    manifest.write_text("---\n".join(yaml.safe_dump(workload([entry(), entry()], name=f"w{i}"))
                                      for i in range(2000)))  # fmt: skip
    proc = subprocess.Popen(
        [sys.executable, "-m", "webhook.cli", "check", str(manifest)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    )  # fmt: skip
    assert proc.stdout is not None and proc.stdout.read(100)
    proc.stdout.close()  # as `| head -1` does
    err = proc.communicate(timeout=60)[1].decode()
    assert proc.returncode == 141 and "internal error" not in err, err
