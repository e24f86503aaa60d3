"""A planted secret in config values must never come out: not in messages, logs, metrics,
reports of any format, nor `resolve` output."""

from __future__ import annotations

import json
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
    decisions = [json.loads(x) for x in log.splitlines() if '"decision"' in x]
    assert [d["verdict"] for d in decisions] == ["allowed", "denied"]
    assert SECRET not in log


@pytest.mark.parametrize(
    "url",
    [
        f"nats://a:x@n1:4222,nats://b:{SECRET}@n2:4222",  # the second password of a list
        f"redis://:{SECRET}/slash@r:6379",  # a password holding '/'
        f"  redis://app:{SECRET}@r:6379",  # after a leading space
        f"redis://r:6379/0?password={SECRET}",  # in the query
        f"redis://app:{SECRET}#frag@r:6379",  # a password holding '#'
    ],
)
def test_resolve_masks_every_credential_shape_of_a_url(capsys, tmp_path, url):
    backend = "nats" if url.startswith("nats") else "redis"
    obj = workload(
        [entry(name="s", version="0.2.0-draft", config={"backend": backend, "url": url})]
    )
    path = tmp_path / "w.yaml"
    path.write_text(yaml.safe_dump(obj))
    for fmt in ("text", "json"):
        main(["resolve", str(path), "--format", fmt])
        out, err = capsys.readouterr()
        assert "***" in out or "<redacted>" in out
        assert SECRET not in out + err, fmt
    main(["check", str(path), "--format", "json"])
    out, err = capsys.readouterr()
    assert SECRET not in out + err


def test_config_written_as_a_string_is_never_quoted(tmp_path):
    from webhook.core import build_validator

    obj = workload([entry(name="s", config=f"url: redis://app:{SECRET}@r")])
    outcome = build_validator().check(obj)
    assert [v.rule for v in outcome.violations] == ["schema-type"]
    assert SECRET not in repr(outcome.violations)


def test_a_rule_error_never_quotes_what_the_engine_said(tmp_path):
    from webhook.core import build_validator

    rule = tmp_path / "r.yaml"
    rule.write_text(
        "id: port-number\nreason: FieldValueInvalid\nmessage: m\n"
        "expression: self.all(x, int(x.config.url) > 0)\n"
    )
    obj = workload([entry(name="s", config={"url": f"redis://app:{SECRET}@r"})])
    for engine in ("google", "celpy"):
        outcome = build_validator(extra_rule_dirs=[rule], engine=engine).check(obj)
        assert [v.rule for v in outcome.violations] == ["rule-error"]
        assert SECRET not in repr(outcome.violations), engine
