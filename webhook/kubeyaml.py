"""YAML read the way ``kubectl`` reads it, so a manifest means here what it means there.

kubectl turns YAML into JSON with sigs.k8s.io/yaml, which decodes with go-yaml v2
into ``interface{}`` values. Its scalar resolution (goyaml.v2 resolve.go,
``resolve``; decode.go, ``scalar``) differs from PyYAML's YAML 1.1 in ways that
change verdicts:

- booleans are also ``y``/``Y``/``n``/``N``; PyYAML reads those as strings;
- a plain scalar that looks like a timestamp (``2024-01-01``) stays a *string*
  when decoded into ``interface{}``; PyYAML builds a date;
- integers: ``strconv.ParseInt(s, 0, 64)`` after removing ``_`` (so ``017`` is
  octal 15, ``0x1F`` is 31, ``0b101`` is 5), then ``ParseUint`` up to 2**64-1, then
  floats only when they match ``^[-+]?[0-9]*\\.?[0-9]+([eE][-+][0-9]+)?$`` (so
  ``08`` is 8.0, ``1e5`` is the string "1e5", ``1.`` is the string "1."); no
  sexagesimal ``1:30`` (a string to kubectl, 90 to PyYAML); ``=`` is a string;
- a scalar starting with ``.`` is a float when ``ParseFloat`` accepts it;
- ``.nan`` and ``.inf`` decode, but JSON has no such numbers: kubectl fails on them;
- non-string map keys become strings (``1: a`` is ``"1": a``).

Only plain (unquoted, untagged) scalars are resolved; quoted ones are strings.
"""

from __future__ import annotations

import math
import re
from typing import Any

import yaml

try:  # libyaml is ~10x faster; PyYAML wheels ship it, a source build may not.
    _Base: Any = yaml.CSafeLoader
except AttributeError:  # pragma: no cover - depends on the PyYAML build
    _Base = yaml.SafeLoader

STR, BOOL, INT, FLOAT, NULL, MERGE = (
    f"tag:yaml.org,2002:{t}" for t in ("str", "bool", "int", "float", "null", "merge")
)
_TRUE = ("y", "Y", "yes", "Yes", "YES", "true", "True", "TRUE", "on", "On", "ON")
_FALSE = ("n", "N", "no", "No", "NO", "false", "False", "FALSE", "off", "Off", "OFF")
_MAP: dict[str, tuple[str, Any]] = {
    **dict.fromkeys(_TRUE, (BOOL, True)),
    **dict.fromkeys(_FALSE, (BOOL, False)),
    **dict.fromkeys(("", "~", "null", "Null", "NULL"), (NULL, None)),
    **dict.fromkeys((".nan", ".NaN", ".NAN"), (FLOAT, math.nan)),
    **dict.fromkeys((".inf", ".Inf", ".INF", "+.inf", "+.Inf", "+.INF"), (FLOAT, math.inf)),
    **dict.fromkeys(("-.inf", "-.Inf", "-.INF"), (FLOAT, -math.inf)),
    "<<": (MERGE, "<<"),
}  # fmt: skip
_HINT = {**dict.fromkeys("+-", "S"), **dict.fromkeys("0123456789", "D"),
         **dict.fromkeys("yYnNtTfFoO~", "M"), ".": "."}  # fmt: skip
_GO_FLOAT = re.compile(r"[-+]?[0-9]*\.?[0-9]+(?:[eE][-+][0-9]+)?")
_FLOAT_SYNTAX = re.compile(r"[-+]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][-+]?[0-9]+)?")
_INT64 = (-(2**63), 2**63 - 1)
_UINT64_MAX = 2**64 - 1


def resolve_plain(text: str) -> tuple[str, Any]:
    """(tag, value) of a plain scalar, as goyaml.v2's ``resolve`` and ``scalar`` give it."""
    hint = _HINT.get(text[0], "") if text else "N"
    if not hint:
        return STR, text
    found = _MAP.get(text)
    if found is not None:
        return found
    if hint == ".":
        value = _parse_float(text)
        return (FLOAT, value) if value is not None else (STR, text)
    if hint in "DS":
        # A timestamp decoded into interface{} is kept as its text; and text of that
        # shape (YYYY-...) never parses as a number either: no timestamp test needed.
        plain = text.replace("_", "")
        number = _parse_int(plain)
        if number is not None:
            return INT, number
        if _GO_FLOAT.fullmatch(plain):
            value = _parse_float(plain)
            if value is not None:
                return FLOAT, value
        for prefix, sign in (("0b", 1), ("-0b", -1)):
            if plain.startswith(prefix) and _is_binary(plain[len(prefix) :]):
                value = sign * int(plain[len(prefix) :], 2)
                if _INT64[0] <= value <= _UINT64_MAX:
                    return INT, value
    return STR, text


def _parse_int(text: str) -> int | None:
    """``strconv.ParseInt(text, 0, 64)``, then ``ParseUint``: Go's base prefixes, a leading
    ``0`` for octal, a sign only on ParseInt."""
    sign, digits = 1, text
    if digits[:1] in "+-" and digits:
        sign, digits = (-1 if digits[0] == "-" else 1), digits[1:]
    base, body = 10, digits
    lowered = digits[:2].lower()
    if lowered in ("0x", "0o", "0b"):
        base, body = {"0x": 16, "0o": 8, "0b": 2}[lowered], digits[2:]
    elif len(digits) > 1 and digits[0] == "0":
        base, body = 8, digits[1:]
    if not body or not all(
        c in "0123456789abcdefABCDEF"[: base if base <= 10 else 22] for c in body
    ):
        return None
    value = sign * int(body, base)
    if _INT64[0] <= value <= _INT64[1]:
        return value
    if text[:1] != "-" and text[:1] != "+" and value <= _UINT64_MAX:
        return value
    return None


def _is_binary(text: str) -> bool:
    return bool(text) and set(text) <= {"0", "1"}


def _parse_float(text: str) -> float | None:
    """``strconv.ParseFloat(text, 64)`` for decimal syntax (its ``inf``/``nan`` spellings
    never reach here: the map above caught YAML's, and hints exclude letters)."""
    if not _FLOAT_SYNTAX.fullmatch(text):
        return None
    value = float(text)
    return None if math.isinf(value) else value  # out of range: ParseFloat's ErrRange


class KubectlLoader(_Base):  # type: ignore[misc]
    """libyaml's parser, goyaml.v2's scalar resolution, JSON-able values only."""

    def resolve(self, kind: Any, value: Any, implicit: Any) -> str:
        if kind is yaml.ScalarNode and implicit[0]:
            return resolve_plain(value)[0]
        return str(super().resolve(kind, value, implicit))

    def construct_yaml_bool(self, node: yaml.ScalarNode) -> bool:
        return (
            bool(_MAP[node.value][1]) if node.value in _MAP else super().construct_yaml_bool(node)
        )

    def construct_yaml_int(self, node: yaml.ScalarNode) -> int:
        tag, value = resolve_plain(node.value)
        if tag == INT:
            return int(value)
        return int(super().construct_yaml_int(node))  # an explicit !!int on other text

    def construct_yaml_float(self, node: yaml.ScalarNode) -> float:
        tag, value = resolve_plain(node.value)
        if tag in (FLOAT, INT) and value is not None:
            number = float(value)
        else:
            number = float(super().construct_yaml_float(node))
        if math.isnan(number) or math.isinf(number):
            mark = node.start_mark
            raise yaml.constructor.ConstructorError(
                None, None, "JSON has no NaN or infinity; kubectl refuses this value", mark
            )
        return number

    def construct_mapping(self, node: Any, deep: bool = False) -> dict[Any, Any]:
        """Keys become JSON strings as kubectl writes them, one by one: ``1`` and ``true``
        are different keys there, though equal to Python."""
        if isinstance(node, yaml.MappingNode):
            self.flatten_mapping(node)
        mapping: dict[Any, Any] = {}
        for key_node, value_node in node.value:
            key = _json_key(self.construct_object(key_node, deep=deep), key_node)
            mapping[key] = self.construct_object(value_node, deep=deep)
        return mapping


def _json_key(key: Any, node: yaml.Node) -> str:
    """A map key as sigs.k8s.io/yaml writes it into JSON (convertToJSONableObject)."""
    if isinstance(key, str):
        return key
    if key is None:
        return "null"
    if isinstance(key, bool):
        return "true" if key else "false"
    if isinstance(key, int):
        return str(key)
    what = "a number with a fraction" if isinstance(key, float) else "a list or a mapping"
    raise yaml.constructor.ConstructorError(
        None,
        None,
        f"{what} as a map key: kubectl writes it as text by its own rules; quote the key",
        node.start_mark,
    )


def _timestamp_as_text(loader: Any, node: yaml.ScalarNode) -> str:
    """An explicit ``!!timestamp`` also stays text in ``interface{}`` (decode.go)."""
    return str(node.value)


def _binary_as_text(loader: Any, node: yaml.ScalarNode) -> str:
    """``!!binary``: goyaml.v2 decodes the base64 into a string, JSON then replaces bytes
    that are not UTF-8."""
    raw = yaml.SafeLoader.construct_yaml_binary(loader, node)
    return bytes(raw).decode("utf-8", errors="replace")


for _tag, _method in ((BOOL, "construct_yaml_bool"), (INT, "construct_yaml_int"),
                      (FLOAT, "construct_yaml_float")):  # fmt: skip
    KubectlLoader.add_constructor(_tag, getattr(KubectlLoader, _method))
KubectlLoader.add_constructor("tag:yaml.org,2002:timestamp", _timestamp_as_text)
KubectlLoader.add_constructor("tag:yaml.org,2002:binary", _binary_as_text)
