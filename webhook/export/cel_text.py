"""Writing CEL source text: literals, and the few helpers every exported check shares.

Kubernetes 1.30 compiles new policy expressions at compatibility version 1.29:
strings v2 (``join``, ``substring``, ``split``), optional types, ``matches`` (RE2),
but no two-variable comprehensions, no ``sort`` and no format library. Everything
here stays inside that.
"""

from __future__ import annotations

from typing import Any


def lit(value: Any) -> str:
    """A CEL literal for plain data (str, bool, int, list, dict).

    Kubernetes compiles every policy expression with ``cel.HomogeneousAggregateLiterals()``
    and, from 1.29, the ``ValidateHomogeneousAggregateLiterals`` AST validator
    (k8s.io/apiserver pkg/cel/environment/base.go): the elements of a list literal, and
    the values of a map literal, must all have one type. Where they do not (a plugin
    record mixes strings, maps and booleans), every element is wrapped in ``dyn()``,
    the one type the validator takes as equal to itself.
    """
    return _literal(value)[0]


def _literal(value: Any) -> tuple[str, str]:
    """(CEL text, CEL type) of ``value``."""
    if isinstance(value, bool):
        return ("true" if value else "false"), "bool"
    if isinstance(value, int):
        return str(value), "int"
    if isinstance(value, str):
        return _string(value), "string"
    if isinstance(value, list | tuple):
        texts, kind = _homogeneous([_literal(v) for v in value])
        return "[" + ", ".join(texts) + "]", f"list({kind})"
    if isinstance(value, dict):
        keys = [_literal(k) for k in value]
        if len({t for _, t in keys}) > 1:
            raise TypeError("a CEL map literal needs keys of one type")
        texts, kind = _homogeneous([_literal(v) for v in value.values()])
        pairs = ", ".join(f"{k}: {v}" for (k, _), v in zip(keys, texts, strict=True))
        return "{" + pairs + "}", f"map({keys[0][1] if keys else 'dyn'}, {kind})"
    raise TypeError(f"no CEL literal for {type(value).__name__}")


def _homogeneous(items: list[tuple[str, str]]) -> tuple[list[str], str]:
    """The elements' texts and their one type, each wrapped in ``dyn()`` where types differ.

    An empty list's type is a fresh type variable to the checker, which the validator
    does not take as equal to ``list(string)``: so ``[]`` counts as a type of its own.
    """
    kinds = {kind for _, kind in items}
    if len(kinds) <= 1:
        return [text for text, _ in items], kinds.pop() if kinds else "dyn"
    return [f"dyn({text})" for text, _ in items], "dyn"


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
    """webhook.text.shown: at most ``limit`` characters, marked when cut. A value whose
    shown part has a character bindcheck would escape reads ``(unprintable)``: CEL cannot
    escape it, and a policy message must not carry it. Clipped before the regular
    expression runs, as shown() clips before it escapes: a match costs in proportion to
    the text, and the CRD bounds neither an interface name nor how many there are."""
    x = f"({expr})"
    clip = f'(size({x}) <= {limit} ? {x} : {x}.substring(0, {limit - 3}) + "...")'
    return f'[{clip}].map(c, c.matches({lit(_UNPRINTABLE)}) ? "(unprintable)" : c)[0]'


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
