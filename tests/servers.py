"""Starting real processes for tests: free ports, waiting for them, stopping them."""

from __future__ import annotations

import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_for_port(port: int, proc: subprocess.Popen, timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"process exited with {proc.returncode} before listening")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"nothing listened on port {port} within {timeout}s")


def binary(name: str) -> str:
    path = shutil.which(name) or shutil.which(name, path="/usr/sbin:/usr/bin:/usr/local/bin")
    if path is None:
        pytest.fail(f"{name} is not installed; .ci/run installs it with apt-get")
    return path


@contextmanager
def running(argv: list[str], port: int) -> Iterator[subprocess.Popen]:
    proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_for_port(port, proc)
        yield proc
    finally:
        stop(proc)


def stop(proc: subprocess.Popen, timeout: float = 10) -> None:
    """SIGTERM, then SIGKILL after ``timeout`` seconds; returns once it has exited."""
    proc.terminate()
    try:
        proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


_SERVING_PROBE = """
import sys
from webhook import cli, serving
from webhook.memo import Remembering
from webhook.server import ServerState, create_app
args = cli.build_parser().parse_args(["serve", *sys.argv[1:]])
validator = cli.make_validator(args, Remembering(json_prints=True))
serving.tls_context(args.cert_dir, None)
serving.not_after(args.cert_dir / "tls.crt")
create_app(ServerState(validator))
twice = {"namespace": "wasi", "package": "keyvalue", "interfaces": ["store"]}
validator.check({"apiVersion": "runtime.wasmcloud.dev/v1alpha1", "kind": "Workload",
                 "metadata": {"name": "w"}, "spec": {"hostInterfaces": [twice, twice]}})
loaded = {m.split(".")[0] for m in sys.modules}
print(" ".join(sorted(loaded & {"cryptography", "cel_expr_python"})))
"""


def heavy_libraries_serving_loads(cert_dir: Path, *flags: str) -> set[str]:
    """Which of cryptography and the CEL C++ library a fresh process holds after building
    what ``serve`` builds on ``cert_dir`` (a pair must be there) and judging one list
    the shipped rules deny; ``flags``: more of serve's flags."""
    run = subprocess.run(
        [sys.executable, "-c", _SERVING_PROBE, "--cert-dir", str(cert_dir), *flags],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert run.returncode == 0, run.stderr
    return set(run.stdout.split())
