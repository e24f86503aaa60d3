"""In-process validation latency of one spec: default engine vs cel-python, same run.

Prints p50/p99/max over many runs for 3 and 64 entries (64 named wasi:keyvalue
entries, the worst case for the pairwise rules), with and without the default
host catalog. Not a test: figures, to compare against the 5 ms p99 target.
"""

from __future__ import annotations

import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from conftest import workload

from webhook.core import build_validator
from webhook.memo import Remembering
from webhook.runtime.catalog_files import load_catalog
from webhook.violations import Policy


def spec(n: int, duplicate: bool = False) -> dict:
    """``n`` named keyvalue entries; ``duplicate``: the last repeats the first, so the
    pairwise CEL rules' onlyIfShared guards let them run (and the spec is denied)."""
    entries = [
        {"namespace": "wasi", "package": "keyvalue", "version": "0.2.0-draft",
         "interfaces": ["store"], "name": f"store-{i}",
         "config": {"backend": "redis", "url": f"redis://r{i}:6379"}}
        for i in range(n)
    ]  # fmt: skip
    if duplicate:
        entries[-1] = dict(entries[0])
    return workload(entries)


def _entries(obj: dict) -> list[dict]:
    return obj["spec"]["template"]["spec"]["hostInterfaces"]


def measure(validator, obj, runs: int) -> list[float]:
    for _ in range(min(runs, 20)):
        validator.check(obj)
    times = []
    for _ in range(runs):
        t = time.perf_counter()
        validator.check(obj)
        times.append((time.perf_counter() - t) * 1000)
    return times


def row(label: str, times: list[float]) -> None:
    times.sort()
    p99 = times[min(len(times) - 1, int(len(times) * 0.99))]
    print(f"{label:<48} runs={len(times):>5}  p50={statistics.median(times):7.3f} ms  "
          f"p99={p99:7.3f} ms  max={times[-1]:7.3f} ms")  # fmt: skip


def main() -> None:
    catalog = load_catalog(None)
    print("in-process validation of one spec (both naming rules + all Python checks)")
    print("verdict cache off: every run does the full work")
    for policy in (Policy.UPSTREAM, Policy.STRICT):
        full = build_validator(policy, catalog=catalog)
        bare = build_validator(policy, catalog=None)
        for n in (3, 64):
            row(f"{policy.value:<8} google, catalog, {n} entries", measure(full, spec(n), 2000))
            row(
                f"{policy.value:<8} google, --catalog none, {n} entries",
                measure(bare, spec(n), 2000),
            )
    print("entries that share namespace, package and name: the pairwise CEL rules run on them")
    full = build_validator(Policy.UPSTREAM, catalog=catalog)
    for n in (3, 64):
        row(f"upstream google, catalog, {n} entries, duplicate", measure(full, spec(n, True), 2000))
    unnamed = workload([{k: v for k, v in e.items() if k != "name"} for e in _entries(spec(64))])
    row("upstream google, catalog, 64 unnamed (all involved)", measure(full, unnamed, 500))
    print("verdict cache and entry memo on: the same list again (a scale or image update),")
    print("and a new list whose entries were all seen before (an edit of one entry)")
    cached = build_validator(Policy.UPSTREAM, catalog=catalog, facts=Remembering())
    for n in (3, 64):
        row(f"upstream google, catalog, {n} entries, cache hit", measure(cached, spec(n), 2000))
    seen = build_validator(Policy.UPSTREAM, catalog=catalog, facts=Remembering())
    edits = [spec(64) for _ in range(2000)]
    for i, obj in enumerate(edits):
        _entries(obj)[0]["name"] = f"edit-{i}"  # a new list each time; 63 entries as before
    seen.check(spec(64))
    times = []
    for obj in edits:
        t = time.perf_counter()
        seen.check(obj)
        times.append((time.perf_counter() - t) * 1000)
    row("upstream google, catalog, 64 entries, one new", times)
    print("the shipped rules as CEL (native evaluation off: the reference), cache off")
    cel = build_validator(Policy.UPSTREAM, catalog=catalog, native=False)
    row("upstream google CEL, catalog, 64 entries, duplicate", measure(cel, spec(64, True), 2000))
    row("upstream google CEL, catalog, 64 unnamed (all involved)", measure(cel, unnamed, 500))
    celpy = build_validator(Policy.UPSTREAM, catalog=catalog, engine="celpy", native=False)
    row("upstream celpy, catalog, 3 entries, duplicate", measure(celpy, spec(3, True), 200))
    row("upstream celpy, catalog, 64 entries, duplicate", measure(celpy, spec(64, True), 5))
    row("upstream celpy, catalog, 64 unnamed (all involved)", measure(celpy, unnamed, 3))
    print("target: p99 <= 5 ms for 64 entries with the default engine, cache off")


if __name__ == "__main__":
    main()
