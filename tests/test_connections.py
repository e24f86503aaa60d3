"""Clients that hold bytes, connections or time against the real server (webhook/connections.py).

Each test here failed against the server before the bounds existed: headers grew
memory without limit, idle connections made every request fail with 503, silent
sockets were held 60 s, and a direct caller's kind became a metric label.
"""

from __future__ import annotations

import json
import socket
import ssl
import subprocess
import sys
import time
from contextlib import ExitStack, suppress

import pytest
from conftest import entry, workload
from test_hostile import rss_kib
from test_server import Server, review


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    certs = tmp_path_factory.mktemp("conn") / "certs"
    with Server(certs, "--request-timeout", "2", "--max-connections", "200") as s:
        yield s


@pytest.fixture(scope="module")
def client(server):
    with server.client() as c:
        yield c


def tls(server) -> ssl.SSLSocket:
    ctx = ssl.create_default_context(cafile=str(server.cert_dir / "ca.crt"))
    raw = socket.create_connection(("127.0.0.1", server.port), timeout=10)
    return ctx.wrap_socket(raw, server_hostname="localhost")


def served(client) -> bool:
    r = client.post("/validate", json=review(workload([entry(name="a")]), uid="ok"))
    return r.status_code == 200 and r.json()["response"]["uid"] == "ok"


def reply_of(sock: ssl.SSLSocket) -> bytes:
    data = b""
    try:
        while chunk := sock.recv(65536):
            data += chunk
    except (TimeoutError, ssl.SSLError, OSError):
        pass
    return data


CHUNKED = (
    b"POST /validate HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
    b"Transfer-Encoding: chunked\r\n\r\n"
)


@pytest.mark.parametrize(
    ("what", "opening", "filler"),
    [
        ("endless small headers", b"POST /validate HTTP/1.1\r\nHost: x\r\n", b"X-A: b\r\n"),
        ("one endless header value", b"POST /validate HTTP/1.1\r\nHost: x\r\nX-A: ", b"b" * 64),
        ("an endless URL", b"POST /validate?", b"a=" * 32),
        ("one endless trailer value", CHUNKED + b"0\r\nX-T: ", b"b" * 64),
        ("endless small trailers", CHUNKED + b"0\r\n", b"X-T: b\r\n"),
        ("endless chunk extensions", CHUNKED + b"1;", b"e" * 64),
    ],
)
def test_header_bytes_are_bounded_and_answered_431(server, client, what, opening, filler):
    before = rss_kib(server.proc.pid)
    with tls(server) as sock:
        sock.sendall(opening)
        sock.settimeout(2)  # a server that stopped reading blocks our sends
        started, hung_up = time.monotonic(), False
        try:
            while time.monotonic() - started < 10:  # keep sending until the server hangs up
                sock.sendall(filler * 1024)
        except (ssl.SSLError, OSError):
            hung_up = True
        reply = reply_of(sock)
    assert reply.startswith(b"HTTP/1.1 431"), (what, reply[:80])
    body = json.loads(reply.split(b"\r\n\r\n", 1)[1])
    assert body["error"] in ("header_too_large", "too_many_headers")
    assert hung_up and time.monotonic() - started < 5, f"{what}: the server kept the connection"
    assert rss_kib(server.proc.pid) - before < 32 * 1024
    assert served(client)


def test_more_headers_than_allowed_are_answered_431(server, client):
    many = b"".join(b"X-%d: v\r\n" % i for i in range(101))  # the default limit is 100
    with tls(server) as sock:
        sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n" + many + b"\r\n")
        reply = reply_of(sock)
    assert reply.startswith(b"HTTP/1.1 431") and b'"too_many_headers"' in reply
    assert served(client)


def test_idle_connections_never_lock_out_a_well_behaved_client(server, client):
    # Twice the connection cap of idle TLS connections: the idlest are closed to make
    # room; none of them makes the next request fail (uvicorn's limit said 503 to all).
    with ExitStack() as stack:
        for _ in range(400):
            stack.enter_context(tls(server))
        with server.client() as fresh:
            r = fresh.post("/validate", json=review(workload([entry(name="a")]), uid="fresh"))
        assert r.status_code == 200 and r.json()["response"]["uid"] == "fresh"
    assert served(client)


def test_a_silent_socket_is_dropped_after_the_request_timeout_not_60_s(server):
    started = time.monotonic()
    with socket.create_connection(("127.0.0.1", server.port), timeout=30) as raw:
        assert raw.recv(1) == b""  # closed by the server, no ClientHello ever sent
    assert time.monotonic() - started < 6  # --request-timeout 2


def test_dropped_connections_free_their_memory_at_once(tmp_path):
    # A client that drops its connection without a TLS close_notify (or resets it)
    # left uvicorn's keep-alive timer holding the connection, with its buffers (about
    # 50 KB each), for the 30 s keep-alive timeout: 600 of them parked ~30 MB.
    body = json.dumps(review(workload([entry(name="a")]), uid="drop")).encode()
    request = (
        b"POST /validate HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n"
        b"Content-Length: %d\r\n\r\n" % len(body) + body
    )

    def connect_and_drop(count: int) -> None:
        for _ in range(count):
            with tls(dropper) as sock:  # closed without unwrap(): no close_notify
                sock.sendall(request)
                assert sock.recv(65536).startswith(b"HTTP/1.1 200")

    with Server(tmp_path / "certs") as dropper:
        connect_and_drop(100)  # caches and allocator settle first
        time.sleep(0.5)
        before = rss_kib(dropper.proc.pid)
        connect_and_drop(600)
        time.sleep(0.5)
        grown = rss_kib(dropper.proc.pid) - before
    assert grown < 10 * 1024, f"{grown} KiB held after 600 dropped connections"


def test_requests_past_the_in_flight_limit_get_a_json_503(tmp_path):
    with Server(tmp_path / "certs", "--max-in-flight", "1") as s, tls(s) as held:
        # One request in flight: its headers are in, its body never finishes.
        held.sendall(
            b"POST /validate HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            b"Content-Length: 100\r\n\r\n{"
        )
        time.sleep(0.3)
        with s.client() as c:
            r = c.post("/validate", json=review(workload([entry()])))
        assert r.status_code == 503 and r.json()["error"] == "busy"
        assert r.headers["retry-after"] == "1"


def test_a_direct_callers_kind_never_becomes_a_metric_label(client):
    body = review(workload([entry()]), operation="DELETE")
    body["request"]["kind"]["kind"] = "K" * 100_000
    for i in range(5):
        body["request"]["uid"] = f"kind-{i}"
        assert client.post("/validate", json=body).status_code == 200
    metrics = client.get("/metrics").text
    assert "KKKK" not in metrics and len(metrics) < 64 * 1024
    assert 'kind="other",operation="DELETE"' in metrics


def test_the_parsers_own_400_is_json(server):
    with tls(server) as sock:
        sock.sendall(b"NOT HTTP AT ALL\r\n\r\n")
        reply = reply_of(sock)
    assert reply.startswith(b"HTTP/1.1 400")
    assert json.loads(reply.split(b"\r\n\r\n", 1)[1])["error"] == "bad_request"


def test_a_400_echoes_the_uid_when_it_can_be_read(client):
    body = {"apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview",
            "request": {"uid": "u-77", "operation": "EXPLODE"}}  # fmt: skip
    r = client.post("/validate", json=body)
    assert r.status_code == 400 and r.json()["uid"] == "u-77"


def test_tls_1_2_offers_only_aead_suites(server):
    ctx = ssl.create_default_context(cafile=str(server.cert_dir / "ca.crt"))
    ctx.maximum_version = ssl.TLSVersion.TLSv1_2
    ctx.set_ciphers("ECDHE-ECDSA-AES128-SHA:ECDHE-ECDSA-AES256-SHA384")  # CBC, not AEAD
    with (
        socket.create_connection(("127.0.0.1", server.port), timeout=5) as raw,
        pytest.raises(ssl.SSLError),
    ):
        ctx.wrap_socket(raw, server_hostname="localhost")
    ctx.set_ciphers("ECDHE-ECDSA-AES128-GCM-SHA256")
    with (
        socket.create_connection(("127.0.0.1", server.port), timeout=5) as raw,
        ctx.wrap_socket(raw, server_hostname="localhost") as sock,
    ):
        assert sock.version() == "TLSv1.2" and "GCM" in sock.cipher()[0]


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (["--port", "99999"], "port 99999 is not between 1 and 65535"),
        (["--port", "-1"], "not between 1 and 65535"),
        (["--max-body-bytes", "-5"], "expected a positive number"),
        (["--request-timeout", "0"], "expected a positive number"),
        (["--request-timeout", "nan"], "expected a positive number"),
        (["--max-connections", "0"], "expected a positive number"),
    ],
)
def test_impossible_limits_are_refused_at_start_up(args, says):
    proc = subprocess.run(
        [sys.executable, "-m", "webhook.cli", "serve", *args],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert proc.returncode == 2 and says in proc.stderr


def test_a_bad_cert_dir_or_client_ca_exits_2_with_a_message(tmp_path):
    a_file = tmp_path / "not-a-dir"
    a_file.write_text("x")
    broken = tmp_path / "broken-ca.pem"
    broken.write_text("-----BEGIN CERTIFICATE-----\nnope\n-----END CERTIFICATE-----\n")
    good_dir = tmp_path / "certs"
    for args, says in [
        (["--cert-dir", str(a_file)], "cannot use --cert-dir"),
        (["--cert-dir", str(good_dir), "--client-ca", str(broken)], "cannot load --client-ca"),
        (["--cert-dir", str(good_dir), "--client-ca", str(tmp_path / "missing.pem")],
         "cannot load --client-ca"),
    ]:  # fmt: skip
        proc = subprocess.run(
            [sys.executable, "-m", "webhook.cli", "serve", "--port", "1", *args],
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert proc.returncode == 2, (args, proc.stderr)
        assert says in proc.stderr and "Traceback" not in proc.stderr


def test_a_review_sent_in_chunks_with_a_trailer_is_answered(server):
    body = json.dumps(review(workload([entry(name="a")]), uid="chunked")).encode()
    chunks = b"".join(b"%x\r\n%s\r\n" % (len(body[i : i + 64]), body[i : i + 64])
                      for i in range(0, len(body), 64))  # fmt: skip
    with tls(server) as sock:
        sock.sendall(CHUNKED.replace(b"Host: x", b"Host: x\r\nConnection: close")
                     + chunks + b"0\r\nX-Checksum: none\r\n\r\n")  # fmt: skip
        reply = reply_of(sock)
    assert reply.startswith(b"HTTP/1.1 200"), reply[:200]
    assert b'"uid":"chunked"' in reply.replace(b" ", b"")


def _pipelined(n: int) -> bytes:
    body = json.dumps(review(workload([entry(name="a")]), uid="p")).encode()
    one = (b"POST /validate HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
           b"Content-Length: %d\r\n\r\n%s" % (len(body), body))  # fmt: skip
    return one * n


def test_a_client_pipelining_past_the_limit_gets_a_503_and_is_closed(server, client):
    with tls(server) as sock:
        sock.sendall(_pipelined(100))  # one write: the server reads them together
        sock.settimeout(3)
        reply = reply_of(sock)
    assert reply.count(b"HTTP/1.1 200") <= 17  # the one answered, and at most 16 queued
    assert b"HTTP/1.1 503" in reply and b'"too_many_pipelined"' in reply
    assert served(client)


def test_pipelining_without_reading_costs_little_memory(server, client):
    """100 connections pipelining reviews and never reading their answers grew the
    server by ~90 MiB (every request of each 256 KiB TLS read queued with its body)."""
    before = rss_kib(server.proc.pid)
    ctx = ssl.create_default_context(cafile=str(server.cert_dir / "ca.crt"))
    flood, socks = _pipelined(20), []
    try:
        for _ in range(100):
            raw = socket.create_connection(("127.0.0.1", server.port), timeout=10)
            raw.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
            sock = ctx.wrap_socket(raw, server_hostname="localhost")
            sock.setblocking(False)
            socks.append(sock)
        peak, deadline = before, time.monotonic() + 4
        while time.monotonic() < deadline:
            for sock in socks:
                with suppress(OSError):  # SSLWantWriteError and BlockingIOError too
                    sock.send(flood)
            peak = max(peak, rss_kib(server.proc.pid))
            time.sleep(0.05)
    finally:
        for sock in socks:
            sock.close()
    assert peak - before < 40 * 1024, f"grew {(peak - before) // 1024} MiB"
    assert served(client)
