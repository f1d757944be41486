"""Strict JSON: what PostgreSQL refuses is refused (or made storable) before it gets there."""

from __future__ import annotations

import json
import math

import pytest

from shared_apps.core import strict_json


@pytest.mark.parametrize("text", ["NaN", '{"a": Infinity}', "[-Infinity]", '{"a": [1, NaN]}', "[1e999]"])
def test_loads_refuses_nan_and_infinity(text):
    with pytest.raises(strict_json.StrictJsonError):
        strict_json.loads(text)


def test_loads_refuses_deep_nesting_without_recursing():
    with pytest.raises(strict_json.StrictJsonError, match="nested deeper than 64"):
        strict_json.loads("[" * 100_000 + "]" * 100_000)


def test_loads_accepts_ordinary_json_with_brackets_in_strings():
    text = json.dumps({"a": ["[[[[", "{{{{", 'quote " and \\ ]]]'], "b": 1.5})

    assert strict_json.loads(text) == json.loads(text)


@pytest.mark.parametrize(
    ("text", "depth"),
    [("1", 0), ("[]", 1), ('{"a": [{}]}', 3), ('["[[[[[["]', 1), ('["\\"[[["]', 1), (b'{"a": {"b": []}}', 3)],
)
def test_nesting_depth_ignores_brackets_inside_strings(text, depth):
    assert strict_json.nesting_depth(text) == depth


@pytest.mark.parametrize(
    ("text", "found"),
    [
        ('{"a": "x\\u0000y"}', True),
        ('{"a": "x\\\\\\u0000y"}', True),  # an escaped backslash, then an escaped NUL
        ('{"a": "x\\\\u0000y"}', False),  # the text "\u0000" (an escaped backslash, then "u0000")
        ("{}\x00", True),
        (b'["\\u0000"]', True),
        ("{}", False),
    ],
)
def test_has_nul_finds_raw_and_escaped_nul_only(text, found):
    assert strict_json.has_nul(text) is found


def test_storable_turns_what_postgresql_refuses_into_what_it_accepts():
    value = {"n": math.nan, "i": [math.inf, -math.inf], "t": "a\x00b", "k\x00": 1, "ok": [1, "x", None, True]}

    stored = strict_json.storable(value)

    assert stored == {"n": None, "i": [None, None], "t": "a\ufffdb", "k\ufffd": 1, "ok": [1, "x", None, True]}
    assert not strict_json.has_nul(strict_json.dumps(stored))


def test_storable_returns_clean_values_unchanged():
    value = {"a": [1, 2, {"b": "c"}]}

    assert strict_json.storable(value) is value
