"""Every CSV the product writes goes through the one safe writer (shared_apps.core.csv_export, ADR 0063)."""

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SHARED_WRITER = ROOT / "shared_apps" / "core" / "csv_export.py"
RAW_WRITER = re.compile(r"\bcsv\.(?:writer|DictWriter)\b|\bfrom csv import\b.*\b(?:writer|DictWriter)\b")


def test_no_csv_writer_outside_the_safe_one():
    offenders = [
        str(path.relative_to(ROOT))
        for package in ("config", "tenants", "shared_apps", "tenant_apps")
        for path in (ROOT / package).rglob("*.py")
        if path != SHARED_WRITER and RAW_WRITER.search(path.read_text())
    ]

    assert offenders == [], f"write CSV with shared_apps.core.csv_export.SafeCsvWriter: {offenders}"
