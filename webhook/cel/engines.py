"""CEL engines behind one small interface.

``google`` (cel-expr-python, the CEL C++ runtime) is the default: on this
project's benchmark it evaluates the upstream duplicate rule on 64 entries in
about 2.5 ms where ``celpy`` (cel-python, pure Python) needs seconds. ``celpy``
stays selectable because it is pure Python and has no native wheel to trust.
Both must give the same verdict on every rule; tests/test_cel_engines.py holds
them to it.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import cache
from typing import Any, Protocol

VARIABLES = ("self", "variables")
"""Names every expression may use: the hostInterfaces list and the rule's computed variables."""


class CelCompileError(Exception):
    """An expression that does not parse or type-check; the message carries the CEL position."""


class CelEvalError(Exception):
    """An expression that failed at evaluation (no such key, bad index, overflow)."""


class Program(Protocol):
    """A compiled expression; opaque outside its engine."""


class Bound(Protocol):
    def run(self, program: Program, variables: Mapping[str, Any]) -> Any:
        """Evaluate ``program`` on this object with a rule's ``variables``; plain Python out."""
        ...


class Engine(Protocol):
    name: str

    def compile(self, expression: str) -> Program:
        """Compile once; raises :class:`CelCompileError`."""
        ...

    def bind(self, self_list: list[dict[str, Any]]) -> Bound:
        """One object's hostInterfaces, converted once and shared by every rule."""
        ...


class GoogleEngine:
    """cel-expr-python: compiled and type-checked by the CEL C++ implementation."""

    name = "google"

    def __init__(self) -> None:
        # Made on first use: a validator whose rules all run natively never loads the
        # library (about 8 MiB of a server's memory). An engine's own, as each
        # validator's is: a reload compiles in a worker thread while reviews run.
        self._env: Any = None
        self._error_type: Any = None

    def _environment(self) -> Any:
        if self._env is None:
            from cel_expr_python import cel

            self._error_type = cel.Type.ERROR
            self._env = _environment()
        return self._env

    def compile(self, expression: str) -> Program:
        try:
            compiled = self._environment().compile(expression)
        except RuntimeError as exc:
            raise CelCompileError(_strip_status(str(exc))) from None
        return _GoogleProgram(compiled, _SELF.search(expression) is not None)

    def bind(self, self_list: list[dict[str, Any]]) -> Bound:
        env = self._environment()
        return _GoogleBound(env, self._error_type, self_list)


_SELF = re.compile(r"\bself\b")


@dataclass(frozen=True, slots=True)
class _GoogleProgram:
    compiled: Any
    uses_self: bool
    """False when the text never names ``self`` (a mention inside a string literal
    only costs a conversion), so its activation can skip converting the list again."""


class _GoogleBound:
    def __init__(self, env: Any, error_type: Any, self_list: list[dict[str, Any]]) -> None:
        self._env = env
        self._error_type = error_type
        self._self = self_list
        # The activation converts `self` once; rules without variables all share it.
        self._shared = env.Activation(data={"self": self_list, "variables": {}})

    def run(self, program: Program, variables: Mapping[str, Any]) -> Any:
        assert isinstance(program, _GoogleProgram)
        if not variables:
            activation = self._shared
        elif program.uses_self:
            activation = self._env.Activation(data={"self": self._self, "variables": variables})
        else:
            activation = self._env.Activation(data={"variables": variables})
        try:
            value = program.compiled.eval(activation)
        except (RuntimeError, TypeError, ValueError) as exc:
            raise CelEvalError(_strip_status(str(exc))) from None
        if value.type() == self._error_type:
            raise CelEvalError(_strip_status(str(value.value())))
        return value.plain_value()


def _strip_status(text: str) -> str:
    for prefix in ("INVALID_ARGUMENT: ", "UNKNOWN: "):
        text = text.removeprefix(prefix)
    return text.strip()


class BudgetExceeded(BaseException):  # not an Exception: celpy bottles those up
    """Raised inside cel-python's evaluator when an evaluation runs out of iterations."""


ITERATIONS = 10_000
"""cel-python's runtime cap, the default engine's own: an evaluation fails at its
10,000th comprehension iteration (each evaluation of a macro body counts one). A rule
that passed the load-time bound (webhook/cel/cost.py) never gets there."""


def _budget_runner(celpy: Any) -> type:
    """An interpreted runner whose macro bodies draw on one iteration budget."""
    from celpy.evaluation import Evaluator

    class BudgetEvaluator(Evaluator):
        left: list[int]  # shared by an evaluation and the evaluators of its macro bodies

        def sub_evaluator(self, ast: Any) -> Any:
            nested = _Body(ast, activation=self.activation)
            nested.left = self.left
            return nested

    class _Body(BudgetEvaluator):
        def evaluate(self, context: Any = None) -> Any:
            self.left[0] -= 1
            if self.left[0] <= 0:
                raise BudgetExceeded
            return super().evaluate(context)

    class BudgetRunner(celpy.InterpretedRunner):  # type: ignore[misc]
        def evaluate(self, context: Any) -> Any:
            evaluator = BudgetEvaluator(ast=self.ast, activation=self.new_activation())
            evaluator.left = [ITERATIONS]
            return evaluator.evaluate(context)

    return BudgetRunner


class CelpyEngine:
    """cel-python: a pure-Python interpreter, with a runtime budget of its own."""

    name = "celpy"

    def __init__(self) -> None:
        import celpy

        self._celpy = celpy
        self._env = celpy.Environment(runner_class=_budget_runner(celpy))

    def compile(self, expression: str) -> Program:
        try:
            ast = self._env.compile(expression)
            return self._env.program(ast)
        except RecursionError:
            raise CelCompileError("nested too deeply") from None
        except Exception as exc:  # celpy raises its own parser errors and lark errors
            raise CelCompileError(str(exc)) from None

    def bind(self, self_list: list[dict[str, Any]]) -> Bound:
        return _CelpyBound(self._celpy, self_list)


class _CelpyBound:
    def __init__(self, celpy: Any, self_list: list[dict[str, Any]]) -> None:
        self._celpy = celpy
        self._self = celpy.json_to_cel(self_list)

    def run(self, program: Program, variables: Mapping[str, Any]) -> Any:
        activation = {"self": self._self, "variables": self._celpy.json_to_cel(dict(variables))}
        try:
            value = program.evaluate(activation)  # type: ignore[attr-defined]
        except BudgetExceeded:
            raise CelEvalError("evaluation budget exceeded") from None
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


def _environment() -> Any:
    """A CEL C++ environment that declares what every rule may name."""
    from cel_expr_python import cel

    return cel.NewEnv(variables={"self": cel.Type.List(cel.Type.DYN), "variables": cel.Type.DYN})


_checker = cache(_environment)
"""The environment :func:`result_type` checks in, whichever engine runs the rule."""


def result_type(expression: str) -> str:
    """The checked result type of an expression, lower case (``bool``, ``list(bool)``,
    ``dyn``...). Type-checked by the CEL C++ checker whatever the engine, so both
    engines accept the same rules."""
    try:
        checked = _checker().compile(expression)
    except RuntimeError as exc:
        raise CelCompileError(_strip_status(str(exc))) from None
    return str(checked.return_type().name()).lower().replace("<", "(").replace(">", ")")


@cache
def _parser() -> Any:
    from celpy.celparser import CELParser

    return CELParser()


def parse_tree(expression: str) -> Any:
    """The expression's parse tree (cel-python's grammar), for the cost bound."""
    try:
        return _parser().parse(expression)
    except RecursionError:
        raise
    except Exception as exc:  # lark and celpy parser errors
        raise CelCompileError(str(exc)) from None
