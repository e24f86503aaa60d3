"""Catalog files: the embedded default, a user's file, and the format's JSON Schema."""

from __future__ import annotations

import json
from importlib import resources
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from webhook.config_files import first_error, line_of, read_document
from webhook.errors import CatalogError, ConfigError, InputError
from webhook.runtime import releases
from webhook.runtime.catalog import Catalog
from webhook.text import did_you_mean, shown

MAX_EXTENDS = 16
"""How long a chain of ``extends`` may be: the release models chain seven deep."""


def load_catalog(path: str | None) -> Catalog | None:
    """``None``/absent → the default release; ``"none"`` → no catalog; ``wasmcloud@X``
    → that release's host model (webhook/runtime/releases.py); else the file."""
    if path == "none":
        return None
    if path is None or releases.is_release_name(path):
        name = path or releases.DEFAULT
        try:
            release = releases.find(name)
        except releases.UnknownRelease as exc:
            raise ConfigError(str(exc)) from None
        data = _release_data(release)
        # The model is shared by neighbouring tags; the catalog names the one chosen.
        tag = None if release.tag == "main" else release.tag
        data["upstream"] = {**data["upstream"], "commit": release.commit, "release": tag}
        source = f"{release.name} (default)" if path is None else release.name
        return _validated(data, source)
    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise CatalogError(path, "", f"cannot read catalog: {exc}") from None
    return parse_catalog(text, path)


def parse_catalog(text: str, source: str) -> Catalog:
    """Validate a catalog text; errors name the path inside the file and its line."""
    data, node = _read(text, source)
    merged: dict[str, Any] = {}
    try:
        merged = _merged(data, source, 0)
        return _validated(merged, source, data.get("extends"))  # _merged refused a non-name
    except CatalogError as exc:
        if exc.line or exc.source != source:  # a release's own file, or placed already
            raise
        path = _own_path(exc.path.split(".") if exc.path else [], merged, data)
        if not path:  # the release's part, or the whole catalog: no line to point at
            raise
        raise CatalogError(source, ".".join(path), exc.reason, line_of(node, path)) from None


def _read(text: str, source: str) -> tuple[dict[str, Any], yaml.Node]:
    try:
        data, node = read_document(text, source)
    except InputError as exc:
        where = f"line {exc.line}" if exc.line else ""
        raise CatalogError(source, where, exc.message) from None
    if not isinstance(data, dict) or node is None:
        raise CatalogError(source, "", "a catalog is a mapping with hostGroups and plugins")
    return data, node


_KEYS = {"plugins": "id", "hostGroups": "name"}
"""What tells a list's items apart when a catalog extends a release (merged by it)."""


def _own_path(path: list[str], merged: dict[str, Any], own: dict[str, Any]) -> list[str] | None:
    """A path into the merged catalog as a path into the user's file, whose plugin and
    host group indices differ once ``extends`` merged the release's in; ``None`` when
    the item is the release's."""
    if len(path) < 2 or path[0] not in _KEYS or not path[1].isdigit() or merged is own:
        return path
    items, key = merged.get(path[0], []), _KEYS[path[0]]
    if int(path[1]) >= len(items):
        return path
    wanted = items[int(path[1])].get(key)
    for index, item in enumerate(own.get(path[0]) or []):
        if isinstance(item, dict) and item.get(key) == wanted:
            return [path[0], str(index), *path[2:]]
    return None


def _release_data(release: releases.Release, depth: int = 0) -> dict[str, Any]:
    """A release's model, its ``extends`` chain merged in."""
    name = f"data/releases/wasmcloud-{release.model}.yaml"
    text = resources.files("webhook").joinpath(name).read_text(encoding="utf-8")
    return _merged(_read(text, name)[0], name, depth)


def _merged(data: dict[str, Any], source: str, depth: int) -> dict[str, Any]:
    """``data`` over the release it ``extends``: plugins replace or join by id, host
    groups by name, ``host`` key by key; ``withoutPlugins`` drops plugins the release
    has (from its host groups too); every other key replaces the release's."""
    base_name = data.get("extends")
    if base_name is None:
        if "withoutPlugins" in data:
            raise CatalogError(
                source, "withoutPlugins", "only a catalog that extends a release drops plugins"
            )
        return data
    if not isinstance(base_name, str) or not releases.is_release_name(base_name):
        raise CatalogError(source, "extends", f"names a release, such as {releases.DEFAULT}")
    if depth >= MAX_EXTENDS:
        raise CatalogError(source, "extends", f"more than {MAX_EXTENDS} catalogs extend each other")
    try:
        release = releases.find(base_name)
    except releases.UnknownRelease as exc:
        raise CatalogError(source, "extends", str(exc)) from None
    out = dict(_release_data(release, depth + 1))
    for key, value in data.items():
        if key == "extends":
            continue
        if key in ("plugins", "hostGroups"):
            out[key] = _by_key(
                out.get(key, []), value, "id" if key == "plugins" else "name", source, key
            )
        elif key == "host":
            if not isinstance(value, dict):
                raise CatalogError(source, key, "host is a mapping of behaviours")
            out[key] = {**out.get(key, {}), **value}
        elif key == "withoutPlugins":
            out.update(_without(out, value, source, release.name))
        else:
            out[key] = value
    return out


def _by_key(base: list[Any], extra: Any, key: str, source: str, where: str) -> list[Any]:
    if not isinstance(extra, list) or not all(
        isinstance(i, dict) and isinstance(i.get(key), str) for i in extra
    ):
        raise CatalogError(source, where, f"a list of mappings, each with its {key}")
    replaced = {item[key]: item for item in extra}
    out = [replaced.pop(item[key], item) for item in base]
    return out + list(replaced.values())


def _without(data: dict[str, Any], ids: Any, source: str, release: str) -> dict[str, Any]:
    if not isinstance(ids, list) or not all(isinstance(i, str) for i in ids):
        raise CatalogError(source, "withoutPlugins", "a list of plugin ids")
    have = {p["id"] for p in data.get("plugins", [])}
    unknown = [i for i in ids if i not in have]
    if unknown:
        raise CatalogError(
            source,
            "withoutPlugins",
            f"{release} has no plugin '{shown(unknown[0], 64)}'{did_you_mean(unknown[0], have)}",
        )
    drop = set(ids)
    groups = [
        {**g, "plugins": [p for p in g.get("plugins", []) if p not in drop],
         "optIn": [o for o in g.get("optIn", []) if o.get("id") not in drop]}
        for g in data.get("hostGroups", [])
    ]  # fmt: skip
    return {"plugins": [p for p in data["plugins"] if p["id"] not in drop], "hostGroups": groups}


def _validated(data: dict[str, Any], source: str, extends: str | None = None) -> Catalog:
    try:
        catalog = Catalog.model_validate(data)
    except ValidationError as exc:
        path, message = first_error(exc.errors())
        raise CatalogError(source, ".".join(path), message) from None
    return catalog.model_copy(update={"source": source, "extends": extends})


def catalog_json_schema() -> str:
    """The catalog format as JSON Schema (draft 2020-12), for editors and CI linters."""
    schema = Catalog.model_json_schema(by_alias=True, mode="validation")
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = "bindcheck host catalog"
    properties = schema.setdefault("properties", {})
    properties.pop("source", None)
    # Read before validation (_merged): a catalog that extends a release may omit both.
    properties["extends"] = {
        "type": "string",
        "pattern": f"^{releases.PREFIX}",
        "description": "The release this catalog starts from, e.g. " + releases.DEFAULT,
    }
    properties["withoutPlugins"] = {
        "type": "array",
        "items": {"type": "string"},
        "description": "Plugins of the extended release these hosts do not register",
    }
    required = [r for r in schema.pop("required", []) if r not in ("hostGroups", "plugins")]
    if required:
        schema["required"] = required
    schema["anyOf"] = [{"required": ["extends"]}, {"required": ["hostGroups", "plugins"]}]
    return json.dumps(schema, indent=2, sort_keys=True) + "\n"
