"""Finding and reading the files ``check`` and ``resolve`` are pointed at, as a CI job would.

A repository holds more than manifests: Helm templates, JSON with comments,
``node_modules``, generated files, devices and pipes in odd places. What is not a
YAML or JSON manifest of ours is *skipped with a reason*; only a manifest of ours
that cannot be read is an error (exit 2). A file counts as ours when its text
names our API group; anything bigger than :data:`MAX_FILE_BYTES` or not a regular
file is never read whole.
"""

from __future__ import annotations

import fnmatch
import os
import re
import stat
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from webhook.crd import GROUP
from webhook.errors import InputError
from webhook.manifests import MANIFEST_SUFFIXES, Document, parse, parse_each
from webhook.text import shown

MAX_FILE_BYTES = 32 * 1024 * 1024
"""A manifest file larger than this is refused (the API server takes 3 MiB an object)."""
DEFAULT_EXCLUDES = ("node_modules", ".git")
"""Directories never searched: vendored code and version control."""
_PLACEHOLDER = re.compile(r"\{\{.*?\}\}|\{%.*?%\}")
"""A Helm/Go (``{{ .Values.x }}``) or Jinja (``{% if %}``) placeholder on one line."""
TEMPLATE_REASON = "a template ({{ ... }}): render it first, helm template CHART | bindcheck check -"
KUSTOMIZATIONS = ("kustomization.yaml", "kustomization.yml", "Kustomization")
MAX_KUSTOMIZATION_BYTES = 1024 * 1024
_PATCH_FIELDS = ("patches", "patchesStrategicMerge", "patchesJson6902")


@dataclass(frozen=True, slots=True)
class Skipped:
    """A file that is not a manifest of ours, and why."""

    source: str
    reason: str
    ours: bool = False
    """It names our API group: a template or patch of our kinds (``--fail-on-skipped``)."""


@dataclass(slots=True)
class Inputs:
    """What to read: paths, plus the globs to leave out."""

    paths: list[str]
    excludes: list[str] = field(default_factory=list)
    _patches: dict[str, str] = field(default_factory=dict, repr=False)
    """Resolved path of each file a kustomization names as a patch → that kustomization."""

    def __post_init__(self) -> None:
        # ``./vendor`` and ``vendor/`` mean the directory walked as ``vendor``
        self.excludes = [os.path.normpath(g) if g.strip("./") else g for g in self.excludes]

    def patch_of(self, path: str) -> str | None:
        """The kustomization that names ``path`` as a patch, if one seen so far does."""
        return self._patches.get(os.path.realpath(path)) if self._patches else None

    def files(self) -> Iterator[str | Skipped]:
        """Files to read: files as given, directories recursively by manifest suffix (sorted,
        excluded globs and :data:`DEFAULT_EXCLUDES` left out); ``-`` is stdin."""
        for path in self.paths:
            if path == "-":
                yield path
                continue
            p = Path(path)
            if p.is_dir():
                yield from self._walk(p)
            elif self._excluded(p, p.name):
                yield Skipped(path, "excluded")
            else:
                self._read_kustomization(p.parent)
                yield path

    def _walk(self, root: Path) -> Iterator[str]:
        found: list[str] = []
        for directory, dirs, names in os.walk(root):
            here = Path(directory)
            if any(k in names for k in KUSTOMIZATIONS):
                self._read_kustomization(here)
            dirs[:] = sorted(
                d for d in dirs if d not in DEFAULT_EXCLUDES and not self._excluded(here / d, d)
            )
            found.extend(
                str(here / n)
                for n in names
                if n.endswith(MANIFEST_SUFFIXES) and not self._excluded(here / n, n)
            )
        yield from sorted(found)

    def _read_kustomization(self, directory: Path) -> None:
        """Remember the files ``directory``'s kustomization names as patches: a patch is
        half an object, judged only once ``kustomize build`` has applied it."""
        for name in KUSTOMIZATIONS:
            path = directory / name
            try:
                if not path.is_file() or path.stat().st_size > MAX_KUSTOMIZATION_BYTES:
                    continue
                # parse() bounds aliases and nesting, as for any manifest
                doc = next(iter(parse(path.read_text(encoding="utf-8"), str(path))), None)
            except (OSError, UnicodeDecodeError, InputError):
                continue  # kustomize reports a broken kustomization; the patches stay checked
            if doc is not None and isinstance(doc.obj, dict):
                for patch in _patch_paths(doc.obj):
                    self._patches[os.path.realpath(directory / patch)] = str(path)
            return

    def _excluded(self, path: Path, name: str) -> bool:
        text = path.as_posix()
        return any(
            fnmatch.fnmatch(text, glob)
            or fnmatch.fnmatch(name, glob)
            or fnmatch.fnmatch(text, f"*/{glob}")
            for glob in self.excludes
        )


def _patch_paths(spec: dict[object, object]) -> Iterator[str]:
    """``patches: [{path}]``, ``patchesJson6902: [{path}]``, ``patchesStrategicMerge: [path]``
    (an inline patch is a YAML string with a newline, not a path)."""
    for key in _PATCH_FIELDS:
        items = spec.get(key)
        for item in items if isinstance(items, list) else ():
            path = item.get("path") if isinstance(item, dict) else item
            if isinstance(path, str) and path and "\n" not in path:
                yield path


def documents(inputs: Inputs) -> Iterator[Document | InputError | Skipped]:
    """Every document under the inputs; an unreadable manifest of ours comes as its error,
    anything else that is not a manifest as a :class:`Skipped`, and the rest go on."""
    for path in inputs.files():
        if isinstance(path, Skipped):
            yield path
            continue
        try:
            text = read_text(path)
        except InputError as exc:
            yield exc
            continue
        if isinstance(text, Skipped):
            yield text
            continue
        skipped = _not_a_manifest(inputs, path, text)
        if skipped is not None:
            yield skipped
            continue
        for item in parse_each(text, _source(path)):
            yield _judge(*item, whole=item[1] == text) if isinstance(item, tuple) else item


def _source(path: str) -> str:
    return "<stdin>" if path == "-" else path


def _not_a_manifest(inputs: Inputs, path: str, text: str) -> Skipped | None:
    """A file that parses but is not a whole object: a template (placeholders quoted or
    not, judged alike) or a kustomize patch. Stdin is a rendered stream, never a template."""
    if path == "-":
        return None
    if _PLACEHOLDER.search(text):
        return Skipped(path, TEMPLATE_REASON, GROUP in text)
    kustomization = inputs.patch_of(path)
    if kustomization is not None:
        directory = shown(os.path.dirname(kustomization) or ".", 200)
        reason = (
            f"a kustomize patch named by {shown(kustomization, 200)}: "
            f"kustomize build {directory} | bindcheck check -"
        )
        return Skipped(path, reason, GROUP in text)
    return None


def _judge(error: InputError, text: str, whole: bool = True) -> InputError | Skipped:
    """A document that does not parse: an error if it is a manifest of ours, else skipped
    (named by its line when the file's other documents were read)."""
    source = error.source if whole else f"{error.source}:{error.line}"
    if "{{" in text or "{%" in text:
        return Skipped(source, TEMPLATE_REASON, GROUP in text)
    if GROUP not in text:
        return Skipped(source, f"not a manifest of ours ({error.message})")
    return error


def read_text(path: str) -> str | Skipped:
    """A file's text: regular files only, at most :data:`MAX_FILE_BYTES`, UTF-8."""
    if path == "-":
        data = sys.stdin.buffer.read(MAX_FILE_BYTES + 1)
        if len(data) > MAX_FILE_BYTES:
            raise InputError("<stdin>", 0, f"more than {MAX_FILE_BYTES // 2**20} MiB on stdin")
        return _decode(data, "<stdin>")
    try:
        info = os.stat(path)
    except OSError as exc:
        raise InputError(path, 0, f"cannot read: {exc.strerror or exc}") from None
    if not stat.S_ISREG(info.st_mode):
        return Skipped(path, "not a regular file (a device, pipe or socket)")
    if info.st_size > MAX_FILE_BYTES:
        raise InputError(
            path, 0, f"{info.st_size:,} bytes, over the {MAX_FILE_BYTES // 2**20} MiB limit"
        )
    try:
        with open(path, "rb") as f:
            data = f.read(MAX_FILE_BYTES + 1)
    except OSError as exc:
        raise InputError(path, 0, f"cannot read: {exc.strerror or exc}") from None
    if len(data) > MAX_FILE_BYTES:  # it grew since stat
        raise InputError(path, 0, f"over the {MAX_FILE_BYTES // 2**20} MiB limit")
    return _decode(data, path)


def _decode(data: bytes, source: str) -> str | Skipped:
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        if GROUP.encode() not in data:
            return Skipped(source, "not UTF-8 text")
        line = data[: exc.start].count(b"\n") + 1
        raise InputError(source, line, f"not UTF-8 (byte 0x{data[exc.start]:02x})") from None
