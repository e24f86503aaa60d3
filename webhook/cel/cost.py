"""A load-time bound on what a rule can cost, like the API server's for CRD rules.

The API server estimates a CEL rule's worst-case cost from the schema's limits
and refuses rules over budget (k8s.io/apiserver/pkg/cel). bindcheck does the same
for its rule files, against the limits its checks guarantee before any rule runs:
a list of at most 64 entries (longer lists never reach the rules), string fields
of at most 128 (namespace, package) or 64 (name, version) characters, and a
request of at most 3 MiB for what the CRD leaves unbounded (``interfaces``,
``config``, ``configFrom``, ``secretFrom``).

Three things are bounded:

- comprehension iterations per expression (every ``all``, ``exists``,
  ``exists_one``, ``map`` (with two arguments or three: a filter and a transform),
  ``filter`` runs its body once per element; nested ones multiply). The budget is the
  default engine's own runtime cap (an evaluation fails at its 10,000th iteration), so
  a rule that loads never trips it, and both engines agree;
- growth of strings and lists: a value built by ``+`` may not exceed four times the
  largest input, which stops rules that double a string through their variables;
- substring search: ``contains`` between two strings the CRD does not bound is
  refused (its time can grow with the product of their lengths).

The estimate reads the rule's parse tree (cel-python's parser, the same grammar
for both engines) and is conservative: whatever it cannot size counts as
unbounded.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from webhook.crd import MAX_ENTRIES

INPUT = 3 * 1024 * 1024
"""The API server's request limit: the bound on anything the schema leaves unbounded."""
UNBOUNDED_ITEMS = INPUT // 2
"""Items of an unbounded list: the smallest item (``""`` and a comma) in a 3 MiB body."""
ITERATION_BUDGET = 9_999
"""The default engine's runtime cap: it fails an evaluation at its 10,000th iteration."""
GROWTH_LIMIT = 4 * INPUT
_MACROS = {"all", "exists", "exists_one", "map", "filter"}
SUBSTRING_LIMIT = 4096
"""Characters past which both sides of a ``contains`` count as unbounded (the CRD's
bounded strings have at most 128)."""
_BOOL_METHODS = {"contains", "startsWith", "endsWith", "matches", "exists", "all", "exists_one"}
_FIELD_SIZES = {"__namespace__": 128, "__package__": 128, "name": 64, "version": 64}


class CostError(Exception):
    """A rule that may not run: over budget, or unsafe; the message says what and why."""


@dataclass(frozen=True, slots=True)
class Shape:
    """What an expression may produce, at worst."""

    kind: str
    """``list``, ``map``, ``str``, ``entry``, ``scalar`` or ``dyn`` (unknown)."""
    size: int = 0
    """Items of a list or map, characters of a string."""
    elem: Shape | None = None
    iterations: int = 0
    """Comprehension iterations to compute it."""


DYN = Shape("dyn", UNBOUNDED_ITEMS)
SCALAR = Shape("scalar")
_ENTRY_FIELDS: dict[str, Shape] = {
    **{k: Shape("str", v) for k, v in _FIELD_SIZES.items()},
    "interfaces": Shape("list", UNBOUNDED_ITEMS, Shape("str", INPUT)),
    "config": Shape("map", UNBOUNDED_ITEMS, Shape("str", INPUT)),
    "configFrom": Shape("list", UNBOUNDED_ITEMS, Shape("map", 1, Shape("str", INPUT))),
    "secretFrom": Shape("list", UNBOUNDED_ITEMS, Shape("map", 1, Shape("str", INPUT))),
}
ENTRY = Shape("entry")
SELF = Shape("list", MAX_ENTRIES, ENTRY)


@dataclass
class Estimator:
    """Walks parse trees; ``variables`` holds the shapes of a rule's variables so far."""

    variables: dict[str, Shape] = field(default_factory=dict)

    def estimate(self, tree: Any) -> Shape:
        """The worst case of one expression; raises :class:`CostError` over budget."""
        shape = self._node(tree, {"self": SELF})
        if shape.iterations > ITERATION_BUDGET:
            raise CostError(
                f"costs too much: on at most {MAX_ENTRIES} entries, it may run "
                f"{shape.iterations:,} comprehension "
                f"iterations, over the budget of {ITERATION_BUDGET:,} per expression (nested "
                "loops multiply; a loop over interfaces or config, which the CRD does not "
                "bound, counts their worst case in a 3 MiB request)"
            )
        return shape

    def define(self, name: str, tree: Any) -> Shape:
        """Estimate a rule variable and keep its shape; later expressions read it for free
        (a variable is computed once per object)."""
        shape = self.estimate(tree)
        self.variables[name] = Shape(shape.kind, shape.size, shape.elem, 0)
        return shape

    # The walk: one method per grammar rule that matters, the rest pass through.

    def _node(self, tree: Any, scope: dict[str, Shape]) -> Shape:
        data = getattr(tree, "data", None)
        if data is None:  # a token
            return SCALAR
        method = getattr(self, f"_{data}", None)
        if method is not None:
            return method(tree, scope)  # type: ignore[no-any-return]
        return self._passthrough(tree, scope)

    def _passthrough(self, tree: Any, scope: dict[str, Shape]) -> Shape:
        parts = [self._node(child, scope) for child in tree.children if child is not None]
        if len(parts) == 1:
            return parts[0]
        return Shape("scalar", iterations=_total(parts))

    def _expr(self, tree: Any, scope: dict[str, Shape]) -> Shape:
        parts = [self._node(child, scope) for child in tree.children if child is not None]
        if len(parts) == 3:  # cond ? a : b
            return _widest(parts[1], parts[2], extra=parts[0].iterations)
        return parts[0] if len(parts) == 1 else Shape("scalar", iterations=_total(parts))

    def _addition(self, tree: Any, scope: dict[str, Shape]) -> Shape:
        children = [c for c in tree.children if c is not None]
        if len(children) == 1:
            return self._node(children[0], scope)
        left_tree, right_tree = children
        left = self._node(left_tree.children[0], scope)  # addition_add/sub wraps the left side
        right = self._node(right_tree, scope)
        iterations = left.iterations + right.iterations
        if left_tree.data == "addition_add" and left.kind in ("str", "list", "dyn"):
            size = left.size + right.size
            if size > GROWTH_LIMIT:
                raise CostError(
                    f"costs too much: a value built with '+' may reach {size:,} characters or "
                    "items, more than "
                    "four times the largest request; a rule may not double its input"
                )
            kind = left.kind if left.kind != "dyn" else right.kind
            elem = left.elem or right.elem
            return Shape(kind, size, elem, iterations)
        return Shape("scalar", iterations=iterations)

    def _ident(self, tree: Any, scope: dict[str, Shape]) -> Shape:
        name = str(tree.children[0])
        if name == "variables":
            return Shape("variables")
        return scope.get(name, DYN)

    def _literal(self, tree: Any, scope: dict[str, Shape]) -> Shape:
        token = tree.children[0]
        if token.type in ("STRING_LIT", "MLSTRING_LIT", "BYTES_LIT"):
            return Shape("str", len(str(token)))
        return SCALAR

    def _list_lit(self, tree: Any, scope: dict[str, Shape]) -> Shape:
        items = [self._node(c, scope) for c in _args(tree)]
        elem = items[0] if items else SCALAR
        for item in items[1:]:
            elem = _widest(elem, item)
        return Shape("list", len(items), elem, _total(items))

    def _map_lit(self, tree: Any, scope: dict[str, Shape]) -> Shape:
        parts = [self._node(c, scope) for c in _args(tree)]
        values = parts[1::2]
        elem = values[0] if values else SCALAR
        for value in values[1:]:
            elem = _widest(elem, value)
        return Shape("map", len(values), elem, _total(parts))

    def _member_dot(self, tree: Any, scope: dict[str, Shape]) -> Shape:
        target = self._node(tree.children[0], scope)
        name = str(tree.children[1])
        if target.kind == "variables":
            return self.variables.get(name, DYN)
        if target.kind == "entry":
            found = _ENTRY_FIELDS.get(name, DYN)
        elif target.kind == "map" and target.elem is not None:
            found = target.elem
        else:
            found = DYN
        return _with_iterations(found, target.iterations)

    def _member_index(self, tree: Any, scope: dict[str, Shape]) -> Shape:
        target = self._node(tree.children[0], scope)
        index = self._node(tree.children[1], scope)
        found = target.elem if target.kind in ("list", "map") and target.elem else DYN
        return _with_iterations(found, target.iterations + index.iterations)

    def _member_dot_arg(self, tree: Any, scope: dict[str, Shape]) -> Shape:
        target = self._node(tree.children[0], scope)
        method = str(tree.children[1])
        args = _args(tree.children[2]) if len(tree.children) > 2 else []
        if method in _MACROS and len(args) == 2:
            return self._macro(method, target, args, scope)
        if method == "map" and len(args) == 3:  # map(x, filter, transform)
            return self._macro(method, target, args, scope)
        if method == "matches":
            _literal_pattern(args[0] if args else None)
        parts = [target, *(self._node(a, scope) for a in args)]
        if method == "contains" and min(target.size, parts[-1].size) > SUBSTRING_LIMIT:
            raise CostError(
                "costs too much: contains() between two strings the CRD does not bound (a "
                "substring search can take time in the product of their lengths); compare "
                "with == or search for a literal"
            )
        if method == "size":
            return Shape("scalar", iterations=_total(parts))
        if method in _BOOL_METHODS:
            return Shape("scalar", iterations=_total(parts))
        return Shape("dyn", UNBOUNDED_ITEMS, iterations=_total(parts))

    def _macro(self, method: str, target: Shape, args: list[Any], scope: dict[str, Shape]) -> Shape:
        variable = _variable_name(args[0])
        items = target.size if target.kind in ("list", "map") else UNBOUNDED_ITEMS
        elem = target.elem if target.kind == "list" and target.elem else DYN
        if target.kind == "map":
            elem = Shape("str", INPUT)  # a map is iterated by its keys
        inner = {**scope, variable: elem} if variable else scope
        bodies = [self._node(a, inner) for a in args[1:]]  # the filter, then the transform
        body = bodies[-1]
        iterations = target.iterations + items * (1 + _total(bodies))
        if method == "map":
            return Shape("list", items, body, iterations)
        if method == "filter":
            return Shape("list", items, elem, iterations)
        return Shape("scalar", iterations=iterations)

    def _ident_arg(self, tree: Any, scope: dict[str, Shape]) -> Shape:
        name = str(tree.children[0])
        args = [
            self._node(a, scope)
            for a in (_args(tree.children[1]) if len(tree.children) > 1 else [])
        ]
        if name == "matches":
            _literal_pattern(tree.children[1] and _args(tree.children[1])[-1])
        if name == "dyn" and len(args) == 1:
            return args[0]
        if name == "string" and len(args) == 1:
            size = args[0].size if args[0].kind == "str" else 32  # numbers, booleans
            return Shape("str", size, iterations=args[0].iterations)
        return Shape("scalar", iterations=_total(args))


def _literal_pattern(tree: Any) -> None:
    """``matches`` only with a string literal: a pattern built from the object may be an
    invalid regular expression, and the regex library prints those, value and all."""
    tokens = [] if tree is None else list(tree.scan_values(lambda v: True))
    literal = len(tokens) == 1 and getattr(tokens[0], "type", "") in ("STRING_LIT", "MLSTRING_LIT")
    if not literal:
        raise CostError(
            "matches() takes a string literal here: a pattern built from the object could be "
            "an invalid regular expression, which the regex library reports with its value"
        )


def _args(tree: Any) -> list[Any]:
    """The expressions of an ``exprlist``/``mapinits`` node (or of a literal holding one)."""
    if tree is None:
        return []
    if getattr(tree, "data", None) in ("exprlist", "mapinits"):
        return [c for c in tree.children if c is not None]
    out: list[Any] = []
    for child in getattr(tree, "children", []):
        if getattr(child, "data", None) in ("exprlist", "mapinits"):
            out.extend(c for c in child.children if c is not None)
    return out


def _variable_name(tree: Any) -> str | None:
    """The bound variable of a macro: its first argument, a bare identifier."""
    tokens = [str(t) for t in getattr(tree, "scan_values", lambda _: [])(lambda v: True)]
    return tokens[0] if len(tokens) == 1 else None


def _total(parts: list[Shape]) -> int:
    return sum(p.iterations for p in parts)


def _with_iterations(shape: Shape, iterations: int) -> Shape:
    if not iterations:
        return shape
    return Shape(shape.kind, shape.size, shape.elem, shape.iterations + iterations)


def _widest(a: Shape, b: Shape, extra: int = 0) -> Shape:
    """The worst of two alternatives (a conditional's branches, a literal's items)."""
    iterations = max(a.iterations, b.iterations) + extra
    if a.kind != b.kind:
        return Shape("dyn", max(a.size, b.size, UNBOUNDED_ITEMS), None, iterations)
    elem = a.elem if b.elem is None else (b.elem if a.elem is None else _widest(a.elem, b.elem))
    return Shape(a.kind, max(a.size, b.size), elem, iterations)
