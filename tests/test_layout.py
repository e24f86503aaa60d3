"""Every module of the package sits in an import contract (pyproject.toml), so
`lint-imports` judges each new module instead of letting it import anything."""

from __future__ import annotations

import tomllib

from conftest import ROOT


def _named_in_contracts() -> set[str]:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["importlinter"]
    named: set[str] = set()
    for contract in config["contracts"]:
        groups = contract.get("layers", []) + contract.get("source_modules", [])
        modules = {m.strip() for group in groups for m in group.split("|")}
        for container in contract.get("containers", [""]):
            named |= {f"{container}.{m}" if container else m for m in modules}
    return named


def test_every_module_is_in_an_import_contract():
    named = _named_in_contracts()
    outside = []
    for path in sorted((ROOT / "webhook").rglob("*.py")):
        parts = path.relative_to(ROOT).with_suffix("").parts
        module = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        if module == "webhook":
            continue  # the package itself: re-exports the public API
        prefixes = {".".join(module.split(".")[:n]) for n in range(2, module.count(".") + 2)}
        if not prefixes & named:
            outside.append(module)
    assert outside == []
