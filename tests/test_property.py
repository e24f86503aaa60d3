"""The core against a deliberately naive reference written from DESIGN.md, on random lists."""

from __future__ import annotations

from collections import Counter

from conftest import workload
from hypothesis import given, settings
from hypothesis import strategies as st

NAMES = st.sampled_from([None, "", "a", "b", "cache"])
VERSIONS = st.sampled_from([None, "", "0.2.0", "0.2.1", "1.0.0"])
ENTRY = st.fixed_dictionaries(
    {
        "namespace": st.sampled_from(["wasi", "wasmcloud"]),
        "package": st.sampled_from(["keyvalue", "blobstore"]),
        "interfaces": st.just(["store"]),
    },
    optional={"name": NAMES, "version": VERSIONS},
).map(lambda e: {k: v for k, v in e.items() if v is not None})
LISTS = st.lists(ENTRY, min_size=0, max_size=70)


def reference_upstream(entries: list[dict]) -> bool:
    if len(entries) > 64 or any(e.get("name") == "" for e in entries):
        return False  # max items; "" fails the name pattern
    keys = Counter(
        (e["namespace"], e["package"], e.get("name", ""), e.get("version", "")) for e in entries
    )
    if any(n > 1 for n in keys.values()):
        return False
    unnamed = Counter((e["namespace"], e["package"]) for e in entries if not e.get("name"))
    return all(n <= 1 for n in unnamed.values())


def reference_strict(entries: list[dict]) -> bool:
    if len(entries) > 64 or any(e.get("name") == "" for e in entries):
        return False
    by_pkg: dict[tuple[str, str], list[dict]] = {}
    for e in entries:
        by_pkg.setdefault((e["namespace"], e["package"]), []).append(e)
    for group in by_pkg.values():
        if len(group) > 1 and not all(e.get("name") for e in group):
            return False
        names = [e["name"] for e in group if e.get("name")]
        if len(names) != len(set(names)):
            return False
    return True


@settings(max_examples=300, deadline=None)
@given(LISTS)
def test_upstream_policy_matches_the_reference(upstream, entries):
    assert upstream.check(workload(entries)).allowed is reference_upstream(entries)


@settings(max_examples=300, deadline=None)
@given(LISTS)
def test_strict_policy_matches_the_reference(strict, entries):
    assert strict.check(workload(entries)).allowed is reference_strict(entries)
