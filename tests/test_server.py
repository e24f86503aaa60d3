"""The real server process over TLS, verified against the generated CA as the API server does."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import socket
import ssl
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
import pytest
from conftest import entry, workload
from servers import free_port, wait_for_port

from webhook.certs import key_pem, load_or_make_ca, make_ca, make_leaf, pem, write_certs
from webhook.server import DecisionLog


class Server:
    def __init__(self, cert_dir: Path, *extra: str) -> None:
        self.cert_dir = cert_dir
        self.port = free_port()
        self.log = cert_dir.parent / f"server-{self.port}.log"
        argv = [sys.executable, "-m", "webhook.cli", "serve", "--host", "127.0.0.1",
                "--port", str(self.port), "--cert-dir", str(cert_dir), *extra]  # fmt: skip
        self._log_file = self.log.open("wb")
        self.proc = subprocess.Popen(argv, stdout=self._log_file, stderr=subprocess.STDOUT)
        wait_for_port(self.port, self.proc)
        self.url = f"https://localhost:{self.port}"

    def client(self, cert: tuple[str, str] | None = None) -> httpx.Client:
        ctx = ssl.create_default_context(cafile=str(self.cert_dir / "ca.crt"))
        if cert:
            ctx.load_cert_chain(*cert)
        return httpx.Client(base_url=self.url, verify=ctx, timeout=10)

    def stop(self) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            self.proc.wait(timeout=30)
        self._log_file.close()
        return self.proc.returncode

    def log_text(self) -> str:
        return self.log.read_text()

    def __enter__(self) -> Server:
        return self

    def __exit__(self, *_: object) -> None:
        self.stop()


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    with Server(tmp_path_factory.mktemp("srv") / "certs") as s:
        yield s


@pytest.fixture(scope="module")
def client(server):
    with server.client() as c:
        yield c


def review(obj, operation="CREATE", old=None, uid="uid-1", version="v1", **request):
    req = {"uid": uid, "operation": operation, "object": obj,
           "kind": {"group": "runtime.wasmcloud.dev", "version": "v1alpha1",
                    "kind": obj.get("kind", "") if obj else ""},
           "namespace": "apps", "name": "app", **request}  # fmt: skip
    if old is not None:
        req["oldObject"] = old
    return {"apiVersion": f"admission.k8s.io/{version}", "kind": "AdmissionReview", "request": req}


def post(client, body):
    r = client.post("/validate", json=body)
    assert r.status_code == 200, r.text
    return r.json()


def test_first_start_creates_a_local_ca_with_private_keys_0600(server):
    assert (server.cert_dir / "ca.crt").exists()
    for key in ("tls.key", "ca.key"):
        assert (server.cert_dir / key).stat().st_mode & 0o777 == 0o600


def test_an_allowed_object_echoes_the_uid(client):
    out = post(client, review(workload([entry(name="cache", version="0.2.0-draft")]), uid="abc"))
    assert out["apiVersion"] == "admission.k8s.io/v1" and out["kind"] == "AdmissionReview"
    assert out["response"] == {"uid": "abc", "allowed": True}


def test_a_denial_carries_403_forbidden_message_and_causes(client):
    obj = workload([entry(), entry(), entry(name="Bad"), entry(namespace="n" * 200)])
    resp = post(client, review(obj))["response"]
    assert resp["allowed"] is False
    status = resp["status"]
    assert (status["code"], status["reason"]) == (403, "Forbidden")
    causes = {(c["field"], c["reason"]) for c in status["details"]["causes"]}
    p = "spec.template.spec.hostInterfaces"
    assert {(f"{p}[1].name", "FieldValueDuplicate"), (f"{p}[2].name", "FieldValueInvalid"),
            (f"{p}[3].namespace", "FieldValueTooLong")} <= causes  # fmt: skip
    for cause in status["details"]["causes"]:
        assert cause["field"] in status["message"]


def test_too_many_required_and_not_supported_reasons_reach_the_api_server(client):
    too_many = workload([entry(name=f"n{i}", version="0.2.0-draft") for i in range(65)])
    missing = workload([{"namespace": "wasi", "package": "keyvalue"}])
    unserved = workload([entry(package="nosuch")])
    reasons = set()
    for obj in (too_many, missing, unserved):
        for c in post(client, review(obj))["response"]["status"]["details"]["causes"]:
            reasons.add(c["reason"])
    assert {"FieldValueTooMany", "FieldValueRequired", "FieldValueNotSupported"} <= reasons


def test_warnings_go_to_response_warnings_whole_as_the_api_server_passes_them_on(client):
    obj = workload([entry(name="a", version="0.2.0-draft", nmae="x")])
    resp = post(client, review(obj))["response"]
    assert resp["allowed"] is True
    [warning] = resp["warnings"]
    assert warning.startswith("[schema-unknown-field] spec.template.spec.hostInterfaces[0].nmae")
    # whole: the API server keeps warnings whole up to 4,096 runes in all
    # (k8s.io/apiserver pkg/endpoints/filters/warning.go)
    assert len(warning) > 120 and not warning.endswith("...")


def test_warnings_stay_within_what_the_api_server_keeps_and_carry_no_control_character():
    from webhook.admission import MAX_WARNING, MAX_WARNINGS_TOTAL, _warnings
    from webhook.violations import Action, Reason, Violation

    def warn(k: int, message: str) -> Violation:
        return Violation(
            f"spec.hostInterfaces[{k}].config", Reason.INVALID, message, "backend-ignored",
            Action.WARN,
        )  # fmt: skip

    few = _warnings([warn(k, "x" * 900) for k in range(4)])
    assert [len(w) for w in few] == [len(few[0])] * 4 and len(few[0]) > 900  # whole
    many = _warnings([warn(k, "x" * 400) for k in range(64)])
    assert all(len(w) <= MAX_WARNING for w in many)
    assert sum(len(w) for w in many) <= MAX_WARNINGS_TOTAL
    assert many[-1].startswith("... and ") and many[-1].endswith(
        "more warnings: run bindcheck check"
    )
    [escaped] = _warnings([warn(0, "value \x1b[2J and\nnewline")])
    assert escaped.isprintable() and "\\x1b" in escaped


def test_update_ratchets_old_violations_into_warnings_but_new_ones_deny(client):
    old = workload([entry(), entry()])  # predates the rule: two unnamed entries
    scaled = workload([entry(), entry()])
    scaled["spec"]["replicas"] = 5
    resp = post(client, review(scaled, "UPDATE", old=old))["response"]
    assert resp["allowed"] is True
    assert any("single-unnamed" in w for w in resp["warnings"])
    worse = workload([entry(), entry(), entry(name="Bad")])
    resp = post(client, review(worse, "UPDATE", old=old))["response"]
    assert resp["allowed"] is False
    # The list changed, so its rules are judged afresh, as Kubernetes' ratcheting does.
    assert sorted(
        c["message"].split("]")[0] + "] " + c["field"] for c in resp["status"]["details"]["causes"]
    ) == [
        "[schema-pattern] spec.template.spec.hostInterfaces[2].name",
        "[single-unnamed] spec.template.spec.hostInterfaces[1].name",
        "[unique-entry] spec.template.spec.hostInterfaces[1].name",
    ]


def test_delete_connect_and_other_kinds_are_allowed_untouched(client):
    bad = workload([entry(), entry()])
    assert post(client, review(bad, "DELETE"))["response"]["allowed"] is True
    pod = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"}}
    assert post(client, review(pod))["response"] == {"uid": "uid-1", "allowed": True}


def test_v1beta1_is_answered_in_v1beta1_and_dry_run_is_honoured(client):
    out = post(client, review(workload([entry(), entry()]), version="v1beta1", dryRun=True))
    assert out["apiVersion"] == "admission.k8s.io/v1beta1"
    assert out["response"]["allowed"] is False


@pytest.mark.parametrize(
    ("content", "headers", "status", "error"),
    [
        (b"not json", {}, 400, "invalid_json"),
        (b"[1, 2]", {}, 400, "not_admission_review"),
        (b'{"apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview"}', {}, 400,
         "not_admission_review"),
        (b'{"apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview", "request": {}}', {},
         400, "not_admission_review"),
        (b'{"apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview", '
         b'"request": {"uid": 5, "object": []}}', {}, 400, "not_admission_review"),
        (b'{"a": 1, "a": 2}', {}, 400, "not_admission_review"),  # decoded; see below
        (b'{"a": NaN}', {}, 400, "invalid_json"),
        (b"\xff\xfe", {}, 400, "invalid_json"),
        (b"{}", {"content-type": "text/plain"}, 415, "content_type"),
        (b"", {}, 400, "invalid_json"),
    ],
)  # fmt: skip
def test_bad_requests_get_a_4xx_json_error(client, content, headers, status, error):
    h = {"content-type": "application/json", **headers}
    r = client.post("/validate", content=content, headers=h)
    assert (r.status_code, r.json()["error"]) == (status, error)


def test_a_duplicate_key_from_a_direct_caller_takes_the_last_value_as_go_does(client):
    # The API server cannot send duplicates (webhook.server._parse says why); a direct
    # caller's are read as Go's encoding/json reads them: the last one wins. The answer
    # is still a full, honest review of the object as decoded.
    bad, good = workload([entry(), entry()]), workload([entry()])
    body = json.dumps(review(good, uid="dup"))
    inner = json.dumps(bad) + ', "object": ' + json.dumps(good)
    body = body.replace('"object": ' + json.dumps(good), '"object": ' + inner)
    assert body.count('"object"') == 2
    r = client.post("/validate", content=body, headers={"content-type": "application/json"})
    assert r.status_code == 200 and r.json()["response"]["allowed"] is True
    swapped = body.replace(inner, json.dumps(good) + ', "object": ' + json.dumps(bad))
    r = client.post("/validate", content=swapped, headers={"content-type": "application/json"})
    assert r.json()["response"]["allowed"] is False


def test_a_json_content_type_is_matched_without_regard_to_case_or_parameters(client):
    body = json.dumps(review(workload([entry()]))).encode()
    for ctype in ("Application/JSON", "application/json; charset=utf-8"):
        r = client.post("/validate", content=body, headers={"content-type": ctype})
        assert r.status_code == 200 and r.json()["response"]["allowed"] is True


def test_validate_answers_only_post_and_other_paths_stay_fastapi_routes(client):
    r = client.get("/validate")
    assert (r.status_code, r.json()["error"], r.headers["allow"]) == (
        405,
        "method_not_allowed",
        "POST",
    )
    assert client.get("/nowhere").status_code == 404
    assert client.post("/healthz").status_code == 405


def test_a_body_over_the_limit_is_refused_with_413(client):
    r = client.post("/validate", content=b"x" * (3 * 1024 * 1024 + 1),
                    headers={"content-type": "application/json"})  # fmt: skip
    assert r.status_code == 413 and r.json()["error"] == "too_large"


def test_plain_http_to_the_tls_port_fails_cleanly_and_the_server_stays_up(server, client):
    with pytest.raises(httpx.HTTPError):
        httpx.get(f"http://localhost:{server.port}/healthz", timeout=5)
    assert client.get("/healthz").json() == {"status": "ok"}


def test_health_ready_and_metrics(client):
    assert client.get("/readyz").json()["status"] == "ready"
    post(client, review(workload([entry(), entry()])))
    text = client.get("/metrics").text
    assert (
        'bindcheck_admission_requests_total{kind="WorkloadDeployment",operation="CREATE",verdict="denied"}'
        in text
    )
    assert 'bindcheck_violations_total{action="deny",rule="single-unnamed"}' in text
    assert "bindcheck_admission_duration_seconds_bucket" in text
    assert "bindcheck_certificate_expiry_timestamp_seconds" in text


def _sample(text: str, name: str) -> float:
    [value] = [line.split()[-1] for line in text.splitlines() if line.startswith(name + " ")]
    return float(value)


def test_metrics_show_the_process_what_is_in_flight_and_when_each_source_loaded(client):
    import time

    text = client.get("/metrics").text
    assert _sample(text, "process_resident_memory_bytes") > 10 * 2**20
    assert _sample(text, "process_cpu_seconds_total") > 0
    assert _sample(text, "bindcheck_in_flight_requests") == 1  # this scrape itself
    assert _sample(text, "bindcheck_open_connections") >= 1
    for source in ("config", "certificates"):
        loaded = _sample(
            text, f'bindcheck_last_reload_success_timestamp_seconds{{what="{source}"}}'
        )
        assert time.time() - 3600 < loaded <= time.time()


def test_one_json_log_line_per_decision_without_config_values(server, client):
    obj = workload(
        [
            entry(
                name="s",
                version="0.2.0-draft",
                config={"backend": "redis", "url": "redis://u:planted-s3cret@r:1"},
            )
        ]
    )
    post(client, review(obj, uid="log-me"))
    time.sleep(0.2)
    lines = [json.loads(x) for x in server.log_text().splitlines() if '"log-me"' in x]
    assert len(lines) == 1
    assert {"uid", "kind", "object", "operation", "verdict", "rules", "latency_ms"} <= set(lines[0])
    assert "planted-s3cret" not in server.log_text()


@pytest.mark.parametrize(
    "value", ["plain", "é", "\u2028", "\x85", "\x1b[2J\n", "\u202e", 2**70, "\x7f"]
)
def test_log_lines_are_one_ascii_json_object_whatever_a_value_holds(value):
    from webhook.server import json_log_line

    line = json_log_line("info", "bindcheck.decisions", "decision", {"object": value})
    assert line.isascii() and "\n" not in line and "\x1b" not in line
    assert json.loads(line)["object"] == value
    # The same shape on the fast path and the escaping one.
    assert line.startswith('{"level":"info","logger":"bindcheck.decisions","msg":"decision",')


def _served_serial(port: int, ca: Path) -> int:
    ctx = ssl.create_default_context(cafile=str(ca))
    with (
        socket.create_connection(("127.0.0.1", port)) as raw,
        ctx.wrap_socket(raw, server_hostname="localhost") as tls,
    ):
        from cryptography import x509

        return x509.load_der_x509_certificate(tls.getpeercert(binary_form=True)).serial_number


def test_certificate_rotation_under_load_loses_no_request(tmp_path):
    server = Server(tmp_path / "certs", "--reload-interval", "0.2")
    try:
        failures, done, stop = [], [0], threading.Event()

        def hammer() -> None:
            with server.client() as c:
                while not stop.is_set():
                    try:
                        r = c.post("/validate", json=review(workload([entry()])))
                        ok = r.status_code == 200 and r.json()["response"]["allowed"]
                        if not ok:
                            failures.append(r.text)
                    except httpx.HTTPError as exc:
                        failures.append(repr(exc))
                    done[0] += 1

        threads = [threading.Thread(target=hammer) for _ in range(4)]
        for t in threads:
            t.start()
        first = _served_serial(server.port, server.cert_dir / "ca.crt")
        for _ in range(3):
            write_certs(server.cert_dir, ["localhost", "127.0.0.1"])
            time.sleep(0.6)  # three reload intervals
        rotated = _served_serial(server.port, server.cert_dir / "ca.crt")
        stop.set()
        for t in threads:
            t.join()
        assert failures == []
        assert done[0] > 50
        assert rotated != first
    finally:
        server.stop()


def test_client_certificate_mode_requires_a_cert_signed_by_the_ca_except_for_probes(tmp_path):
    cert_dir = tmp_path / "certs"
    write_certs(cert_dir, ["localhost", "127.0.0.1"])
    ca_key, ca_cert = load_or_make_ca(cert_dir)
    key, cert = make_leaf(ca_key, ca_cert, ["kube-apiserver"], client=True)
    (tmp_path / "client.crt").write_bytes(pem(cert))
    (tmp_path / "client.key").write_bytes(key_pem(key))
    server = Server(cert_dir, "--client-ca", str(cert_dir / "ca.crt"))
    try:
        with server.client((str(tmp_path / "client.crt"), str(tmp_path / "client.key"))) as c:
            assert c.get("/healthz").status_code == 200
            assert post(c, review(workload([entry()])))["response"]["allowed"] is True
            assert c.get("/metrics").status_code == 200
        # kubelet's probes carry no certificate: health answers, nothing else does
        with server.client() as c:
            assert c.get("/healthz").status_code == 200
            assert c.get("/readyz?verbose").status_code == 200
        for path in ("/validate", "/metrics", "/healthz/../validate", "/nosuch"):
            with server.client() as c:
                answer = c.post(path, content=b"{}")
                assert answer.status_code == 403, path
                assert answer.json()["error"] == "client_certificate_required"
        # a certificate from another CA fails the handshake
        other_key, other_ca = make_ca()
        key, cert = make_leaf(other_key, other_ca, ["intruder"], client=True)
        (tmp_path / "other.crt").write_bytes(pem(cert))
        (tmp_path / "other.key").write_bytes(key_pem(key))
        intruder = (str(tmp_path / "other.crt"), str(tmp_path / "other.key"))
        with server.client(intruder) as c, pytest.raises(httpx.HTTPError):
            c.get("/healthz")
    finally:
        server.stop()


def test_sigterm_drains_and_exits_cleanly(tmp_path):
    server = Server(tmp_path / "certs")
    with server.client() as c:
        assert c.get("/healthz").status_code == 200
    started = time.monotonic()
    assert server.stop() == 0
    assert time.monotonic() - started < 25
    assert "Finished server process" in server.log_text()
    assert os.path.exists(server.cert_dir / "tls.crt")


def test_sigterm_lets_an_in_flight_request_finish(tmp_path):
    server = Server(tmp_path / "certs")
    body = json.dumps(review(workload([entry()]), uid="in-flight")).encode()
    ctx = ssl.create_default_context(cafile=str(server.cert_dir / "ca.crt"))
    with (
        socket.create_connection(("127.0.0.1", server.port)) as raw,
        ctx.wrap_socket(raw, server_hostname="localhost") as tls,
    ):
        head = (f"POST /validate HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n"
                f"Content-Length: {len(body)}\r\n\r\n").encode()  # fmt: skip
        tls.sendall(head + body[:10])
        time.sleep(0.3)
        server.proc.send_signal(signal.SIGTERM)
        time.sleep(0.5)
        tls.sendall(body[10:])
        reply = b""
        while b"\r\n\r\n" not in reply or not reply.rstrip().endswith(b"}"):
            chunk = tls.recv(65536)
            if not chunk:
                break
            reply += chunk
    assert reply.startswith(b"HTTP/1.1 200")
    assert json.loads(reply.partition(b"\r\n\r\n")[2])["response"]["uid"] == "in-flight"
    assert server.stop() == 0
    # its decision line was still in its batch window when the loop stopped
    assert '"uid":"in-flight"' in server.log_text()


def test_a_port_in_use_fails_start_up_with_a_message(tmp_path):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        proc = subprocess.run(
            [sys.executable, "-m", "webhook.cli", "serve", "--host", "127.0.0.1", "--port",
             str(port), "--cert-dir", str(tmp_path / "certs")],
            capture_output=True, text=True, timeout=30,
        )  # fmt: skip
    assert proc.returncode == 2
    assert f"could not serve on 127.0.0.1:{port}" in proc.stderr


def test_decision_lines_leave_in_batches_within_their_window(capsys):
    decisions = DecisionLog()

    async def answer(count: int) -> tuple[str, str]:
        for i in range(count):
            decisions.write({"uid": f"u{i}", "verdict": "allowed"})
        await asyncio.sleep(0)
        held = capsys.readouterr().err  # nothing yet: the batch waits for its window
        await asyncio.sleep(DecisionLog.FLUSH_AFTER * 3)
        return held, capsys.readouterr().err

    held, written = asyncio.run(answer(3))
    assert held == ""
    lines = [json.loads(line) for line in written.splitlines()]
    assert [(x["uid"], x["msg"], x["logger"]) for x in lines] == [
        (f"u{i}", "decision", "bindcheck.decisions") for i in range(3)
    ]
    # a full batch leaves at once, the rest with the timer
    held, written = asyncio.run(answer(DecisionLog.MAX_PENDING + 1))
    assert len(held.splitlines()) == DecisionLog.MAX_PENDING
    assert [json.loads(x)["uid"] for x in written.splitlines()] == [f"u{DecisionLog.MAX_PENDING}"]
    decisions.write({"uid": "outside-a-loop"})  # no loop running: written at once
    assert "outside-a-loop" in capsys.readouterr().err


def test_log_level_warning_keeps_decision_lines_out(tmp_path):
    with Server(tmp_path / "certs", "--log-level", "warning") as quiet, quiet.client() as c:
        assert post(c, review(workload([entry()]), uid="hush"))["response"]["allowed"] is True
        time.sleep(0.2)
        assert '"hush"' not in quiet.log_text()


def test_a_rotated_client_ca_is_trusted_and_the_retired_one_refused_without_a_restart(tmp_path):

    cert_dir = tmp_path / "certs"
    write_certs(cert_dir, ["localhost", "127.0.0.1"])

    def client_of(ca_key, ca_cert, name):
        key, cert = make_leaf(ca_key, ca_cert, ["kube-apiserver"], client=True)
        (tmp_path / f"{name}.crt").write_bytes(pem(cert))
        (tmp_path / f"{name}.key").write_bytes(key_pem(key))
        return (str(tmp_path / f"{name}.crt"), str(tmp_path / f"{name}.key"))

    old_ca, new_ca = make_ca("old client CA"), make_ca("new client CA")
    old_client, new_client = client_of(*old_ca, "old"), client_of(*new_ca, "new")
    trusted = tmp_path / "client-ca.crt"
    trusted.write_bytes(pem(old_ca[1]))
    server = Server(cert_dir, "--client-ca", str(trusted), "--reload-interval", "0.2")

    def answers(cert) -> bool:
        try:
            with server.client(cert) as c:
                return c.get("/healthz").status_code == 200
        except httpx.HTTPError:
            return False

    try:
        assert answers(old_client) and not answers(new_client)
        trusted.write_bytes(pem(new_ca[1]))  # the rotation: the old CA retired
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and not answers(new_client):
            time.sleep(0.2)
        assert answers(new_client)
        assert not answers(old_client)
        trusted.write_text("garbage")  # a broken file keeps the last good CAs
        time.sleep(1)
        assert answers(new_client) and not answers(old_client)
    finally:
        server.stop()
    assert "client-ca reload failed" in server.log_text()
