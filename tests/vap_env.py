"""Evaluating exported ValidatingAdmissionPolicies the way Kubernetes 1.30 does.

cel-expr-python (the CEL C++ runtime) with the extensions Kubernetes 1.30 enables for
new expressions at compatibility version 1.29: strings version 2 and optional types.
The exported expressions use nothing of the Kubernetes-only libraries (lists, regex,
urls, quantities, sets), so none has to be registered. Variables are evaluated in
order, each seeing the ones before it as ``variables.<name>``, as the API server's
CompositedCompiler does.
"""

from __future__ import annotations

from typing import Any

from cel_expr_python import cel
from cel_expr_python.ext.ext_optional import ExtOptional
from cel_expr_python.ext.ext_strings import ExtStrings


class PolicyError(Exception):
    """An expression failed to compile or evaluate."""


def environment() -> Any:
    return cel.NewEnv(
        variables={"object": cel.Type.DYN, "oldObject": cel.Type.DYN, "variables": cel.Type.DYN},
        extensions=[ExtStrings(2), ExtOptional()],
    )


class CompiledPolicy:
    """One ValidatingAdmissionPolicy, compiled once."""

    def __init__(self, env: Any, policy: dict[str, Any]) -> None:
        spec = policy["spec"]
        self.name = policy["metadata"]["name"]
        self.variables = [
            (v["name"], self._compile(env, v["expression"])) for v in spec["variables"]
        ]
        self.validations = [
            (self._compile(env, v["expression"]), self._compile(env, v["messageExpression"]))
            for v in spec["validations"]
        ]

    @staticmethod
    def _compile(env: Any, expression: str) -> Any:
        try:
            return env.compile(expression)
        except Exception as exc:  # the C++ runtime raises its status as an exception
            raise PolicyError(f"does not compile: {exc}\n{expression[:500]}") from None

    def evaluate(self, obj: dict[str, Any]) -> tuple[list[str], list[str]]:
        """(the ``violations`` variable, the messages of failing validations)."""
        values: dict[str, Any] = {}
        for name, program in self.variables:
            values[name] = self._run(program, obj, values, name)
        messages = []
        for check, message in self.validations:
            if self._run(check, obj, values, "validation") is not True:
                messages.append(self._run(message, obj, values, "messageExpression"))
        return list(values["violations"]), messages

    @staticmethod
    def _run(program: Any, obj: dict[str, Any], values: dict[str, Any], what: str) -> Any:
        try:
            result = program.eval(data={"object": obj, "oldObject": None, "variables": values})
        except Exception as exc:
            raise PolicyError(f"{what}: {exc}") from None
        value = result.plain_value() if hasattr(result, "plain_value") else result.value()
        if result.type() == cel.Type.ERROR:
            raise PolicyError(f"{what}: {value}")
        return value
