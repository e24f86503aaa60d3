"""Loopback HTTPS load: bindcheck's /validate next to the cheapest webhooks this machine serves.

Each server is one process (floors: bench/floor_asgi.py, bench/floor_go); wrk (Debian package) drives it with
AdmissionReviews of 3 and 64 hostInterfaces entries at concurrency 16 and 64.
Bounded: every run is a few seconds, only 127.0.0.1 is contacted.
"""

from __future__ import annotations

import argparse
import hashlib
import http.client
import json
import os
import re
import shutil
import ssl
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

from servers import free_port, wait_for_port  # noqa: E402

from webhook.certs import write_certs  # noqa: E402

LUA = """
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
local f = io.open("{body}", "rb"); local body = f:read("*all"); f:close()
local threads = 0
function setup(thread) threads = threads + 1; thread:set("tid", threads) end
local n = 0
-- wrk runs last 2 s or more, one after another: the second a run starts tells it from
-- every other run, so names never recur from one round (or server) to the next
local run = os.time()
function request()
  n = n + 1
  -- every request but "repeated" ones gets a new value, so no verdict is ever reused
  local b = {distinct} and body:gsub("VARYME", "t" .. tid .. "-" .. run .. "-" .. n) or body:gsub("VARYME", "same")
  return wrk.format(nil, nil, nil, b)
end
"""


ALLOWED = {"distinct": True, "repeated": True, "dupe": False, "worst": False}
"""Each body's verdict, checked against the server before it is measured."""
BODIES = {
    "distinct": "every review has a new name (no verdict reuse; the common list, allowed)",
    "repeated": "the same review again (verdict cache hits, like scale updates)",
    "dupe": "a new name every review, and the last entry repeats the first, so the pairwise "
    "CEL rules run (denied)",
    "worst": "every entry unnamed keyvalue, one url new every review: the pairwise CEL rules "
    "run on all entries (denied)",
}


def review(entries: int, shape: str = "distinct") -> dict:
    his = [{"namespace": "wasi", "package": "keyvalue", "version": "0.2.0-draft",
            "interfaces": ["store"], "name": f"store-{i}" if i else "VARYME",
            "config": {"backend": "nats", "url": f"nats://n{i}:4222"}} for i in range(entries)]  # fmt: skip
    if entries == 3:  # the workload's HTTP entry point, routed by its host name
        his[1] = {"namespace": "wasi", "package": "http", "interfaces": ["incoming-handler"],
                  "config": {"host": "app.example.com"}}  # fmt: skip
    if shape == "dupe":
        his[-1] = dict(his[0])
    if shape == "worst":
        for i, entry in enumerate(his):
            entry.update(package="keyvalue", interfaces=["store"], version="0.2.0-draft")
            entry.pop("name", None)
            host = "VARYME" if i == 0 else f"n{i}"
            entry["config"] = {"backend": "nats", "url": f"nats://{host}:4222"}
    obj = {"apiVersion": "runtime.wasmcloud.dev/v1alpha1", "kind": "WorkloadDeployment",
           "metadata": {"name": "app", "namespace": "apps"},
           "spec": {"replicas": 1, "template": {"spec": {"hostInterfaces": his,
                    "components": [{"name": "c", "image": "example/c:1"}]}}}}  # fmt: skip
    return {"apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview",
            "request": {"uid": "0b5c0e4e-bench", "operation": "CREATE", "object": obj,
                        "kind": {"group": "runtime.wasmcloud.dev", "version": "v1alpha1",
                                 "kind": "WorkloadDeployment"}}}  # fmt: skip


def _ms(value: str) -> float:
    number, unit = re.match(r"([\d.]+)(\w+)", value).groups()  # type: ignore[union-attr]
    return float(number) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]


def wrk(port: int, script: Path, concurrency: int, duration: str) -> dict:
    out = subprocess.run(
        ["wrk", "-t2", f"-c{concurrency}", f"-d{duration}", "--latency", "-s", str(script),
         f"https://127.0.0.1:{port}/validate"],
        capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip
    pct = dict(re.findall(r"^\s+(50|99)%\s+(\S+)", out, re.M))
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)|Socket errors: (.*)", out)
    return {"rps": float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1)),  # type: ignore[union-attr]
            "p50": _ms(pct["50"]), "p99": _ms(pct["99"]), "errors": errors.group(0) if errors else ""}  # fmt: skip


def verdict(port: int, body: Path, ca: Path) -> bool:
    """One review through the real server, as the wrk script sends it: whether it was allowed."""
    context = ssl.create_default_context(cafile=str(ca))
    conn = http.client.HTTPSConnection("127.0.0.1", port, context=context, timeout=10)
    conn.request(
        "POST",
        "/validate",
        body.read_text().replace("VARYME", "t1-1"),
        {"Content-Type": "application/json"},
    )
    answer = json.loads(conn.getresponse().read())
    conn.close()
    return bool(answer["response"]["allowed"])


def checks_budget(floor: float, bookkept: float, ours: float) -> str:
    """What the checks cost a review under this load (bindcheck's time a request less the
    bookkept floor's, which is bindcheck without them), and what 0.5x the floor's rate
    leaves them: two floor requests less the bookkept one."""
    cost = (1 / ours - 1 / bookkept) * 1e6
    budget = (2 / floor - 1 / bookkept) * 1e6
    return f"the checks: {cost:.1f} us a review under this load; at 0.5x the floor, {budget:.1f} us"


def median(runs: list[dict]) -> dict:
    """The median of each figure over a row's rounds (errors: any round's)."""
    out = {key: statistics.median(run[key] for run in runs) for key in ("rps", "p50", "p99")}
    return {**out, "errors": next((run["errors"] for run in runs if run["errors"]), "")}


def serve(
    argv: list[str], port: int, cwd: Path | None = None, env: dict | None = None
) -> subprocess.Popen:
    proc = subprocess.Popen(
        argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=cwd or ROOT, env=env
    )
    try:
        wait_for_port(port, proc)
    except RuntimeError as exc:  # a bad --serve-arg, say: its error went to /dev/null
        proc.kill()
        proc.wait()
        sys.exit(f"{exc}: {' '.join(argv)}\nrun that command by hand to see its error")
    return proc


def rss_mib(proc: subprocess.Popen) -> float:
    """Resident memory of a served process now, from /proc."""
    status = Path(f"/proc/{proc.pid}/status").read_text()
    return int(re.search(r"VmRSS:\s+(\d+) kB", status).group(1)) / 1024  # type: ignore[union-attr]


def go_floor(cache: Path) -> Path | None:
    """bench/floor_go built with the Go on PATH (standard library only), cached by source."""
    go = shutil.which("go")
    if go is None:
        return None
    source = ROOT / "bench" / "floor_go"
    digest = hashlib.sha256(b"".join(f.read_bytes() for f in sorted(source.iterdir()))).hexdigest()
    binary = cache / f"floor-go-{digest[:12]}"
    if not binary.exists():
        cache.mkdir(parents=True, exist_ok=True)
        subprocess.run([go, "build", "-o", str(binary), "."], cwd=source, check=True,
                       env={**os.environ, "CGO_ENABLED": "0"})  # fmt: skip
    return binary


FLOORS = {
    "asgi": "bare ASGI app on stock uvicorn (httptools, uvloop, same TLS): read, orjson.loads, "
    "a fixed answer",
    "guarded": "the same app behind bindcheck's connection bounds (webhook/connections.py)",
    "checked": "guarded, also parsing and judging each review as bindcheck does: bindcheck "
    "minus /validate's bookkeeping (body bounds, metrics, decision log)",
    "bookkept": "bindcheck's own app whose judge judges nothing: parsed, answered, counted and "
    "logged, unchecked (bindcheck minus the checks)",
    "go": "Go net/http + encoding/json, GOMAXPROCS=1 (bench/floor_go)",
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--entries", type=int, nargs="+", default=[3, 64])
    parser.add_argument("--concurrency", type=int, nargs="+", default=[16, 64])
    parser.add_argument("--bodies", nargs="+", choices=BODIES, default=list(BODIES))
    parser.add_argument("--duration", default="4s", help="per measured round (wrk syntax)")
    parser.add_argument(
        "--rounds", type=int, default=3, help="rounds per row, alternating servers; medians shown"
    )
    parser.add_argument(
        "--compare", type=Path, help="also serve bindcheck from this checkout (an older commit)"
    )
    parser.add_argument(
        "--serve-arg", action="append", default=[], metavar="ARG",
        help="pass ARG to bindcheck serve (repeat it), e.g. --serve-arg=--catalog "
        "--serve-arg=none: what the rows cost with a check left out",
    )  # fmt: skip
    opts = parser.parse_args()
    if shutil.which("wrk") is None:
        sys.exit("server_bench needs wrk: apt-get install wrk")
    with tempfile.TemporaryDirectory() as tmp:
        tmpdir = Path(tmp)
        certs = tmpdir / "certs"
        write_certs(certs, ["localhost", "127.0.0.1"])
        scripts = {}
        for n in opts.entries:
            for mode in BODIES:
                body = tmpdir / f"review-{n}-{mode}.json"
                body.write_text(json.dumps(review(n, mode)))
                scripts[n, mode] = tmpdir / f"post-{n}-{mode}.lua"
                flag = "false" if mode == "repeated" else "true"
                scripts[n, mode].write_text(LUA.format(body=body, distinct=flag))
        names = ["asgi", "guarded", "checked", "bookkept", "go", "bindcheck"] + (
            ["before"] if opts.compare else []
        )
        ports = {name: free_port() for name in names}
        floor = [sys.executable, str(ROOT / "bench" / "floor_asgi.py")]
        ours = [sys.executable, "-m", "webhook.cli", "serve", "--host", "127.0.0.1",
                *opts.serve_arg]  # fmt: skip
        go = go_floor(Path.home() / ".cache" / "bindcheck" / "bench")
        starts = {
            "bindcheck": ([*ours, "--port", str(ports["bindcheck"]), "--cert-dir", str(certs)], {}),
            "asgi": ([*floor, "plain", str(ports["asgi"]), str(certs)], {}),
            "guarded": ([*floor, "guarded", str(ports["guarded"]), str(certs)], {}),
            "checked": ([*floor, "checked", str(ports["checked"]), str(certs)], {}),
            "bookkept": ([*floor, "bookkept", str(ports["bookkept"]), str(certs)], {}),
        }  # fmt: skip
        if go is not None:
            starts["go"] = ([str(go), f"127.0.0.1:{ports['go']}", str(certs)],
                            {"env": {**os.environ, "GOMAXPROCS": "1"}})  # fmt: skip
        if opts.compare:  # -m webhook.cli from its own directory imports that tree's code
            starts["before"] = ([*ours, "--port", str(ports["before"]), "--cert-dir", str(certs)],
                                {"cwd": opts.compare})  # fmt: skip
        procs: dict[str, subprocess.Popen] = {}
        try:  # started inside, so one that fails to start stops those before it
            for name, (argv, options) in starts.items():
                procs[name] = serve(argv, ports[name], **options)
            for n, mode in scripts:  # a bench of the wrong verdict measures nothing
                body = tmpdir / f"review-{n}-{mode}.json"
                if verdict(ports["bindcheck"], body, certs / "ca.crt") != ALLOWED[mode]:
                    sys.exit(
                        f"the {n}-entry {mode!r} body is not {'allowed' if ALLOWED[mode] else 'denied'}"
                    )
            print(f"loopback HTTPS, one process each, wrk -t2; per row the median of "
                  f"{opts.rounds} rounds of {opts.duration}, the servers taking turns")  # fmt: skip
            if opts.serve_arg:  # the row is not the default server's: say so above it
                print(f"bindcheck served with: {' '.join(opts.serve_arg)}")
            for name, what in FLOORS.items():
                print(
                    f"{name} floor: {what}"
                    + ("" if name in procs else " (no go on PATH: left out)")
                )
            for mode in opts.bodies:
                print(f"{mode}: {BODIES[mode]}")
            print("x: bindcheck / the asgi floor (rps) and bindcheck / asgi floor (p99); the floors "
                  "run on distinct bodies only")  # fmt: skip
            head = (f"{'entries':>7} {'conc':>4} {'bodies':>8} | {'asgi rps':>8} {'p99':>7} | "
                    f"{'guarded':>8} {'checked':>8} {'bookkept':>8} {'go rps':>8} | {'ours rps':>8} {'p50':>7} {'p99':>7} | "
                    f"{'rps x':>5} {'p99 x':>5}")  # fmt: skip
            print(head + (f" | {'before':>8} {'p99':>7} {'rps x':>5}" if opts.compare else ""))
            for n in opts.entries:
                for c in opts.concurrency:
                    for mode in opts.bodies:
                        servers = ["asgi", "bindcheck"] + (["before"] if opts.compare else [])
                        if mode == "distinct":
                            floors = ("guarded", "checked", "bookkept", "go")
                            servers[1:1] = [x for x in floors if x in procs]
                        runs: dict[str, list[dict]] = {name: [] for name in servers}
                        for name in servers:
                            wrk(ports[name], scripts[n, mode], c, "2s")  # warm-up, discarded
                        # Rounds alternate between the servers, so a slow spell of this
                        # shared machine lands on all of them rather than on one.
                        for _ in range(opts.rounds):
                            for name in servers:
                                runs[name].append(
                                    wrk(ports[name], scripts[n, mode], c, opts.duration)
                                )
                        got = {name: median(r) for name, r in runs.items()}
                        base, mine, before = got["asgi"], got["bindcheck"], got.get("before")
                        extra = {x: f"{got[x]['rps']:>8.0f}" if x in got else f"{'-':>8}"
                                 for x in ("guarded", "checked", "bookkept", "go")}  # fmt: skip
                        errors = " ".join(g["errors"] for g in got.values() if g["errors"])
                        print(f"{n:>7} {c:>4} {mode:>8} | {base['rps']:>8.0f} {base['p99']:>6.2f}m | "
                              f"{extra['guarded']} {extra['checked']} {extra['bookkept']} {extra['go']} | "
                              f"{mine['rps']:>8.0f} "
                              f"{mine['p50']:>6.2f}m {mine['p99']:>6.2f}m | "
                              f"{mine['rps'] / base['rps']:>5.2f} {mine['p99'] / base['p99']:>5.2f}"
                              + (f" | {before['rps']:>8.0f} {before['p99']:>6.2f}m "
                                 f"{before['rps'] / base['rps']:>5.2f}" if before else "")
                              + (f"  ERRORS: {errors}" if errors else ""))  # fmt: skip
                        if "bookkept" in got:
                            print(" " * 16 + checks_budget(base["rps"], got["bookkept"]["rps"],
                                                           mine["rps"]))  # fmt: skip
            print("RSS after the bench, MiB: "
                  + ", ".join(f"{name} {rss_mib(p):.0f}" for name, p in procs.items()))  # fmt: skip
            print("goals (issue 24): distinct rps x >= 0.5 at 3 and 64 entries, p99 x <= 2, "
                  "bindcheck RSS <= 64 MiB")  # fmt: skip
        finally:
            for p in procs.values():
                p.terminate()
                p.wait()


if __name__ == "__main__":
    main()
