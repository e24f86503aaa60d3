"""Release hygiene: one version everywhere, a licence that matches the metadata."""

from __future__ import annotations

import importlib.metadata
import re
import subprocess
import sys
import tomllib

import yaml
from conftest import ROOT

from webhook import __version__


def test_one_version_for_the_package_the_cli_the_chart_and_the_changelog():
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text())
    assert "version" not in pyproject["project"], "the version lives in webhook/__init__.py"
    assert pyproject["tool"]["setuptools"]["dynamic"]["version"] == {"attr": "webhook.__version__"}
    assert importlib.metadata.version("bindcheck") == __version__
    printed = subprocess.run(
        [sys.executable, "-m", "webhook.cli", "version"], capture_output=True, text=True
    ).stdout
    assert printed == f"bindcheck {__version__}\n"
    chart = yaml.safe_load((ROOT / "charts" / "bindcheck" / "Chart.yaml").read_text())
    assert chart["appVersion"] == __version__
    headings = re.findall(r"^## \[([^\]]+)\]", (ROOT / "CHANGELOG.md").read_text(), re.M)
    assert headings[0] in (__version__, "Unreleased"), headings
    assert __version__ in headings


def test_the_licence_file_is_the_licence_the_package_declares():
    declared = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["license"]
    assert declared == "Apache-2.0"
    text = (ROOT / "LICENSE").read_text()
    assert "Apache License" in text and "Version 2.0, January 2004" in text
    assert "END OF TERMS AND CONDITIONS" in text
