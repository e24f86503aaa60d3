"""``bindcheck catalog show`` and ``bindcheck catalog schema``."""

from __future__ import annotations

import json

import pytest
from conftest import ROOT

from webhook.cli import main
from webhook.runtime.catalog_files import catalog_json_schema, load_catalog


def run(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_the_published_schema_file_is_the_one_the_code_generates():
    assert (ROOT / "docs" / "catalog.schema.json").read_text() == catalog_json_schema()


def test_schema_prints_json_schema_with_field_descriptions(capsys):
    code, out, _ = run(capsys, "catalog", "schema")
    schema = json.loads(out)
    assert code == 0 and schema["$schema"].endswith("2020-12/schema")
    mux = schema["$defs"]["Multiplex"]["properties"]["defaultBackend"]
    assert "without ``config.backend``" in mux["description"]
    assert "source" not in schema["properties"]


def test_show_lists_plugins_in_binding_order_with_worlds_and_backends(capsys):
    code, out, _ = run(capsys, "catalog", "show", "--host", "wasmcloud@main")
    assert code == 0
    assert "read from wasmCloud/wasmCloud@7cd553cc57cfb5a64717d76b11ddeea2cd8c0a8b" in out
    registered = out.split("opt-in")[0].splitlines()
    ids = [line.split(":")[0].strip() for line in registered if line.startswith("    w")]
    assert ids == sorted(ids) and ids[0] == "wasi-blobstore"
    assert "wasi:keyvalue (any version): imports store, atomics, batch" in out
    assert "routes every entry by config.backend (default in-memory):" in out
    assert "claims only entries pinning version >= 0.3.0" in out
    assert "opt-in, registered only with --wasi-otel:" in out


def test_show_names_the_default_release_and_how_its_hosts_bind(capsys):
    code, out, _ = run(capsys, "catalog", "show")
    assert code == 0 and out.startswith("host catalog: wasmcloud@2.7.0 (default)\n")
    # v2.7.0's tag, and its behaviours: id order and pinning, but no claims() yet
    assert "@9561cb59759fa15b0a64bdb0b318255309aeddcd (release v2.7.0)" in out
    assert "plugins are tried by id" in out and "no plugin refuses an entry" in out
    assert "claims only entries" not in out and "wasmcloud-messaging-async" not in out


@pytest.mark.parametrize("release", ["wasmcloud@2.0.0", "wasmcloud@2.6", "wasmcloud@main"])
def test_show_json_of_a_release_loads_back_as_the_same_catalog(capsys, tmp_path, release):
    code, out, _ = run(capsys, "catalog", "show", "--format", "json", "--host", release)
    data = json.loads(out)
    del data["source"], data["bindingOrder"]
    path = tmp_path / "copy.json"
    path.write_text(json.dumps(data))
    assert code == 0 and load_catalog(str(path)).model_dump() == load_catalog(release).model_dump()


def test_show_json_carries_the_binding_order_and_round_trips(capsys, tmp_path):
    code, out, _ = run(capsys, "catalog", "show", "--format", "json")
    data = json.loads(out)
    assert code == 0 and data["bindingOrder"]["default"][0] == "wasi-blobstore"
    del data["source"], data["bindingOrder"]
    path = tmp_path / "copy.json"
    path.write_text(json.dumps(data))
    assert load_catalog(str(path)).model_dump() == load_catalog(None).model_dump()


def test_show_of_a_broken_catalog_exits_2_naming_file_and_path(capsys, tmp_path):
    path = tmp_path / "bad.yaml"
    path.write_text("hostGroups: [{name: g, plugins: [nope]}]\nplugins: []\n")
    code, _, err = run(capsys, "catalog", "show", "--catalog", str(path))
    assert code == 2 and f"{path}: <root>: host group 'g' names unknown plugin 'nope'" in err
