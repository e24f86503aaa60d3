"""A short version of bench/soak.py in the default run (the 60 s soak is `make soak`)."""

from __future__ import annotations

import shutil
import subprocess
import sys

import pytest
from conftest import ROOT


def test_a_short_soak_answers_every_review_correctly_with_flat_memory():
    if shutil.which("wrk") is None:
        pytest.fail("wrk is not installed; .ci/run installs it with apt-get")
    proc = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "soak.py"), "--duration", "8", "--warmup", "6",
         "--concurrency", "16"],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "wrong 0, errors none" in proc.stdout
