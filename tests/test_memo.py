from __future__ import annotations

import datetime as dt
import tracemalloc

import orjson
from conftest import entry, workload
from hypothesis import given, settings
from hypothesis import strategies as st

from webhook.core import build_validator
from webhook.memo import Remembering
from webhook.memo.entries import EntryMemo, fact_bytes
from webhook.memo.prints import entry_prints, verdict_key
from webhook.memo.verdicts import VerdictCache, verdict_bytes
from webhook.model import HostInterface
from webhook.runtime.catalog_files import load_catalog
from webhook.violations import Reason, Violation

V = (Violation("f", Reason.INVALID, "m", "r"),)


def key(entries: object, kind: str = "K", selector: object = None) -> bytes | None:
    return verdict_key(kind, entries, entry_prints(entries), selector)


def remembering(catalog: object = None, cache_size: int = 16, json_prints: bool = False):
    facts = Remembering(json_prints=json_prints, cache_size=cache_size)
    return build_validator(catalog=catalog, facts=facts), facts


def test_the_same_host_interfaces_reuse_the_verdict_under_another_name():
    v, facts = remembering()
    first = v.check(workload([entry(), entry()], name="a"))
    second = v.check(workload([entry(), entry()], name="b"))
    assert (facts.verdicts.hits, facts.verdicts.misses) == (1, 1)
    assert second.name == "b" and second.violations == first.violations


def test_a_different_list_kind_or_selector_is_a_new_verdict():
    v, facts = remembering()
    v.check(workload([entry()]))
    v.check(workload([entry(name="x")]))
    v.check(workload([entry()], kind="Workload"))
    obj = workload([entry()])
    obj["spec"]["template"]["spec"]["hostSelector"] = {"hostgroup": "edge"}
    v.check(obj)
    assert facts.verdicts.hits == 0 and facts.verdicts.misses == 4


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
    v, facts = remembering()
    obj = workload([entry(version=dt.date(2024, 1, 1))])
    assert [x.rule for x in v.check(obj).violations] == ["schema-type"]
    assert [x.rule for x in v.check(obj).violations] == ["schema-type"]
    assert facts.verdicts.hits == 0


def test_a_date_never_passes_for_the_string_a_valid_entry_had():
    # JSON writes a date as its ISO string; were entries keyed by JSON, the valid
    # entry below would be remembered and the date served its verdict.
    v, _ = remembering()
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
    assert memo.bytes == 0 and not memo.remembers(first[0])
    second = _typed()
    assert memo.keep_typed(b"p", 0, "l", second) and memo.typed(b"p", 0, "l") is second
    assert memo.remembers(second[0])


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
    assert not memo.remembers(kept[0][0]) and memo.remembers(kept[999][0])
    big = b"x" * (EntryMemo.MAX_ENTRY_BYTES + 1)
    assert not memo.keep_typed(big, 0, "l", _typed()) and not memo.keep_typed(big, 0, "l", _typed())
    assert memo.typed(big, 0, "l") is None
    finding = (Violation("f", Reason.INVALID, "m" * 500, "r"),)
    for i in range(1000):  # what checks keep with remembered entries counts too
        memo.derived(kept[999][0], i, lambda e: finding)
        assert memo.bytes <= memo.max_bytes
    assert memo.typed((999).to_bytes(1000, "big"), 0, "l") is None


def test_the_memo_lets_entries_go_a_few_at_a_time_and_frees_them_at_once():
    memo = EntryMemo(max_bytes=40 * 1024)
    kept = []
    for i in range(100):
        kept.append(_typed())
        _keep(memo, i.to_bytes(1000, "big"), kept[-1])
        # a fact that refers to its entry, as a claim does: kept beside it, not on it
        memo.derived(kept[-1][0], "binder", lambda e: [e])
    alive = [t for t in kept if memo.remembers(t[0])]
    # about as many as the budget holds, and only the newest: no clear-all
    one = memo.by_entry[id(kept[-1][0])].bytes
    fits = memo.max_bytes // one
    assert fits - 2 <= len(alive) <= fits and alive == kept[-len(alive) :]
    assert len(memo.by_entry) == len(memo) == len(alive)
    assert sum(memo.by_entry[id(t[0])].bytes for t in alive) == memo.bytes
    # entries carry nothing of the memo: a let-go entry is referenced only by its caller
    import sys

    assert sys.getrefcount(kept[0][0]) == sys.getrefcount(_typed()[0]) + 1


def test_the_memo_holds_about_what_its_budget_counts():
    # orjson's bytes keep a 4 KiB buffer: kept as they come, prints would hold 4x to 40x
    # what the budget counts, and the server's memory would grow past it.
    facts = Remembering(json_prints=True, cache_size=0)
    facts.entries = memo = EntryMemo(max_bytes=256 * 1024)  # entries only: no verdict reuse
    validator = build_validator(catalog=_CATALOG, facts=facts)
    lists = [
        orjson.loads(orjson.dumps(workload([entry(name=f"n{i}"), entry(name=f"m{i}")])))
        for i in range(2000)
    ]
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        for obj in lists:
            for _ in range(2):  # kept on the second sighting
                validator.check(obj)
        held = tracemalloc.get_traced_memory()[0] - before
    finally:
        tracemalloc.stop()
    assert memo.bytes <= memo.max_bytes and len(memo) > 100
    assert held < 2 * memo.max_bytes


def test_what_a_remembered_entry_carries_is_counted():
    v, facts = remembering(_CATALOG)
    bad_url = entry(name="a", config={"backend": "nats", "url": "ftp://x"})
    # the second sighting keeps an entry (another list each time: no verdict reuse)
    for other in ("x1", "x2"):
        v.check(workload([entry(name="b"), entry(name=other)]))
    clean = facts.entries.bytes
    for other in ("x3", "x4"):
        v.check(workload([bad_url, entry(name=other)]))
    # the typed entry, and the finding kept beside it (its message alone is ~100 bytes)
    assert facts.entries.bytes - clean > 4 * len(entry_prints([bad_url])[0]) + 256 + 300
    # The finding rides in the entry's fact for its host group, (claim, findings): the
    # record is charged what the finding's texts take, on top of what an equally long
    # clean entry costs.
    records = {r.typed[0].config.get("url"): r for r in facts.entries.kept.values()}
    finding = next(f for r in [records["ftp://x"]] for _, f in r.derived.values() if f)
    assert finding[0].rule == "backend-config-invalid"
    kept_typed = [r for r in facts.entries.kept.values() if r.typed[0].name == "b"]
    assert records["ftp://x"].bytes - kept_typed[0].bytes >= verdict_bytes(finding) - 64


def test_a_fact_is_charged_the_violations_it_holds_nested_or_not():
    found = Violation("f", Reason.INVALID, "m" * 1000, "schema-type")
    assert fact_bytes((found,)) == verdict_bytes((found,))
    assert fact_bytes((object(), (found,))) == verdict_bytes((found,))
    assert fact_bytes((object(), ())) == verdict_bytes(()) and fact_bytes(object()) == 0


def test_an_entry_is_remembered_at_its_position_only():
    v, _ = remembering()
    good, bad = entry(name="a"), entry(name="a")
    v.check(workload([good, entry(name="b")]))
    # The same entry twice: index 1 was never seen as this entry, so unique-entry runs.
    out = v.check(workload([good, bad]))
    assert [x.rule for x in out.violations] == ["unique-entry"]


def test_a_remembered_entry_is_reported_at_its_own_kinds_path():
    # Workload keeps its list at spec.hostInterfaces, the others under spec.template.spec:
    # an entry seen in one kind must not carry that kind's field path into another.
    bad_url = entry(name="a", config={"backend": "nats", "url": "ftp://x"})
    v, _ = remembering(_CATALOG)
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
_MEMOLESS = build_validator(catalog=_CATALOG)


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
    # reviews (read by orjson, JSON prints, as the server builds it) and files (marshal)
    by_json = remembering(_CATALOG, 64, json_prints=True)[0]
    by_marshal = remembering(_CATALOG, 64)[0]
    for i, entries in enumerate(lists):
        obj = workload(entries, kind=KINDS[i % 3])
        if i % 2 == 0:
            obj = orjson.loads(orjson.dumps(obj))
            found = by_json.check(obj).violations
        else:
            found = by_marshal.check(obj).violations
        assert found == _MEMOLESS.check(obj).violations


def test_a_verdict_is_charged_the_bytes_its_text_takes_not_its_characters():
    """Messages quoting 4-byte characters took four times what the budget counted."""
    from webhook.memo.verdicts import verdict_bytes
    from webhook.violations import Reason, Violation

    wide = Violation("spec.hostInterfaces[0].name", Reason.INVALID, "\U0001d11e" * 10_000, "r")
    narrow = Violation("spec.hostInterfaces[0].name", Reason.INVALID, "x" * 10_000, "r")
    assert verdict_bytes((wide,)) >= 40_000
    assert verdict_bytes((narrow,)) >= 10_000


def test_the_memo_holds_about_what_its_budget_counts_for_nested_references():
    """References with extra nested keys: a few bytes of JSON each, but objects in
    memory (twice: the entry and CEL's copy). Charged by the bytes printed, 1,500 such
    entries grew the server by 79 MiB against an 8 MiB budget."""
    facts = Remembering(json_prints=True, cache_size=0)
    facts.entries = memo = EntryMemo(max_bytes=256 * 1024)
    validator = build_validator(catalog=_CATALOG, facts=facts)
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
                validator.check(orjson.loads(body))
        held = tracemalloc.get_traced_memory()[0] - before
    finally:
        tracemalloc.stop()
    assert memo.bytes <= memo.max_bytes and len(memo) >= 2
    assert held < 2 * memo.max_bytes, held


def test_equal_entries_stay_equal_when_the_memo_keeps_one():
    """The memo kept its bookkeeping on the entry, which then stopped equalling its twin."""
    v, facts = remembering(_CATALOG)
    obj = workload([entry(name="a"), entry(name="b")])
    for other in ("x", "y"):  # the second sighting keeps [0]
        obj["spec"]["template"]["spec"]["hostInterfaces"][1]["name"] = other
        v.check(obj)
    kept = facts.entries.typed(
        entry_prints([entry(name="a")])[0], 0, "spec.template.spec.hostInterfaces"
    )
    assert kept is not None
    fresh = v.examine(workload([entry(name="a")])).entries[0]
    assert kept[0] == fresh and kept[0] is not fresh


def test_a_verdict_never_depends_on_what_was_seen_before():
    """An entry whose interfaces are a tuple (a library caller's value, not JSON) is a
    schema-type violation on a fresh validator; it must stay one once the list form
    has been seen twice (with JSON prints chosen per call, it passed)."""
    listed = workload([entry(name="a", interfaces=["store"])])
    tupled = workload([entry(name="a", interfaces=("store",))])
    fresh = [x.rule for x in build_validator().check(tupled).violations]
    assert fresh == ["schema-type"]
    v, _ = remembering()
    for _ in range(3):
        assert v.check(listed).violations == ()
    assert [x.rule for x in v.check(tupled).violations] == fresh


def test_threads_sharing_one_remembering_validator_get_the_fresh_answers():
    """The validator's promise of thread safety rests on the memo's locks: eight threads
    hammering one remembering validator with recurring entries (kept, evicted, reused)
    answer every list as a validator that remembers nothing."""
    from concurrent.futures import ThreadPoolExecutor

    facts = Remembering(json_prints=True, cache_size=8)
    facts.entries = EntryMemo(max_bytes=64 * 1024)  # small: eviction races with use
    shared = build_validator(catalog=_CATALOG, facts=facts)
    lists = [
        [entry(name=f"n{(i + j) % 7}", config={"backend": ("redis", "nats", "etcd")[j % 3]})
         for j in range(1 + i % 5)]
        for i in range(60)
    ]  # fmt: skip
    bodies = [orjson.dumps(workload(entries, kind=KINDS[i % 3])) for i, entries in enumerate(lists)]
    expected = [_MEMOLESS.check(orjson.loads(b)).violations for b in bodies]

    def judge(round_: int) -> list[bool]:
        order = range(len(bodies))[:: 1 if round_ % 2 else -1]
        return [shared.check(orjson.loads(bodies[i])).violations == expected[i] for i in order]

    with ThreadPoolExecutor(8) as pool:
        answers = [ok for batch in pool.map(judge, range(40)) for ok in batch]
    assert len(answers) == 40 * len(bodies) and all(answers)
    assert len(facts.entries) > 0  # the memo was in use, not bypassed
