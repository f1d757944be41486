"""Token counting for history budgets when the LLM layer's counter is not supplied.

``RunContext.count_tokens`` is the seam: the conversations app passes the LLM layer's tokenizer-backed counter;
this estimate (about four characters per token for English text) keeps the engine usable without it.
"""

from __future__ import annotations


def estimate_tokens(text: str, model: str = "") -> int:
    return (len(text) + 3) // 4
