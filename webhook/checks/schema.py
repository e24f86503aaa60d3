"""The CRD's OpenAPI schema for hostInterfaces, applied the way the API server applies it.

Lengths count characters (runes), the name pattern is matched against the whole
value, ``null`` on an optional field counts as absent (the API server prunes it).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from typing import Any

from webhook.crd import ENTRY_FIELDS, MAX_ENTRIES, MAX_LENGTH, NAME_PATTERN
from webhook.facts import FRESH_REVIEW, Review
from webhook.model import HostInterface, Workload
from webhook.rulebook import (
    SCHEMA_MAX_ITEMS,
    SCHEMA_MAX_LENGTH,
    SCHEMA_MIN_ITEMS,
    SCHEMA_PATTERN,
    SCHEMA_REQUIRED,
    SCHEMA_TYPE,
    SCHEMA_UNKNOWN_FIELD,
)
from webhook.text import shown
from webhook.violations import Reason, Violation
from webhook.workloads import SpecGap

_NAME_RE = re.compile(r"[a-z0-9][a-z0-9-]*")  # fullmatch: RE2's $ never matches before "\n"
_STR = frozenset({str})
_UNTYPABLE = frozenset({SCHEMA_TYPE.id, SCHEMA_REQUIRED.id})
"""An entry with these cannot be typed: the checks after the schema leave it out."""
MAX_ITEM_REPORTS = 10
"""Violations reported for the items of one list or map in one entry; the rest are
counted in one more, so a 3 MiB list of bad items gets a short answer."""


@dataclass(slots=True)
class SchemaResult:
    """Typed entries plus what the schema refused.

    ``cel_input`` is the list as CEL rules see it (escaped field names, unknown
    fields pruned), aligned with ``entries``: entries too malformed to type are
    left out of both, so the rest are still checked. ``None`` when the list
    itself is unusable.
    """

    entries: list[HostInterface]
    violations: list[Violation]
    cel_input: list[dict[str, Any]] | None


def quote(value: Any) -> str:
    """A short, printable rendering of a user value for messages: clipped, control
    characters escaped, in double quotes.

    Containers are described, never printed: they may be huge or nested deep enough
    to break ``repr``; so are integers too long to print.
    """
    if isinstance(value, dict | list):
        return f"<{type_name(value)} of {len(value)} items>"
    if isinstance(value, int) and not isinstance(value, bool) and abs(value) > 10**30:
        return "<very large integer>"
    return f'"{shown(value if isinstance(value, str) else repr(value))}"'


_JSON_TYPES = (
    (type(None), "null"),
    (bool, "boolean"),  # before int: a bool is an int to Python
    (int, "integer"),
    (float, "number"),
    (str, "string"),
    (list, "array"),
    (dict, "object"),
)


def type_name(value: Any) -> str:
    """The JSON type name of a value, as the API server words it."""
    return next((name for t, name in _JSON_TYPES if isinstance(value, t)), type(value).__name__)


def _type(field: str, want: str, value: Any, hint: str = "") -> Violation:
    message = f"must be of type {want}, got {type_name(value)} {quote(value)}"
    return SCHEMA_TYPE.at(field, Reason.INVALID, message + (f"; {hint}" if hint else ""))


def check_spec_gap(gap: SpecGap) -> Violation:
    """A spec path that is missing or not an object."""
    if not gap.present or gap.value is None:
        return SCHEMA_REQUIRED.at(
            gap.path, Reason.REQUIRED, f"{gap.path} is required for this kind"
        )
    return _type(gap.path, "object", gap.value)


def check_schema(workload: Workload, review: Review = FRESH_REVIEW) -> SchemaResult:
    """Every schema violation of the hostInterfaces list and the hostSelector.

    A list over the limit is refused on its length and only its first
    ``MAX_ENTRIES`` entries are looked at: the API server refuses it whole anyway, and
    an attacker's 3 MiB list of bad entries must cost a short answer.

    An entry ``review`` typed before at the same position is taken from it, and a new
    valid one is offered to it (webhook/facts.py).
    """
    violations = check_selector(workload)
    raw = workload.raw_entries
    if raw is None:
        return SchemaResult([], violations, [])
    if not isinstance(raw, list):
        hint = "write hostInterfaces as a YAML list of entries (each starting with '- ')"
        violations.append(_type(workload.list_path, "array", raw, hint))
        return SchemaResult([], violations, None)
    if len(raw) > MAX_ENTRIES:
        violations.append(
            SCHEMA_MAX_ITEMS.at(
                workload.list_path,
                Reason.TOO_MANY,
                f"{len(raw)}: must have at most {MAX_ENTRIES} items",
            )
        )
    entries: list[HostInterface] = []
    cel_input: list[dict[str, Any]] = []
    for index, item in enumerate(raw[:MAX_ENTRIES]):
        known = review.typed(index)
        if known is not None:
            entries.append(known[0])
            cel_input.append(known[1])
            continue
        entry, cel_entry, problems = _check_entry(workload, index, item)
        violations.extend(problems)
        if entry is not None and cel_entry is not None:
            entries.append(entry)
            cel_input.append(cel_entry)
            if not problems:
                review.keep_typed(index, (entry, cel_entry))
    return SchemaResult(entries, violations, cel_input)


def check_selector(workload: Workload) -> list[Violation]:
    """``hostSelector`` is a map of strings to strings (a label selector's matchLabels)."""
    raw = workload.raw_selector
    if raw is None:
        return []
    path = workload.list_path.rsplit(".", 1)[0] + ".hostSelector"
    if not isinstance(raw, dict):
        return [_type(path, "object", raw, "hostSelector maps label names to values")]
    # Only the reported ones become Violations: 190,000 bad values cost 0.6 s as objects
    bad = [
        (k, v)
        for k, v in raw.items()
        if not (type(v) is str and type(k) is str and _is_text(v) and _is_text(k))
    ]
    found = [
        _type(f"{path}.{_key(k)}", "string", v, "quote the value")
        for k, v in bad[: MAX_ITEM_REPORTS + 1]
    ]
    return _capped(path, found, len(bad))


def _key(key: Any) -> str:
    """A map key as it may appear in a field path: clipped and escaped."""
    return shown(key if isinstance(key, str) else repr(key), 64)


def _is_text(value: str) -> bool:
    """Valid Unicode text: no lone surrogate (only a direct caller's ``\\ud800`` escape
    makes one; the API server's decoder replaces it)."""
    if value.isascii():
        return True
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _capped(path: str, found: list[Violation], total: int | None = None) -> list[Violation]:
    """At most :data:`MAX_ITEM_REPORTS` of one list's or map's item violations, plus one
    that counts the rest (``total`` of them in all, when ``found`` holds only the first)."""
    total = len(found) if total is None else total
    if total <= MAX_ITEM_REPORTS:
        return found
    rest = total - MAX_ITEM_REPORTS
    summary = Violation(
        path, Reason.INVALID, f"{rest} more items are invalid (not listed)", found[0].rule
    )
    return [*found[:MAX_ITEM_REPORTS], summary]


def _valid_entry(index: int, item: Any) -> tuple[HostInterface, dict[str, Any]] | None:
    """The common case, checked in one pass: a well-formed entry, or ``None`` to look closer.

    Admission sits on the API server's hot path; the detailed walk below runs only
    when something is wrong. Strings must be text (``isascii`` decides nearly always).
    """
    if type(item) is not dict or not item.keys() <= ENTRY_FIELDS:
        return None
    get = item.get
    ns, pkg, ifaces = get("namespace"), get("package"), get("interfaces")
    if not (type(ns) is str and len(ns) <= 128 and type(pkg) is str and len(pkg) <= 128):
        return None
    if not (type(ifaces) is list and ifaces and set(map(type, ifaces)) == _STR):
        return None
    name, version, config = get("name"), get("version"), get("config")
    if name is not None and not (
        type(name) is str and len(name) <= 64 and _NAME_RE.fullmatch(name)
    ):
        return None
    if version is not None and not (type(version) is str and len(version) <= 64):
        return None
    if config is not None and not (
        type(config) is dict and set(map(type, config.values())) <= _STR
    ):
        return None
    if "configFrom" in item or "secretFrom" in item:
        for refs in (get("configFrom"), get("secretFrom")):
            if refs is not None and not (
                type(refs) is list
                and all(type(r) is dict and type(r.get("name", "")) is str for r in refs)
            ):
                return None
    if not _all_text(ns, pkg, version, ifaces, config):
        return None
    return _typed(index, item)


def _all_text(
    namespace: str, package: str, version: Any, interfaces: list[str], config: Any
) -> bool:
    """Every string of a well-typed entry is text; one ``isascii`` over all of them
    decides nearly always."""
    strings = [namespace, package, *interfaces]
    if version is not None:
        strings.append(version)
    if config:
        strings.extend(config)
        strings.extend(config.values())
    return "".join(strings).isascii() or all(_is_text(s) for s in strings)


def _typed(index: int, item: dict[str, Any]) -> tuple[HostInterface, dict[str, Any]]:
    """An entry whose fields have the right types, as Python sees it and as CEL sees it.

    CEL sees what the API server keeps: known fields only, nulls pruned, and
    ``namespace``/``package`` escaped as the API server escapes them.
    """
    cel_entry = (
        dict(item)
        if item.keys() <= ENTRY_FIELDS
        else {k: v for k, v in item.items() if k in ENTRY_FIELDS}
    )
    # The API server escapes these two for CEL: they are CEL reserved words.
    cel_entry["__namespace__"] = cel_entry.pop("namespace")
    cel_entry["__package__"] = cel_entry.pop("package")
    if None in cel_entry.values():
        cel_entry = {k: v for k, v in cel_entry.items() if v is not None}
    get = item.get
    entry = HostInterface(
        index,
        item["namespace"],
        item["package"],
        tuple(item["interfaces"]),
        get("version"),
        get("name"),
        get("config") or {},
        bool(get("configFrom") or get("secretFrom")),
    )
    return entry, cel_entry


def _check_entry(
    workload: Workload, index: int, item: Any
) -> tuple[HostInterface | None, dict[str, Any] | None, list[Violation]]:
    valid = _valid_entry(index, item)
    if valid is not None:
        return valid[0], valid[1], []
    path = workload.entry_path(index)
    if not isinstance(item, dict):
        return None, None, [replace(_type(path, "object", item), entry=index)]
    out: list[Violation] = []
    values: dict[str, Any] = {}
    for field in ("namespace", "package"):
        value = item.get(field)
        if value is None:
            out.append(
                SCHEMA_REQUIRED.at(
                    f"{path}.{field}",
                    Reason.REQUIRED,
                    f"every hostInterfaces entry needs a {field} (e.g. {field}: "
                    f"{'wasi' if field == 'namespace' else 'keyvalue'})",
                )
            )
        else:
            out.extend(_check_string(f"{path}.{field}", field, value))
            values[field] = value
    for field in ("version", "name"):
        value = item.get(field)
        if value is not None:
            out.extend(_check_string(f"{path}.{field}", field, value))
            values[field] = value
    name = values.get("name")
    if isinstance(name, str) and _is_text(name) and not _NAME_RE.fullmatch(name):
        out.append(
            SCHEMA_PATTERN.at(
                f"{path}.name",
                Reason.INVALID,
                f"{quote(name)}: must match {NAME_PATTERN} (lowercase letters, digits "
                "and '-', starting with a letter or digit)",
            )
        )
    out.extend(_check_interfaces(f"{path}.interfaces", item.get("interfaces")))
    out.extend(_check_config(f"{path}.config", item.get("config")))
    for field in ("configFrom", "secretFrom"):
        out.extend(_check_refs(f"{path}.{field}", item.get(field)))
    unknown = [
        SCHEMA_UNKNOWN_FIELD.at(
            f"{path}.{_key(key)}" if isinstance(key, str) else path,
            Reason.NOT_SUPPORTED,
            f"unknown field {quote(key)}; the API server drops it silently "
            f"(known fields: {', '.join(sorted(ENTRY_FIELDS))})",
        )
        for key in item
        if key not in ENTRY_FIELDS
    ]
    out.extend(_capped(path, unknown))
    # the slow path only: say which entry each violation is about (the ratchet reads it)
    out = [replace(v, entry=index) for v in out]
    if any(v.rule in _UNTYPABLE for v in out):
        return None, None, out
    entry, cel_entry = _typed(index, item)
    return entry, cel_entry, out


def _not_text(path: str) -> Violation:
    return SCHEMA_TYPE.at(
        path,
        Reason.INVALID,
        "must be valid Unicode text (it holds a lone surrogate, which the API server "
        "would have replaced)",
    )


def _check_string(path: str, field: str, value: Any) -> list[Violation]:
    if not isinstance(value, str):
        hint = "quote it" if isinstance(value, int | float | bool) else ""
        return [_type(path, "string", value, hint)]
    if not _is_text(value):
        return [_not_text(path)]
    limit = MAX_LENGTH[field]
    if len(value) > limit:
        return [
            SCHEMA_MAX_LENGTH.at(
                path, Reason.TOO_LONG, f"may not be more than {limit} characters (got {len(value)})"
            )
        ]
    return []


def _check_interfaces(path: str, value: Any) -> list[Violation]:
    if value is None:
        return [
            SCHEMA_REQUIRED.at(
                path,
                Reason.REQUIRED,
                "list the interfaces this entry imports (e.g. interfaces: [store])",
            )
        ]
    if not isinstance(value, list):
        return [_type(path, "array", value)]
    if not value:
        return [
            SCHEMA_MIN_ITEMS.at(
                path,
                Reason.REQUIRED,
                "must have at least 1 item; list the interfaces this entry imports",
            )
        ]
    bad = [
        _type(f"{path}[{i}]", "string", v) if not isinstance(v, str) else _not_text(f"{path}[{i}]")
        for i, v in enumerate(value)
        if not (isinstance(v, str) and _is_text(v))
    ]
    return _capped(path, bad)


def _check_config(path: str, value: Any) -> list[Violation]:
    if value is None:
        return []
    if not isinstance(value, dict):
        # Only types are reported: config values may be secrets, so they are never quoted.
        return [
            SCHEMA_TYPE.at(
                path,
                Reason.INVALID,
                f"must be of type object, got {type_name(value)}; config maps keys to string "
                "values",
            )
        ]
    bad = []
    for key, v in value.items():
        field = f"{path}.{_key(key)}"
        if not isinstance(v, str):
            bad.append(
                SCHEMA_TYPE.at(
                    field,
                    Reason.INVALID,
                    f"must be of type string, got {type_name(v)}; quote the value",
                )
            )
        elif not (_is_text(v) and _is_text(key)):
            bad.append(_not_text(field))
    return _capped(path, bad)


def _check_refs(path: str, value: Any) -> list[Violation]:
    if value is None:
        return []
    if not isinstance(value, list):
        return [_type(path, "array", value, "write a list of {name: ...} references")]
    out = []
    for i, ref in enumerate(value):
        if not isinstance(ref, dict):
            out.append(_type(f"{path}[{i}]", "object", ref, "write {name: <object name>}"))
        elif ref.get("name") is not None and not isinstance(ref["name"], str):
            out.append(_type(f"{path}[{i}].name", "string", ref["name"]))
    return _capped(path, out)
