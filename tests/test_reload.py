"""Config faults while serving: a broken catalog or rule file keeps the last good one serving."""

from __future__ import annotations

import shutil
import time

from conftest import PIN_RULE, ROOT, entry, workload
from test_server import Server, review

PLAIN = ROOT / "examples" / "plain-keyvalue-host.yaml"
NAMED_TWICE = workload(
    [entry(name="cache", version="0.2.0-draft"), entry(name="sessions", version="0.2.0-draft")]
)
RULE = PIN_RULE


def wait_until(predicate, timeout=10.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.2)
    return False


def allowed(client, obj) -> bool:
    return client.post("/validate", json=review(obj)).json()["response"]["allowed"]


def test_a_broken_catalog_keeps_the_last_good_one_and_says_so(tmp_path):
    catalog = tmp_path / "catalog.yaml"
    shutil.copy(PLAIN, catalog)
    server = Server(tmp_path / "certs", "--catalog", str(catalog), "--reload-interval", "0.2")
    try:
        with server.client() as c:
            assert allowed(c, NAMED_TWICE) is False  # the plain plugin cannot multiplex
            catalog.write_text("hostGroups: [\n")  # broken YAML
            assert wait_until(lambda: "problems" in c.get("/readyz").json())
            ready = c.get("/readyz")
            assert ready.status_code == 200
            assert str(catalog) in ready.json()["problems"]["config"]
            assert allowed(c, NAMED_TWICE) is False  # still the last good catalog
            catalog.write_text(
                PLAIN.read_text().replace("namedInstances: false", "namedInstances: true")
            )
            assert wait_until(lambda: "problems" not in c.get("/readyz").json())
            assert allowed(c, NAMED_TWICE) is True  # the new catalog is live
            assert (
                'bindcheck_config_reloads_total{result="error",what="config"}'
                in c.get("/metrics").text
            )
    finally:
        server.stop()
    assert "config reload failed, serving the last good config" in server.log_text()


def test_a_broken_rule_file_keeps_the_last_good_rules(tmp_path):
    rules = tmp_path / "rules"
    rules.mkdir()
    (rules / "pin.yaml").write_text(RULE)
    server = Server(tmp_path / "certs", "--rules", str(rules), "--reload-interval", "0.2")
    unpinned = workload([entry(name="a")])
    try:
        with server.client() as c:
            assert allowed(c, unpinned) is False
            (rules / "pin.yaml").write_text(RULE.replace("has(x.version))", "has(x.version)"))
            assert wait_until(lambda: "problems" in c.get("/readyz").json())
            problem = c.get("/readyz").json()["problems"]["config"]
            assert "pin.yaml:5" in problem and "does not compile" in problem
            assert allowed(c, unpinned) is False
            (rules / "pin.yaml").write_text(RULE.replace("action", "x") + "action: warn\n")
            assert wait_until(lambda: "problems" not in c.get("/readyz").json())
            assert allowed(c, unpinned) is True
    finally:
        server.stop()


def test_a_broken_rule_at_start_up_stops_the_server_with_file_and_line(tmp_path):
    import subprocess
    import sys

    rules = tmp_path / "rules"
    rules.mkdir()
    (rules / "bad.yaml").write_text(RULE.replace("has(x.version))", "has(x.version)"))
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "webhook.cli",
            "serve",
            "--cert-dir",
            str(tmp_path / "c"),
            "--rules",
            str(rules),
        ],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert proc.returncode == 2
    assert f"{rules / 'bad.yaml'}:5:" in proc.stderr


BROKEN_RULES = {
    "complex key": "? [a, b]\n: 1\n",
    "binary value": RULE.replace("message:", "description: !!binary aGVsbG8=\nmessage:"),
    "bad merge key": "<<: 5\n" + RULE,
    "duplicate key": RULE + "id: again\n",
}
BROKEN_CATALOGS = {
    "invalid date": PLAIN.read_text() + "when: 2024-13-45\n",
    "5,000-digit integer": PLAIN.read_text() + "n: " + "9" * 5000 + "\n",
}


def test_no_broken_file_ends_the_watcher_and_certificates_rotate_meanwhile(tmp_path):
    from test_server import _served_serial

    from webhook.certs import write_certs

    rules = tmp_path / "rules"
    rules.mkdir()
    (rules / "pin.yaml").write_text(RULE)
    catalog = tmp_path / "catalog.yaml"
    shutil.copy(PLAIN, catalog)
    server = Server(
        tmp_path / "certs", "--rules", str(rules), "--catalog", str(catalog),
        "--reload-interval", "0.2",
    )  # fmt: skip
    ca = server.cert_dir / "ca.crt"
    try:
        with server.client() as c:
            for name, text in [*BROKEN_RULES.items(), *BROKEN_CATALOGS.items()]:
                target = rules / "pin.yaml" if name in BROKEN_RULES else catalog
                target.write_text(text)
                assert wait_until(lambda: "problems" in c.get("/readyz").json()), name
                assert allowed(c, workload([entry(name="a")])) is False, name  # last good rules
                # The certificate still rotates while the config is broken.
                before = _served_serial(server.port, ca)
                write_certs(server.cert_dir, ["localhost", "127.0.0.1"])
                assert wait_until(lambda b=before: _served_serial(server.port, ca) != b), name
                # A fix loads: the watcher is alive.
                (rules / "pin.yaml").write_text(RULE)
                shutil.copy(PLAIN, catalog)
                assert wait_until(lambda: "problems" not in c.get("/readyz").json()), name
    finally:
        server.stop()
    log = server.log_text()
    assert log.count("config reload failed, serving the last good config") >= len(BROKEN_RULES)
    assert "Traceback" not in log


def test_the_watcher_survives_any_exception_and_keeps_rotating_certificates(tmp_path):
    """An unexpected error from a rebuild (a bug, a library's own exception) is logged and
    shown on /readyz; the next pass still loads certificates and a fixed config."""
    import asyncio

    from webhook.certs import write_certs
    from webhook.core import build_validator
    from webhook.server import ServerState
    from webhook.serving import tls_context, watch

    cert_dir, config = tmp_path / "certs", tmp_path / "rules.yaml"
    write_certs(cert_dir, ["localhost"])
    config.write_text("one")
    state = ServerState(build_validator())
    ctx = tls_context(cert_dir, None)
    outcomes = iter([RuntimeError("a library bug"), MemoryError(), build_validator()])

    def rebuild():
        outcome = next(outcomes)
        if isinstance(outcome, BaseException):
            raise outcome
        return outcome

    async def scenario() -> list[dict[str, str]]:
        task = asyncio.create_task(watch(state, ctx, cert_dir, [config], rebuild, interval=0.05))
        await asyncio.sleep(0.1)  # the watcher takes its first signatures
        seen = []
        for text in ("two", "three", "four"):
            config.write_text(text)
            write_certs(cert_dir, ["localhost"])
            await asyncio.sleep(0.3)
            seen.append(dict(state.problems))
        assert not task.done(), "the watcher ended"
        task.cancel()
        return seen

    seen = asyncio.run(scenario())
    assert seen[0] == {"config": "unexpected RuntimeError"}
    assert seen[1] == {"config": "unexpected MemoryError"}
    assert seen[2] == {}
    reloads = state.metrics.reloads
    assert reloads.labels("certificates", "ok")._value.get() == 3
    assert reloads.labels("config", "error")._value.get() == 2


def test_a_hung_catalog_read_does_not_delay_certificate_rotation(tmp_path):
    """A catalog on a mount that stops answering: here a FIFO nobody writes, whose open()
    blocks for real. Certificates still rotate on time and the last good catalog keeps
    serving (a rebuild running past 30 s is also reported on /readyz)."""
    import os

    from test_server import _served_serial

    from webhook.certs import write_certs

    catalog = tmp_path / "catalog.yaml"
    shutil.copy(PLAIN, catalog)
    server = Server(tmp_path / "certs", "--catalog", str(catalog), "--reload-interval", "0.2")
    ca = server.cert_dir / "ca.crt"
    fifo = tmp_path / "hung.yaml"
    os.mkfifo(fifo)
    try:
        with server.client() as c:
            os.replace(fifo, catalog)  # the next pass opens it and blocks
            time.sleep(1)
            before = _served_serial(server.port, ca)
            write_certs(server.cert_dir, ["localhost", "127.0.0.1"])
            assert wait_until(lambda: _served_serial(server.port, ca) != before, timeout=5)
            assert allowed(c, NAMED_TWICE) is False  # the last good (plain) catalog serves
    finally:
        # release the blocked read: a writer opens the FIFO and hands it the catalog
        fd = os.open(catalog, os.O_WRONLY | os.O_NONBLOCK)
        os.write(fd, PLAIN.read_bytes())
        os.close(fd)
        server.stop()
    assert "Traceback" not in server.log_text()


def test_a_broken_certificate_reload_is_logged_once(tmp_path):
    server = Server(tmp_path / "certs", "--reload-interval", "0.2")
    try:
        with server.client() as c:
            (server.cert_dir / "tls.crt").write_text("garbage")
            assert wait_until(lambda: "problems" in c.get("/readyz").json())
            time.sleep(1)  # several more passes see the same broken pair
    finally:
        server.stop()
    assert server.log_text().count("certificate reload failed, serving the last good pair") == 1
