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
import stat
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from webhook.crd import GROUP
from webhook.errors import InputError
from webhook.manifests import MANIFEST_SUFFIXES, Document, parse

MAX_FILE_BYTES = 32 * 1024 * 1024
"""A manifest file larger than this is refused (the API server takes 3 MiB an object)."""
DEFAULT_EXCLUDES = ("node_modules", ".git")
"""Directories never searched: vendored code and version control."""
_TEMPLATE = ("{{", "{%")


@dataclass(frozen=True, slots=True)
class Skipped:
    """A file that is not a manifest of ours, and why."""

    source: str
    reason: str


@dataclass(slots=True)
class Inputs:
    """What to read: paths, plus the globs to leave out."""

    paths: list[str]
    excludes: list[str] = field(default_factory=list)

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
                yield path

    def _walk(self, root: Path) -> Iterator[str]:
        found: list[str] = []
        for directory, dirs, names in os.walk(root):
            here = Path(directory)
            dirs[:] = sorted(
                d for d in dirs if d not in DEFAULT_EXCLUDES and not self._excluded(here / d, d)
            )
            found.extend(
                str(here / n)
                for n in names
                if n.endswith(MANIFEST_SUFFIXES) and not self._excluded(here / n, n)
            )
        yield from sorted(found)

    def _excluded(self, path: Path, name: str) -> bool:
        text = path.as_posix()
        return any(
            fnmatch.fnmatch(text, glob)
            or fnmatch.fnmatch(name, glob)
            or fnmatch.fnmatch(text, f"*/{glob}")
            for glob in self.excludes
        )


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
        try:
            yield from parse(text, _source(path))
        except InputError as exc:
            yield _judge(text, exc)


def _source(path: str) -> str:
    return "<stdin>" if path == "-" else path


def _judge(text: str, error: InputError) -> InputError | Skipped:
    """A file that does not parse: an error if it is a manifest of ours, else skipped."""
    if any(marker in text for marker in _TEMPLATE):
        return Skipped(
            error.source, "a template ({{ ... }}): render it first, then check the output"
        )
    if GROUP not in text:
        return Skipped(error.source, f"not a manifest of ours ({error.message})")
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
