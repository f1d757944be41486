"""``{{ text|markdown }}``: Markdown to HTML, sanitised with nh3 (no scripts, no event handlers, safe links, and
no classes but the one the renderer itself emits, so a message cannot restyle the page: ADR 0063)."""

from __future__ import annotations

import re
import threading

import markdown as md
import nh3
from django import template
from django.utils.safestring import SafeString, mark_safe

register = template.Library()

_TAGS = {
    "p",
    "br",
    "strong",
    "em",
    "code",
    "pre",
    "blockquote",
    "ul",
    "ol",
    "li",
    "a",
    "h1",
    "h2",
    "h3",
    "h4",
    "hr",
    "table",
    "thead",
    "tbody",
    "tr",
    "th",
    "td",
    "del",
}


_local = threading.local()


def _converter() -> md.Markdown:
    """One converter per thread, reset between uses: building one loads its extensions (~1 ms), converting a
    chat message takes a fraction of that. Converters keep state while converting, so threads never share one."""
    converter = getattr(_local, "converter", None)
    if converter is None:
        converter = _local.converter = md.Markdown(extensions=["fenced_code", "tables", "sane_lists", "nl2br"])
    return converter.reset()


# The only class the renderer emits: fenced code's language (```python -> class="language-python"). Anything
# else (``<code class="modal modal-open">`` written as raw HTML, ``{.modal-open}`` on a fence) would let a
# message draw the page's own components, e.g. a full-screen modal with an attacker's link over the chat.
_LANGUAGE_CLASS = re.compile(r"language-[A-Za-z0-9_+#-]{1,40}")


def _allowed_attribute(tag: str, attribute: str, value: str) -> str | None:
    if attribute != "class":
        return value
    if tag == "code":
        return next((token for token in value.split() if _LANGUAGE_CLASS.fullmatch(token)), None)
    return None


def render_markdown(text: str) -> str:
    html = _converter().convert(text or "")
    return nh3.clean(
        html,
        tags=_TAGS,
        attributes={"a": {"href", "title"}, "code": {"class"}},
        attribute_filter=_allowed_attribute,
        url_schemes={"http", "https", "mailto"},
        link_rel="noopener noreferrer nofollow",
    )


@register.filter(name="markdown")
def markdown_filter(text: str) -> SafeString:
    return mark_safe(render_markdown(text))  # noqa: S308 (sanitised by nh3 above)
