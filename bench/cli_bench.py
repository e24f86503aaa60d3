"""``bindcheck check`` over 1,000 manifests of 16 entries vs PyYAML alone parsing them.

Both sides in one run, on the same files. The baseline is PyYAML's fastest
loader (libyaml's CSafeLoader) reading every document; the target is bindcheck
within 2x of it, end to end (process start-up included) and in process.
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

DOC = """\
apiVersion: runtime.wasmcloud.dev/v1alpha1
kind: WorkloadDeployment
metadata:
  name: app-{i}
  namespace: team-{t}
spec:
  replicas: 2
  template:
    spec:
      hostSelector:
        hostgroup: default
      hostInterfaces:
{entries}      components:
        - name: app
          image: ghcr.io/example/app:{i}.0.0
"""
ENTRY = """\
        - namespace: wasi
          package: keyvalue
          version: 0.2.0-draft
          interfaces: [store, atomics]
          name: app{i}-store-{j}
          config:
            backend: nats
            url: nats://nats-{j}.team.svc:4222
"""


def write(root: Path, count: int = 1000, entries: int = 16) -> list[Path]:
    paths = []
    for i in range(count):
        # Every manifest's list is different, so no verdict is reused from the cache.
        body = "".join(ENTRY.format(i=i, j=j) for j in range(entries))
        p = root / f"app-{i:04}.yaml"
        p.write_text(DOC.format(i=i, t=i % 7, entries=body))
        paths.append(p)
    return paths


def best_of(runs: int, fn) -> float:
    out = []
    for _ in range(runs):
        t = time.perf_counter()
        fn()
        out.append(time.perf_counter() - t)
    return min(out)


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        paths = write(root)

        def pyyaml() -> None:
            for p in paths:
                list(yaml.load_all(p.read_text(), Loader=yaml.CSafeLoader))

        from webhook.checking import check_paths
        from webhook.core import build_validator
        from webhook.runtime.catalog import load_catalog

        # No verdict reuse between the repeated runs: every run does the full work.
        validator = build_validator(catalog=load_catalog(None), cache_size=0)

        def in_process() -> None:
            report = check_paths([str(root)], validator)
            assert report.denied == 0 and len(report.results) == 1000, report.denied

        bindcheck = str(Path(sys.executable).with_name("bindcheck"))

        def cli() -> None:
            proc = subprocess.run([bindcheck, "check", str(root)], capture_output=True)
            assert proc.returncode == 0, proc.stdout[-500:]

        base = best_of(3, pyyaml)
        inproc = best_of(3, in_process)
        whole = best_of(3, cli)
        print("1,000 manifests x 16 hostInterfaces entries (best of 3)")
        print(f"  PyYAML CSafeLoader alone            {base * 1000:8.1f} ms   1.00x")
        print(
            f"  bindcheck check, in process         {inproc * 1000:8.1f} ms   {inproc / base:.2f}x"
        )
        print(f"  bindcheck check, whole command      {whole * 1000:8.1f} ms   {whole / base:.2f}x")
        print("target: within 2x of PyYAML alone")


if __name__ == "__main__":
    main()
