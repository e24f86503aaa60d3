from __future__ import annotations

import pytest

from webhook.errors import InputError
from webhook.manifests import MAX_NODES, parse

TWO_DOCS = """\
# leading comment
apiVersion: v1
kind: ConfigMap
---
apiVersion: runtime.wasmcloud.dev/v1alpha1
kind: Workload
metadata:
  name: w
spec:
  hostInterfaces:
    - namespace: wasi
      package: keyvalue
      interfaces: [store]
      name: Bad
"""


def test_each_document_keeps_its_start_line_and_fields_their_own():
    docs = list(parse(TWO_DOCS, "f.yaml"))
    assert [d.line for d in docs] == [2, 5]
    assert docs[1].line_of("spec.hostInterfaces[0].name") == 14
    assert docs[1].line_of("spec.hostInterfaces[0].config.url") == 11  # deepest existing node


def test_invalid_yaml_names_the_line_after_the_good_documents():
    text = "a: 1\n---\nb: [1, 2\nc: 3\n"
    docs = []
    with pytest.raises(InputError) as info:
        docs.extend(parse(text, "bad.yaml"))
    assert len(docs) == 1
    assert info.value.source == "bad.yaml" and info.value.line == 4


def test_duplicate_keys_are_refused_as_kubectl_does():
    with pytest.raises(InputError, match="'kind' already defined") as info:
        list(parse("kind: A\nkind: B\n", "d.yaml"))
    assert info.value.line == 2


def test_alias_bomb_is_refused_without_expanding_it():
    lines = ["a0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
    for i in range(1, 9):
        prev = f"*a{i - 1}"
        lines.append(f"a{i}: &a{i} [{', '.join([prev] * 10)}]")
    with pytest.raises(InputError, match=f"more than {MAX_NODES:,} nodes"):
        list(parse("\n".join(lines) + "\n", "bomb.yaml"))


def test_deep_nesting_is_refused_in_yaml_and_json():
    with pytest.raises(InputError, match="nesting"):
        list(parse("[" * 10_000 + "]" * 10_000, "deep.yaml"))
    with pytest.raises(InputError, match="nesting too deep"):
        list(parse('{"a":' * 100_000 + "1" + "}" * 100_000, "deep.json"))


def test_json_with_duplicate_keys_or_nan_is_refused():
    with pytest.raises(InputError, match="duplicate key"):
        list(parse('{"a": 1, "a": 2}', "x.json"))
    with pytest.raises(InputError, match="NaN"):
        list(parse('{"a": NaN}', "x.json"))


def test_kind_list_items_become_documents_with_their_lines():
    text = "apiVersion: v1\nkind: List\nitems:\n  - kind: A\n  - kind: B\n"
    assert [(d.obj["kind"], d.line) for d in parse(text, "l.yaml")] == [("A", 4), ("B", 5)]


def test_empty_documents_are_skipped():
    assert list(parse("---\n---\n", "e.yaml")) == []
