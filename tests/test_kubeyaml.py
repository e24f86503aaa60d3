"""YAML read as kubectl reads it (webhook/kubeyaml.py).

The expected values are what goyaml.v2 (under sigs.k8s.io/yaml, which kubectl uses)
gives, read from its source: resolve.go ``resolve`` (the bool/null map, ParseInt with
base 0 after removing '_', ParseUint, the float regexp
``^[-+]?[0-9]*\\.?[0-9]+([eE][-+][0-9]+)?$``, ``0b``/``-0b``) and decode.go ``scalar``
(a timestamp decoded into ``interface{}`` is kept as its text).
"""

from __future__ import annotations

import pytest
import yaml
from conftest import entry, workload

from webhook.checking import check_paths
from webhook.core import build_validator
from webhook.errors import InputError
from webhook.kubeyaml import KubectlLoader, resolve_plain
from webhook.manifests import parse


@pytest.mark.parametrize(
    ("text", "value"),
    [
        # resolve.go resolveMapList
        ("y", True), ("Y", True), ("yes", True), ("on", True), ("ON", True), ("TRUE", True),
        ("n", False), ("N", False), ("no", False), ("off", False), ("False", False),
        ("~", None), ("null", None), ("NULL", None),
        # timestamps stay text (decode.go, scalar, interface{} case)
        ("2024-01-01", "2024-01-01"),
        ("2001-12-14t21:59:43.10-05:00", "2001-12-14t21:59:43.10-05:00"),
        # ParseInt(plain, 0, 64) after removing "_"
        ("017", 15), ("0x1F", 31), ("0o17", 15), ("1_000", 1000), ("+1", 1), ("-42", -42),
        ("0b101", 5), ("-0b11", -3),
        # ParseUint up to 2**64-1, then the float regexp, else text
        ("18446744073709551615", 2**64 - 1), ("99999999999999999999", 1e20), ("08", 8.0),
        ("1.5", 1.5), ("1e+5", 100000.0), (".5", 0.5),
        ("1e5", "1e5"), ("1.", "1."), ("1:30", "1:30"), ("=", "="), ("0.2.0-draft", "0.2.0-draft"),
        ("9" * 400, "9" * 400),  # ParseFloat out of range: ErrRange, so text
    ],
)  # fmt: skip
def test_plain_scalars_resolve_as_goyaml_v2_resolves_them(text, value):
    assert resolve_plain(text)[1] == value
    loaded = yaml.load(f"k: {text}\n", Loader=KubectlLoader)["k"]
    assert loaded == value and type(loaded) is type(value)


def test_quoted_scalars_are_always_text():
    assert yaml.load('a: "y"\nb: \'017\'\nc: "2024-01-01"\n', Loader=KubectlLoader) == {
        "a": "y", "b": "017", "c": "2024-01-01",
    }  # fmt: skip


def test_map_keys_become_json_strings_as_kubectl_writes_them():
    assert yaml.load("1: a\ntrue: b\n~: c\n", Loader=KubectlLoader) == {
        "1": "a", "true": "b", "null": "c",
    }  # fmt: skip


@pytest.mark.parametrize("text", ["n: .nan\n", "n: -.inf\n", "1.5: x\n", "[a]: x\n"])
def test_what_kubectl_cannot_turn_into_json_is_an_input_error(text):
    with pytest.raises(InputError):
        list(parse(text, "x.yaml"))


def test_a_date_like_name_is_checked_as_the_string_kubectl_sends():
    text = yaml.safe_dump(workload([entry(name="cache")])).replace(
        "name: cache", "name: 2024-01-01"
    )
    (doc,) = parse(text, "w.yaml")
    outcome = build_validator().check(doc.obj)
    assert outcome.violations == ()  # "2024-01-01" matches ^[a-z0-9][a-z0-9-]*$


@pytest.mark.parametrize("word", ["y", "n", "on", "off"])
def test_y_and_n_are_booleans_to_kubectl_and_denied_as_names(word, tmp_path):
    path = tmp_path / "w.yaml"
    path.write_text(
        yaml.safe_dump(workload([entry(name="cache")])).replace("name: cache", f"name: {word}")
    )
    report = check_paths([str(path)], build_validator())
    (result,) = report.results
    assert [v.rule for v in result.outcome.denials] == ["schema-type"]
    assert "got boolean" in result.outcome.denials[0].message
