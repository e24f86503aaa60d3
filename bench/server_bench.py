"""Loopback HTTPS load: bindcheck's /validate next to a minimal echo endpoint, in one run.

Each server is one uvicorn process; wrk (Debian package) drives it with
AdmissionReviews of 3 and 64 hostInterfaces entries at concurrency 16 and 64.
Bounded: every run is a few seconds, only 127.0.0.1 is contacted.
"""

from __future__ import annotations

import argparse
import http.client
import json
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
function request()
  n = n + 1
  -- every request but "repeated" ones gets a new value, so no verdict is ever reused
  local b = {distinct} and body:gsub("VARYME", "t" .. tid .. "-" .. n) or body:gsub("VARYME", "same")
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


def median(runs: list[dict]) -> dict:
    """The median of each figure over a row's rounds (errors: any round's)."""
    out = {key: statistics.median(run[key] for run in runs) for key in ("rps", "p50", "p99")}
    return {**out, "errors": next((run["errors"] for run in runs if run["errors"]), "")}


def serve(argv: list[str], port: int, cwd: Path | None = None) -> subprocess.Popen:
    proc = subprocess.Popen(
        argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=cwd or ROOT
    )
    wait_for_port(port, proc)
    return proc


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
    opts = parser.parse_args()
    if shutil.which("wrk") is None:
        sys.exit("server_bench needs wrk: apt-get install wrk")
    with tempfile.TemporaryDirectory() as tmp:
        tmpdir = Path(tmp)
        write_certs(tmpdir / "certs", ["localhost", "127.0.0.1"])
        scripts = {}
        for n in opts.entries:
            for mode in BODIES:
                body = tmpdir / f"review-{n}-{mode}.json"
                body.write_text(json.dumps(review(n, mode)))
                scripts[n, mode] = tmpdir / f"post-{n}-{mode}.lua"
                flag = "false" if mode == "repeated" else "true"
                scripts[n, mode].write_text(LUA.format(body=body, distinct=flag))
        ports = {"bindcheck": free_port(), "echo": free_port(), "before": free_port()}
        procs = [
            serve([sys.executable, "-m", "webhook.cli", "serve", "--host", "127.0.0.1",
                   "--port", str(ports["bindcheck"]), "--cert-dir", str(tmpdir / "certs")],
                  ports["bindcheck"]),
            serve([sys.executable, str(ROOT / "bench" / "echo_app.py"), str(ports["echo"]),
                   str(tmpdir / "certs")], ports["echo"]),
        ]  # fmt: skip
        if opts.compare:  # -m webhook.cli from its own directory imports that tree's code
            procs.append(serve([sys.executable, "-m", "webhook.cli", "serve", "--host", "127.0.0.1",
                                "--port", str(ports["before"]), "--cert-dir", str(tmpdir / "certs")],
                               ports["before"], cwd=opts.compare))  # fmt: skip
        try:
            for n, mode in scripts:  # a bench of the wrong verdict measures nothing
                body = tmpdir / f"review-{n}-{mode}.json"
                if verdict(ports["bindcheck"], body, tmpdir / "certs" / "ca.crt") != ALLOWED[mode]:
                    sys.exit(
                        f"the {n}-entry {mode!r} body is not {'allowed' if ALLOWED[mode] else 'denied'}"
                    )
            print(f"loopback HTTPS, one uvicorn process each, wrk -t2; per row the median of "
                  f"{opts.rounds} rounds of {opts.duration}, the servers taking turns")  # fmt: skip
            for mode in opts.bodies:
                print(f"{mode}: {BODIES[mode]}")
            print(f"{'entries':>7} {'conc':>4} {'bodies':>8} | {'echo rps':>8} {'p50':>7} {'p99':>7} | "
                  f"{'ours rps':>8} {'p50':>7} {'p99':>7} | {'rps x':>5} {'p99 x':>5}"
                  + (f" | {'before':>8} {'p99':>7} {'rps x':>5}" if opts.compare else ""))  # fmt: skip
            for n in opts.entries:
                for c in opts.concurrency:
                    for mode in opts.bodies:
                        servers = ["echo", "bindcheck"] + (["before"] if opts.compare else [])
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
                        echo, ours = median(runs["echo"]), median(runs["bindcheck"])
                        before = median(runs["before"]) if opts.compare else None
                        errors = ours["errors"] or echo["errors"]
                        print(f"{n:>7} {c:>4} {mode:>8} | {echo['rps']:>8.0f} {echo['p50']:>6.2f}m "
                              f"{echo['p99']:>6.2f}m | {ours['rps']:>8.0f} {ours['p50']:>6.2f}m "
                              f"{ours['p99']:>6.2f}m | {ours['rps'] / echo['rps']:>5.2f} "
                              f"{ours['p99'] / echo['p99']:>5.2f}"
                              + (f" | {before['rps']:>8.0f} {before['p99']:>6.2f}m "
                                 f"{before['rps'] / echo['rps']:>5.2f}" if before else "")
                              + (f"  ERRORS: {errors}" if errors else ""))  # fmt: skip
            print(
                "targets: 3 entries rps x >= 0.85 and p99 x <= 1.25; 64 entries rps x >= 0.6; "
                "worst 64-entry list p99 <= 25 ms at c16"
            )
        finally:
            for p in procs:
                p.terminate()
                p.wait()


if __name__ == "__main__":
    main()
