"""CEL engines behind one small interface.

``google`` (cel-expr-python, the CEL C++ runtime) is the default: on this
project's benchmark it evaluates the upstream duplicate rule on 64 entries in
about 2.5 ms where ``celpy`` (cel-python, pure Python) needs seconds. ``celpy``
stays selectable because it is pure Python and has no native wheel to trust.
Both must give the same verdict on every rule; tests/test_cel_engines.py holds
them to it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, Protocol

VARIABLES = ("self", "variables")
"""Names every expression may use: the hostInterfaces list and the rule's computed variables."""


class CelCompileError(Exception):
    """An expression that does not parse or type-check; the message carries the CEL position."""


class CelEvalError(Exception):
    """An expression that failed at evaluation (no such key, bad index, overflow)."""


class Program(Protocol):
    def run(self, activation: Mapping[str, Any]) -> Any:
        """Evaluate on plain Python data and return plain Python data."""
        ...


class Engine(Protocol):
    name: str

    def compile(self, expression: str) -> Program:
        """Compile once; raises :class:`CelCompileError`."""
        ...


class GoogleEngine:
    """cel-expr-python: compiled and type-checked by the CEL C++ implementation."""

    name = "google"

    def __init__(self) -> None:
        from cel_expr_python import cel

        self._cel = cel
        self._env = cel.NewEnv(
            variables={"self": cel.Type.List(cel.Type.DYN), "variables": cel.Type.DYN}
        )

    def compile(self, expression: str) -> Program:
        try:
            compiled = self._env.compile(expression)
        except RuntimeError as exc:
            raise CelCompileError(_strip_status(str(exc))) from None
        return _GoogleProgram(compiled, self._cel.Type.ERROR)


class _GoogleProgram:
    def __init__(self, compiled: Any, error_type: Any) -> None:
        self._compiled = compiled
        self._error_type = error_type

    def run(self, activation: Mapping[str, Any]) -> Any:
        try:
            value = self._compiled.eval(data=activation)
        except (RuntimeError, TypeError, ValueError) as exc:
            raise CelEvalError(_strip_status(str(exc))) from None
        if value.type() == self._error_type:
            raise CelEvalError(_strip_status(str(value.value())))
        return value.plain_value()


def _strip_status(text: str) -> str:
    for prefix in ("INVALID_ARGUMENT: ", "UNKNOWN: "):
        text = text.removeprefix(prefix)
    return text.strip()


class CelpyEngine:
    """cel-python: a pure-Python interpreter."""

    name = "celpy"

    def __init__(self) -> None:
        import celpy

        self._celpy = celpy
        self._env = celpy.Environment()

    def compile(self, expression: str) -> Program:
        try:
            ast = self._env.compile(expression)
            program = self._env.program(ast)
        except Exception as exc:  # celpy raises its own parser errors and lark errors
            raise CelCompileError(str(exc)) from None
        return _CelpyProgram(program, self._celpy)


class _CelpyProgram:
    def __init__(self, program: Any, celpy: Any) -> None:
        self._program = program
        self._celpy = celpy

    def run(self, activation: Mapping[str, Any]) -> Any:
        converted = {k: self._celpy.json_to_cel(v) for k, v in activation.items()}
        try:
            value = self._program.evaluate(converted)
        except Exception as exc:  # celpy raises CELEvalError and Python errors alike
            raise CelEvalError(str(exc)) from None
        if isinstance(value, self._celpy.CELEvalError):
            raise CelEvalError(str(value.args[0] if value.args else value))
        return _plain(value, self._celpy.celtypes.BoolType)


def _plain(value: Any, bool_type: type) -> Any:
    """celpy values → plain Python (its types subclass the builtins; BoolType is an int)."""
    if isinstance(value, bool_type | bool):
        return bool(value)
    if isinstance(value, int):
        return int(value)
    if isinstance(value, str):
        return str(value)
    if isinstance(value, float):
        return float(value)
    if isinstance(value, list):
        return [_plain(v, bool_type) for v in value]
    if isinstance(value, dict):
        return {_plain(k, bool_type): _plain(v, bool_type) for k, v in value.items()}
    return value


ENGINES: dict[str, Callable[[], Engine]] = {"google": GoogleEngine, "celpy": CelpyEngine}
DEFAULT_ENGINE = "google"


def make_engine(name: str = DEFAULT_ENGINE) -> Engine:
    """The engine registered under ``name``; ``ValueError`` names the choices."""
    try:
        factory = ENGINES[name]
    except KeyError:
        raise ValueError(
            f"unknown CEL engine {name!r}; choose one of {', '.join(ENGINES)}"
        ) from None
    return factory()
