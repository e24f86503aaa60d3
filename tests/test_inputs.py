"""What ``check`` reads (webhook/inputs.py): only regular files, bounded in size, memory flat
in the number of documents."""

from __future__ import annotations

import os
import subprocess
import sys
import time

import yaml
from conftest import entry, workload

from webhook.cli import main
from webhook.inputs import MAX_FILE_BYTES


def run(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_devices_and_pipes_are_skipped_with_a_reason_never_read(capsys, tmp_path):
    fifo = tmp_path / "pipe.yaml"
    os.mkfifo(fifo)
    started = time.monotonic()
    code, out, _ = run(capsys, "check", "/dev/zero", "/dev/urandom", str(fifo))
    assert time.monotonic() - started < 5
    assert code == 0
    assert out.count("not a regular file (a device, pipe or socket)") == 3


def test_a_file_over_the_size_limit_is_an_error_read_no_further(capsys, tmp_path):
    sparse = tmp_path / "huge.yaml"
    with sparse.open("wb") as f:
        f.truncate(1024 * 1024 * 1024)  # a 1 GiB sparse file
    started = time.monotonic()
    code, out, _ = run(capsys, "check", str(sparse))
    assert time.monotonic() - started < 5
    assert code == 2 and f"over the {MAX_FILE_BYTES // 2**20} MiB limit" in out


PEAK = (
    "import resource, sys\n"
    "from webhook.cli import main\n"
    "code = main(sys.argv[1:])\n"
    "print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, file=sys.stderr)\n"
    "sys.exit(code)\n"
)


def _peak_rss_kib(path) -> int:
    """The peak RSS of one ``check`` process, as that process measures itself."""
    proc = subprocess.run(
        [sys.executable, "-c", PEAK, "check", "--format", "json", "-o", os.devnull,
         "--catalog", "none", str(path)],
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert proc.returncode == 1, proc.stderr
    return int(proc.stderr.strip().splitlines()[-1])


def test_memory_stays_flat_in_the_number_of_denied_documents(tmp_path):
    def corpus(count: int):
        path = tmp_path / f"{count}.yaml"
        docs = []
        for i in range(count):
            obj = workload([entry(), entry(), entry(name=f"Bad{i}")], name=f"w{i}")
            docs.append(yaml.safe_dump(obj))
        path.write_text("---\n".join(docs))
        return path

    small, large = corpus(1_000), corpus(8_000)
    small_rss = _peak_rss_kib(small)
    large_rss = _peak_rss_kib(large)
    # Eight times the documents (each with distinct denials): at most a few MiB more, not
    # the ~70 MiB that keeping every document would take.
    assert large_rss - small_rss < 20 * 1024, (small_rss, large_rss)
