"""Where a served review's time goes: bindcheck serve under wrk, sampled by py-spy.

One process on loopback TLS, never-seen reviews (server_bench's ``distinct`` bodies),
wrk -t2 at concurrency 16. Each entry count gets two runs: one unprofiled, for the
rate and the server's CPU time per review (from /proc), then one sampled by py-spy
(blocking mode, so every stack is whole; that slows the server, so its rate is not
printed). Each sample goes to the phase of the deepest frame a phase claims, and a
phase's microseconds are its share of the samples times the unprofiled CPU per review.
py-spy sees Python frames only: C work (orjson, TLS, uvloop) counts under the Python
frame that called it, uvloop's own under "event loop".

    python bench/profile_server.py --entries 3 64    # needs wrk and py-spy (.[dev])
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
from collections import Counter
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from server_bench import LUA, ROOT, review, serve, wrk
from servers import free_port

from webhook.certs import write_certs

Frame = tuple[str, str]
"""(function, file) of one sampled frame."""
LOOP = "event loop (uvloop, epoll, scheduling)"
PHASES: list[tuple[str, Callable[[str, str], bool]]] = [
    (LOOP, lambda fn, f: f.endswith(("asyncio/runners.py", "asyncio/events.py"))),
    ("checks: schema", lambda fn, f: f.endswith("webhook/checks/schema.py")),
    ("checks: CEL-shaped rules", lambda fn, f: "webhook/cel/" in f),
    (
        "checks: capability (binding, config, HTTP)",
        lambda fn, f: f.endswith("webhook/checks/capability.py") or "webhook/runtime/" in f,
    ),
    ("checks: memo (prints, verdicts, entries)", lambda fn, f: "webhook/memo/" in f),
    (
        "checks: the rest (identity, location, settle, answer)",
        lambda fn, f: (
            any(f.endswith(m) for m in ("core.py", "workloads.py", "admission.py", "ratchet.py"))
            and "webhook/" in f
        ),
    ),
    ("parse (orjson, the review model)", lambda fn, f: fn == "_parse"),
    (
        "bookkeeping (metrics, decision line)",
        lambda fn, f: (
            fn.startswith(("ValidateEndpoint._record", "DecisionLog"))
            or f.endswith("webhook/metrics.py")
        ),
    ),
    (
        "writing the answer (uvicorn send, TLS write)",
        lambda fn, f: fn == "RequestResponseCycle.send",
    ),
    ("/validate's shell (body read, dumps)", lambda fn, f: f.endswith("webhook/server.py")),
    (
        "reading the request (TLS read, HTTP parse, connection bounds)",
        lambda fn, f: f.endswith(("httptools_impl.py", "webhook/connections.py", "ssl.py")),
    ),
]


def parse_frame(text: str) -> Frame:
    """``function (path:line)`` as py-spy's raw format writes a frame."""
    function, _, where = text.rpartition(" (")
    return (function, where.rsplit(":", 1)[0]) if function else (text, "")


def phase_of(frames: list[Frame]) -> str:
    """The phase of a sample: the first phase claiming a frame, from the leaf up (a
    sample no phase claims ran under the loop's own frames)."""
    for function, file in reversed(frames):
        for name, claims in PHASES:
            if claims(function, file):
                return name
    return LOOP


def read_samples(raw: Path) -> tuple[Counter[str], Counter[str], int]:
    """Samples by phase, by leaf function (self time), and their total."""
    phases: Counter[str] = Counter()
    leaves: Counter[str] = Counter()
    total = 0
    for line in raw.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        if not stack or not count.isdigit():
            continue
        frames = [parse_frame(f) for f in stack.split(";")]
        n = int(count)
        total += n
        phases[phase_of(frames)] += n
        function, file = frames[-1]
        leaves[f"{function} ({'/'.join(Path(file).parts[-2:])})"] += n
    return phases, leaves, total


def cpu_seconds(pid: int) -> float:
    """User plus system CPU time of a process so far (/proc/PID/stat, clock ticks)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / 100  # utime, stime: fields 14 and 15


def requests_done(port: int, script: Path, duration: str) -> tuple[float, int]:
    """One wrk run: its rate and how many requests it completed."""
    out = subprocess.run(
        ["wrk", "-t2", "-c16", f"-d{duration}", "-s", str(script),
         f"https://127.0.0.1:{port}/validate"],
        capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip
    done = int(next(line.split()[0] for line in out.splitlines() if "requests in" in line))
    rate = float(next(line.split()[1] for line in out.splitlines() if "Requests/sec" in line))
    return rate, done


def profile(entries: int, tmp: Path, certs: Path, py_spy: str, seconds: int, rate: int) -> None:
    body = tmp / f"review-{entries}.json"
    body.write_text(json.dumps(review(entries, "distinct")))
    script = tmp / f"post-{entries}.lua"
    script.write_text(LUA.format(body=body, distinct="true"))
    port = free_port()
    argv = [sys.executable, "-m", "webhook.cli", "serve", "--host", "127.0.0.1",
            "--port", str(port), "--cert-dir", str(certs)]  # fmt: skip
    proc = serve(argv, port)
    try:
        wrk(port, script, 16, "2s")  # warm-up, discarded
        before = cpu_seconds(proc.pid)
        rps, done = requests_done(port, script, f"{seconds}s")
        cpu_us = (cpu_seconds(proc.pid) - before) / done * 1e6
        raw = tmp / f"profile-{entries}.txt"
        sampler = subprocess.Popen(
            [py_spy, "record", "--pid", str(proc.pid), "--rate", str(rate),
             "--duration", str(seconds), "--format", "raw", "--output", str(raw)],
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
        )  # fmt: skip
        wrk(port, script, 16, f"{seconds + 1}s")
        _, errors = sampler.communicate(timeout=seconds + 30)
        if sampler.returncode != 0 or not raw.exists():
            sys.exit(f"py-spy failed (it needs ptrace rights over the server): {errors[-500:]}")
    finally:
        proc.terminate()
        proc.wait()
    phases, leaves, total = read_samples(raw)
    print(f"\n{entries} entries: {rps:,.0f} req/s unprofiled, {cpu_us:.0f} us of server CPU "
          f"a review; {total} samples at {rate} Hz")  # fmt: skip
    for name, _ in PHASES:
        share = phases[name] / total if total else 0.0
        print(f"  {name:<62} {100 * share:5.1f}%  {share * cpu_us:6.1f} us")
    print("  most samples in one function (self):")
    for leaf, n in leaves.most_common(8):
        print(f"    {100 * n / total:5.1f}%  {leaf}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--entries", type=int, nargs="+", default=[3, 64])
    parser.add_argument("--seconds", type=int, default=6, help="per run, unprofiled and sampled")
    parser.add_argument("--rate", type=int, default=250, help="py-spy samples a second")
    opts = parser.parse_args()
    py_spy = shutil.which("py-spy") or shutil.which("py-spy", path=str(Path(sys.executable).parent))
    if shutil.which("wrk") is None or py_spy is None:
        sys.exit(
            "profile_server needs wrk (apt-get install wrk) and py-spy (pip install -e '.[dev]')"
        )
    with tempfile.TemporaryDirectory() as tmp:
        certs = Path(tmp) / "certs"
        write_certs(certs, ["localhost", "127.0.0.1"])
        print(f"bindcheck serve ({ROOT}), never-seen reviews, loopback TLS, wrk -t2 -c16")
        for entries in opts.entries:
            profile(entries, Path(tmp), certs, py_spy, opts.seconds, opts.rate)


if __name__ == "__main__":
    main()
