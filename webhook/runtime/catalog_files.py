"""Catalog files: the embedded default, a user's file, and the format's JSON Schema."""

from __future__ import annotations

import json
from importlib import resources
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from webhook.config_files import load_config_yaml
from webhook.errors import CatalogError, InputError
from webhook.runtime.catalog import DEFAULT_CATALOG, Catalog


def load_catalog(path: str | None) -> Catalog | None:
    """``None``/absent → embedded default; ``"none"`` → no catalog; else the file."""
    if path == "none":
        return None
    if path is None:
        text = resources.files("webhook").joinpath("data/default-catalog.yaml").read_text()
        return parse_catalog(text, DEFAULT_CATALOG)
    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise CatalogError(path, "", f"cannot read catalog: {exc}") from None
    return parse_catalog(text, path)


def parse_catalog(text: str, source: str) -> Catalog:
    """Validate a catalog text; errors name the path inside the file."""
    try:
        data: Any = load_config_yaml(text, source)
    except InputError as exc:
        where = f"line {exc.line}" if exc.line else ""
        raise CatalogError(source, where, exc.message) from None
    if not isinstance(data, dict):
        raise CatalogError(source, "", "a catalog is a mapping with hostGroups and plugins")
    try:
        catalog = Catalog.model_validate(data)
    except ValidationError as exc:
        err = exc.errors()[0]
        path = ".".join(str(p) for p in err["loc"])
        message = str(err["msg"]).removeprefix("Value error, ")
        raise CatalogError(source, path, message) from None
    return catalog.model_copy(update={"source": source})


def catalog_json_schema() -> str:
    """The catalog format as JSON Schema (draft 2020-12), for editors and CI linters."""
    schema = Catalog.model_json_schema(by_alias=True, mode="validation")
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = "bindcheck host catalog"
    schema.get("properties", {}).pop("source", None)
    return json.dumps(schema, indent=2, sort_keys=True) + "\n"
