"""``bindcheck check`` over 1,000 manifests of 16 entries vs PyYAML alone parsing them.

Both sides in one run, on the same files. The baseline is PyYAML's fastest
loader (libyaml's CSafeLoader) reading every document; the target is bindcheck
within 2x of it, end to end (process start-up included) and in process. Two
corpora: every manifest allowed, and every entry denied (a package the host does
not serve: 16,000 violations). ``--compare DIR`` also times the whole command from
another checkout (an older commit, say), in the same run.
"""

from __future__ import annotations

import argparse
import os
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


def write(
    root: Path, count: int = 1000, entries: int = 16, package: str = "keyvalue"
) -> list[Path]:
    root.mkdir(parents=True, exist_ok=True)
    paths = []
    for i in range(count):
        # Every manifest's list is different, so no verdict is reused from the cache.
        body = "".join(ENTRY.format(i=i, j=j) for j in range(entries))
        body = body.replace("package: keyvalue", f"package: {package}")
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
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--compare", type=Path, help="another checkout to time the command from")
    opts = parser.parse_args()
    from webhook.checking import check_paths
    from webhook.core import build_validator
    from webhook.runtime.catalog_files import load_catalog

    # No verdict reuse between the repeated runs: every run does the full work.
    validator = build_validator(catalog=load_catalog(None))
    print("1,000 manifests x 16 hostInterfaces entries (best of 3)")
    with tempfile.TemporaryDirectory() as tmp:
        for corpus, package, want in (("allowed", "keyvalue", 0), ("all denied", "nosuch", 1)):
            root = Path(tmp) / package
            paths = write(root, package=package)

            def pyyaml(paths: list[Path] = paths) -> None:
                for p in paths:
                    list(yaml.load_all(p.read_text(), Loader=yaml.CSafeLoader))

            def in_process(root: Path = root, want: int = want) -> None:
                report = check_paths([str(root)], validator)
                assert report.denied == want * 1000 and len(report.results) == 1000

            def command(tree: Path | None, root: Path = root, want: int = want) -> None:
                env = dict(os.environ)
                if tree is not None:
                    env["PYTHONPATH"] = str(tree)
                argv = [sys.executable, "-m", "webhook.cli", "check", str(root)]
                proc = subprocess.run(argv, capture_output=True, env=env, cwd=tree or ".")
                assert proc.returncode == want, proc.stdout[-500:]

            base = best_of(3, pyyaml)
            rows = [("PyYAML CSafeLoader alone", base),
                    ("bindcheck check, in process", best_of(3, in_process)),
                    ("bindcheck check, whole command", best_of(3, lambda: command(None)))]  # fmt: skip
            if opts.compare:
                rows.append((f"  from {opts.compare}", best_of(3, lambda: command(opts.compare))))
            print(f"{corpus}:")
            for label, took in rows:
                print(f"  {label:<36} {took * 1000:8.1f} ms   {took / base:.2f}x")
    print("target: within 2x of PyYAML alone")


if __name__ == "__main__":
    main()
