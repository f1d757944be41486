"""Plain-text email templates (subjects, text parts) are rendered without HTML escaping (ADR 0063)."""

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
ESCAPING_RENDER = re.compile(r"""render_to_string\(\s*["'][^"']+\.txt["']""")


def test_text_templates_go_through_the_plain_text_helpers():
    offenders = [
        str(path.relative_to(ROOT))
        for package in ("tenants", "shared_apps", "tenant_apps")
        for path in (ROOT / package).rglob("*.py")
        if ESCAPING_RENDER.search(path.read_text())
    ]

    assert offenders == [], f"render .txt email templates with shared_apps.core.mail.render_text/subject: {offenders}"
