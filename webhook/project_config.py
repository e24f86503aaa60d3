"""``.bindcheck.yaml``: one file in a repository that says how bindcheck judges it.

Read by ``check`` (and so by the pre-commit hook and the GitHub action), ``resolve``,
``audit``, ``rules``, ``catalog show`` and ``export vap``, found in the working
directory or the nearest parent up to the repository's root (the directory holding
``.git``); ``serve`` reads one only when ``--config`` names it, so a server never
depends on the directory it was started in. The chart reads the same file from its
``config`` value (charts/bindcheck/templates/_helpers.tpl, ``bindcheck.projectConfig``).

A flag given on the command line wins over the file; lists (``rules``, ``exclude``)
add to it; ``ruleActions`` are overridden rule by rule. Paths in the file are relative
to the file, wherever the command runs.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from webhook.config_files import first_error, line_of, read_document
from webhook.errors import ConfigFileError, InputError
from webhook.runtime import releases
from webhook.text import shown

FILE_NAME = ".bindcheck.yaml"
MAX_BYTES = 256 * 1024
"""A config is a few lines; anything near this is not one."""


class _Settings(BaseModel):
    """The file's format (``bindcheck`` reads no other key)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    policy: Literal["upstream", "strict"] | None = None
    host: str | None = Field(None, description="the wasmCloud release, e.g. wasmcloud@2.6")
    catalog: str | None = Field(None, description="a catalog file, a release, or none")
    rules: list[str] = Field([], max_length=64, description="extra rule files or directories")
    ruleActions: dict[str, Literal["deny", "warn", "audit", "off"]] = Field({}, max_length=256)
    exclude: list[str] = Field([], max_length=256, description="as check --exclude")
    failOnWarnings: bool = False
    failOnSkipped: bool = False

    @field_validator("ruleActions", mode="before")
    @classmethod
    def _off(cls, value: Any) -> Any:
        """YAML 1.1, as kubectl and Helm read it, takes an unquoted ``off`` for false."""
        if isinstance(value, dict):
            return {k: "off" if v is False else v for k, v in value.items()}
        return value

    @field_validator("host")
    @classmethod
    def _a_release(cls, value: str | None) -> str | None:
        if value is not None:
            releases.find(value)  # UnknownRelease (a ValueError) lists the known ones
        return value


@dataclass(frozen=True, slots=True)
class ProjectConfig:
    """A loaded ``.bindcheck.yaml``: its settings, with paths made absolute."""

    source: str
    policy: str | None = None
    catalog: str | None = None
    """A catalog file (absolute), a release name, ``none``, or ``None`` (not set)."""
    rules: tuple[str, ...] = ()
    rule_actions: dict[str, str] = field(default_factory=dict)
    exclude: tuple[str, ...] = ()
    fail_on_warnings: bool = False
    fail_on_skipped: bool = False
    lines: dict[str, int] = field(default_factory=dict, repr=False)
    """The line of each key (``ruleActions.<rule>`` too), for errors found later."""

    def error(self, path: str, message: str) -> ConfigFileError:
        """An error about ``path`` (a dotted key) of this file, at its line."""
        return ConfigFileError(self.source, path, message, self.lines.get(path, 0))


def find(start: Path) -> Path | None:
    """The ``.bindcheck.yaml`` in ``start`` or its nearest parent, stopping at the
    repository's root (a directory with ``.git``) or the filesystem's."""
    for directory in (start, *start.parents):
        candidate = directory / FILE_NAME
        if candidate.is_file():
            return candidate
        if (directory / ".git").exists():
            return None
    return None


def load(path: Path) -> ProjectConfig:
    """Read and validate one config file; errors name the file, line and key."""
    source = str(path)
    if path.exists() and not path.is_file():  # a FIFO would block the read for ever
        raise ConfigFileError(source, "", "not a regular file")
    try:
        with path.open("rb") as f:
            raw = f.read(MAX_BYTES + 1)
        if len(raw) > MAX_BYTES:
            raise ConfigFileError(source, "", f"larger than {MAX_BYTES // 1024} KiB")
        text = raw.decode("utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigFileError(source, "", f"cannot read the config: {exc}") from None
    return parse(text, source, path.resolve().parent)


def parse(text: str, source: str, directory: Path) -> ProjectConfig:
    """Validate a config text; relative paths in it are taken from ``directory``."""
    try:
        data, node = read_document(text, source)
    except InputError as exc:
        raise ConfigFileError(source, "", exc.message, exc.line) from None
    if data is None:
        data = {}  # an empty file, or only comments: every default
    if not isinstance(data, dict):
        raise ConfigFileError(source, "", "the config is a mapping of settings", 1)
    try:
        settings = _Settings.model_validate(data)
    except ValidationError as exc:
        path, message = first_error(exc.errors(), known=_Settings.model_fields)
        raise ConfigFileError(source, ".".join(path), message, line_of(node, path)) from None
    if settings.host is not None and settings.catalog is not None:
        raise ConfigFileError(
            source, "catalog", "set host or catalog, not both", line_of(node, ["catalog"])
        )
    lines = {key: line_of(node, [key]) for key in data}
    lines.update(
        {f"ruleActions.{r}": line_of(node, ["ruleActions", r]) for r in settings.ruleActions}
    )
    catalog = settings.host or settings.catalog
    rules = tuple(str(directory / r) for r in settings.rules)
    files = [(f"rules.{i}", r) for i, r in enumerate(rules)]
    if catalog is not None and catalog != "none" and not releases.is_release_name(catalog):
        catalog = str(directory / catalog)
        files.insert(0, ("catalog", catalog))
    for key, file in files:  # looked for now, so the error points here, not at a later load
        if not Path(file).exists():
            raise ConfigFileError(
                source,
                key,
                f"no such file or directory: {shown(file, 200)}",
                line_of(node, key.split(".")),
            )
    return ProjectConfig(
        source=source,
        policy=settings.policy,
        catalog=catalog,
        rules=rules,
        rule_actions=dict(settings.ruleActions),
        exclude=tuple(settings.exclude),
        fail_on_warnings=settings.failOnWarnings,
        fail_on_skipped=settings.failOnSkipped,
        lines=lines,
    )
