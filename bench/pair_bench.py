"""This checkout against another one (an older commit), in process, in interleaved pairs.

A shared 2-core machine drifts by 2x within a minute, so two benches run one after
the other can show a 10% change that is not there. Here one worker process per
checkout holds a validator each; the parent asks them in turn for short batches
(a few tens of milliseconds), alternating who goes first, and reports the median
of the per-pair ratios with its interquartile range: drift lands on both sides of
a pair. Cases: what the server does with a never-seen review (parse, check with the
entry memo, answer, record; 3 and 64 entries), and a check with nothing remembered.

    python bench/pair_bench.py --against /tmp/base   # e.g. git worktree add /tmp/base HEAD~1
"""

from __future__ import annotations

import argparse
import inspect
import json
import logging
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CASES = (
    "serve, never-seen, 3",
    "serve, never-seen, 64",
    "fresh, 3",
    "fresh, 64",
    "strict fresh, 64",
)


def worker(tree: Path) -> None:
    """Serve batches of one case per line read: prints the mean microseconds per call."""
    sys.path[:0] = [str(tree), str(tree / "bench"), str(tree / "tests")]
    from core_bench import spec  # type: ignore[import-not-found]
    from server_bench import review  # type: ignore[import-not-found]

    from webhook import cli
    from webhook.core import build_validator
    from webhook.server import ServerState, ValidateEndpoint
    from webhook.violations import Policy

    logging.getLogger("bindcheck").setLevel(logging.WARNING)  # no decision lines
    args = cli.build_parser().parse_args(["serve"])
    # Older checkouts (before the memo seam) take no facts and remember by default.
    if len(inspect.signature(cli.make_validator).parameters) > 1:
        from webhook.memo import Remembering

        served = cli.make_validator(args, Remembering(json_prints=True))
    else:
        served = cli.make_validator(args)
    older = "cache_size" in inspect.signature(build_validator).parameters
    nothing = {"cache_size": 0} if older else {}
    catalog = served.catalog
    fresh = {p: build_validator(p, catalog=catalog, **nothing) for p in Policy}
    endpoint = ValidateEndpoint(None, ServerState(served))  # type: ignore[arg-type]
    templates = {n: json.dumps(review(n, "distinct")) for n in (3, 64)}
    sent = [0]

    def serve(n: int, k: int) -> float:
        first, sent[0] = sent[0], sent[0] + k  # a new entry name in every review
        bodies = [templates[n].replace("VARYME", f"p{first + i}").encode() for i in range(k)]
        started = time.perf_counter()
        for body in bodies:
            endpoint._answer(body)
        return (time.perf_counter() - started) / k

    def check(policy: Policy, n: int, k: int) -> float:
        validator, obj = fresh[policy], spec(n)
        started = time.perf_counter()
        for _ in range(k):
            validator.check(obj)
        return (time.perf_counter() - started) / k

    cases: dict[str, Callable[[], float]] = {
        CASES[0]: lambda: serve(3, 400),
        CASES[1]: lambda: serve(64, 60),
        CASES[2]: lambda: check(Policy.UPSTREAM, 3, 400),
        CASES[3]: lambda: check(Policy.UPSTREAM, 64, 40),
        CASES[4]: lambda: check(Policy.STRICT, 64, 40),
    }
    for case in cases.values():  # warm: memo, shape tables, compiled rules
        case(), case()
    print("ready", flush=True)
    for line in sys.stdin:
        print(cases[line.strip()]() * 1e6, flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--against", type=Path, required=True, help="the other checkout")
    parser.add_argument("--pairs", type=int, default=30, help="pairs per case")
    parser.add_argument("--worker", type=Path, help=argparse.SUPPRESS)
    opts = parser.parse_args()
    if opts.worker:
        worker(opts.worker)
        return
    trees = [opts.against.resolve(), ROOT]
    workers = [
        subprocess.Popen(
            [sys.executable, __file__, "--against", str(tree), "--worker", str(tree)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            env={**os.environ, "PYTHONPATH": str(tree)},  # that checkout's webhook package
        )
        for tree in trees
    ]
    try:
        for w in workers:
            if w.stdout is None or w.stdout.readline().strip() != "ready":
                sys.exit("a worker did not start (see its error above)")
        print(f"in process, {opts.pairs} interleaved pairs per case; before: {trees[0]}")
        print(f"{'case':<22} {'before us':>10} {'after us':>10} {'after/before':>13}  IQR")
        for case in CASES:
            times: list[list[float]] = [[], []]
            for pair in range(opts.pairs):
                for i in (0, 1) if pair % 2 == 0 else (1, 0):
                    assert workers[i].stdin is not None and workers[i].stdout is not None
                    workers[i].stdin.write(case + "\n")
                    workers[i].stdin.flush()
                    times[i].append(float(workers[i].stdout.readline()))
            ratios = [after / before for before, after in zip(*times, strict=True)]
            q1, _, q3 = statistics.quantiles(ratios, n=4)
            print(f"{case:<22} {statistics.median(times[0]):>10.1f} {statistics.median(times[1]):>10.1f} "
                  f"{statistics.median(ratios):>13.3f}  {q1:.3f}-{q3:.3f}")  # fmt: skip
    finally:
        for w in workers:
            if w.stdin is not None:
                w.stdin.close()
            w.wait(timeout=30)


if __name__ == "__main__":
    main()
