"""What check says the API server and the host make of an object, by the cluster's CRDs
(webhook/api_server.py). That the API server admits what it says it admits is tested
against the real one: tests/test_apiserver.py, test_check_says_what_the_api_server_...).
"""

from __future__ import annotations

import json

import pytest
from conftest import ROOT

from webhook.cli import main

EXAMPLES = ROOT / "examples"


def api_server(capsys, *args: str) -> dict[str, dict]:
    main(["check", *args, "--format", "json"])
    results = json.loads(capsys.readouterr().out)["results"]
    return {r["name"]: r["apiServer"] for r in results}


def test_the_crds_default_to_the_chart_of_the_hosts_release(capsys):
    said = api_server(capsys, str(EXAMPLES), "--host", "wasmcloud@2.6")
    assert {a["crds"] for a in said.values()} == {"chart@2.6.1"}
    said = api_server(capsys, str(EXAMPLES))
    assert {a["crds"] for a in said.values()} == {"chart@2.7.0"}


def test_crds_with_the_rules_refuse_what_a_host_would_run(capsys):
    said = api_server(capsys, str(EXAMPLES / "bad-two-unnamed.yaml"))["counter"]
    sentence = (
        "the API server refuses it by the chart CRDs of wasmcloud@2.7.0 (single-unnamed, "
        "unique-entry); the host itself would run it"
    )
    assert said == {
        "crds": "chart@2.7.0", "admitted": False, "refusedBy": ["single-unnamed", "unique-entry"],
        "hostFails": [], "onlyBindcheck": [], "said": sentence,
    }  # fmt: skip
    main(["check", str(EXAMPLES / "bad-two-unnamed.yaml")])
    assert f"  note: {sentence}\n" in capsys.readouterr().out


def test_crds_without_them_admit_it_and_only_bindcheck_refuses(capsys):
    path = str(EXAMPLES / "bad-two-unnamed.yaml")
    for crds in ("chart@2.6", "kustomize@2.4"):
        said = api_server(capsys, path, "--crds", crds)["counter"]
        assert said["admitted"] and said["onlyBindcheck"] == ["single-unnamed", "unique-entry"]
    assert not api_server(capsys, path, "--crds", "kustomize@2.5")["counter"]["admitted"]


def test_the_late_failure_is_named_when_the_api_server_admits_what_the_host_fails(capsys):
    path = str(EXAMPLES / "good-multi-backend.yaml")
    main(["check", path, "--host", "wasmcloud@2.6", "-q"])
    assert (
        "  note: the API server admits it with the chart CRDs of wasmcloud@2.6.1; the host then "
        "fails it: plugin-named-instances\n"
    ) in capsys.readouterr().out
    # a host failure stays one when its action is lowered: the host does not read ours
    said = api_server(capsys, path, "--host", "wasmcloud@2.6", "--rule-action",
                      "plugin-named-instances=warn")["shop"]  # fmt: skip
    assert said["admitted"] and said["hostFails"] == ["plugin-named-instances"]


def test_schema_refusals_claim_nothing_about_the_host(capsys):
    said = api_server(capsys, str(EXAMPLES / "bad-typos.yaml"))["worker"]
    assert said["refusedBy"] == ["schema-pattern", "schema-type"]
    main(["check", str(EXAMPLES / "bad-typos.yaml")])
    out = capsys.readouterr().out
    assert "note: the API server refuses it by the chart CRDs of wasmcloud@2.7.0 (" in out
    assert "the host itself would run it" not in out
    assert "; past it, the host would fail it too: backend-unknown\n" in out


def test_without_a_catalog_nothing_is_said_of_the_host(capsys):
    main(["check", str(EXAMPLES / "bad-two-unnamed.yaml"), "--catalog", "none", "--crds",
          "chart@2.6"])  # fmt: skip
    out = capsys.readouterr().out
    assert (
        "the API server admits it with the chart CRDs of wasmcloud@2.6.1; only bindcheck's" in out
    )
    assert "host would run" not in out


def test_with_the_crds_rules_not_running_it_says_so_instead_of_guessing(capsys):
    code = main(["check", str(EXAMPLES), "--policy", "strict", "--format", "json"])
    out, err = capsys.readouterr()
    assert code == 1 and {r["apiServer"] for r in json.loads(out)["results"]} == {None}
    assert "hold rules that do not run here (policy strict, or a rule turned off)" in err
    # CRDs without rules need none of them
    main(["check", str(EXAMPLES), "--policy", "strict", "--crds", "chart@2.6", "--format", "json"])
    out, err = capsys.readouterr()
    assert None not in [r["apiServer"] for r in json.loads(out)["results"]] and not err


@pytest.mark.parametrize(
    ("crds", "said"),
    [("helm", "--crds takes chart or kustomize"), ("chart@2.9", "unknown wasmCloud release")],
)
def test_bad_crds_name_what_is_known(capsys, crds, said):
    assert main(["check", str(EXAMPLES), "--crds", crds]) == 2
    assert said in capsys.readouterr().err


def test_resolve_says_it_too(capsys):
    path = str(EXAMPLES / "good-multi-backend.yaml")
    assert main(["resolve", path, "--host", "wasmcloud@2.6", "--format", "json"]) == 1
    [workload] = json.loads(capsys.readouterr().out)["workloads"]
    assert workload["apiServer"]["hostFails"] == ["plugin-named-instances"]
    main(["resolve", path, "--host", "wasmcloud@2.6"])
    assert "  note: the API server admits it with the chart CRDs of wasmcloud@2.6.1; the host " in (
        capsys.readouterr().out
    )


@pytest.mark.parametrize(
    "crd",
    [{}, [], "x", {"spec": 5}, {"spec": {"versions": 7}}, {"spec": {"versions": ["v1alpha1"]}},
     {"spec": {"versions": [{"name": "v1alpha1", "schema": None}]}},
     {"spec": {"versions": [{"name": "v1alpha1", "schema": {"openAPIV3Schema": {
         "properties": {"spec": {"properties": []}}}}}]}}],
)  # fmt: skip
def test_a_crd_of_any_shape_reads_as_one_without_limits_or_rules(crd):
    from webhook.api_server import Crds

    read = Crds.as_read({"Workload": crd}, "https://127.0.0.1:6443")
    assert read.limits == read.rules == frozenset() and not read.checked


def test_a_crd_with_the_rules_and_limits_reads_as_checked_for_its_kind():
    from webhook.api_server import Crds

    entries = {"maxItems": 64, "x-kubernetes-validations": [{"rule": "true"}]}
    crd = {"spec": {"versions": [{"name": "v1alpha1", "schema": {"openAPIV3Schema": {
        "properties": {"spec": {"properties": {"hostInterfaces": entries}}}}}}]}}  # fmt: skip
    read = Crds.as_read({"Workload": crd, "WorkloadDeployment": {}}, "here")
    assert read.limits == read.rules == {"Workload"} and not read.checked
