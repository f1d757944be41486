"""Markdown cannot restyle the page: the only class that survives is the one the renderer emits."""

import re

import pytest

from shared_apps.core.templatetags.markdown_tags import render_markdown


@pytest.mark.parametrize(
    "text",
    [
        pytest.param('<code class="modal modal-open"><a href="https://evil.example">Log in</a></code>', id="raw-html"),
        pytest.param('<p class="fixed inset-0 z-50">x</p><a class="btn" href="https://a.example">y</a>', id="others"),
        pytest.param("```{.modal .modal-open}\ncode\n```", id="fence-attributes"),
        pytest.param('<code class="language-python modal-open">x</code>', id="language-plus-others"),
        pytest.param('<table class="modal"><tr><td class="modal-open">x</td></tr></table>', id="table"),
    ],
)
def test_markdown_keeps_no_arbitrary_class(text):
    html = render_markdown(text)

    classes = re.findall(r'class="([^"]*)"', html)
    assert all(re.fullmatch(r"language-[\w+#-]+", value) for value in classes), html  # one token, the language


def test_fenced_code_keeps_its_language_class():
    assert render_markdown("```python\nx = 1\n```") == '<pre><code class="language-python">x = 1\n</code></pre>'


def test_markdown_still_renders_and_sanitises():
    html = render_markdown("**bold** [link](https://example.com) <script>alert(1)</script>")

    assert "<strong>bold</strong>" in html
    assert '<a href="https://example.com" rel="noopener noreferrer nofollow">link</a>' in html
    assert "<script>" not in html
