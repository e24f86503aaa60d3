from __future__ import annotations

import dataclasses
import datetime as dt
import tracemalloc

import orjson
from conftest import entry, workload
from hypothesis import given, settings
from hypothesis import strategies as st

from webhook.core import build_validator
from webhook.fingerprints import EntryMemo, entry_prints, verdict_key
from webhook.model import HostInterface
from webhook.runtime.catalog import load_catalog
from webhook.verdict_cache import VerdictCache
from webhook.violations import Reason, Violation

V = (Violation("f", Reason.INVALID, "m", "r"),)


def key(entries: object, kind: str = "K", selector: object = None) -> bytes | None:
    return verdict_key(kind, entries, entry_prints(entries), selector)


def test_the_same_host_interfaces_reuse_the_verdict_under_another_name():
    v = build_validator(cache_size=16)
    first = v.check(workload([entry(), entry()], name="a"))
    second = v.check(workload([entry(), entry()], name="b"))
    assert (v.cache.hits, v.cache.misses) == (1, 1)
    assert second.name == "b" and second.violations == first.violations


def test_a_different_list_kind_or_selector_is_a_new_verdict():
    v = build_validator(cache_size=16)
    v.check(workload([entry()]))
    v.check(workload([entry(name="x")]))
    v.check(workload([entry()], kind="Workload"))
    obj = workload([entry()])
    obj["spec"]["template"]["spec"]["hostSelector"] = {"hostgroup": "edge"}
    v.check(obj)
    assert v.cache.hits == 0 and v.cache.misses == 4


def test_the_cache_is_bounded_and_evicts_the_least_recent():
    cache = VerdictCache(size=2)
    keys = [key([i]) for i in range(3)]
    cache.put(keys[0], V)
    cache.put(keys[1], V)
    assert cache.get(keys[0]) == V  # 0 is now the most recent
    cache.put(keys[2], V)
    assert cache.get(keys[1]) is None and cache.get(keys[0]) == V and cache.get(keys[2]) == V


def test_the_cache_is_bounded_in_bytes_too_and_a_huge_verdict_is_not_kept():
    big = (Violation("f", Reason.INVALID, "m" * 1000, "r"),)
    cache = VerdictCache(size=1000, max_bytes=32 * 1024)
    keys = [key([i]) for i in range(40)]
    for k in keys:
        cache.put(k, big)
    assert cache.bytes <= 32 * 1024 and len(cache._entries) < 40
    assert cache.get(keys[-1]) == big and cache.get(keys[0]) is None  # the oldest went first
    huge = (Violation("f", Reason.INVALID, "m" * 2000, "r"),)  # over a sixteenth of the budget
    cache.put(key(["huge"]), huge)
    assert cache.get(key(["huge"])) is None


def test_keys_tell_apart_values_python_calls_equal():
    # 1 == True == 1.0 in Python, but CEL and the schema treat them differently.
    keys = {key([{"v": v}]) for v in (1, True, 1.0, "1")}
    assert len(keys) == 4
    # and so do entry prints, which the entry memo is keyed by
    assert len({entry_prints([{"v": v}])[0] for v in (1, True, 1.0, "1")}) == 4


def test_json_prints_tell_apart_what_json_tells_apart():
    # A review's entries come from orjson: its bytes are their print.
    prints = {entry_prints([{"v": v}], from_json=True)[0] for v in (1, True, 1.0, "1", None, -0.0)}
    assert len(prints) == 6


def test_json_keys_delimit_entries_that_do_not_delimit_themselves():
    def json_key(entries: list[object]) -> bytes | None:
        return verdict_key("K", entries, entry_prints(entries, from_json=True), None)

    assert json_key([12, 3]) != json_key([1, 23])
    assert json_key(["a", "b"]) != json_key(["a\n", "b"])


def test_json_and_marshal_prints_never_meet():
    for value in ({}, [], "", 0, {"namespace": "wasi"}):
        json_print, marshal_print = entry_prints([value], True)[0], entry_prints([value])[0]
        assert json_print is not None and marshal_print is not None
        assert json_print != marshal_print and marshal_print.startswith(b"\x00")
        assert not json_print.startswith(b"\x00")


def test_values_that_are_not_plain_data_are_not_cached():
    assert key([{"version": dt.date(2024, 1, 1)}]) is None
    assert entry_prints([{"version": dt.date(2024, 1, 1)}]) == [None]
    v = build_validator(cache_size=16)
    obj = workload([entry(version=dt.date(2024, 1, 1))])
    assert [x.rule for x in v.check(obj).violations] == ["schema-type"]
    assert [x.rule for x in v.check(obj).violations] == ["schema-type"]
    assert v.cache.hits == 0


def test_a_date_never_passes_for_the_string_a_valid_entry_had():
    # JSON writes a date as its ISO string; were entries keyed by JSON, the valid
    # entry below would be remembered and the date served its verdict.
    v = build_validator(cache_size=16)
    assert v.check(workload([entry(name="a", version="2024-01-01")])).violations == ()
    dated = v.check(workload([entry(name="a", version=dt.date(2024, 1, 1))]))
    assert [x.rule for x in dated.violations] == ["schema-type"]


def test_a_list_past_the_limit_is_keyed_by_its_length_and_first_entries():
    base = [entry(name=f"n{i}") for i in range(64)]
    assert key([*base, entry(name="x")]) == key([*base, entry(name="y")])
    assert key([*base, entry(name="x")]) != key([*base, entry(name="x"), entry(name="y")])
    assert key(base) != key([*base, entry(name="x")])


def _typed() -> tuple[HostInterface, dict[str, object]]:
    return HostInterface(0, "wasi", "keyvalue", ("store",)), {}


def _keep(memo: EntryMemo, print_: bytes, typed: tuple[HostInterface, dict[str, object]]) -> bool:
    """Keep an entry as a second sighting does (the first only notes it)."""
    assert not memo.keep_typed(print_, 0, "l", typed)
    return memo.keep_typed(print_, 0, "l", typed)


def test_an_entry_is_kept_the_second_time_it_is_seen():
    memo = EntryMemo()
    first = _typed()
    assert not memo.keep_typed(b"p", 0, "l", first) and memo.typed(b"p", 0, "l") is None
    assert memo.bytes == 0 and not first[0].remembered
    second = _typed()
    assert memo.keep_typed(b"p", 0, "l", second) and memo.typed(b"p", 0, "l") is second
    assert second[0].remembered


def test_first_sightings_are_noted_in_a_fixed_table():
    memo = EntryMemo()
    size = len(memo._noted)
    for i in range(100_000):
        assert not memo.keep_typed(i.to_bytes(8, "big"), 0, "l", _typed())
    assert len(memo._noted) == size == EntryMemo.NOTED_SLOTS and memo.bytes == 0
    # two keys in one slot: the later note replaces the earlier, which is then seen
    # for the first time again (kept one sighting later; no verdict depends on it)
    by_slot: dict[int, bytes] = {}
    for i in range(10**6):
        print_ = b"k" + i.to_bytes(8, "big")
        slot = hash((print_, 0, "l")) & (EntryMemo.NOTED_SLOTS - 1)
        if slot in by_slot:
            first, second = by_slot[slot], print_
            break
        by_slot[slot] = print_
    assert not memo.keep_typed(first, 0, "l", _typed())
    assert not memo.keep_typed(second, 0, "l", _typed())
    assert not memo.keep_typed(first, 0, "l", _typed())
    assert memo.keep_typed(first, 0, "l", _typed())


def test_the_entry_memo_is_bounded_in_bytes_and_keeps_no_big_entry():
    memo = EntryMemo(max_bytes=64 * 1024)
    kept = []
    for i in range(1000):
        kept.append(_typed())
        assert _keep(memo, i.to_bytes(1000, "big"), kept[-1])
        assert memo.bytes <= memo.max_bytes
    assert memo.typed((999).to_bytes(1000, "big"), 0, "l") is kept[999]
    assert memo.typed((0).to_bytes(1000, "big"), 0, "l") is None  # the oldest went
    assert not kept[0][0].remembered and kept[999][0].remembered
    big = b"x" * (EntryMemo.MAX_ENTRY_BYTES + 1)
    assert not memo.keep_typed(big, 0, "l", _typed()) and not memo.keep_typed(big, 0, "l", _typed())
    assert memo.typed(big, 0, "l") is None
    for _ in range(1000):  # what checks keep with remembered entries counts too
        memo.spend(kept[999][0], 700)
        assert memo.bytes <= memo.max_bytes
    assert memo.typed((999).to_bytes(1000, "big"), 0, "l") is None


def test_the_memo_lets_entries_go_a_few_at_a_time_and_frees_them_at_once():
    memo = EntryMemo(max_bytes=40 * 1024)
    kept = []
    for i in range(100):
        kept.append(_typed())
        kept[-1][0].derived["binder"] = kept[-1]  # a cycle, like a claim and its entry
        _keep(memo, i.to_bytes(1000, "big"), kept[-1])
    alive = [t for t in kept if t[0].remembered]
    # about as many as the budget holds, and only the newest: no clear-all
    fits = memo.max_bytes // kept[-1][0].memo_bytes
    assert fits - 2 <= len(alive) <= fits and alive == kept[-len(alive) :]
    assert all(not t[0].derived and t[0].memo_bytes == 0 for t in kept[: -len(alive)])
    assert sum(t[0].memo_bytes for t in alive) == memo.bytes


def test_the_memo_holds_about_what_its_budget_counts():
    # orjson's bytes keep a 4 KiB buffer: kept as they come, prints would hold 4x to 40x
    # what the budget counts, and the server's memory would grow past it.
    validator = build_validator(catalog=_CATALOG, cache_size=0)
    memo = EntryMemo(max_bytes=256 * 1024)
    validator = dataclasses.replace(validator, memo=memo)
    lists = [
        orjson.loads(orjson.dumps(workload([entry(name=f"n{i}"), entry(name=f"m{i}")])))
        for i in range(2000)
    ]
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        for obj in lists:
            for _ in range(2):  # kept on the second sighting
                validator.check(obj, from_json=True)
        held = tracemalloc.get_traced_memory()[0] - before
    finally:
        tracemalloc.stop()
    assert memo.bytes <= memo.max_bytes and len(memo._typed) > 100
    assert held < 2 * memo.max_bytes


def test_what_a_remembered_entry_carries_is_counted():
    v = build_validator(catalog=_CATALOG, cache_size=16)
    bad_url = entry(name="a", config={"backend": "nats", "url": "ftp://x"})
    # the second sighting keeps an entry (another list each time: no verdict reuse)
    for other in ("x1", "x2"):
        v.check(workload([entry(name="b"), entry(name=other)]))
    clean = v.memo.bytes
    for other in ("x3", "x4"):
        v.check(workload([bad_url, entry(name=other)]))
    # the typed entry, and the finding kept on its claim (its message alone is ~100 bytes)
    assert v.memo.bytes - clean > 4 * len(entry_prints([bad_url])[0]) + 256 + 300


def test_an_entry_is_remembered_at_its_position_only():
    v = build_validator(cache_size=16)
    good, bad = entry(name="a"), entry(name="a")
    v.check(workload([good, entry(name="b")]))
    # The same entry twice: index 1 was never seen as this entry, so unique-entry runs.
    out = v.check(workload([good, bad]))
    assert [x.rule for x in out.violations] == ["unique-entry"]


def test_a_remembered_entry_is_reported_at_its_own_kinds_path():
    # Workload keeps its list at spec.hostInterfaces, the others under spec.template.spec:
    # an entry seen in one kind must not carry that kind's field path into another.
    bad_url = entry(name="a", config={"backend": "nats", "url": "ftp://x"})
    v = build_validator(catalog=_CATALOG, cache_size=16)
    for kind, path in [
        ("WorkloadDeployment", "spec.template.spec.hostInterfaces[0].config.url"),
        ("Workload", "spec.hostInterfaces[0].config.url"),
        ("WorkloadReplicaSet", "spec.template.spec.hostInterfaces[0].config.url"),
    ]:
        assert [x.field for x in v.check(workload([bad_url], kind=kind)).violations] == [path]


# Entries that recur across reviews, good and bad, with config the host checks read.
_ENTRY = st.fixed_dictionaries(
    {
        "namespace": st.sampled_from(["wasi", "wasmcloud"]),
        "package": st.sampled_from(["keyvalue", "blobstore", "messaging", "nosuch"]),
        "interfaces": st.sampled_from([["store"], ["container"], ["consumer"], ["nope"]]),
    },
    optional={
        "name": st.sampled_from(["a", "b", "Bad", 7]),
        "version": st.sampled_from(["0.2.0-draft", "0.3.0", "x"]),
        "config": st.fixed_dictionaries(
            {},
            optional={
                "backend": st.sampled_from(["nats", "redis", "bogus"]),
                "url": st.sampled_from(["nats://n:4222", "redis://r:6379", "ftp://x", "a/b"]),
                "bucket": st.just("b"),
            },
        ),
    },
)
# The workload's HTTP entry point, whose host names the router reads.
_HTTP_ENTRY = st.fixed_dictionaries(
    {"namespace": st.just("wasi"), "package": st.just("http")},
    optional={
        "interfaces": st.sampled_from([["incoming-handler"], ["outgoing-handler"]]),
        "config": st.fixed_dictionaries(
            {},
            optional={
                "host": st.sampled_from(["app.example.com", "bad_host", ""]),
                "host-aliases": st.sampled_from(["a.example.com", "x:1, b.example.com"]),
                "address": st.just("app.example.com"),
            },
        ),
    },
)
_CATALOG = load_catalog(None)
KINDS = ("WorkloadDeployment", "Workload", "WorkloadReplicaSet")
_MEMOLESS = build_validator(catalog=_CATALOG, cache_size=0)


# Lists drawn from a small pool, so the same entry recurs at the same and at other
# positions in lists that otherwise differ.
_LISTS = st.lists(_ENTRY | _HTTP_ENTRY, min_size=1, max_size=6).flatmap(
    lambda pool: st.lists(st.lists(st.sampled_from(pool), max_size=8), min_size=2, max_size=12)
)


@settings(max_examples=200, deadline=None)
@given(_LISTS)
def test_memos_never_change_a_verdict(lists):
    """A validator that has seen other lists (cache and entry memo warm) answers every
    list exactly as one that remembers nothing."""
    remembering = build_validator(catalog=_CATALOG, cache_size=64)
    for i, entries in enumerate(lists):
        obj = workload(entries, kind=KINDS[i % 3])
        # reviews (read by orjson, JSON prints) and files (marshal prints) share a memo
        from_json = i % 2 == 0
        if from_json:
            obj = orjson.loads(orjson.dumps(obj))
        found = remembering.check(obj, from_json).violations
        assert found == _MEMOLESS.check(obj).violations


def test_a_verdict_is_charged_the_bytes_its_text_takes_not_its_characters():
    """Messages quoting 4-byte characters took four times what the budget counted."""
    from webhook.verdict_cache import verdict_bytes
    from webhook.violations import Reason, Violation

    wide = Violation("spec.hostInterfaces[0].name", Reason.INVALID, "\U0001d11e" * 10_000, "r")
    narrow = Violation("spec.hostInterfaces[0].name", Reason.INVALID, "x" * 10_000, "r")
    assert verdict_bytes((wide,)) >= 40_000
    assert verdict_bytes((narrow,)) >= 10_000


def test_the_memo_holds_about_what_its_budget_counts_for_nested_references():
    """References with extra nested keys: a few bytes of JSON each, but objects in
    memory (twice: the entry and CEL's copy). Charged by the bytes printed, 1,500 such
    entries grew the server by 79 MiB against an 8 MiB budget."""
    validator = build_validator(catalog=_CATALOG, cache_size=0)
    memo = EntryMemo(max_bytes=256 * 1024)
    validator = dataclasses.replace(validator, memo=memo)
    refs = [{"name": f"s{j}", "x": [[] for _ in range(110)]} for j in range(10)]
    bodies = [
        orjson.dumps(workload([entry(name=f"n{i}", secretFrom=refs),
                               entry(name=f"m{i}", secretFrom=refs)]))
        for i in range(400)
    ]  # fmt: skip
    one = orjson.loads(bodies[0])["spec"]["template"]["spec"]["hostInterfaces"][0]
    assert len(orjson.dumps(one)) < 4096
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        for body in bodies:
            for _ in range(2):  # kept on the second sighting; decoded as a server does
                validator.check(orjson.loads(body), from_json=True)
        held = tracemalloc.get_traced_memory()[0] - before
    finally:
        tracemalloc.stop()
    assert memo.bytes <= memo.max_bytes and len(memo._typed) >= 2
    assert held < 2 * memo.max_bytes, held
