"""Email subjects and plain-text parts are plain text (ADR 0063).

Django templates escape HTML by default, which is right for the HTML part and wrong everywhere else: a team named
``Acme "><b>`` arrived as ``Acme &quot;&gt;&lt;b&gt;`` in an invitation's subject and text. Render ``.txt``
email templates with these two helpers; ``tests/architecture/test_email_text.py`` holds the code to it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.template import Context
from django.template.loader import get_template


def render_text(template_name: str, context: Mapping[str, Any]) -> str:
    """A plain-text template (an email's text part) rendered without HTML escaping."""
    template = get_template(template_name)
    return str(template.template.render(Context(dict(context), autoescape=False)))  # type: ignore[attr-defined]


def render_subject(template_name: str, context: Mapping[str, Any]) -> str:
    """An email subject: plain text on one line (a header cannot hold a line break)."""
    return " ".join(render_text(template_name, context).split())
