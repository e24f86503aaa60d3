from __future__ import annotations

import datetime as dt

from conftest import entry, workload

from webhook.core import build_validator
from webhook.verdict_cache import VerdictCache
from webhook.violations import Reason, Violation

V = (Violation("f", Reason.INVALID, "m", "r"),)


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
    keys = [VerdictCache.key("K", [i], {}) for i in range(3)]
    cache.put(keys[0], V)
    cache.put(keys[1], V)
    assert cache.get(keys[0]) == V  # 0 is now the most recent
    cache.put(keys[2], V)
    assert cache.get(keys[1]) is None and cache.get(keys[0]) == V and cache.get(keys[2]) == V


def test_the_cache_is_bounded_in_bytes_too_and_a_huge_verdict_is_not_kept():
    big = (Violation("f", Reason.INVALID, "m" * 1000, "r"),)
    cache = VerdictCache(size=1000, max_bytes=32 * 1024)
    keys = [VerdictCache.key("K", [i], {}) for i in range(40)]
    for key in keys:
        cache.put(key, big)
    assert cache.bytes <= 32 * 1024 and len(cache._entries) < 40
    assert cache.get(keys[-1]) == big and cache.get(keys[0]) is None  # the oldest went first
    huge = (Violation("f", Reason.INVALID, "m" * 2000, "r"),)  # over a sixteenth of the budget
    cache.put(VerdictCache.key("K", ["huge"], {}), huge)
    assert cache.get(VerdictCache.key("K", ["huge"], {})) is None


def test_keys_tell_apart_values_python_calls_equal():
    # 1 == True == 1.0 in Python, but CEL and the schema treat them differently.
    keys = {VerdictCache.key("K", [{"v": v}], {}) for v in (1, True, 1.0, "1")}
    assert len(keys) == 4


def test_values_that_are_not_plain_data_are_not_cached():
    assert VerdictCache.key("K", [{"version": dt.date(2024, 1, 1)}], {}) is None
    v = build_validator(cache_size=16)
    obj = workload([entry(version=dt.date(2024, 1, 1))])
    assert [x.rule for x in v.check(obj).violations] == ["schema-type"]
    assert [x.rule for x in v.check(obj).violations] == ["schema-type"]
    assert v.cache.hits == 0


def test_size_zero_turns_the_cache_off():
    v = build_validator(cache_size=0)
    v.check(workload([entry()]))
    v.check(workload([entry()]))
    assert v.cache.hits == 0
