"""Plain-Python text helpers shared by the dedup tests (independent references)."""

from __future__ import annotations


def word_ngrams(text: str, n: int) -> set[str]:
    """Word n-grams of ``text``; a text shorter than ``n`` words is one n-gram."""
    words = text.split()
    if not words:
        return set()
    n = min(n, len(words))
    return {" ".join(words[i : i + n]) for i in range(len(words) - n + 1)}
