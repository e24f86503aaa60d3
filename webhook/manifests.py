"""Reading manifests: bytes → documents, each with its source line and node tree.

YAML goes through the libyaml composer so that every document keeps its node
tree: the start line of the document, and, on demand, the line of any field a
violation points at. Composed graphs are checked before construction for the
things go-yaml (and so kubectl) refuses or that would blow up memory: duplicate
keys, alias bombs, absurd nesting.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import yaml

from webhook.errors import InputError
from webhook.kubeyaml import KubectlLoader
from webhook.text import shown

try:  # libyaml is ~10x faster; PyYAML wheels ship it, a source build may not.
    YamlLoader: Any = yaml.CSafeLoader
except AttributeError:  # pragma: no cover - depends on the PyYAML build
    YamlLoader = yaml.SafeLoader

MANIFEST_SUFFIXES = (".yaml", ".yml", ".json")
MAX_NODES = 1_000_000
"""Expanded node count above which a document is refused (YAML alias bombs)."""
MAX_DEPTH = 200
"""Nesting depth above which a document is refused; real manifests stay under 20."""

_PATH_SEGMENT = re.compile(r"([^.\[\]]+)|\[(\d+)\]")


@dataclass(slots=True)
class Document:
    """One parsed document and where it came from."""

    source: str
    line: int
    obj: Any
    node: yaml.Node | None = field(default=None, repr=False)
    json_text: str | None = field(default=None, repr=False)
    """A JSON document's text: its node tree is composed only when a line is asked for."""

    def line_of(self, path: str) -> int:
        """The line of the deepest node on ``path`` that exists (the document line if none)."""
        if self.node is None and self.json_text is not None:
            self.node = _json_nodes(self.json_text)
            self.json_text = None
        node = self.node
        line = self.line
        if node is None:
            return line
        for key, index in _PATH_SEGMENT.findall(path):
            child = _child(node, key, int(index) if index else None)
            if child is None:
                break
            node = child
            line = node.start_mark.line + 1
        return line


def _json_nodes(text: str) -> yaml.Node | None:
    """Positions of a JSON text's values: JSON is YAML flow syntax, so the YAML composer
    gives every node its line (values come from the JSON parser, never from here)."""
    try:
        return yaml.compose(text, Loader=yaml.SafeLoader)
    except (yaml.YAMLError, RecursionError):
        return None


def _child(node: yaml.Node, key: str, index: int | None) -> yaml.Node | None:
    if index is not None and isinstance(node, yaml.SequenceNode):
        items: list[yaml.Node] = node.value
        return items[index] if index < len(items) else None
    if key and isinstance(node, yaml.MappingNode):
        pairs: list[tuple[yaml.Node, yaml.Node]] = node.value
        for key_node, value_node in pairs:
            if isinstance(key_node, yaml.ScalarNode) and key_node.value == key:
                return value_node
    return None


def parse(text: str, source: str) -> Iterator[Document]:
    """Parse every document of a YAML or JSON text; the items of a list kind become documents.

    Raises :class:`InputError` naming source and line at the first bad document;
    the documents before it have been yielded already.
    """
    if text.lstrip()[:1] == "{":  # kubectl's sniffing: JSON is what starts with "{"
        yield from _parse_json(text, source)
        return
    loader = KubectlLoader(text)
    try:
        while True:
            try:
                if not loader.check_node():
                    return
                node = loader.get_node()
            except yaml.MarkedYAMLError as exc:
                mark = exc.problem_mark or exc.context_mark
                line = mark.line + 1 if mark else 0
                raise InputError(source, line, f"invalid YAML: {exc.problem or exc}") from None
            except yaml.YAMLError as exc:
                raise InputError(source, 0, f"invalid YAML: {exc}") from None
            if node is None:
                continue
            line = node.start_mark.line + 1
            check_graph(node, source)
            try:
                obj = loader.construct_document(node)
            except yaml.YAMLError as exc:
                raise InputError(source, line, f"invalid YAML: {exc}") from None
            except (ValueError, OverflowError) as exc:  # e.g. an integer of 5,000 digits
                raise InputError(source, line, f"invalid value: {str(exc)[:120]}") from None
            if obj is not None:  # an empty document ("---" alone) holds nothing to check
                yield from _expand_list(Document(source, line, obj, node))
    finally:
        loader.dispose()


_SEPARATOR = re.compile(r"^---(?:[ \t].*)?$", re.M)
MAX_BAD_DOCUMENTS = 20
"""Bad documents a file may have before the rest of it goes unread: each one restarts
the parser over the rest of the file, so without a bound a file of many broken
documents would take time quadratic in its size."""


def parse_each(text: str, source: str) -> Iterator[Document | tuple[InputError, str]]:
    """:func:`parse`, going on after a bad YAML document: each error comes with that
    document's own text (to judge whether it is a manifest of ours at all), and parsing
    resumes at the next ``---`` line after the error, as kubeconform's splitter does.
    Lines keep their numbers: what was read is blanked, not cut. After
    :data:`MAX_BAD_DOCUMENTS` errors the rest of the file is one last error."""
    resume = 0  # the offset parsing starts from
    for _ in range(MAX_BAD_DOCUMENTS):
        rest = text if resume == 0 else "\n" * text.count("\n", 0, resume) + text[resume:]
        try:
            yield from parse(rest, source)
            return
        except InputError as exc:
            if exc.line == 0 or rest.lstrip()[:1] == "{":
                yield exc, text[resume:]
                return
            error_at = _offset_of_line(text, exc.line - 1)
            starts = [m.start() for m in _SEPARATOR.finditer(text)]
            begun = max([resume, *(o for o in starts if o < error_at)])
            after = [o for o in starts if o >= error_at and o > begun]
            yield exc, text[begun : after[0] if after else len(text)]
            if not after:
                return
            resume = after[0]
    line = text.count("\n", 0, resume) + 1
    message = f"{MAX_BAD_DOCUMENTS} documents are not valid YAML: the rest is not read"
    yield InputError(source, line, message), text[resume:]


def _offset_of_line(text: str, index: int) -> int:
    offset = 0
    for _ in range(index):
        found = text.find("\n", offset)
        if found < 0:
            return len(text)
        offset = found + 1
    return offset


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out = dict(pairs)
    if len(out) != len(pairs):  # slow path only when something repeats
        seen: set[str] = set()
        for key, _ in pairs:
            if key in seen:
                raise ValueError(f"duplicate key {key[:80]!r}")
            seen.add(key)
    return out


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


def loads_strict(data: str | bytes) -> Any:
    """``json.loads`` that refuses what Kubernetes' strict decoding refuses.

    Duplicate keys and ``NaN``/``Infinity`` raise ``ValueError`` (as do integers past
    Python's digit limit); too-deep nesting raises ``RecursionError``.
    """
    return json.loads(data, object_pairs_hook=_no_duplicates, parse_constant=_no_constant)


def _parse_json(text: str, source: str) -> Iterator[Document]:
    try:
        obj = loads_strict(text)
    except json.JSONDecodeError as exc:
        raise InputError(source, exc.lineno, f"invalid JSON: {exc.msg}") from None
    except ValueError as exc:  # duplicate keys, NaN, huge integers
        raise InputError(source, 1, f"invalid JSON: {exc}") from None
    except RecursionError:
        raise InputError(source, 1, "invalid JSON: nesting too deep") from None
    line = text[: len(text) - len(text.lstrip())].count("\n") + 1
    yield from _expand_list(Document(source, line, obj, json_text=text))


def _expand_list(doc: Document) -> Iterator[Document]:
    obj = doc.obj
    kind = obj.get("kind") if isinstance(obj, dict) else None
    # kubectl flattens any list type (v1 List, WorkloadDeploymentList): its items are objects
    if not (isinstance(kind, str) and kind.endswith("List") and "items" in obj):
        yield doc
        return
    items = obj["items"]
    if not isinstance(items, list):
        raise InputError(doc.source, doc.line, f"a {shown(kind, 64)}'s items must be a list")
    item_nodes = _child(doc.node, "items", None) if doc.node is not None else None
    for i, item in enumerate(items):
        node = None
        line = doc.line
        if isinstance(item_nodes, yaml.SequenceNode):
            node = item_nodes.value[i]
            line = node.start_mark.line + 1
        yield Document(doc.source, line, item, node)


def check_graph(root: yaml.Node, source: str) -> None:
    """Refuse duplicate keys, alias bombs and deep nesting before constructing anything.

    Walks the graph as construction would expand it, counting visits: an alias
    bomb reaches ``MAX_NODES`` visits and stops there, a normal manifest costs
    one visit per node. Iterative, because recursion is what deep nesting attacks.
    """
    stack: list[tuple[yaml.Node, int]] = [(root, 1)]
    visits = 0
    while stack:
        node, depth = stack.pop()
        visits += 1
        if visits > MAX_NODES:
            raise InputError(
                source,
                root.start_mark.line + 1,
                f"document expands to more than {MAX_NODES:,} nodes (YAML aliases?)",
            )
        if depth > MAX_DEPTH:
            raise InputError(
                source, node.start_mark.line + 1, f"nesting deeper than {MAX_DEPTH} levels"
            )
        if isinstance(node, yaml.MappingNode):
            _check_unique_keys(node, source)
            for key_node, value_node in node.value:
                stack.append((key_node, depth + 1))
                stack.append((value_node, depth + 1))
        elif isinstance(node, yaml.SequenceNode):
            stack.extend((child, depth + 1) for child in node.value)


def _check_unique_keys(node: yaml.MappingNode, source: str) -> None:
    keys = [k.value for k, _ in node.value if isinstance(k, yaml.ScalarNode)]
    if len(keys) == len(set(keys)):
        return
    seen: set[str] = set()
    for key_node, _ in node.value:
        if not isinstance(key_node, yaml.ScalarNode) or key_node.tag == "tag:yaml.org,2002:merge":
            continue
        if key_node.value in seen:
            raise InputError(
                source,
                key_node.start_mark.line + 1,
                f"mapping key {key_node.value[:80]!r} already defined",
            )
        seen.add(key_node.value)
