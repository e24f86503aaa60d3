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
    server = Server(tmp_path / "certs", "--catalog", str(catalog))
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
    server = Server(tmp_path / "certs", "--rules", str(rules))
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
