"""Reading bindcheck's own config files (rule files, catalogs) as plain data.

Composed and checked like manifests (webhook/manifests.py, ``check_graph``):
duplicate keys, alias bombs and deep nesting are refused with a line, and only
plain data is built.
"""

from __future__ import annotations

from typing import Any

import yaml

from webhook.errors import InputError
from webhook.manifests import YamlLoader, check_graph

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


def load_config_yaml(text: str, source: str) -> Any:
    """A single-document config file (a catalog) as plain data; ``None`` when empty."""
    nodes = compose_config(text, source)
    if len(nodes) > 1:
        raise InputError(source, nodes[1].start_mark.line + 1, "expected one YAML document")
    return construct_config(nodes[0], source) if nodes else None
