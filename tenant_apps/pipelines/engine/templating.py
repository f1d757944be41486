"""Sandboxed Jinja2 for template, email and HTTP nodes, bounded in CPU and memory while it renders (ADR 0060).

``ImmutableSandboxedEnvironment`` refuses unsafe attribute access (``__class__``, ``mro``...) and changes to the
run's state, ``StrictUndefined`` makes a typo an error instead of an empty string, and ``template_guard`` checks
every loop iteration, operator, filter, method call and output chunk against the render's limits.

Templates are compiled without Jinja's constant folding (which would run ``'x'|center(400000000)`` while
*saving* a graph) and with two rewrites of the syntax tree: each ``{% for %}`` iterates through ``guard_loop``
and each ``~`` goes through ``guard_concat``. ``template_problems`` evaluates a template's constant parts with
the same checks, so what is over a limit whatever the data is refused when the graph is saved.
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import lru_cache
from typing import Any

from jinja2 import StrictUndefined, Template, TemplateError, TemplateSyntaxError, UndefinedError, nodes
from jinja2.exceptions import SecurityError
from jinja2.runtime import Context, LoopContext, Undefined
from jinja2.sandbox import ImmutableSandboxedEnvironment
from jinja2.utils import _PassArg
from jinja2.visitor import NodeTransformer

from tenant_apps.pipelines.engine import template_guard as guard
from tenant_apps.pipelines.engine.limits import TemplateLimits
from tenant_apps.pipelines.engine.state import NodeError, RunState
from tenant_apps.pipelines.engine.template_guard import TemplateLimitError

_LOOP_FILTER = "_guard_loop"
_CONCAT_FILTER = "_guard_concat"


class PipelineSandbox(ImmutableSandboxedEnvironment):
    intercepted_binops = guard.GUARDED_BINOPS
    concat = staticmethod(guard.guard_block_concat)  # type: ignore[assignment]

    def __init__(self) -> None:
        super().__init__(
            undefined=StrictUndefined,
            autoescape=False,
            keep_trailing_newline=True,
            optimized=False,  # no constant folding: it would run unbounded filters at compile (save) time
            finalize=guard.finalize,
        )
        self.globals.pop("lipsum", None)
        self.globals["range"] = guard.bounded_range
        self.filters["tojson"] = guard.tojson
        for name in guard.REMOVED_FILTERS:
            self.filters.pop(name, None)
        self.filters = {name: guard.guard_filter(name, func) for name, func in self.filters.items()}
        self.filters[_LOOP_FILTER] = guard.guard_loop
        self.filters[_CONCAT_FILTER] = guard.guard_concat

    def is_safe_attribute(self, obj: Any, attr: str, value: Any) -> bool:
        for kinds, names in guard.SAFE_ATTRIBUTES:
            if isinstance(obj, kinds):
                return attr in names
        return super().is_safe_attribute(obj, attr, value)

    def getattr(self, obj: Any, attribute: str) -> Any:
        # ``session_state.copy`` means the key "copy" when it exists: only the allowed methods shadow keys.
        if isinstance(obj, dict) and attribute in obj and not self.is_safe_attribute(obj, attribute, None):
            return obj[attribute]
        return super().getattr(obj, attribute)

    def call_binop(self, context: Context, operator: str, left: Any, right: Any) -> Any:
        budget = guard.current()
        budget.step()
        guard.check_binop(operator, left, right, budget)
        return budget.built(self.binop_table[operator](left, right))

    def call(__self, __context: Context, __obj: Any, *args: Any, **kwargs: Any) -> Any:  # noqa: N805 (Jinja's names)
        budget = guard.current()
        budget.step()
        guard.check_arguments(args, budget)
        guard.check_arguments(kwargs.values(), budget)
        if isinstance(__obj, LoopContext) and args:  # ``loop(children)`` of a recursive loop: count those too
            args = (guard.guard_loop(args[0]), *args[1:])
        args = guard.check_method_call(__obj, args, kwargs, budget)
        return budget.built(super().call(__context, __obj, *args, **kwargs))

    def wrap_str_format(self, value: Any) -> Any:
        wrapper = super().wrap_str_format(value)
        if wrapper is None:
            return None
        template, is_map = value.__self__, value.__name__ == "format_map"

        def bounded(*args: Any, **kwargs: Any) -> Any:
            mapping = args[0] if is_map and args else kwargs
            guard.check_str_format(template, () if is_map else args, mapping, guard.current())
            return wrapper(*args, **kwargs)

        return bounded


class _Guards(NodeTransformer):
    """Route every loop's iterable and every ``~`` through the guards (the compiled code calls no hook there)."""

    def visit_For(self, node: nodes.For) -> nodes.Node:  # noqa: N802 (Jinja's visitor names)
        self.generic_visit(node)
        node.iter = nodes.Filter(node.iter, _LOOP_FILTER, [], [], None, None, lineno=node.lineno)
        return node

    def visit_Concat(self, node: nodes.Concat) -> nodes.Node:  # noqa: N802
        self.generic_visit(node)
        parts = nodes.Tuple(node.nodes, "load", lineno=node.lineno)
        return nodes.Filter(parts, _CONCAT_FILTER, [], [], None, None, lineno=node.lineno)


_env = PipelineSandbox()


@lru_cache(maxsize=1024)
def compile_template(source: str) -> Template:
    """Parse and compile once per distinct source (the cache is per process; templates are small)."""
    tree = _env.parse(source)
    _Guards().visit(tree)
    return _env.from_string(tree)


def _unreadable(source: str) -> str | None:
    """Why ``source`` does not compile, as a sentence for the editor, or None when it compiles."""
    try:
        compile_template(source)
    except TemplateSyntaxError as exc:
        return f"Template syntax error at line {exc.lineno}: {exc.message}."
    except (RecursionError, MemoryError):
        return "The template cannot be read: it is nested too deeply."
    except (ValueError, OverflowError):  # an integer literal of more than 4,300 digits
        return "The template cannot be read: a number in it is too long."
    return None


@lru_cache(maxsize=1024)
def template_problems(source: str, limits: TemplateLimits | None = None) -> tuple[str, ...]:
    """Everything wrong with ``source`` that can be known without data: syntax, and constant parts over a limit
    (``(10**1000)**1000``, ``'x'|center(400000000)``, nested ``range(10**5)`` loops). One sentence each.

    The params validator of every Jinja field calls it; a per-rule graph checker can call it as it is."""
    unreadable = _unreadable(source)
    if unreadable is not None:
        return (unreadable,)
    problems: list[str] = []
    checker = _ConstantCheck(limits or TemplateLimits.from_settings(), problems)
    try:
        checker.check(_env.parse(source))
    except RecursionError:
        problems.append("The template is nested too deeply to check.")
    return tuple(dict.fromkeys(problems))


class _UnknownError(Exception):
    """The expression depends on data (or fails on its own at run time): nothing to say about it at save time."""


_UNKNOWN = object()


class _ConstantCheck:
    """Evaluates the constant parts of a template with the render's own guarded operations, under a render budget
    of its own (so constant work that is over the CPU limit is reported too)."""

    def __init__(self, limits: TemplateLimits, problems: list[str]) -> None:
        self.limits = limits
        self.problems = problems
        self.values: dict[int, Any] = {}

    def check(self, tree: nodes.Template) -> None:
        with guard.active(guard.RenderBudget(self.limits)):
            self._walk(tree, 1)

    def _report(self, exc: TemplateLimitError) -> None:
        self.problems.append(f"The template is over its limits: {exc}.")

    def _walk(self, node: nodes.Node, loops: int) -> None:
        if isinstance(node, nodes.For):
            self._walk(node.iter, loops)
            inner = loops * self._length(node.iter)
            if inner > self.limits.max_loop_iterations:
                self.problems.append(
                    f"The template is over its limits: its loops would run {inner:,} times "
                    f"(at most {self.limits.max_loop_iterations:,})."
                )
            for child in node.body:
                self._walk(child, inner)
            for child in [*node.else_, *([node.test] if node.test is not None else [])]:
                self._walk(child, loops)
            return
        if isinstance(node, nodes.Expr):
            try:
                self._value(node)
                return  # constant and within the limits: its parts are too
            except _UnknownError:
                pass
            except TemplateLimitError as exc:
                self._report(exc)
                return
        for child in node.iter_child_nodes():
            self._walk(child, loops)

    def _length(self, node: nodes.Node) -> int:
        try:
            value = self._value(node)
        except (_UnknownError, TemplateLimitError):
            return 1
        try:
            return len(value)
        except TypeError:
            return 1

    def _value(self, node: nodes.Node) -> Any:
        key = id(node)
        if key in self.values:
            if self.values[key] is _UNKNOWN:
                raise _UnknownError
            return self.values[key]
        try:
            value = self._evaluate(node)
        except TemplateLimitError:
            raise
        except (_UnknownError, SecurityError, TypeError, ValueError, ArithmeticError, LookupError, TemplateError):
            self.values[key] = _UNKNOWN
            raise _UnknownError from None
        self.values[key] = value
        return value

    def _evaluate(self, node: nodes.Node) -> Any:
        budget = guard.current()
        if isinstance(node, nodes.Const):
            return budget.built(node.value)
        if isinstance(node, nodes.List):
            return [self._value(item) for item in node.items]
        if isinstance(node, nodes.Tuple):
            return tuple(self._value(item) for item in node.items)
        if isinstance(node, nodes.Neg):
            return -self._value(node.node)
        if isinstance(node, nodes.Pos):
            return +self._value(node.node)
        if isinstance(node, nodes.BinExpr):
            left, right = self._value(node.left), self._value(node.right)
            if node.operator in guard.GUARDED_BINOPS:
                return _env.call_binop(None, node.operator, left, right)  # type: ignore[arg-type]
            return _env.binop_table[node.operator](left, right)
        if isinstance(node, nodes.Concat):
            return guard.guard_concat(tuple(self._value(part) for part in node.nodes))
        if isinstance(node, nodes.Filter) and not (node.dyn_args or node.dyn_kwargs):
            return self._filter(node)
        if isinstance(node, nodes.Call) and not (node.dyn_args or node.dyn_kwargs):
            args = [self._value(arg) for arg in node.args]
            kwargs = {pair.key: self._value(pair.value) for pair in node.kwargs}
            if isinstance(node.node, nodes.Name) and node.node.name == "range" and not kwargs:
                return guard.bounded_range(*args)
            if isinstance(node.node, nodes.Getattr):
                method = _env.getattr(self._value(node.node.node), node.node.attr)
                if callable(method) and not isinstance(method, Undefined):
                    args = list(guard.check_method_call(method, tuple(args), kwargs, budget))
                    return budget.built(method(*args, **kwargs))
        raise _UnknownError

    def _filter(self, node: nodes.Filter) -> Any:
        func = _env.filters.get(node.name)
        if func is None or node.node is None or node.name in (_LOOP_FILTER, _CONCAT_FILTER):
            raise _UnknownError
        value = self._value(node.node)
        args = [self._value(arg) for arg in node.args]
        kwargs = {pair.key: self._value(pair.value) for pair in node.kwargs}
        pass_arg = _PassArg.from_obj(func)
        if pass_arg is _PassArg.environment:
            return func(_env, value, *args, **kwargs)
        if pass_arg is _PassArg.eval_context:
            return func(nodes.EvalContext(_env), value, *args, **kwargs)
        if pass_arg is not None:
            raise _UnknownError  # needs a render context
        return func(value, *args, **kwargs)


def template_vars(state: RunState, *, input_text: str, node_inputs: Mapping[str, str]) -> dict[str, Any]:
    participant = state.ctx.participant
    return {
        "input": input_text,
        "node_inputs": dict(node_inputs),
        "node_outputs": dict(state.node_outputs),
        "temp_state": state.temp_state,
        "session_state": state.session_state,
        "participant_data": state.participant_data,
        "participant_details": {
            "identifier": participant.identifier,
            "name": participant.name,
            "platform": participant.platform,
        },
    }


def render(
    source: str, variables: Mapping[str, Any], *, what: str = "template", limits: TemplateLimits | None = None
) -> str:
    """Render within ``limits`` or raise ``NodeError`` with a message that names the problem (undefined variable,
    unsafe access, which limit)."""
    budget = guard.RenderBudget(limits or TemplateLimits.from_settings())
    parts: list[str] = []
    token = guard.budget_var.set(budget)  # not ``with guard.active()``: this is every template node's hot path
    try:
        for chunk in compile_template(source).generate(variables):
            budget.wrote(chunk)
            parts.append(chunk)
    except TemplateLimitError as exc:
        raise NodeError(code="pipeline.template_limit", message=f"The {what} was stopped: {exc}.") from exc
    except (RecursionError, MemoryError) as exc:
        raise NodeError(
            code="pipeline.template_limit", message=f"The {what} was stopped: it nested or recursed too deeply."
        ) from exc
    except UndefinedError as exc:
        raise NodeError(code="pipeline.template_undefined", message=f"The {what} uses {exc.message}.") from exc
    except SecurityError as exc:
        reason = str(exc).rstrip(".")
        raise NodeError(code="pipeline.template_unsafe", message=f"The {what} was refused: {reason}.") from exc
    except TemplateError as exc:
        raise NodeError(code="pipeline.template_error", message=f"The {what} failed: {exc}.") from exc
    except (TypeError, ValueError, ArithmeticError, LookupError) as exc:
        raise NodeError(code="pipeline.template_error", message=f"The {what} failed: {exc}.") from exc
    finally:
        guard.budget_var.reset(token)
    return "".join(parts)
