"""Every way bindcheck refuses to work, in one place.

Two families, never mixed (an object that breaks rules is *not* an error here;
it is a list of :class:`webhook.violations.Violation`)::

    BindcheckError                 base; carries a message fit for a user
    ├── InputError                 a manifest or request that cannot be read or parsed
    │                              (source and 1-based line; CLI exit 2, HTTP 400)
    ├── ConfigError                bindcheck's own configuration is wrong (CLI exit 2,
    │   │                          server refuses to start or keeps the last good one)
    │   ├── RuleLoadError          a CEL rule file that does not load or compile (file, line)
    │   ├── UnknownRule            an action set for a rule id no rule has
    │   └── ConfigFileError        a config file that does not load (file, line, key, reason)
    │       └── CatalogError       a host catalog

A backend that a probe cannot reach is neither: it is a result (``resolve --probe``
reports it per name and exits 1).
"""

from __future__ import annotations


class BindcheckError(Exception):
    """Base of every error bindcheck raises on purpose."""


class InputError(BindcheckError):
    """A document or request that cannot be read or parsed."""

    def __init__(self, source: str, line: int, message: str) -> None:
        self.source = source
        self.line = line
        self.message = message
        super().__init__(f"{source}:{line}: {message}" if line else f"{source}: {message}")


class ConfigError(BindcheckError):
    """bindcheck's own configuration (rules, catalog, options) is wrong."""


class UnknownRule(ConfigError):
    """An action set for a rule id that no loaded rule has."""

    def __init__(self, rule_id: str, message: str) -> None:
        self.rule_id = rule_id
        super().__init__(message)


class RuleLoadError(ConfigError):
    """A rule file that does not load or whose CEL does not compile."""

    def __init__(self, source: str, line: int, message: str) -> None:
        self.source = source
        self.line = line
        super().__init__(f"{source}:{line}: {message}")


class ConfigFileError(ConfigError):
    """One of bindcheck's own files (a catalog, ``.bindcheck.yaml``) that does not load:
    file, path inside it, reason."""

    def __init__(self, source: str, path: str, message: str, line: int = 0) -> None:
        self.source = source
        self.path = path
        self.line = line
        """The line in ``source`` the path points at; 0 when not known."""
        self.reason = message
        at = f"{source}:{line}" if line else source
        super().__init__(f"{at}: {path or '<root>'}: {message}")


class CatalogError(ConfigFileError):
    """A host catalog that does not load."""
