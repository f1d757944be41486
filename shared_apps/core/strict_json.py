"""JSON that PostgreSQL accepts, and JSON input we can parse without recursing (ADR 0061).

PostgreSQL's ``jsonb`` refuses ``NaN``/``Infinity`` (Python's ``json`` writes and reads them by default) and the
NUL character (``\\u0000``), and ``text`` refuses NUL too: a value carrying one fails the statement that stores
it. Python's parser and ``copy.deepcopy`` recurse, so deeply nested input must be refused before it is parsed.
Everything that parses input we did not write, or checks data before it is stored, goes through here.
"""

from __future__ import annotations

import json
import math
import re
from typing import Any

MAX_DEPTH = 64  # nesting of objects and arrays accepted in input (a pipeline graph needs about 10)


class StrictJsonError(ValueError):
    """Not JSON we accept: malformed, NaN/Infinity, or nested deeper than allowed."""


def _refuse_constant(name: str) -> Any:
    raise StrictJsonError(f"{name} is not valid JSON")


def _finite(text: str) -> float:
    number = float(text)
    if not math.isfinite(number):  # 1e999 parses as Infinity
        raise StrictJsonError(f"{text} is too large for JSON")
    return number


def loads(text: str | bytes, *, max_depth: int = MAX_DEPTH) -> Any:
    """Parse ``text``; raise ``StrictJsonError`` for malformed input, NaN/Infinity or nesting over ``max_depth``."""
    if nesting_depth(text, max_depth) > max_depth:
        raise StrictJsonError(f"JSON nested deeper than {max_depth} levels")
    try:
        return json.loads(text, parse_constant=_refuse_constant, parse_float=_finite)
    except StrictJsonError:
        raise
    except (ValueError, RecursionError) as exc:
        raise StrictJsonError(str(exc)) from exc


_ENCODER = json.JSONEncoder(allow_nan=False, ensure_ascii=False, separators=(",", ":"))


def dumps(value: Any) -> str:
    """Compact JSON; raise ``ValueError`` for NaN/Infinity and ``TypeError`` for values JSON cannot hold."""
    return _ENCODER.encode(value)


_STRING = re.compile(r'"(?:[^"\\]++|\\.)*+"', re.DOTALL)
_BRACKET = re.compile(r"[\[\]{}]")


def nesting_depth(text: str | bytes, limit: int = MAX_DEPTH) -> int:
    """How deeply the arrays and objects of a JSON text nest (brackets inside strings do not count). Stops counting
    once past ``limit``, so a megabyte of ``[`` costs almost nothing."""
    if isinstance(text, bytes):
        text = text.decode("utf-8", "replace")
    depth = deepest = 0
    for match in _BRACKET.finditer(_STRING.sub("", text)):
        if match.group() in "[{":
            depth += 1
            if depth > deepest:
                deepest = depth
                if deepest > limit:
                    break
        else:
            depth -= 1
    return deepest


_NUL_ESCAPE = re.compile(r"(?<!\\)(?:\\\\)*\\u0000")
_BYTES_NUL_ESCAPE = re.compile(rb"(?<!\\)(?:\\\\)*\\u0000")


def has_nul(text: str | bytes) -> bool:
    """Whether a JSON text holds a NUL character, raw or escaped as ``\\u0000`` (and not ``\\\\u0000``)."""
    if isinstance(text, bytes):
        return b"\x00" in text or (b"\\u0000" in text and _BYTES_NUL_ESCAPE.search(text) is not None)
    return "\x00" in text or ("\\u0000" in text and _NUL_ESCAPE.search(text) is not None)


REPLACEMENT = "\ufffd"


def clean_text(text: str) -> str:
    """``text`` with each NUL replaced by U+FFFD (what a decoder shows for a character it cannot represent)."""
    return text.replace("\x00", REPLACEMENT) if "\x00" in text else text


def storable(value: Any) -> Any:
    """``value`` as PostgreSQL can store it in ``jsonb``: NaN/Infinity become null, NUL becomes U+FFFD, other
    non-JSON values their text (a copy only when something had to change). For data we only show, such as
    traces; state is refused instead (ADR 0061)."""
    try:
        if not has_nul(dumps(value)):
            return value
    except (ValueError, TypeError):
        pass
    except RecursionError:
        return "[nested too deeply to store]"
    try:
        return _cleaned(value)
    except RecursionError:
        return "[nested too deeply to store]"


def _cleaned(value: Any) -> Any:
    if isinstance(value, str):
        return clean_text(value)
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if value is None or isinstance(value, bool | int):
        return value
    if isinstance(value, dict):
        return {clean_text(str(key)): _cleaned(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_cleaned(item) for item in value]
    return clean_text(str(value))
