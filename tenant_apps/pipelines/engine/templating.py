"""Sandboxed Jinja2 for template, email and HTTP nodes.

``SandboxedEnvironment`` refuses unsafe attribute access (``__class__``, ``mro``...), ``StrictUndefined`` makes a
typo an error instead of an empty string, and the size guard below stops ``"x" * 10**9`` style output bombs that
the stock sandbox lets through.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from functools import lru_cache
from typing import Any

from jinja2 import StrictUndefined, Template, TemplateError, TemplateSyntaxError, UndefinedError
from jinja2.exceptions import SecurityError
from jinja2.sandbox import SandboxedEnvironment

from tenant_apps.pipelines.engine.state import NodeError, RunState

MAX_TEMPLATE_OUTPUT = 1_000_000  # characters
_MAX_OPERAND = 100_000  # repeat counts / exponents the sandbox refuses above


class PipelineSandbox(SandboxedEnvironment):
    intercepted_binops = frozenset({"*", "**"})

    def call_binop(self, context: Any, operator: str, left: Any, right: Any) -> Any:
        if operator == "*":
            for seq, count in ((left, right), (right, left)):
                if isinstance(seq, str | list | tuple) and isinstance(count, int) and len(seq) * count > _MAX_OPERAND:
                    raise SecurityError("the result of this multiplication would be too large")
        if operator == "**" and isinstance(right, int) and abs(right) > 1000:
            raise SecurityError("the exponent is too large")
        return super().call_binop(context, operator, left, right)


_env = PipelineSandbox(undefined=StrictUndefined, autoescape=False, keep_trailing_newline=True)
_env.filters["tojson"] = lambda value, indent=None: json.dumps(value, indent=indent, ensure_ascii=False, default=str)


@lru_cache(maxsize=1024)
def compile_template(source: str) -> Template:
    """Parse once per distinct source (the cache is per process; templates are small)."""
    return _env.from_string(source)


def template_syntax_error(source: str) -> str | None:
    """A readable message for the editor, or None when the template parses."""
    try:
        compile_template(source)
    except TemplateSyntaxError as exc:
        return f"line {exc.lineno}: {exc.message}"
    return None


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


def render(source: str, variables: Mapping[str, Any], *, what: str = "template") -> str:
    """Render or raise ``NodeError`` with a message that names the problem (undefined variable, unsafe access)."""
    try:
        output = compile_template(source).render(variables)
    except UndefinedError as exc:
        raise NodeError(code="pipeline.template_undefined", message=f"The {what} uses {exc.message}.") from exc
    except SecurityError as exc:
        raise NodeError(code="pipeline.template_unsafe", message=f"The {what} was refused: {exc}.") from exc
    except TemplateError as exc:
        raise NodeError(code="pipeline.template_error", message=f"The {what} failed: {exc}.") from exc
    except (TypeError, ValueError, ArithmeticError, LookupError) as exc:
        raise NodeError(code="pipeline.template_error", message=f"The {what} failed: {exc}.") from exc
    if len(output) > MAX_TEMPLATE_OUTPUT:
        raise NodeError(code="pipeline.template_too_large", message=f"The {what} rendered more than 1 MB.")
    return output
