"""Reading bindcheck's own config files (rule files, catalogs) as plain data.

Composed and checked like manifests (webhook/manifests.py, ``check_graph``):
duplicate keys, alias bombs and deep nesting are refused with a line, and only
plain data is built.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import yaml
from pydantic_core import ErrorDetails

from webhook.errors import InputError
from webhook.manifests import YamlLoader, check_graph
from webhook.text import did_you_mean, shown

_PLAIN_TYPES = (dict, list, str, int, float, bool, type(None))


def compose_config(text: str, source: str) -> list[yaml.Node]:
    """The documents of one of bindcheck's own config files (rules, catalogs), composed
    and checked like manifests: duplicate keys, alias bombs and deep nesting refused."""
    try:
        nodes = [n for n in yaml.compose_all(text, Loader=YamlLoader) if n is not None]
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        raise InputError(
            source, mark.line + 1 if mark else 0, f"invalid YAML: {exc.problem}"
        ) from None
    except yaml.YAMLError as exc:
        raise InputError(source, 0, f"invalid YAML: {exc}") from None
    for node in nodes:
        check_graph(node, source)
    return nodes


_PLAIN_TAGS = frozenset(
    f"tag:yaml.org,2002:{t}" for t in ("str", "int", "float", "bool", "null", "seq", "map", "merge")
)


def construct_config(node: yaml.Node, source: str) -> Any:
    """Build a composed config document; anything it cannot build as plain data
    (complex keys, ``!!binary``, dates, bad merge keys, huge integers) is an
    :class:`InputError` with a line, never another exception."""
    line = node.start_mark.line + 1
    stack = [node]
    while stack:  # tags first: they point at the exact line
        current = stack.pop()
        if current.tag not in _PLAIN_TAGS:
            kind = current.tag.rsplit(":", 1)[-1][:40]
            raise InputError(
                source,
                current.start_mark.line + 1,
                f"a {kind} value is not plain data here (quote it if it is text)",
            )
        if isinstance(current, yaml.MappingNode):
            for key, value in current.value:
                if not isinstance(key, yaml.ScalarNode):
                    raise InputError(
                        source, key.start_mark.line + 1, "a mapping key must be a plain scalar"
                    )
                stack.extend((key, value))
        elif isinstance(current, yaml.SequenceNode):
            stack.extend(current.value)
    try:
        data = YamlLoader("").construct_document(node)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        where = mark.line + 1 if mark else line
        raise InputError(source, where, f"invalid YAML: {exc.problem or exc}") from None
    except (yaml.YAMLError, ValueError, OverflowError, TypeError, RecursionError) as exc:
        reason = str(exc)[:120] or type(exc).__name__
        raise InputError(source, line, f"cannot read this YAML as plain data: {reason}") from None
    _require_plain(data, source, line)
    return data


def _require_plain(data: Any, source: str, line: int) -> None:
    stack = [data]
    while stack:
        value = stack.pop()
        if not isinstance(value, _PLAIN_TYPES):
            raise InputError(
                source, line, f"a value of type {type(value).__name__} is not plain data here"
            )
        if isinstance(value, dict):
            stack.extend(value.keys())
            stack.extend(value.values())
        elif isinstance(value, list):
            stack.extend(value)


def read_document(text: str, source: str) -> tuple[Any, yaml.Node | None]:
    """A single-document config file (a catalog, ``.bindcheck.yaml``) as plain data and
    the node it was built from (for lines); ``(None, None)`` when empty."""
    nodes = compose_config(text, source)
    if len(nodes) > 1:
        raise InputError(source, nodes[1].start_mark.line + 1, "expected one YAML document")
    return (construct_config(nodes[0], source), nodes[0]) if nodes else (None, None)


def line_of(node: yaml.Node | None, path: list[str]) -> int:
    """The line of the deepest node along ``path``: a key's own line when it is there,
    else the line of the mapping or list that lacks it; 0 for an empty file."""
    if node is None:
        return 0
    line = node.start_mark.line + 1
    for step in path:
        if isinstance(node, yaml.MappingNode):
            found = next(((k, v) for k, v in node.value if getattr(k, "value", None) == step), None)
            if found is None:
                break
            line, node = found[0].start_mark.line + 1, found[1]
        elif isinstance(node, yaml.SequenceNode) and step.isdigit() and int(step) < len(node.value):
            node = node.value[int(step)]
            line = node.start_mark.line + 1
        else:
            break
    return int(line)


def first_error(errors: list[ErrorDetails], known: Iterable[str] = ()) -> tuple[list[str], str]:
    """The error to report: an unknown key before anything else (a misspelt key also
    leaves the real one missing), with the key it was likely meant to be: a missing
    sibling, else one of ``known``."""
    unknown = [e for e in errors if e["type"] == "extra_forbidden"]
    err = unknown[0] if unknown else errors[0]
    path = [shown(str(p), 60) for p in err["loc"]]
    if not unknown:
        return path, str(err["msg"]).removeprefix("Value error, ")
    key = str(err["loc"][-1])
    missing = [
        str(e["loc"][-1]) for e in errors
        if e["type"] == "missing" and e["loc"][:-1] == err["loc"][:-1]
    ]  # fmt: skip
    return path, f"unknown key '{shown(key, 60)}'{did_you_mean(key, missing or known)}"
