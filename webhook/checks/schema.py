"""The CRD's OpenAPI schema for hostInterfaces, applied the way the API server applies it.

Lengths count characters (runes), the name pattern is matched against the whole
value, ``null`` on an optional field counts as absent (the API server prunes it).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from webhook.manifests import SpecGap
from webhook.model import HostInterface, Workload
from webhook.violations import Action, Reason, Violation

MAX_ENTRIES = 64
MAX_LENGTH = {"namespace": 128, "package": 128, "version": 64, "name": 64}
NAME_PATTERN = "^[a-z0-9][a-z0-9-]*$"
_NAME_RE = re.compile(r"[a-z0-9][a-z0-9-]*")  # fullmatch: RE2's $ never matches before "\n"
KNOWN_FIELDS = frozenset(
    {"namespace", "package", "interfaces", "version", "name", "config", "configFrom", "secretFrom"}
)
_SHOWN = 40  # characters of a bad value quoted back in a message


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
    """A short, printable rendering of a user value for messages (escapes control chars).

    Containers are described, never printed: they may be huge or nested deep enough
    to break ``repr``; so are integers too long to print.
    """
    if isinstance(value, dict | list):
        return f"<{type_name(value)} of {len(value)} items>"
    if isinstance(value, int) and not isinstance(value, bool) and abs(value) > 10**30:
        return "<very large integer>"
    text = value if isinstance(value, str) else repr(value)
    shown = text[:_SHOWN] + ("..." if len(text) > _SHOWN else "")
    return ascii(shown) if not shown.isprintable() else f'"{shown}"'


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
    return Violation(field, Reason.INVALID, message + (f"; {hint}" if hint else ""), "schema-type")


def check_spec_gap(gap: SpecGap) -> Violation:
    """A spec path that is missing or not an object."""
    if not gap.present or gap.value is None:
        return Violation(
            gap.path, Reason.REQUIRED, f"{gap.path} is required for this kind", "schema-required"
        )
    return _type(gap.path, "object", gap.value)


def check_schema(workload: Workload) -> SchemaResult:
    """Every schema violation of the hostInterfaces list, all at once."""
    raw = workload.raw_entries
    if raw is None:
        return SchemaResult([], [], [])
    if not isinstance(raw, list):
        hint = "write hostInterfaces as a YAML list of entries (each starting with '- ')"
        return SchemaResult([], [_type(workload.list_path, "array", raw, hint)], None)
    violations: list[Violation] = []
    if len(raw) > MAX_ENTRIES:
        violations.append(
            Violation(
                workload.list_path,
                Reason.TOO_MANY,
                f"{len(raw)}: must have at most {MAX_ENTRIES} items",
                "schema-max-items",
            )
        )
    entries: list[HostInterface] = []
    cel_input: list[dict[str, Any]] = []
    for index, item in enumerate(raw):
        entry, cel_entry, problems = _check_entry(workload, index, item)
        violations.extend(problems)
        if entry is not None and cel_entry is not None:
            entries.append(entry)
            cel_input.append(cel_entry)
    return SchemaResult(entries, violations, cel_input)


def _valid_entry(index: int, item: Any) -> tuple[HostInterface, dict[str, Any]] | None:
    """The common case, checked in one pass: a well-formed entry, or ``None`` to look closer.

    Admission sits on the API server's hot path; the detailed walk below runs only
    when something is wrong.
    """
    if type(item) is not dict or not item.keys() <= KNOWN_FIELDS:
        return None
    get = item.get
    ns, pkg, ifaces = get("namespace"), get("package"), get("interfaces")
    if not (type(ns) is str and len(ns) <= 128 and type(pkg) is str and len(pkg) <= 128):
        return None
    if not (type(ifaces) is list and ifaces and all(type(i) is str for i in ifaces)):
        return None
    name, version, config = get("name"), get("version"), get("config")
    if name is not None and not (
        type(name) is str and len(name) <= 64 and _NAME_RE.fullmatch(name)
    ):
        return None
    if version is not None and not (type(version) is str and len(version) <= 64):
        return None
    if config is not None and not (
        type(config) is dict and all(type(v) is str for v in config.values())
    ):
        return None
    if "configFrom" in item or "secretFrom" in item:
        for refs in (get("configFrom"), get("secretFrom")):
            if refs is not None and not (
                type(refs) is list
                and all(type(r) is dict and type(r.get("name", "")) is str for r in refs)
            ):
                return None
    return _typed(index, item)


_CEL_NAMES = {"namespace": "__namespace__", "package": "__package__"}
"""The API server escapes these field names for CEL (they are CEL reserved words)."""


def _typed(index: int, item: dict[str, Any]) -> tuple[HostInterface, dict[str, Any]]:
    """An entry whose fields have the right types, as Python sees it and as CEL sees it.

    CEL sees what the API server keeps: known fields only, nulls pruned, and
    ``namespace``/``package`` escaped as the API server escapes them.
    """
    cel_entry = {
        _CEL_NAMES.get(k, k): v for k, v in item.items() if v is not None and k in KNOWN_FIELDS
    }
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
        return None, None, [_type(path, "object", item)]
    out: list[Violation] = []
    values: dict[str, Any] = {}
    for field in ("namespace", "package"):
        value = item.get(field)
        if value is None:
            out.append(
                Violation(
                    f"{path}.{field}",
                    Reason.REQUIRED,
                    f"every hostInterfaces entry needs a {field} (e.g. {field}: "
                    f"{'wasi' if field == 'namespace' else 'keyvalue'})",
                    "schema-required",
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
    if isinstance(values.get("name"), str) and not _NAME_RE.fullmatch(values["name"]):
        out.append(
            Violation(
                f"{path}.name",
                Reason.INVALID,
                f"{quote(values['name'])}: must match {NAME_PATTERN} (lowercase letters, digits "
                "and '-', starting with a letter or digit)",
                "schema-pattern",
            )
        )
    interfaces = item.get("interfaces")
    out.extend(_check_interfaces(f"{path}.interfaces", interfaces))
    config = item.get("config")
    out.extend(_check_config(f"{path}.config", config))
    for field in ("configFrom", "secretFrom"):
        out.extend(_check_refs(f"{path}.{field}", item.get(field)))
    for key in item:
        if key not in KNOWN_FIELDS:
            out.append(
                Violation(
                    f"{path}.{key}" if isinstance(key, str) else path,
                    Reason.NOT_SUPPORTED,
                    f"unknown field {quote(key)}; the API server drops it silently "
                    f"(known fields: {', '.join(sorted(KNOWN_FIELDS))})",
                    "schema-unknown-field",
                    Action.WARN,
                )
            )
    if any(v.rule in ("schema-type", "schema-required") for v in out):
        return None, None, out
    entry, cel_entry = _typed(index, item)
    return entry, cel_entry, out


def _check_string(path: str, field: str, value: Any) -> list[Violation]:
    if not isinstance(value, str):
        hint = "quote it" if isinstance(value, int | float | bool) else ""
        return [_type(path, "string", value, hint)]
    limit = MAX_LENGTH[field]
    if len(value) > limit:
        return [
            Violation(
                path,
                Reason.TOO_LONG,
                f"may not be more than {limit} characters (got {len(value)})",
                "schema-max-length",
            )
        ]
    return []


def _check_interfaces(path: str, value: Any) -> list[Violation]:
    if value is None:
        return [
            Violation(
                path,
                Reason.REQUIRED,
                "list the interfaces this entry imports (e.g. interfaces: [store])",
                "schema-required",
            )
        ]
    if not isinstance(value, list):
        return [_type(path, "array", value)]
    if not value:
        return [
            Violation(
                path,
                Reason.REQUIRED,
                "must have at least 1 item; list the interfaces this entry imports",
                "schema-min-items",
            )
        ]
    return [
        _type(f"{path}[{i}]", "string", v) for i, v in enumerate(value) if not isinstance(v, str)
    ]


def _check_config(path: str, value: Any) -> list[Violation]:
    if value is None:
        return []
    if not isinstance(value, dict):
        return [_type(path, "object", value, "config maps keys to string values")]
    # Only types are reported here: config values may be secrets, so they are never quoted.
    return [
        Violation(
            f"{path}.{key}",
            Reason.INVALID,
            f"must be of type string, got {type_name(v)}; quote the value",
            "schema-type",
        )
        for key, v in value.items()
        if not isinstance(v, str)
    ]


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
    return out
