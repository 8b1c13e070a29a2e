"""prefcore's own encoder for byte-level BPE tokenizers (the GPT-2 family), built from
the tokenizer's JSON when every part of it is one the Rust encoder implements.

Why: with the tokenizer's batch call, tokenizing is most of a preparation run; the
Rust encoder gives the same ids several times faster (no offsets, alignments or
per-text Python objects) and writes them straight into Arrow. Anything it does not
implement (normalizers, other pre-tokenizers, byte fallback, stripped added tokens,
truncation or padding set on the tokenizer) is encoded by the tokenizer as before, and
every call checks a sample of its texts against the tokenizer first.
"""

from __future__ import annotations

import functools
import json
from typing import Any

import pyarrow as pa

from prefcore import _prefcore

#: Texts of each call encoded both ways before the Rust encoder is trusted with it.
PROBE = 16


def _backend(tokenizer: Any) -> Any:
    """The ``tokenizers.Tokenizer`` under a tokenizer, or ``None``."""
    backend = getattr(tokenizer, "backend_tokenizer", tokenizer)
    return backend if hasattr(backend, "to_str") and hasattr(backend, "encode_batch") else None


def _post_processor_ids(post: Any) -> tuple[list[int], list[int]] | str:
    """The ids a post-processor puts before and after a single text, or why not."""
    if post is None or post["type"] == "ByteLevel":
        return [], []
    if post["type"] == "Sequence":
        prefix: list[int] = []
        suffix: list[int] = []
        for step in post["processors"]:
            ids = _post_processor_ids(step)
            if isinstance(ids, str):
                return ids
            prefix, suffix = prefix + ids[0], ids[1] + suffix
        return prefix, suffix
    if post["type"] != "TemplateProcessing":
        return f"post-processor {post['type']}"
    before: list[int] = []
    after: list[int] = []
    seen_text = False
    for item in post["single"]:
        if "Sequence" in item:
            seen_text = True
        else:
            ids = post["special_tokens"][item["SpecialToken"]["id"]]["ids"]
            (after if seen_text else before).extend(ids)
    return before, after


def _unsupported(spec: dict[str, Any]) -> str | None:
    """Why the Rust encoder cannot stand in for this tokenizer, or ``None``."""
    model, pre = spec.get("model") or {}, spec.get("pre_tokenizer") or {}
    checks = [
        (spec.get("normalizer") is not None, "a normalizer"),
        (spec.get("truncation") is not None or spec.get("padding") is not None, "truncation"),
        (model.get("type") != "BPE", f"model {model.get('type')}"),
        (model.get("dropout") not in (None, 0.0), "BPE dropout"),
        (model.get("byte_fallback", False), "byte fallback"),
        (bool(model.get("continuing_subword_prefix")), "a subword prefix"),
        (bool(model.get("end_of_word_suffix")), "a word suffix"),
        (pre.get("type") != "ByteLevel", f"pre-tokenizer {pre.get('type')}"),
        (pre.get("add_prefix_space", False), "add_prefix_space"),
        (not pre.get("use_regex", True), "ByteLevel without its regex"),
    ]
    for token in spec.get("added_tokens", []):
        strip = token.get("lstrip") or token.get("rstrip") or token.get("single_word")
        checks.append((bool(strip), f"added token {token['content']!r} strips or is a word"))
    return next((why for failed, why in checks if failed), None)


@functools.lru_cache(maxsize=8)
def _build(spec_json: str) -> Any:
    spec = json.loads(spec_json)
    why = _unsupported(spec)
    ids = _post_processor_ids(spec.get("post_processor"))
    if why is None and isinstance(ids, str):
        why = ids
    if why is not None:
        return why
    assert not isinstance(ids, str)
    model = spec["model"]
    vocab = model["vocab"]
    # Older JSON writes a merge as "left right", newer as ["left", "right"].
    merges: list[tuple[str, str]] = [
        (m.split(" ", 1)[0], m.split(" ", 1)[1]) if isinstance(m, str) else (m[0], m[1])
        for m in model["merges"]
    ]
    added = [(t["content"], t["id"], bool(t.get("normalized"))) for t in spec["added_tokens"]]
    unk = model.get("unk_token")
    try:
        return _prefcore.ByteLevelBpe(
            list(vocab.items()),
            merges,
            added,
            vocab.get(unk) if unk is not None else None,
            bool(model.get("fuse_unk", False)),
            bool(model.get("ignore_merges", False)),
            ids[0],
            ids[1],
        )
    except ValueError as err:
        return str(err)


class ByteLevelEncoder:
    """Encode with the Rust encoder where it is known to agree with ``tokenizer``."""

    def __init__(self, tokenizer: Any) -> None:
        self.backend = _backend(tokenizer)
        self.reason: str | None = None
        self.encoder: Any = None
        if self.backend is None:
            self.reason = "not a tokenizers-backed tokenizer"
        elif getattr(self.backend, "encode_special_tokens", False):
            self.reason = "encode_special_tokens is set"
        else:
            spec = self.backend.to_str()
            built = _build(spec)
            if isinstance(built, str):
                self.reason = built
            else:
                self.encoder = built

    def encode(self, texts: list[str], add_special_tokens: bool, reference: Any) -> pa.Array | None:
        """The ids of ``texts``, or ``None`` when the Rust encoder does not apply; the
        first texts are checked against ``reference(texts)`` (the tokenizer's ids)."""
        if self.encoder is None:
            return None
        out = self.encoder.encode(pa.array(texts, pa.string()), "text", add_special_tokens)
        probe = texts[:PROBE]
        if out.slice(0, len(probe)).to_pylist() != [list(ids) for ids in reference(probe)]:
            self.reason, self.encoder = "it differed from the tokenizer on a sample", None
            return None
        return out
