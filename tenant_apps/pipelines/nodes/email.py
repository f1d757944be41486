"""Send an email (recipients, subject and body are Jinja templates); the node passes its input through.

The message leaves through ``RunContext.send_email``; the default queues a Celery task on the pipelines queue
once the caller's transaction commits, so a turn that rolls back sends nothing.
"""

from __future__ import annotations

import re
from typing import Any

from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from pydantic import Field, field_validator

from tenant_apps.pipelines.engine.context import EmailRequest
from tenant_apps.pipelines.engine.state import NodeError, NodeInput, NodeOutcome, RunState
from tenant_apps.pipelines.engine.templating import render, template_vars
from tenant_apps.pipelines.nodes.base import NodeParams, NodeType, register_node, ui
from tenant_apps.pipelines.nodes.template import check_template

MAX_RECIPIENTS = 20
_SPLIT = re.compile(r"[,;\s]+")


def split_recipients(text: str) -> list[str]:
    return [address for address in _SPLIT.split(text.strip()) if address]


def invalid_addresses(addresses: list[str]) -> list[str]:
    bad = []
    for address in addresses:
        try:
            validate_email(address)
        except ValidationError:
            bad.append(address)
    return bad


class EmailParams(NodeParams):
    recipient_list: str = Field(
        min_length=1,
        max_length=5000,
        json_schema_extra=ui(
            "To", widget="jinja_template", order=0, help="Addresses separated by commas; templates allowed."
        ),
    )
    subject: str = Field(
        min_length=1, max_length=500, json_schema_extra=ui("Subject", widget="jinja_template", order=1)
    )
    body: str = Field(min_length=1, max_length=50_000, json_schema_extra=ui("Body", widget="jinja_template", order=2))

    @field_validator("recipient_list")
    @classmethod
    def _recipients(cls, value: str) -> str:
        check_template(value)
        if "{{" not in value and "{%" not in value:
            addresses = split_recipients(value)
            bad = invalid_addresses(addresses)
            if bad:
                raise ValueError(f"Not valid email addresses: {', '.join(bad)}.")
            if len(addresses) > MAX_RECIPIENTS:
                raise ValueError(f"At most {MAX_RECIPIENTS} recipients.")
        return value

    _subject = field_validator("subject")(check_template)
    _body = field_validator("body")(check_template)


@register_node
class SendEmailNode(NodeType[EmailParams]):
    type_name = "send_email"
    label = "Send email"
    description = "Emails someone (e.g. a case worker); the message continues unchanged."
    params_model = EmailParams
    icon = "mail"

    def run(self, node_input: NodeInput, state: RunState) -> NodeOutcome:
        params = self.params
        variables = template_vars(state, input_text=node_input.text, node_inputs=node_input.by_node)
        limits = state.ctx.limits.template
        recipients = split_recipients(render(params.recipient_list, variables, what="recipient list", limits=limits))
        if not recipients:
            raise NodeError(code="pipeline.email_no_recipients", message="The recipient list rendered empty.")
        bad = invalid_addresses(recipients)
        if bad:
            raise NodeError(
                code="pipeline.email_bad_recipient", message=f"Not valid email addresses: {', '.join(bad)}."
            )
        if len(recipients) > MAX_RECIPIENTS:
            raise NodeError(code="pipeline.email_too_many_recipients", message="Too many recipients.")
        subject = " ".join(render(params.subject, variables, what="subject", limits=limits).split())[:500]
        body = render(params.body, variables, what="body", limits=limits)
        details: dict[str, Any] = {"recipients": recipients, "subject": subject}
        if state.ctx.effects.begin(self.node_id) is not None:  # an earlier attempt of this turn sent it (ADR 0066)
            return NodeOutcome(output=node_input.text, details={**details, "repeated": "not sent again"})
        state.ctx.send_email(EmailRequest(recipients=tuple(recipients), subject=subject, body=body))
        state.ctx.effects.finish(self.node_id, {})
        return NodeOutcome(output=node_input.text, details=details)
