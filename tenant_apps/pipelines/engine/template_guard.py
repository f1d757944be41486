"""The limits of a Jinja render, enforced inside the render (ADR 0060).

A chat worker may soon run many turns as green threads in one process, where a CPU-bound render blocks every
other turn: so a signal or an outer timeout is not enough. Every place where a template can make the render do
work or build something big goes through a check here, while it renders:

* **loops** count their iterations (every loop of the render together) and ``range()`` is capped;
* **operators** ``+ * % **`` check the size of what they would build before building it (text and list repeats,
  concatenation, printf-style formatting, big integers);
* **filters, method calls and ``str.format``** check their arguments (no argument may be bigger than a value may
  be), refuse what would expand past the limit (``center``, ``indent``, ``wordwrap``, ``replace``, ``join``,
  ``batch``, ``slice``, ``format``, ``sum``...), and count what they built; only a short list of side-effect-free
  methods of text, lists and dicts can be called at all;
* **output** is counted chunk by chunk as it is produced, and ``~`` joins and block captures are measured;
* every one of these is a **step**: every 32 steps the render's CPU time is compared with its deadline.

Between two steps a render can only do a bounded amount of work on bounded values, so the deadline holds to within
a few milliseconds. The ``TemplateLimitError`` messages complete "The template was stopped: ...".
"""

from __future__ import annotations

import functools
import inspect
import json
import math
import re
import string
import sys
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

from jinja2.exceptions import TemplateRuntimeError

from tenant_apps.pipelines.engine.limits import TemplateLimits


class TemplateLimitError(TemplateRuntimeError):
    """A render (or the constant part of a template, at save time) went over one of its limits."""


class RenderBudget:
    """What one render has used so far. Active for the current render through ``active()``."""

    __slots__ = ("allocated", "deadline", "iterations", "limits", "output", "steps")

    def __init__(self, limits: TemplateLimits, *, timed: bool = True) -> None:
        self.limits = limits
        self.deadline = time.thread_time() + limits.max_cpu_seconds if timed else math.inf
        self.steps = 0
        self.iterations = 0
        self.allocated = 0
        self.output = 0

    def step(self) -> None:
        self.steps += 1
        # thread_time() costs ~0.2 µs: look at the clock every 32 steps (each step's work is bounded).
        if not self.steps & 31 and time.thread_time() > self.deadline:
            raise TemplateLimitError(f"it used more than {self.limits.max_cpu_seconds:g} s of CPU time")

    def iterate(self) -> None:
        self.iterations += 1
        if self.iterations > self.limits.max_loop_iterations:
            raise TemplateLimitError(f"its loops ran more than {self.limits.max_loop_iterations:,} times")
        self.step()

    def check_size(self, size: int | float) -> None:
        """Refuse to build a value of ``size`` (characters of text, or items of a list)."""
        if size > self.limits.max_value:
            raise TemplateLimitError(
                f"it would build a text or list larger than {self.limits.max_value:,} characters or items"
            )

    def built(self, value: Any) -> Any:
        """Account for a value an operation built; refuse it when it is over a limit. Returns the value."""
        kind = type(value)
        if kind is str:  # the common case, first
            size = len(value)
        elif isinstance(value, int):
            if value.bit_length() > self.limits.max_int_bits:
                raise TemplateLimitError(f"it computed a number larger than {self.limits.max_int_bits:,} bits")
            return value
        elif isinstance(value, str | list | tuple | dict):
            size = weight(value, self.limits.max_value)
        else:
            return value
        self.check_size(size)
        self.allocated += size
        if self.allocated > self.limits.max_allocated:
            raise TemplateLimitError(
                f"its operations built more than {self.limits.max_allocated:,} characters or items in all"
            )
        return value

    def wrote(self, chunk: str) -> None:
        self.output += len(chunk)
        if self.output > self.limits.max_output:
            raise TemplateLimitError(f"it rendered more than {self.limits.max_output:,} characters")
        self.step()


budget_var: ContextVar[RenderBudget | None] = ContextVar("template_render_budget", default=None)


@contextmanager
def active(budget: RenderBudget) -> Iterator[RenderBudget]:
    """Make ``budget`` the one every check of the current render uses (per thread and per green thread)."""
    token = budget_var.set(budget)
    try:
        yield budget
    finally:
        budget_var.reset(token)


def current() -> RenderBudget:
    """The active render's budget; outside a render, a fresh untimed one (the size checks still apply)."""
    return budget_var.get() or RenderBudget(TemplateLimits.from_settings(), timed=False)


def weight(value: Any, limit: int) -> int:
    """The size of ``value`` as the checks count it: characters of text, plus one per item of a list or dict
    (nested ones summed). Shared references count each time: that is the size of the text they turn into.
    Stops counting once past ``limit``."""
    if isinstance(value, str):
        return len(value)
    if not isinstance(value, list | tuple | dict | set | frozenset | range):
        return 1
    total = 0
    stack = [value]
    while stack and total <= limit:
        item = stack.pop()
        if isinstance(item, str):
            total += len(item) + 1
        elif isinstance(item, Mapping):
            total += 1
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, list | tuple | set | frozenset):
            total += 1
            stack.extend(item)
        elif isinstance(item, range):
            total += _length(item)
        else:
            total += 1
    return total


def _length(value: range) -> int:
    try:
        return len(value)
    except OverflowError:  # more than sys.maxsize numbers
        return sys.maxsize


def check_arguments(values: Iterable[Any], budget: RenderBudget) -> None:
    """No argument of a filter, method or macro may be bigger than a value may be (they may turn into text)."""
    limit = budget.limits.max_value
    for value in values:
        kind = type(value)
        if kind is str:
            if len(value) > limit:
                budget.check_size(len(value))
        elif kind not in _SCALARS:
            budget.check_size(weight(value, limit))


_SCALARS = frozenset({int, float, bool, type(None)})


# --- operators --------------------------------------------------------------------------------------------------

GUARDED_BINOPS = frozenset({"+", "*", "%", "**"})


def check_binop(operator: str, left: Any, right: Any, budget: RenderBudget) -> None:
    limits = budget.limits
    if operator == "**":
        exponent = isinstance(left, int) and isinstance(right, int) and right > 0 and abs(left) > 1
        if exponent and left.bit_length() * right > limits.max_int_bits:
            raise TemplateLimitError(f"it would compute a number larger than {limits.max_int_bits:,} bits")
    elif operator == "*":
        if isinstance(left, int) and isinstance(right, int):
            if left.bit_length() + right.bit_length() > limits.max_int_bits:
                raise TemplateLimitError(f"it would compute a number larger than {limits.max_int_bits:,} bits")
            return
        for sequence, count in ((left, right), (right, left)):
            if isinstance(count, int) and isinstance(sequence, str | list | tuple):
                budget.check_size(weight(sequence, limits.max_value) * max(count, 0))
    elif operator == "+":
        if isinstance(left, str | list | tuple) and isinstance(right, str | list | tuple):
            budget.check_size(weight(left, limits.max_value) + weight(right, limits.max_value))
    elif operator == "%" and isinstance(left, str):
        check_printf(left, right, budget)


_PRINTF = re.compile(r"%(?:\([^)]*\))?[#0 +\-]*(\*|\d+)?(?:\.(\*|\d+))?[hlL]?.", re.DOTALL)


def check_printf(template: str, arguments: Any, budget: RenderBudget) -> None:
    """``"%0400000000d" % 1`` asks for a 400 MB text: add up widths and precisions before formatting."""
    estimate = len(template) + weight(arguments, budget.limits.max_value)
    for match in _PRINTF.finditer(template):
        for number in match.groups():
            if number == "*":
                raise TemplateLimitError("'*' widths are not allowed in % formatting")
            estimate += _number(number, budget)
    budget.check_size(estimate)


def check_str_format(template: str, args: Any, kwargs: Any, budget: RenderBudget) -> None:
    """The same for ``"{:>400000000}".format(1)``."""
    estimate = len(template) + weight(args, budget.limits.max_value) + weight(kwargs, budget.limits.max_value)
    for _literal, _field, spec, _conversion in string.Formatter().parse(template):
        if not spec:
            continue
        if "{" in spec:
            raise TemplateLimitError("nested fields in a format specification are not allowed")
        estimate += sum(_number(number, budget) for number in re.findall(r"\d+", spec))
    budget.check_size(estimate)


def _number(digits: str | None, budget: RenderBudget) -> int:
    if not digits:
        return 0
    if len(digits) > 12:  # never parse a 5,000-digit width just to refuse it
        budget.check_size(math.inf)
    return int(digits)


# --- filters ----------------------------------------------------------------------------------------------------

Arguments = dict[str, Any]


def _text(value: Any) -> str:
    return value if isinstance(value, str) else str(value)


def _check_center(arguments: Arguments, budget: RenderBudget) -> None:
    width = arguments.get("width")
    if isinstance(width, int):
        budget.check_size(width)


def _check_indent(arguments: Arguments, budget: RenderBudget) -> None:
    width = arguments["width"]
    unit = len(width) if isinstance(width, str) else width if isinstance(width, int) else 0
    text = _text(arguments["s"])
    budget.check_size(len(text) + (text.count("\n") + 1) * max(unit, 0))


def _check_wordwrap(arguments: Arguments, budget: RenderBudget) -> None:
    text, width, wrap = _text(arguments["s"]), arguments["width"], arguments["wrapstring"]
    if not isinstance(width, int) or width < 1:
        return  # textwrap refuses it
    lines = min(len(text), len(text) // width + len(text.split())) + 1
    budget.check_size(len(text) + lines * (len(_text(wrap)) if wrap else 1))


def _replaced_size(text: str, old: Any, new: Any, count: Any) -> int:
    old, new = _text(old), _text(new)
    hits = text.count(old) if old else len(text) + 1
    if isinstance(count, int) and count >= 0:
        hits = min(hits, count)
    return len(text) + hits * max(len(new) - len(old), 0)


def _check_replace(arguments: Arguments, budget: RenderBudget) -> None:
    text = _text(arguments["s"])
    budget.check_size(_replaced_size(text, arguments["old"], arguments["new"], arguments["count"]))


def _joined_size(items: list[Any], separator: str, budget: RenderBudget) -> int:
    return weight(items, budget.limits.max_value) + len(separator) * max(len(items) - 1, 0)


def _check_join(arguments: Arguments, budget: RenderBudget) -> None:
    items = arguments["value"] = _materialized(arguments["value"], budget)
    budget.check_size(_joined_size(items, _text(arguments["d"]), budget))


def _materialized(value: Any, budget: RenderBudget) -> Any:
    """A list of an iterable's items (counted as loop iterations), so its size can be checked before use."""
    if isinstance(value, list | tuple | str | Mapping):
        return value
    items = []
    for item in value:
        budget.iterate()
        items.append(item)
    return items


def _check_batch(arguments: Arguments, budget: RenderBudget) -> None:
    if arguments["fill_with"] is not None and isinstance(arguments["linecount"], int):
        budget.check_size(arguments["linecount"] * weight(arguments["fill_with"], budget.limits.max_value))


def _check_slice(arguments: Arguments, budget: RenderBudget) -> None:
    if isinstance(arguments["slices"], int) and arguments["slices"] > budget.limits.max_loop_iterations:
        raise TemplateLimitError(f"slice() makes at most {budget.limits.max_loop_iterations:,} slices")


def _check_sum(arguments: Arguments, budget: RenderBudget) -> None:
    if isinstance(arguments["start"], int | float):
        return
    # Adding lists or texts copies the running total at every step: the work grows with the square of the count.
    items = arguments["iterable"] = _materialized(arguments["iterable"], budget)
    size = weight(arguments["start"], budget.limits.max_value) + weight(items, budget.limits.max_value)
    budget.check_size(size)
    if size * len(items) > budget.limits.max_allocated:
        raise TemplateLimitError("sum() over that many lists would copy too much; use a loop or join")


def _check_format(arguments: Arguments, budget: RenderBudget) -> None:
    check_printf(_text(arguments["value"]), arguments["kwargs"] or arguments["args"], budget)


FILTER_CHECKS: dict[str, Callable[[Arguments, RenderBudget], None]] = {
    "center": _check_center,
    "indent": _check_indent,
    "wordwrap": _check_wordwrap,
    "replace": _check_replace,
    "join": _check_join,
    "batch": _check_batch,
    "slice": _check_slice,
    "sum": _check_sum,
    "format": _check_format,
}

# Filters a chatbot's text has no use for and that are hard to bound: HTML links (urlize) and pretty-printing.
REMOVED_FILTERS = frozenset({"urlize", "pprint"})


def guard_filter(name: str, func: Callable[..., Any]) -> Callable[..., Any]:
    """``func`` with the checks: a step, argument sizes, the filter's own precheck, and the size of its result."""
    precheck = FILTER_CHECKS.get(name)
    skip = 1 if getattr(func, "jinja_pass_arg", None) is not None else 0  # the context/environment argument
    # Jinja's sync/async filters are wrappers that take an eval context the wrapped function does not declare.
    real = inspect.unwrap(func)
    unbound = skip if getattr(real, "jinja_pass_arg", None) is None else 0
    bind = _binder(real) if precheck is not None else None

    @functools.wraps(func)  # keeps ``jinja_pass_arg``
    def guarded(*args: Any, **kwargs: Any) -> Any:
        budget = current()
        budget.step()
        check_arguments(args[skip:], budget)
        if kwargs:
            check_arguments(kwargs.values(), budget)
        if precheck is not None and bind is not None:
            arguments, first = bind(args[unbound:], kwargs)
            precheck(arguments, budget)  # may materialize the filtered value (join, sum): call with that
            args = (*args[:skip], arguments[first], *args[skip + 1 :])
        return budget.built(func(*args, **kwargs))

    return guarded


def _binder(func: Callable[..., Any]) -> Callable[[tuple[Any, ...], Arguments], tuple[Arguments, str]]:
    """A cheap ``inspect.Signature.bind`` for filters: their arguments by name (defaults filled in), and the name
    of the parameter that receives the filtered value."""
    parameters = list(inspect.signature(func).parameters.values())
    data = next(p.name for p in parameters if p.name not in ("environment", "eval_ctx", "context"))

    def bind(args: tuple[Any, ...], kwargs: Arguments) -> tuple[Arguments, str]:
        arguments: Arguments = {}
        index = 0
        for parameter in parameters:
            if parameter.kind is inspect.Parameter.VAR_POSITIONAL:
                arguments[parameter.name], index = args[index:], len(args)
            elif parameter.kind is inspect.Parameter.VAR_KEYWORD:
                arguments[parameter.name] = {key: kwargs[key] for key in kwargs if key not in arguments}
            elif index < len(args):
                arguments[parameter.name], index = args[index], index + 1
            else:
                arguments[parameter.name] = kwargs.get(parameter.name, parameter.default)
        return arguments, data

    return bind


def tojson(value: Any, indent: int | str | None = None) -> str:
    """``tojson`` (JSON as the node sees it: UTF-8, not HTML-escaped), with the indentation bounded."""
    budget = current()
    if indent is not None:
        unit = len(indent) if isinstance(indent, str) else indent
        if not isinstance(unit, int) or unit > 8:
            raise TemplateLimitError("tojson indents by at most 8")
        budget.check_size(weight(value, budget.limits.max_value) * (2 + unit * _nesting(value)))
    return json.dumps(value, indent=indent, ensure_ascii=False, default=str)


def _nesting(value: Any) -> int:
    deepest, stack = 0, [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, Mapping):
            deepest = max(deepest, depth)
            stack.extend((child, depth + 1) for child in item.values())
        elif isinstance(item, list | tuple):
            deepest = max(deepest, depth)
            stack.extend((child, depth + 1) for child in item)
    return deepest


# --- methods ----------------------------------------------------------------------------------------------------

_TEXT_METHODS = frozenset(
    {
        "capitalize", "casefold", "center", "count", "endswith", "find", "format", "index", "isalnum", "isalpha",
        "isascii", "isdecimal", "isdigit", "islower", "isnumeric", "isspace", "istitle", "isupper", "join", "ljust",
        "lower", "lstrip", "partition", "removeprefix", "removesuffix", "replace", "rfind", "rindex", "rjust",
        "rpartition", "rsplit", "rstrip", "split", "splitlines", "startswith", "strip", "swapcase", "title", "upper",
        "zfill",
    }
)  # fmt: skip

# The attributes templates may use on the builtin types they see (state is JSON): read-only, bounded methods.
# Anything else on these types is refused; other objects (loop, cycler, namespace) follow the sandbox's rules.
SAFE_ATTRIBUTES: tuple[tuple[type | tuple[type, ...], frozenset[str]], ...] = (
    (str, _TEXT_METHODS),
    (dict, frozenset({"get", "items", "keys", "values"})),
    ((list, tuple), frozenset({"count", "index"})),
    (range, frozenset({"start", "stop", "step", "count", "index"})),
    ((bool, int, float), frozenset({"real", "imag", "is_integer"})),
)


def _check_width(text: str, args: tuple[Any, ...], kwargs: Arguments, budget: RenderBudget) -> tuple[Any, ...]:
    width = args[0] if args else kwargs.get("width")
    if isinstance(width, int):
        budget.check_size(max(len(text), width))
    return args


def _check_replace_method(text: str, args: tuple[Any, ...], kwargs: Arguments, budget: RenderBudget) -> tuple[Any, ...]:
    if len(args) >= 2:
        budget.check_size(_replaced_size(text, args[0], args[1], args[2] if len(args) > 2 else kwargs.get("count")))
    return args


def _check_join_method(text: str, args: tuple[Any, ...], kwargs: Arguments, budget: RenderBudget) -> tuple[Any, ...]:
    if not args:
        return args
    items = _materialized(args[0], budget)
    budget.check_size(_joined_size(list(items), text, budget))
    return (items, *args[1:])


METHOD_CHECKS: dict[str, Callable[[str, tuple[Any, ...], Arguments, RenderBudget], tuple[Any, ...]]] = {
    "center": _check_width,
    "ljust": _check_width,
    "rjust": _check_width,
    "zfill": _check_width,
    "replace": _check_replace_method,
    "join": _check_join_method,
}


def check_method_call(method: Any, args: tuple[Any, ...], kwargs: Arguments, budget: RenderBudget) -> tuple[Any, ...]:
    """Prechecks of the text methods that can expand; returns the arguments to call with."""
    receiver = getattr(method, "__self__", None)
    check = METHOD_CHECKS.get(getattr(method, "__name__", "")) if isinstance(receiver, str) else None
    return check(receiver, args, kwargs, budget) if check is not None and isinstance(receiver, str) else args


# --- loops, joins, globals --------------------------------------------------------------------------------------


def guard_loop(iterable: Iterable[Any]) -> Iterator[Any]:
    """Wraps the iterable of every ``{% for %}`` (the compiler puts it there): each iteration is counted."""
    budget = current()
    for item in iterable:
        budget.iterate()
        yield item


def guard_concat(parts: tuple[Any, ...]) -> str:
    """``a ~ b ~ c`` (the compiler routes ``~`` here): measured before the parts are turned into text."""
    budget = current()
    budget.step()
    budget.check_size(sum(weight(part, budget.limits.max_value) for part in parts))
    return str(budget.built("".join([part if isinstance(part, str) else str(part) for part in parts])))


def guard_block_concat(parts: Iterable[str]) -> str:
    """What ``{% set x %}...{% endset %}``, macros and filter blocks capture (``Environment.concat``)."""
    budget = current()
    pieces = list(parts)
    budget.check_size(sum(len(piece) for piece in pieces))
    return str(budget.built("".join(pieces)))


def bounded_range(*args: int) -> range:
    numbers = range(*args)
    budget = current()
    if _length(numbers) > budget.limits.max_loop_iterations:
        raise TemplateLimitError(f"range() is limited to {budget.limits.max_loop_iterations:,} numbers")
    return numbers


def finalize(value: Any) -> Any:
    """Every ``{{ expression }}``, before it is turned into text."""
    budget = current()
    budget.step()
    if not isinstance(value, str):
        check_arguments((value,), budget)
    return value
