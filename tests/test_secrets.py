"""A planted secret in config values must never come out: not in messages, logs, metrics,
reports of any format, nor `resolve` output."""

from __future__ import annotations

import time

import pytest
import yaml
from conftest import entry, workload
from test_server import Server, review

from webhook.cli import main

SECRET = "pl4nted-s3cret-9f1c"


def planted() -> dict:
    leaky = {
        "backend": "redis",
        "url": f"redis://app:{SECRET}@r:6379",
        "password": SECRET,
        "dsn": f"host=db password={SECRET}",
        "port": 6379,
    }
    return workload(
        [
            entry(name="s", version="0.2.0-draft", config=leaky),
            entry(name="s", version="0.2.0-draft", config={"backend": "redis", "token": SECRET}),
            entry(name="t", version="0.2.0-draft", config={"backend": "redis", "extra": SECRET}),
        ]
    )


@pytest.fixture
def manifest(tmp_path):
    path = tmp_path / "w.yaml"
    path.write_text(yaml.safe_dump(planted()))
    return path


@pytest.mark.parametrize("fmt", ["text", "json", "junit", "sarif"])
def test_check_reports_never_carry_the_secret(capsys, manifest, fmt):
    assert main(["check", str(manifest), "--format", fmt]) == 1
    out, err = capsys.readouterr()
    assert "url" in out or "config" in out  # the report did talk about the entries
    assert SECRET not in out + err


@pytest.mark.parametrize("fmt", ["text", "json"])
def test_resolve_output_never_carries_the_secret(capsys, manifest, fmt):
    main(["resolve", str(manifest), "--format", fmt, "--probe", "--timeout", "0.2"])
    out, err = capsys.readouterr()
    assert "redis" in out
    assert SECRET not in out + err


def test_server_responses_logs_and_metrics_never_carry_the_secret(tmp_path):
    server = Server(tmp_path / "certs", "--log-level", "debug")
    try:
        with server.client() as c:
            r = c.post("/validate", json=review(planted(), "UPDATE", old=planted()))
            assert r.json()["response"]["warnings"]  # ratcheted into warnings
            assert SECRET not in r.text
            r = c.post("/validate", json=review(planted()))
            assert r.json()["response"]["allowed"] is False
            assert SECRET not in r.text
            metrics = c.get("/metrics").text
            assert "bindcheck_violations_total" in metrics and SECRET not in metrics
            assert SECRET not in c.get("/readyz").text
        time.sleep(0.3)
    finally:
        server.stop()
    log = server.log_text()
    assert '"verdict": "denied"' in log
    assert SECRET not in log
