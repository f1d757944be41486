"""Call an HTTP endpoint through the SSRF-guarded client; the response body becomes the node's output.

URL, header values and body are Jinja templates over the run's state. Headers are never written to the trace
(they often carry tokens); a team should keep credentials out of the graph until auth providers can be referenced.
"""

from __future__ import annotations

import contextlib
import re
from typing import Any, Literal
from urllib.parse import urlsplit

from pydantic import Field, field_validator

from shared_apps.core import strict_json
from tenant_apps.pipelines.engine.state import NodeError, NodeInput, NodeOutcome, RunState
from tenant_apps.pipelines.engine.templating import render, template_vars
from tenant_apps.pipelines.nodes.base import NodeParams, NodeType, register_node, ui
from tenant_apps.pipelines.nodes.template import check_template

MAX_RESPONSE_BYTES = 1_000_000
_HEADER_NAME = re.compile(r"^[A-Za-z0-9!#$%&'*+.^_`|~-]{1,100}$")
_TEMPLATE_MARKERS = ("{{", "{%")


class HttpParams(NodeParams):
    method: Literal["GET", "POST", "PUT", "PATCH", "DELETE"] = Field("GET", json_schema_extra=ui("Method", order=0))
    url: str = Field(min_length=1, max_length=2000, json_schema_extra=ui("URL", widget="jinja_template", order=1))
    headers: dict[str, str] = Field(
        default_factory=dict, max_length=30, json_schema_extra=ui("Headers", widget="key_value", order=2)
    )
    body: str = Field(
        "",
        max_length=100_000,
        json_schema_extra=ui(
            "Body", widget="jinja_template", order=3, visible_when={"field": "method", "not_equals": "GET"}
        ),
    )
    timeout_seconds: float = Field(10.0, ge=0.5, le=30, json_schema_extra=ui("Timeout (seconds)", order=4))
    fail_on_error_status: bool = Field(
        True, json_schema_extra=ui("Fail the run on a 4xx/5xx answer", widget="toggle", order=5)
    )
    save_response_to: str = Field(
        "",
        max_length=100,
        pattern=r"^[A-Za-z0-9_\-]*$",
        json_schema_extra=ui("Also save status and body in temp state under", order=6),
    )

    @field_validator("url")
    @classmethod
    def _url(cls, value: str) -> str:
        check_template(value)
        if not any(marker in value for marker in _TEMPLATE_MARKERS):
            parts = urlsplit(value)
            if parts.scheme not in ("http", "https") or not parts.hostname:
                raise ValueError("Enter an http:// or https:// URL.")
        return value

    @field_validator("headers")
    @classmethod
    def _headers(cls, value: dict[str, str]) -> dict[str, str]:
        for name, template in value.items():
            if not _HEADER_NAME.match(name):
                raise ValueError(f"{name!r} is not a valid header name.")
            check_template(template)
        return value

    _body = field_validator("body")(check_template)


@register_node
class HttpRequestNode(NodeType[HttpParams]):
    type_name = "http_request"
    label = "HTTP request"
    description = "Calls a web API; the response body becomes the output."
    params_model = HttpParams
    icon = "globe"

    def run(self, node_input: NodeInput, state: RunState) -> NodeOutcome:
        params = self.params
        variables = template_vars(state, input_text=node_input.text, node_inputs=node_input.by_node)
        limits = state.ctx.limits.template
        url = render(params.url, variables, what="URL", limits=limits).strip()
        headers = {
            name: render(template, variables, what=f"header {name}", limits=limits)
            for name, template in params.headers.items()
        }
        body = None
        if params.body and params.method != "GET":
            body = render(params.body, variables, what="body", limits=limits)
        if body is not None and not any(name.lower() == "content-type" for name in headers):
            headers["Content-Type"] = "application/json" if _is_json(body) else "text/plain; charset=utf-8"
        # At most once per turn (ADR 0066): a turn run again gets the earlier attempt's response, not a new request.
        earlier = state.ctx.effects.begin(self.node_id)
        if earlier is None:
            response = state.ctx.http_request(
                params.method,
                url,
                headers=headers,
                data=body.encode() if body is not None else None,
                timeout=params.timeout_seconds,
                max_response_bytes=MAX_RESPONSE_BYTES,
            )
            status, text = response.status, response.text
            state.ctx.effects.finish(self.node_id, {"status": status, "text": text})
        elif earlier.get("state") == "done":
            result = earlier.get("result") or {}
            status, text = int(result.get("status") or 0), str(result.get("text") or "")
        else:
            raise NodeError(
                code="pipeline.http_outcome_unknown",
                message=f"An earlier attempt of this turn sent {params.method} {url} and did not learn the outcome; "
                "it is not sent again.",
            )
        details = {"method": params.method, "url": url, "status": status}
        if params.fail_on_error_status and status >= 400:
            raise NodeError(
                code="pipeline.http_error_status",
                message=f"{params.method} {url} answered {status}.",
                extra={"status": status},
            )
        if params.save_response_to:
            saved: Any = text
            with contextlib.suppress(strict_json.StrictJsonError):
                saved = strict_json.loads(text)
            state.temp_state[params.save_response_to] = {"status": status, "body": saved}
        return NodeOutcome(output=text, details=details)


def _is_json(text: str) -> bool:
    """Strict: a body with NaN, Infinity or deep nesting is kept as text (ADR 0061)."""
    try:
        strict_json.loads(text)
    except strict_json.StrictJsonError:
        return False
    return True
