"""Writing CEL source text: literals, and the few helpers every exported check shares.

Kubernetes 1.30 compiles new policy expressions at compatibility version 1.29:
strings v2 (``join``, ``substring``, ``split``), optional types, ``matches`` (RE2),
but no two-variable comprehensions, no ``sort`` and no format library. Everything
here stays inside that.
"""

from __future__ import annotations

from typing import Any


def lit(value: Any) -> str:
    """A CEL literal for plain data (str, bool, int, list, dict)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, str):
        return _string(value)
    if isinstance(value, list | tuple):
        return "[" + ", ".join(lit(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{lit(k)}: {lit(v)}" for k, v in value.items()) + "}"
    raise TypeError(f"no CEL literal for {type(value).__name__}")


def _string(text: str) -> str:
    out = []
    for char in text:
        if char in ('"', "\\"):
            out.append("\\" + char)
        elif " " <= char <= "~":
            out.append(char)
        elif ord(char) <= 0xFFFF and not 0xD800 <= ord(char) <= 0xDFFF:
            out.append(f"\\u{ord(char):04x}")
        else:
            out.append(f"\\U{ord(char):08x}")
    return '"' + "".join(out) + '"'


# Python's str.isprintable is false for these categories (and for unassigned code
# points, which RE2 cannot name); a value holding one is not quoted.
_UNPRINTABLE = (
    "[\\p{Cc}\\p{Cf}\\p{Co}\\p{Zl}\\p{Zp}"
    "\\x{00A0}\\x{1680}\\x{2000}-\\x{200A}\\x{202F}\\x{205F}\\x{3000}]"
)


def shown(expr: str, limit: int = 40) -> str:
    """webhook.text.shown: at most ``limit`` characters, marked when cut. A value with a
    character bindcheck would escape reads ``(unprintable)``: CEL cannot escape it, and
    a policy message must not carry it."""
    x = f"({expr})"
    clip = f'(size({x}) <= {limit} ? {x} : {x}.substring(0, {limit - 3}) + "...")'
    return f'({x}.matches({lit(_UNPRINTABLE)}) ? "(unprintable)" : {clip})'


def entry_label(indexes: str) -> str:
    """webhook.violations.entry_label over a CEL list of ints: ``[0]``, ``[0] and [2]``,
    ``[0], [2] and [5]``."""
    last = f"{indexes}[size({indexes}) - 1]"
    return (
        f'(size({indexes}) == 1 ? "[" + string({indexes}[0]) + "]" : '
        f'{indexes}.filter(j, j != {last}).map(j, "[" + string(j) + "]").join(", ") + '
        f'" and [" + string({last}) + "]")'
    )


def index(i: str) -> str:
    return f'"[" + string({i}) + "]"'
