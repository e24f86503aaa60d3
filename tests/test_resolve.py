"""``bindcheck resolve``, and ``--probe`` against real redis-server and nats-server."""

from __future__ import annotations

import json

import pytest
from conftest import ROOT
from servers import binary, free_port, running

from webhook.cli import main

GOOD = str(ROOT / "examples" / "good-multi-backend.yaml")

MANIFEST = """\
apiVersion: runtime.wasmcloud.dev/v1alpha1
kind: Workload
metadata: {{name: probe-me}}
spec:
  hostInterfaces:
    - namespace: wasi
      package: keyvalue
      version: 0.2.0-draft
      interfaces: [store]
    - namespace: wasi
      package: keyvalue
      version: 0.2.0-draft
      interfaces: [store]
      name: sessions
      config: {{backend: redis, url: "redis://app:s3cr3t-planted@127.0.0.1:{redis}/0"}}
    - namespace: wasi
      package: keyvalue
      version: 0.2.0-draft
      interfaces: [store]
      name: cache
      config: {{backend: nats, url: "nats://127.0.0.1:{nats}", credentials: s3cr3t-planted}}
    - namespace: wasi
      package: blobstore
      version: 0.2.0-draft
      interfaces: [blobstore]
      name: files
      config: {{backend: filesystem, root: "{root}"}}
"""


@pytest.fixture(scope="module")
def backends():
    redis_port, nats_port = free_port(), free_port()
    redis = [binary("redis-server"), "--port", str(redis_port), "--bind", "127.0.0.1",
             "--save", "", "--appendonly", "no"]  # fmt: skip
    nats = [binary("nats-server"), "-a", "127.0.0.1", "-p", str(nats_port)]
    with running(redis, redis_port), running(nats, nats_port):
        yield redis_port, nats_port


def resolve(capsys, *argv):
    code = main(["resolve", *argv])
    out, err = capsys.readouterr()
    return code, out, err


def test_text_table_shows_names_plugins_backends_and_the_default_route(capsys):
    code, out, _ = resolve(capsys, GOOD)
    assert code == 0
    lines = out.splitlines()
    assert lines[0].endswith("WorkloadDeployment/shop (host group default)")
    assert "(default route)  served by the host  host=shop.example.com" in lines[1]
    assert "wasi:keyvalue/cache@0.2.0-draft" in lines[2]
    assert "cache" in lines[2] and "wasi-keyvalue-multiplexed -> nats" in lines[2]
    assert "wasi-keyvalue-multiplexed -> redis" in lines[3]
    assert lines[-1].startswith("(assumes every entry is imported or exported by a component")


def test_json_follows_the_contract(capsys):
    _, out, _ = resolve(capsys, GOOD, "--format", "json")
    w = json.loads(out)["workloads"][0]
    assert (w["kind"], w["name"], w["line"], w["hostGroup"]) == (
        "WorkloadDeployment", "shop", 8, "default",
    )  # fmt: skip
    route = w["routes"][1]
    assert set(route) == {
        "index", "instance", "name", "servedBy", "plugin", "backend", "settings", "ignored",
        "probe",
    }  # fmt: skip
    assert (route["name"], route["servedBy"], route["plugin"], route["backend"]) == (
        "cache", "plugin", "wasi-keyvalue-multiplexed", "nats",
    )  # fmt: skip
    http = w["routes"][0]
    assert (http["name"], http["servedBy"], http["plugin"]) == ("", "host", None)


def test_an_unnamed_entry_shows_the_plain_plugin_that_really_serves_it(capsys, tmp_path):
    path = tmp_path / "w.yaml"
    path.write_text(MANIFEST.format(redis=1, nats=2, root=tmp_path))
    _, out, _ = resolve(capsys, str(path), "--format", "json")
    routes = {r["name"]: r for r in json.loads(out)["workloads"][0]["routes"]}
    assert (routes[""]["plugin"], routes[""]["backend"]) == ("wasi-keyvalue", None)
    # The NATS backend reads url only: credentials is shown as a key the host ignores.
    assert routes["cache"]["ignored"] == ["credentials"]
    assert set(routes["cache"]["settings"]) == {"backend", "url"}


def test_probe_reaches_real_redis_and_nats_and_hides_secrets(capsys, tmp_path, backends):
    redis_port, nats_port = backends
    path = tmp_path / "w.yaml"
    path.write_text(MANIFEST.format(redis=redis_port, nats=nats_port, root=tmp_path))
    code, out, err = resolve(capsys, str(path), "--probe", "--format", "json")
    routes = {r["name"]: r for r in json.loads(out)["workloads"][0]["routes"]}
    assert code == 0, out
    assert routes["sessions"]["probe"] == {
        "ok": True,
        "detail": f"reachable at 127.0.0.1:{redis_port}",
    }
    assert routes["cache"]["probe"] == {"ok": True, "detail": f"reachable at 127.0.0.1:{nats_port}"}
    assert routes["files"]["probe"]["ok"] is True
    assert "s3cr3t-planted" not in out + err
    _, text, err = resolve(capsys, str(path), "--probe")
    assert "s3cr3t-planted" not in text + err and "[ok: reachable" in text


def test_unreachable_backends_and_missing_roots_fail_the_probe(capsys, tmp_path):
    dead = free_port()
    path = tmp_path / "w.yaml"
    path.write_text(MANIFEST.format(redis=dead, nats=dead, root=tmp_path / "nope"))
    code, out, _ = resolve(capsys, str(path), "--probe", "--timeout", "0.5", "--format", "json")
    routes = {r["name"]: r for r in json.loads(out)["workloads"][0]["routes"]}
    assert code == 1
    assert routes["sessions"]["probe"]["ok"] is False
    assert routes["sessions"]["probe"]["detail"].startswith(f"unreachable: 127.0.0.1:{dead}")
    assert routes["cache"]["probe"]["ok"] is False
    assert routes["files"]["probe"] == {"ok": False, "detail": "root directory does not exist"}


def test_resolve_without_a_catalog_is_a_usage_error(capsys):
    code, _, err = resolve(capsys, GOOD, "--catalog", "none")
    assert code == 2 and "needs a host catalog" in err
