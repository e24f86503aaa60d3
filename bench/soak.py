"""Bounded soak: bindcheck under mixed allowed/denied load on loopback, checked response by response.

    python bench/soak.py [--duration 60] [--concurrency 64] [--warmup 10]

wrk drives the real server over HTTPS. Every review's uid says what the answer
must be ("allow-..." or "deny-..."); a Lua response hook checks each answer and
counts mismatches. Resident memory is read after the warm-up and at the end. The
warm-up is three client sessions (the client reconnects twice): the process grows
once on its first reconnects (about 17 MB: the allocator settles for a new set of
TLS connections' buffers, and stays there), which is not growth under load.
Exit 0 only with zero errors, zero wrong answers and RSS growth under 10%.
Only 127.0.0.1 is contacted; the run stops by itself.
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

from conftest import entry, workload  # noqa: E402
from servers import free_port, wait_for_port  # noqa: E402

from webhook.certs import write_certs  # noqa: E402

LUA = """
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
local bodies = {}
for i, path in ipairs({%(paths)s}) do
  local f = io.open(path, "rb"); bodies[i] = f:read("*all"); f:close()
end
n, wrong, checked = 0, 0, 0  -- globals: done() reads them per thread
local threads = {}
function setup(thread) table.insert(threads, thread) end
function request()
  n = n + 1
  local b = bodies[(n %% #bodies) + 1]:gsub("SEQ", tostring(n))
  return wrk.format(nil, nil, nil, b)
end
function response(status, headers, body)
  checked = checked + 1
  local want = body:match('"uid": "(%%a+)%%-') or body:match('"uid":"(%%a+)%%-')
  local allowed = body:match('"allowed": (%%a+)') or body:match('"allowed":(%%a+)')
  if status ~= 200 or (want == "allow") ~= (allowed == "true") then wrong = wrong + 1 end
end
function done(summary, latency, requests)
  local w, c = 0, 0
  for _, t in ipairs(threads) do w = w + t:get("wrong"); c = c + t:get("checked") end
  io.write(string.format("checked=%%d wrong=%%d\\n", c, w))
end
"""


def reviews(tmp: Path) -> list[Path]:
    cases = [
        ("allow", workload([entry(name="cache", version="0.2.0-draft"),
                            entry(name="seq-SEQ", version="0.2.0-draft")])),
        ("deny", workload([entry(), entry(), entry(name="seq-SEQ")])),
        ("allow", workload([entry(namespace="wasi", package="http", interfaces=["incoming-handler"],
                                  config={"host": "seq-SEQ.example.com"})],
                           kind="Workload")),
        ("deny", workload([entry(name="Bad-SEQ")], kind="WorkloadReplicaSet")),
    ]  # fmt: skip
    paths = []
    for i, (verdict, obj) in enumerate(cases):
        body = {"apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview",
                "request": {"uid": f"{verdict}-SEQ", "operation": "CREATE", "object": obj}}  # fmt: skip
        path = tmp / f"review-{i}.json"
        path.write_text(json.dumps(body))
        paths.append(path)
    return paths


def rss_kib(pid: int) -> int:
    text = Path(f"/proc/{pid}/status").read_text()
    return int(re.search(r"VmRSS:\s+(\d+)", text).group(1))  # type: ignore[union-attr]


def wrk(port: int, script: Path, seconds: int, concurrency: int) -> tuple[str, dict]:
    out = subprocess.run(
        ["wrk", "-t2", f"-c{concurrency}", f"-d{seconds}s", "--latency", "-s", str(script),
         f"https://127.0.0.1:{port}/validate"],
        capture_output=True, text=True, check=True, timeout=seconds + 60,
    ).stdout  # fmt: skip
    figures = {
        "requests": int(re.search(r"(\d+) requests in", out).group(1)),  # type: ignore[union-attr]
        "rps": float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1)),  # type: ignore[union-attr]
        "p99": re.search(r"^\s+99%\s+(\S+)", out, re.M).group(1),  # type: ignore[union-attr]
        "checked": int(re.search(r"checked=(\d+)", out).group(1)),  # type: ignore[union-attr]
        "wrong": int(re.search(r"wrong=(\d+)", out).group(1)),  # type: ignore[union-attr]
        "errors": re.findall(r"(Socket errors:.*|Non-2xx or 3xx responses: \d+)", out),
    }
    return out, figures


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--duration", type=int, default=60)
    parser.add_argument("--concurrency", type=int, default=64)
    parser.add_argument("--warmup", type=int, default=10)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmpdir:
        tmp = Path(tmpdir)
        write_certs(tmp / "certs", ["localhost", "127.0.0.1"])
        script = tmp / "soak.lua"
        script.write_text(LUA % {"paths": ", ".join(f'"{p}"' for p in reviews(tmp))})
        port = free_port()
        proc = subprocess.Popen(
            [sys.executable, "-m", "webhook.cli", "serve", "--host", "127.0.0.1", "--port", str(port),
             "--cert-dir", str(tmp / "certs"), "--log-level", "warning"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        try:
            wait_for_port(port, proc)
            warm_runs = [wrk(port, script, max(1, args.warmup // 3), args.concurrency)[1]
                         for _ in range(3)]  # fmt: skip
            warm = {key: sum(run[key] for run in warm_runs) for key in ("requests", "wrong")}
            warm["errors"] = [e for run in warm_runs for e in run["errors"]]
            rss_before = rss_kib(proc.pid)
            _, soak = wrk(port, script, args.duration, args.concurrency)
            rss_after = rss_kib(proc.pid)
        finally:
            proc.terminate()
            proc.wait(timeout=30)
    growth = (rss_after - rss_before) / rss_before
    print(f"warm-up {args.warmup}s in 3 sessions: {warm['requests']} requests, "
          f"wrong={warm['wrong']}")  # fmt: skip
    print(f"soak {args.duration}s at concurrency {args.concurrency}: {soak['requests']} requests "
          f"({soak['rps']:.0f}/s, p99 {soak['p99']}), checked {soak['checked']}, "
          f"wrong {soak['wrong']}, errors {soak['errors'] or 'none'}")  # fmt: skip
    print(f"RSS after warm-up {rss_before} KiB, at the end {rss_after} KiB ({growth:+.1%})")
    failed = soak["wrong"] or warm["wrong"] or soak["errors"] or warm["errors"] or growth >= 0.10
    failed = failed or soak["checked"] != soak["requests"] or soak["requests"] == 0
    print("FAILED" if failed else "OK: zero errors, every answer correct, memory flat")
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
