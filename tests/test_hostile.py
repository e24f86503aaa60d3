"""Hostile input against the real server over TLS and against `bindcheck check`.

Expected everywhere: a clear 4xx or a correct AdmissionReview from the server,
exit 2 with a message from the CLI; never a 500, a traceback or a dead server.
"""

from __future__ import annotations

import json
import socket
import ssl
import time
from pathlib import Path

import pytest
import yaml
from conftest import entry, workload
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_server import Server, review

from webhook.cli import main

OK_STATUSES = {200, 400, 413, 415}
JSON_VALUES = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=5) | st.dictionaries(st.text(max_size=10), children, max_size=5)
    ),
    max_leaves=30,
)


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    with Server(tmp_path_factory.mktemp("hostile") / "certs", "--request-timeout", "2") as s:
        yield s


@pytest.fixture(scope="module")
def client(server):
    with server.client() as c:
        yield c


def post_raw(client, content, headers=None):
    return client.post(
        "/validate",
        content=content,
        headers={"content-type": "application/json", **(headers or {})},
    )


def still_serving(client) -> None:
    r = client.post("/validate", json=review(workload([entry(), entry()]), uid="after"))
    assert r.status_code == 200 and r.json()["response"]["allowed"] is False


def rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise AssertionError("no VmRSS")


@pytest.mark.parametrize(
    ("name", "body", "status"),
    [
        ("empty body", b"", 400),
        ("nesting 10,000 deep", b'{"a":' * 10_000 + b"1" + b"}" * 10_000, 400),
        ("non-UTF-8", b'{"apiVersion": "\xff\xfe"}', 400),
        ("duplicate keys", b'{"kind": "AdmissionReview", "kind": "x"}', 400),
        ("NaN", b'{"apiVersion": NaN}', 400),
        ("huge integer", b'{"n": ' + b"9" * 100_000 + b"}", 400),
        ("a bare string", b'"AdmissionReview"', 400),
        (
            "request is a list",
            b'{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","request":[]}',
            400,
        ),
    ],
)
def test_malformed_bodies_get_a_clear_4xx(client, name, body, status):
    r = post_raw(client, body)
    assert r.status_code == status, name
    assert set(r.json()) == {"error", "message"}
    still_serving(client)


def test_a_100_mb_body_is_refused_by_its_declared_length_and_by_streaming(server, client):
    chunk = b" " * (1024 * 1024)

    def body():
        for _ in range(100):
            yield chunk

    with server.client() as c:
        r = c.post("/validate", content=body(), headers={"content-type": "application/json"})
    assert r.status_code == 413
    ctx = ssl.create_default_context(cafile=str(server.cert_dir / "ca.crt"))
    with (
        socket.create_connection(("127.0.0.1", server.port)) as raw,
        ctx.wrap_socket(raw, server_hostname="localhost") as tls,
    ):
        tls.sendall(
            b"POST /validate HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            b"Content-Length: 104857600\r\n\r\n"
        )
        reply = tls.recv(4096)
    assert reply.startswith(b"HTTP/1.1 413")
    still_serving(client)


def test_a_10000_entry_list_is_denied_quickly_on_its_size(client):
    entries = [{"namespace": "wasi", "package": "keyvalue", "interfaces": ["store"]}] * 10_000
    started = time.monotonic()
    r = client.post("/validate", json=review(workload(entries)))
    elapsed = time.monotonic() - started
    causes = r.json()["response"]["status"]["details"]["causes"]
    assert [c["reason"] for c in causes] == ["FieldValueTooMany"]
    assert elapsed < 5


def test_deep_nesting_inside_the_object_is_a_denial_not_a_crash(client):
    deep = "x"
    for _ in range(400):
        deep = {"a": deep}
    obj = workload([entry(config={"nested": deep}), entry(name=[deep])])
    r = client.post("/validate", json=review(obj))
    assert r.status_code == 200
    fields = {c["field"] for c in r.json()["response"]["status"]["details"]["causes"]}
    assert "spec.template.spec.hostInterfaces[0].config.nested" in fields


def test_a_1_mb_name_is_rejected_with_a_short_message(client):
    r = client.post("/validate", json=review(workload([entry(name="a" * 1024 * 1024)])))
    status = r.json()["response"]["status"]
    assert [c["reason"] for c in status["details"]["causes"]] == ["FieldValueTooLong"]
    assert len(r.content) < 4096


def test_escape_sequences_in_names_never_reach_messages_or_logs_raw(server, client):
    evil = "\x1b[2J\x1b]0;pwned\x07\r\nname"
    r = client.post("/validate", json=review(workload([entry(name=evil)]), uid="esc"))
    message = r.json()["response"]["status"]["message"]
    assert "\x1b" not in message and "\r" not in message and "\\x1b" in message
    time.sleep(0.2)
    assert "\x1b" not in server.log_text()


def test_a_client_trickling_headers_is_cut_off_and_others_are_served(server, client):
    ctx = ssl.create_default_context(cafile=str(server.cert_dir / "ca.crt"))
    started = time.monotonic()
    closed = False
    with (
        socket.create_connection(("127.0.0.1", server.port)) as raw,
        ctx.wrap_socket(raw, server_hostname="localhost") as tls,
    ):
        tls.settimeout(1)
        for byte in b"POST /validate HTTP/1.1\r\nHost: localhost\r\n":
            try:
                tls.sendall(bytes([byte]))
                if tls.recv(1) == b"":
                    closed = True
                    break
            except TimeoutError:
                still_serving(client)  # the trickle holds no one else up
            except (ssl.SSLError, OSError):
                closed = True
                break
    assert closed
    assert time.monotonic() - started < 10  # --request-timeout 2


def test_memory_stays_bounded_through_the_hostile_inputs(server, client):
    before = rss_kib(server.proc.pid)
    for _ in range(3):
        post_raw(client, b'{"a":' * 10_000 + b"1" + b"}" * 10_000)
        client.post("/validate", json=review(workload([entry(name="a" * 1024 * 1024)])))
        entries = [{"namespace": "wasi", "package": "keyvalue", "interfaces": ["store"]}] * 10_000
        client.post("/validate", json=review(workload(entries)))
    after = rss_kib(server.proc.pid)
    assert after < 400 * 1024, f"RSS {after} KiB"
    assert after - before < 100 * 1024


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    obj=JSON_VALUES,
    uid=st.text(max_size=30),
    op=st.sampled_from(["CREATE", "UPDATE", "DELETE", "X"]),
)
def test_fuzzed_reviews_get_a_4xx_or_a_correct_review(client, obj, uid, op):
    body = {
        "apiVersion": "admission.k8s.io/v1",
        "kind": "AdmissionReview",
        "request": {"uid": uid, "operation": op, "object": obj, "oldObject": obj},
    }
    r = client.post("/validate", json=body)
    assert r.status_code in OK_STATUSES
    if r.status_code == 200:
        assert r.json()["response"]["uid"] == uid


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    hi=JSON_VALUES, kind=st.sampled_from(["Workload", "WorkloadDeployment", "WorkloadReplicaSet"])
)
def test_fuzzed_workloads_get_a_verdict(client, hi, kind):
    obj = workload(None, kind=kind)
    spec = obj["spec"] if kind == "Workload" else obj["spec"]["template"]["spec"]
    spec["hostInterfaces"] = hi
    r = client.post("/validate", json=review(obj))
    assert r.status_code == 200
    assert isinstance(r.json()["response"]["allowed"], bool)


# The CLI


@pytest.mark.parametrize(
    ("name", "content"),
    [
        (
            "alias bomb",
            "a: &a [x,x,x,x,x,x,x,x,x,x]\n"
            + "".join(
                f"{c}: &{c} [{', '.join(['*' + p] * 10)}]\n"
                for p, c in zip("abcdefgh", "bcdefghi", strict=True)
            ),
        ),
        ("deep nesting", "[" * 10_000 + "]" * 10_000),
        ("non-UTF-8", b"kind: \xff\xfe\n"),
        ("duplicate keys", "kind: Workload\nkind: Workload\n"),
        ("not a number JSON can hold", "n: .nan\n"),
        ("tabs", "a:\n\t- b\n"),
        ("binary", bytes(range(256))),
    ],
)
def test_the_cli_exits_2_with_a_message_on_hostile_files(capsys, tmp_path, name, content):
    # Each file says it holds our kinds, so it is a manifest of ours that cannot be read.
    ours = b"# apiVersion: runtime.wasmcloud.dev/v1alpha1\n"
    path = tmp_path / "x.yaml"
    path.write_bytes(ours + (content if isinstance(content, bytes) else content.encode()))
    code = main(["check", str(path)])
    out, err = capsys.readouterr()
    assert code == 2, name
    assert str(path) in out and "Traceback" not in out + err


@settings(
    max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(text=st.text(max_size=200))
def test_the_cli_never_crashes_on_random_text(tmp_path_factory, text):
    path = tmp_path_factory.mktemp("fuzz") / "x.yaml"
    path.write_text(text)
    assert main(["check", "--format", "json", str(path)]) in (0, 2)


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(hi=JSON_VALUES)
def test_the_cli_judges_random_workloads(tmp_path_factory, hi):
    path = tmp_path_factory.mktemp("fuzz") / "w.yaml"
    obj = workload(None, kind="Workload")
    obj["spec"]["hostInterfaces"] = hi
    path.write_text(yaml.safe_dump(obj))
    out = tmp_path_factory.mktemp("sarif") / "out.sarif"
    assert main(["check", "--format", "sarif", "--output", str(out), str(path)]) in (0, 1)
    assert json.loads(out.read_text())["runs"][0]["results"] is not None


def test_a_1_mb_object_name_floods_neither_the_response_nor_the_log(server, client):
    obj = workload([entry(), entry()])  # two unnamed: denied, so the name is quoted
    obj["metadata"]["name"] = "w" * 1024 * 1024
    r = client.post("/validate", json=review(obj, uid="big-name"))
    assert r.json()["response"]["allowed"] is False and len(r.content) < 4096
    time.sleep(0.2)
    line = next(x for x in server.log_text().splitlines() if '"big-name"' in x)
    assert len(line) < 1024


# Hostile objects: what one review may cost and what may come back


CONTROL = "\x1b[2J\r\n\x00\x07\u202e"
CONTROL_CHARS = "\x1b\r\n\x00\x07\u202e"


def test_megabyte_values_get_short_answers_and_the_cache_is_bounded_in_bytes():
    from webhook.core import build_validator
    from webhook.memo import Remembering
    from webhook.runtime.catalog_files import load_catalog

    remembering = Remembering()
    validator = build_validator(catalog=load_catalog(None), facts=remembering)
    mega = "m" * 1024 * 1024
    objects = [
        workload([entry(name="a", config={"backend": mega})]),
        workload([entry(name="a", interfaces=[mega])]),
        workload([entry(namespace=mega)]),
    ]
    selector = workload([entry(name="a")])
    selector["spec"]["template"]["spec"]["hostSelector"] = {"hostgroup": mega}
    objects.append(selector)
    for obj in objects:
        outcome = validator.check(obj)
        assert outcome.violations, obj
        assert sum(len(v.message) + len(v.field) for v in outcome.violations) < 4096
    for i in range(300):  # 300 distinct megabyte reviews
        validator.check(workload([entry(name=f"n{i}", config={"backend": mega + str(i)})]))
    assert remembering.verdicts.bytes < remembering.verdicts.max_bytes
    assert remembering.verdicts.bytes < 300 * 4096


def test_a_3_mb_body_of_malformed_entries_gets_a_short_answer_quickly(client):
    entries = [
        {"namespace": 1, "package": [], "interfaces": "x", "bogus": i} for i in range(40_000)
    ]
    started = time.monotonic()
    r = client.post("/validate", json=review(workload(entries), uid="malformed"))
    elapsed = time.monotonic() - started
    assert r.status_code == 200 and r.json()["response"]["allowed"] is False
    assert len(r.content) < 256 * 1024 and elapsed < 5
    causes = r.json()["response"]["status"]["details"]["causes"]
    assert len(causes) <= 101 and causes[-1]["reason"] == "FieldValueTooMany"
    indexes = {
        int(c["field"].split("[")[1].split("]")[0])
        for c in causes
        if "][" in c["field"] or "]." in c["field"]
    }
    assert max(indexes) < 64  # nothing past the 64-entry limit is reported


def test_one_entry_with_a_huge_bad_config_is_capped_too():
    from webhook.core import build_validator

    bad = {f"k{i}": i for i in range(100_000)}
    outcome = build_validator().check(workload([entry(name="a", config=bad)]))
    assert 10 <= len(outcome.violations) <= 12
    assert "99990 more items are invalid" in outcome.violations[-1].message


@pytest.mark.parametrize(
    "obj",
    [
        {"apiVersion": "runtime.wasmcloud.dev/v1alpha1", "kind": ["Workload"], "spec": {}},
        workload([entry(name="a", version="1" * 5000 + ".0.0")]),
    ],
)
def test_a_list_kind_or_a_5000_digit_version_is_an_ordinary_verdict(client, tmp_path, obj, capsys):
    body = review(obj, uid="odd")
    body["request"]["kind"]["kind"] = "Workload"  # the request's kind is a string; the object's not
    r = client.post("/validate", json=body)
    assert r.status_code == 200 and r.json()["response"]["uid"] == "odd"
    path = tmp_path / "w.yaml"
    path.write_text(yaml.safe_dump(obj))
    assert main(["check", str(path)]) in (0, 1)
    assert "internal error" not in capsys.readouterr().err


@pytest.mark.parametrize(
    "field", ["interfaces", "namespace", "package", "version", "backend", "selector"]
)
def test_control_characters_never_reach_an_answer_raw(client, field):
    bad = "x" + CONTROL
    if field == "interfaces":
        e = entry(package="nosuch", interfaces=[bad])
    elif field == "backend":
        e = entry(name="a", version="0.2.0-draft", config={"backend": bad})
    elif field == "selector":
        e = entry(name="a")
    else:  # an entry no plugin serves: its namespace, package and version are quoted
        e = entry(**{"package": "nosuch", "name": "a", field: bad})
    obj = workload([e])
    if field == "selector":
        obj["spec"]["template"]["spec"]["hostSelector"] = {"hostgroup": bad}
    r = client.post("/validate", json=review(obj, uid="ctl"))
    response = r.json()["response"]
    decoded = json.dumps(response, ensure_ascii=False)
    strings = json.loads(decoded)  # the strings as a client decodes them
    texts: list[str] = []
    status = strings.pop("status", None)
    if status is not None:
        # A denial puts each violation on a line of its own: the only line breaks
        # allowed are those, one per cause.
        assert status["message"].count("\n") == len(status["details"]["causes"])
        texts += status["message"].split("\n")
        strings["details"] = status["details"]
    stack = [strings]
    while stack:
        value = stack.pop()
        if isinstance(value, dict):
            stack.extend(value.values())
        elif isinstance(value, list):
            stack.extend(value)
        elif isinstance(value, str):
            texts.append(value)
    assert not any(c in t for t in texts for c in CONTROL_CHARS), field
    assert response["allowed"] is False or response.get("warnings"), field


def test_reports_stay_valid_for_control_characters_in_values_and_file_names(tmp_path, capsys):
    import xml.etree.ElementTree as ET

    name = tmp_path / "bad\x1bname .yaml"
    obj = workload([entry(namespace="n" + CONTROL, name="a"), entry(), entry()])
    name.write_text(yaml.safe_dump(obj))
    junit = tmp_path / "r.xml"
    sarif = tmp_path / "r.sarif"
    assert main(["check", "--format", "junit", "-o", str(junit), str(name)]) == 1
    assert main(["check", "--format", "sarif", "-o", str(sarif), str(tmp_path)]) == 1
    ET.fromstring(junit.read_bytes())  # well-formed XML 1.0
    assert "\x1b" not in junit.read_text()
    uri = json.loads(sarif.read_text())["runs"][0]["results"][0]["locations"][0][
        "physicalLocation"
    ]["artifactLocation"]["uri"]
    assert "\x1b" not in uri and " " not in uri and "%1B" in uri


def test_a_lone_surrogate_is_a_schema_violation_not_a_rule_error(client, tmp_path):
    # The API server's decoder replaces a lone surrogate, so only a direct caller can
    # send one: the server refuses the body. A JSON file may hold one: check says where.
    from webhook.core import build_validator

    body = json.dumps(review(workload([entry(name="a"), entry(name="b", version="X")]))).replace(
        '"X"', '"\\ud800"'
    )
    r = client.post("/validate", content=body, headers={"content-type": "application/json"})
    assert (r.status_code, r.json()["error"]) == (400, "invalid_json")
    path = tmp_path / "w.json"
    path.write_text(json.dumps(json.loads(body)["request"]["object"]))
    outcome = build_validator().check(json.loads(path.read_text()))
    assert [(v.field, v.reason.value) for v in outcome.violations] == [
        ("spec.template.spec.hostInterfaces[1].version", "FieldValueInvalid")
    ]
    assert "valid Unicode text" in outcome.violations[0].message


def test_host_selector_values_are_type_checked():
    from webhook.core import build_validator

    obj = workload([entry(name="a")])
    obj["spec"]["template"]["spec"]["hostSelector"] = {"hostgroup": 7, "zone": ["a"]}
    outcome = build_validator().check(obj)
    assert [(v.rule, v.field) for v in outcome.violations] == [
        ("schema-type", "spec.template.spec.hostSelector.hostgroup"),
        ("schema-type", "spec.template.spec.hostSelector.zone"),
    ]
    obj["spec"]["template"]["spec"]["hostSelector"] = "hostgroup=default"
    assert [v.rule for v in build_validator().check(obj).violations] == ["schema-type"]


def test_unbounded_config_lists_and_selectors_stop_at_a_bound(monkeypatch):
    """Values the CRD leaves unbounded cost CPU per item: a NATS list of 160,000 servers,
    1.4 million host aliases, 190,000 non-string selector values. Each stops at a bound
    and says so; only the reported selector items become violations."""
    from conftest import entry, workload

    import webhook.checks.schema as schema
    from webhook.core import build_validator
    from webhook.runtime.catalog_files import load_catalog

    validator = build_validator(catalog=load_catalog(None))
    servers = ",".join(f"nats://h{j}:4222" for j in range(160_000))
    nats = workload([entry(name="a", version="0.2.0-draft",
                           config={"backend": "nats", "url": servers})])  # fmt: skip
    [url] = [v for v in validator.check(nats).violations if v.field.endswith(".url")]
    assert "more than 64 URLs" in url.message
    aliases = ",".join("a" for _ in range(1_400_000))
    http = workload([{"namespace": "wasi", "package": "http", "interfaces": ["incoming-handler"],
                      "config": {"host": "a.example.com", "host-aliases": aliases}}])  # fmt: skip
    [alias] = [v for v in validator.check(http).violations if v.rule == "http-host-alias"]
    assert "1399744 names past the first 256 were not checked" in alias.message
    assert len(alias.message) < 400
    made = []
    real = schema._type
    monkeypatch.setattr(schema, "_type", lambda *a: made.append(1) or real(*a))
    selected = workload([entry(name="a")])
    selected["spec"]["template"]["spec"]["hostSelector"] = {f"k{j}": j for j in range(190_000)}
    found = [v for v in validator.check(selected).violations if "hostSelector" in v.field]
    assert len(found) == 11 and "189990 more items" in found[-1].message
    assert len(made) <= 11
