"""``bindcheck resolve``, and ``--probe`` against real redis-server and nats-server."""

from __future__ import annotations

import contextlib
import json
import socket
import tempfile
import threading
import time

import pytest
from conftest import ROOT
from servers import binary, free_port, running

from webhook.cli import main

GOOD = str(ROOT / "examples" / "good-multi-backend.yaml")
SECRET = "s3cr3t-planted"

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
      config: {{backend: redis, url: "{redis_url}"}}
    - namespace: wasi
      package: keyvalue
      version: 0.2.0-draft
      interfaces: [store]
      name: cache
      config: {{backend: nats, url: "{nats_url}", credentials: s3cr3t-planted}}
    - namespace: wasi
      package: blobstore
      version: 0.2.0-draft
      interfaces: [blobstore]
      name: files
      config: {{backend: filesystem, root: "{root}"}}
"""


def manifest(tmp_path, redis_url, nats_url, root=None):
    path = tmp_path / "w.yaml"
    path.write_text(MANIFEST.format(redis_url=redis_url, nats_url=nats_url, root=root or tmp_path))
    return path


@pytest.fixture(scope="module")
def backends():
    """redis with a password, and NATS with a user, a password and JetStream."""
    redis_port, nats_port = free_port(), free_port()
    redis = [binary("redis-server"), "--port", str(redis_port), "--bind", "127.0.0.1",
             "--save", "", "--appendonly", "no", "--requirepass", SECRET]  # fmt: skip
    with tempfile.TemporaryDirectory() as store:
        nats = [binary("nats-server"), "-a", "127.0.0.1", "-p", str(nats_port), "--user", "app",
                "--pass", SECRET, "-js", "-sd", store]  # fmt: skip
        with running(redis, redis_port), running(nats, nats_port):
            yield redis_port, nats_port


@pytest.fixture(scope="module")
def plain_nats():
    """NATS without authentication and without JetStream."""
    port = free_port()
    with running([binary("nats-server"), "-a", "127.0.0.1", "-p", str(port)], port):
        yield port


def resolve(capsys, *argv):
    code = main(["resolve", *argv])
    out, err = capsys.readouterr()
    return code, out, err


def probes(capsys, path, *extra):
    code, out, err = resolve(capsys, str(path), "--probe", "--format", "json", *extra)
    routes = {r["name"]: r for r in json.loads(out)["workloads"][0]["routes"]}
    assert SECRET not in out + err
    return code, routes


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


def test_output_goes_to_a_file_with_o(capsys, tmp_path):
    out = tmp_path / "routes.json"
    code, stdout, _ = resolve(capsys, GOOD, "--format", "json", "-o", str(out))
    assert code == 0 and stdout == ""
    assert json.loads(out.read_text())["workloads"][0]["name"] == "shop"


def test_an_unnamed_entry_shows_the_plain_plugin_that_really_serves_it(capsys, tmp_path):
    path = manifest(tmp_path, "redis://r:6379", "nats://n:4222")
    _, out, _ = resolve(capsys, str(path), "--format", "json")
    routes = {r["name"]: r for r in json.loads(out)["workloads"][0]["routes"]}
    assert (routes[""]["plugin"], routes[""]["backend"]) == ("wasi-keyvalue", None)
    # The NATS backend reads url only: credentials is shown as a key the host ignores.
    assert routes["cache"]["ignored"] == ["credentials"]
    assert set(routes["cache"]["settings"]) == {"backend", "url"}


def test_probes_authenticate_to_real_redis_and_nats_and_hide_secrets(capsys, tmp_path, backends):
    redis_port, nats_port = backends
    path = manifest(
        tmp_path,
        f"redis://:{SECRET}@127.0.0.1:{redis_port}/0",
        f"nats://app:{SECRET}@127.0.0.1:{nats_port}",
    )
    code, routes = probes(capsys, path)
    assert code == 0, routes
    assert routes["sessions"]["probe"] == {
        "ok": True, "detail": f"Redis answers at 127.0.0.1:{redis_port} (authenticated)",
    }  # fmt: skip
    assert routes["cache"]["probe"] == {
        "ok": True, "detail": f"NATS answers at 127.0.0.1:{nats_port} with JetStream",
    }  # fmt: skip
    assert routes["files"]["probe"]["ok"] is True
    assert routes[""]["probe"] is None  # the host's own NATS store: nothing of ours to reach
    _, text, err = resolve(capsys, str(path), "--probe")
    assert SECRET not in text + err and "[ok: Redis answers" in text


def test_a_wrong_or_missing_password_fails_the_probe(capsys, tmp_path, backends):
    redis_port, nats_port = backends
    wrong = manifest(
        tmp_path, f"redis://:nope@127.0.0.1:{redis_port}", f"nats://app:nope@127.0.0.1:{nats_port}"
    )
    code, routes = probes(capsys, wrong)
    assert code == 1
    assert routes["sessions"]["probe"]["detail"].endswith("authentication failed")
    assert "refused the connection" in routes["cache"]["probe"]["detail"]
    missing = manifest(tmp_path, f"redis://127.0.0.1:{redis_port}", f"nats://127.0.0.1:{nats_port}")
    code, routes = probes(capsys, missing)
    assert code == 1 and "requires a password" in routes["sessions"]["probe"]["detail"]


def test_nats_must_speak_nats_and_have_jetstream_for_a_store(
    capsys, tmp_path, backends, plain_nats
):
    redis_port, _ = backends
    redis_url = f"redis://:{SECRET}@127.0.0.1:{redis_port}"
    not_nats = manifest(tmp_path, redis_url, f"nats://127.0.0.1:{redis_port}")
    code, routes = probes(capsys, not_nats, "--timeout", "3")
    assert code == 1 and "not a NATS server" in routes["cache"]["probe"]["detail"]
    no_js = manifest(tmp_path, redis_url, f"nats://127.0.0.1:{plain_nats}")
    code, routes = probes(capsys, no_js)
    assert code == 1 and "JetStream is not enabled" in routes["cache"]["probe"]["detail"]


def test_the_first_answering_server_of_a_nats_list_is_enough(capsys, tmp_path, backends):
    redis_port, nats_port = backends
    dead = free_port()
    path = manifest(
        tmp_path,
        f"redis://:{SECRET}@127.0.0.1:{redis_port}",
        f"nats://127.0.0.1:{dead},nats://app:{SECRET}@127.0.0.1:{nats_port}",
    )
    code, routes = probes(capsys, path)
    assert code == 0 and routes["cache"]["probe"]["ok"] is True


def test_unreachable_backends_and_missing_roots_fail_the_probe(capsys, tmp_path):
    dead = free_port()
    path = manifest(
        tmp_path, f"redis://127.0.0.1:{dead}", f"nats://127.0.0.1:{dead}", root=tmp_path / "nope"
    )
    code, routes = probes(capsys, path, "--timeout", "2")
    assert code == 1
    assert routes["sessions"]["probe"]["detail"].startswith(f"unreachable: 127.0.0.1:{dead}")
    assert routes["cache"]["probe"]["ok"] is False
    # The root is looked up where the probe runs, and the detail says so.
    assert routes["files"]["probe"] == {
        "ok": False,
        "detail": "root directory does not exist on this machine (the host reads its own: "
        "probe from the host's pod)",
    }


def test_a_url_the_hosts_client_refuses_is_not_probed(capsys, tmp_path, backends):
    # A live Redis answers an http:// URL's host and port, but the host's Redis client
    # refuses the scheme (backend-config-invalid): an "ok" there would contradict check.
    redis_port, nats_port = backends
    path = manifest(
        tmp_path,
        f"http://:{SECRET}@127.0.0.1:{redis_port}",
        f"nats://app:{SECRET}@127.0.0.1:{nats_port}",
    )
    code, routes = probes(capsys, path)
    assert code == 1
    assert routes["sessions"]["probe"] == {
        "ok": False,
        "detail": "not probed: the host's client cannot use config.url: its scheme is not one "
        "of redis://, rediss://, redis+unix://, unix://",
    }
    assert routes["cache"]["probe"]["ok"] is True


@pytest.mark.parametrize(
    ("host", "hinted"),
    [("nats", True), ("nats.apps.svc", True), ("nats.apps.svc.cluster.local", True),
     ("nats.example.invalid", False)],
)  # fmt: skip
def test_an_unresolved_cluster_dns_name_says_to_probe_from_inside(capsys, tmp_path, host, hinted):
    path = manifest(tmp_path, "redis://127.0.0.1:1", f"nats://{host}:4222")
    code, routes = probes(capsys, path, "--timeout", "3")
    detail = routes["cache"]["probe"]["detail"]
    assert code == 1 and detail.startswith(f"unreachable: {host}:4222: "), detail
    assert (
        "resolves only inside the cluster: run the probe from a pod in the host's namespace"
        in detail
    ) is hinted


@pytest.mark.parametrize(
    ("url", "says"),
    [
        ("redis://127.0.0.1:abc", "its port is not a number"),
        (f"redis://:pa#ss/{SECRET}@127.0.0.1:1", "percent-encode them"),
        ("redis://", "it names no host"),
    ],
)
def test_odd_urls_are_reported_on_their_route_never_a_crash(capsys, tmp_path, url, says):
    path = manifest(tmp_path, url, "nats://127.0.0.1:1")
    code, routes = probes(capsys, path, "--timeout", "2")
    assert code == 1 and says in routes["sessions"]["probe"]["detail"]


def test_one_deadline_bounds_all_probes_even_against_a_trickling_server(capsys, tmp_path):
    # A server that accepts and then sends one byte every 0.2 s, forever.
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(16)
    listener.settimeout(0.2)
    port = listener.getsockname()[1]
    stop = threading.Event()

    def trickle() -> None:
        held = []
        while not stop.is_set():
            with contextlib.suppress(TimeoutError):
                held.append(listener.accept()[0])
            for conn in held:
                with contextlib.suppress(OSError):
                    conn.sendall(b"I")
        for conn in held:
            conn.close()

    thread = threading.Thread(target=trickle, daemon=True)
    thread.start()
    try:
        path = manifest(tmp_path, f"redis://127.0.0.1:{port}", f"nats://127.0.0.1:{port}")
        started = time.monotonic()
        code, routes = probes(capsys, path, "--timeout", "1.5")
        elapsed = time.monotonic() - started
    finally:
        stop.set()
        thread.join()
        listener.close()
    assert code == 1 and elapsed < 3, elapsed  # both probes ran at once, under one deadline
    assert "deadline" in routes["sessions"]["probe"]["detail"]
    assert "not a NATS server" in routes["cache"]["probe"]["detail"]  # it never greeted


def test_resolve_without_a_catalog_is_a_usage_error(capsys):
    code, _, err = resolve(capsys, GOOD, "--catalog", "none")
    assert code == 2 and "needs a host catalog" in err


def test_json_lists_the_inputs_it_could_not_read(capsys, tmp_path):
    broken = tmp_path / "broken.yaml"
    broken.write_text("apiVersion: runtime.wasmcloud.dev/v1alpha1\nkind: [\n")
    code, out, _ = resolve(capsys, GOOD, str(broken), "--format", "json")
    data = json.loads(out)
    assert code == 2 and len(data["workloads"]) == 1
    [error] = data["errors"]
    assert error["source"] == str(broken) and error["line"] == 3
    assert error["message"].startswith("invalid YAML")
