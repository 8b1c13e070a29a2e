"""Tokenize preference data for trainers, with the bookkeeping done in Rust.

The tokenizer is a Hugging Face ``tokenizers`` ``Tokenizer`` or a ``transformers``
tokenizer. Byte-level BPE tokenizers of the GPT-2 family (no normalizer, GPT-2's
byte-level pre-tokenizer) are encoded by prefcore's Rust encoder, which gives the
tokenizer's ids several times faster and is checked against the tokenizer on the
first texts of every call; any other tokenizer does its own batch call.
``stats["encoder"]`` says which one ran, and why the tokenizer's when it did. prefcore
decides where the prompt ends and the completion begins, appends EOS and cuts
everything to the length budget.

The rules, the same for every row:

- **The prompt is tokenized once** per row and shared by chosen and rejected.
- **Boundary.** ``boundary="separate"`` (default) tokenizes prompt and completion
  apart and concatenates the ids: the prompt's tokens are exactly what the model sees
  at inference. ``boundary="joint"`` tokenizes ``prompt + completion`` as one text and
  takes the completion from where it leaves the prompt's own tokens (the earlier of
  the two completions' points, so the prompt stays shared); rows where that point
  falls inside the prompt (tokens merged across the boundary) are counted in
  ``stats["boundary_moved"]``.
- **EOS** (``add_eos=True``) is appended to each plain-text completion that does not
  already end with it, and truncation never removes it: a cut completion ends
  ``..., EOS``. Conversations are left as their chat template renders them: the
  template ends each turn with its own marker (often EOS followed by a newline), and
  a second EOS after it would be trained as part of the answer.
- **Budget.** With ``max_length`` set, the prompt keeps ``max_prompt_length`` tokens,
  or when that is not given, what the longer completion leaves of ``max_length`` but
  never less than half of it. ``truncation`` picks the end of the prompt that is kept
  (``"keep_end"``: the tokens nearest the response). The completions keep their
  beginning and share what the prompt leaves, so ``prompt + completion`` never exceeds
  ``max_length``. Cut rows are flagged (``truncated_*`` columns) and counted.

>>> from tokenizers import Tokenizer, models, pre_tokenizers
>>> vocab = {w: i for i, w in enumerate(["<eos>", "hi", "hello", "go", "away"])}
>>> tok = Tokenizer(models.WordLevel(vocab, unk_token="<eos>"))
>>> tok.pre_tokenizer = pre_tokenizers.Whitespace()
>>> out = tokenize_pairs(
...     {"prompt": ["hi"], "chosen": ["hello"], "rejected": ["go away"]}, tok, eos_token_id=0
... )
>>> out.table.select(["prompt_ids", "chosen_ids", "rejected_ids"]).to_pylist()
[{'prompt_ids': [1], 'chosen_ids': [2, 0], 'rejected_ids': [3, 4, 0]}]
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

import pyarrow as pa
import pyarrow.compute as pc

from prefcore import _prefcore
from prefcore._arrow import (
    as_pyarrow_table,
    first_true,
    ids_to_arrow,
    in_callers_type,
    require_columns,
)
from prefcore._byte_level import ByteLevelEncoder
from prefcore._check import check_special_id, integer
from prefcore._display import Summarised
from prefcore._progress import Progress, reporting
from prefcore._typed import check_arguments
from prefcore.errors import ArgumentTypeError, ColumnTypeError, InvalidArgumentError, invalid_value

__all__ = [
    "TokenizeStats",
    "TokenizedTable",
    "ids_to_arrow",
    "tokenize_pairs",
    "tokenize_unpaired",
]

Truncation = Literal["keep_start", "keep_end"]
Boundary = Literal["separate", "joint"]

#: ``TokenizedTable.stats``: ``rows``, ``boundary`` and ``boundary_moved``,
#: ``vocab_size``, ``encoder`` (which encoder produced the ids), and per text column
#: ``<column>_tokens`` and ``truncated_<column>`` (keys named after the caller's
#: columns, so a mapping rather than a fixed record). Counts are ints; ``boundary``
#: and ``encoder`` are strings.
TokenizeStats = dict[str, int | str]

#: Texts handed to the tokenizer per call: large enough for its parallel batch
#: encoder, small enough that the Python lists of ids stay bounded.
ENCODE_CHUNK = 8192


@dataclass(frozen=True, repr=False)
class TokenizedTable(Summarised):
    """The input columns plus ``*_ids`` (``list<int32>``) and ``truncated_*`` flags, in
    the input's type (see :class:`prefcore.pairs.PairResult`; a pandas index is kept).
    """

    table: Any
    stats: TokenizeStats


class _Encoder:
    """One interface over ``tokenizers.Tokenizer`` and ``transformers`` tokenizers."""

    def __init__(self, tokenizer: Any, eos_token_id: int | None, chat_template: str | None):
        self.tokenizer = tokenizer
        self.chat_template = chat_template
        self.is_hf = hasattr(tokenizer, "convert_tokens_to_ids") and callable(tokenizer)
        if not self.is_hf and not hasattr(tokenizer, "encode_batch"):
            raise ArgumentTypeError(
                "tokenizer must be a tokenizers.Tokenizer or a transformers tokenizer, "
                f"not {type(tokenizer).__name__}",
                argument="tokenizer",
            )
        if eos_token_id is None and self.is_hf:
            eos_token_id = tokenizer.eos_token_id
        if self.is_hf:
            self.vocab_size: int = len(tokenizer)
        else:
            self.vocab_size = tokenizer.get_vocab_size(with_added_tokens=True)
        if eos_token_id is not None:
            # An id outside the vocabulary tokenizes fine and fails inside the model.
            eos_token_id = integer("eos_token_id", eos_token_id, minimum=0)
            check_special_id("eos_token_id", eos_token_id, self.vocab_size)
        self.eos_token_id = eos_token_id
        self.native = ByteLevelEncoder(tokenizer)
        self.bar: Any = None  # counts encoded texts when a progress bar is shown

    def by_tokenizer(self, texts: list[str], add_special_tokens: bool) -> list[list[int]]:
        if self.is_hf:
            ids: list[list[int]] = self.tokenizer(
                texts,
                add_special_tokens=add_special_tokens,
                return_attention_mask=False,
                return_token_type_ids=False,
            )["input_ids"]
            return ids
        encode = getattr(self.tokenizer, "encode_batch_fast", self.tokenizer.encode_batch)
        return [e.ids for e in encode(texts, add_special_tokens=add_special_tokens)]

    @property
    def used(self) -> str:
        """Which encoder produced the ids, for ``stats["encoder"]``."""
        if self.native.encoder is not None:
            return "prefcore"
        return f"tokenizer ({self.native.reason})"

    def encode(self, texts: list[str], add_special_tokens: bool) -> pa.Array:
        pieces = []
        for start in range(0, len(texts), ENCODE_CHUNK):
            chunk = texts[start : start + ENCODE_CHUNK]
            native = self.native.encode(
                chunk, add_special_tokens, lambda t: self.by_tokenizer(t, add_special_tokens)
            )
            if native is None:
                native = ids_to_arrow(self.by_tokenizer(chunk, add_special_tokens), "input_ids")
            pieces.append(native)
            if self.bar is not None:
                self.bar.update(len(chunk))
        if not pieces:
            return pa.array([], pa.list_(pa.int32()))
        return pa.concat_arrays(pieces) if len(pieces) > 1 else pieces[0]

    def render(self, messages: list[list[dict[str, Any]]], generation_prompt: bool) -> list[str]:
        """Conversations to text through the tokenizer's chat template."""
        if not hasattr(self.tokenizer, "apply_chat_template"):
            raise ArgumentTypeError(
                "conversational rows need a transformers tokenizer with a chat template "
                "(apply_chat_template); a bare tokenizers.Tokenizer has none"
            )
        return [
            self.tokenizer.apply_chat_template(
                m,
                tokenize=False,
                add_generation_prompt=generation_prompt,
                chat_template=self.chat_template,
            )
            for m in messages
        ]


def _is_conversational(column: pa.ChunkedArray) -> bool:
    return bool(pa.types.is_list(column.type) or pa.types.is_large_list(column.type))


def _texts(table: pa.Table, name: str) -> list[Any]:
    column = table.column(name)
    null = first_true(column.is_null())
    if null is not None:
        raise invalid_value(name, null, "null value; text is required")
    if not (
        _is_conversational(column)
        or pa.types.is_string(column.type)
        or pa.types.is_large_string(column.type)
        or pa.types.is_string_view(column.type)
    ):
        raise ColumnTypeError(
            f"column '{name}' has type {column.type}; expected text or a list of messages",
            column=name,
        )
    return column.to_pylist()  # type: ignore[no-any-return]


def _check_not_empty(name: str, texts: list[Any]) -> None:
    for row, t in enumerate(texts):
        if len(t) == 0:
            raise invalid_value(name, row, "empty completion")


def _prompt_and_completions(
    encoder: _Encoder, table: pa.Table, prompt: str, completions: Sequence[str], boundary: str
) -> tuple[list[str], list[list[str]], bool]:
    """Texts to tokenize, and whether they carry their own special tokens (chat)."""
    prompts = _texts(table, prompt)
    comps = [_texts(table, c) for c in completions]
    for name, texts in zip(completions, comps):
        _check_not_empty(name, texts)
    if not _is_conversational(table.column(prompt)):
        return prompts, comps, False
    prompt_text = encoder.render(prompts, generation_prompt=True)
    out = []
    for name, texts in zip(completions, comps):
        full = encoder.render([p + c for p, c in zip(prompts, texts)], generation_prompt=False)
        rest: list[str | None] = []
        for row, (p, f) in enumerate(zip(prompt_text, full)):
            if not f.startswith(p):
                if boundary == "separate":
                    raise invalid_value(
                        name,
                        row,
                        "the chat template renders the prompt differently on its own than "
                        "inside the conversation, so there is no separate completion text; "
                        "use boundary='joint'",
                    )
                rest.append(None)
            else:
                rest.append(f[len(p) :])
        # Joint mode re-joins prompt and completion, so an unrenderable split keeps the
        # whole conversation text and the token-level split finds the boundary.
        out.append([r if r is not None else f for r, f in zip(rest, full)])
    return prompt_text, out, True


def _tokenize(
    caller: Any,
    t: pa.Table,
    tokenizer: Any,
    prompt: str,
    completions: dict[str, str],
    *,
    max_length: int | None,
    max_prompt_length: int | None,
    truncation: Truncation,
    add_eos: bool,
    eos_token_id: int | None,
    chat_template: str | None,
    boundary: Boundary,
    progress: Progress,
    label: str,
) -> TokenizedTable:
    if boundary not in ("separate", "joint"):
        raise InvalidArgumentError(
            f"boundary must be 'separate' or 'joint', not {boundary!r}", argument="boundary"
        )
    if truncation not in ("keep_start", "keep_end"):
        raise InvalidArgumentError(
            f"truncation must be 'keep_start' or 'keep_end', not {truncation!r}",
            argument="truncation",
        )
    require_columns(t, prompt, *completions)
    encoder = _Encoder(tokenizer, eos_token_id, chat_template)
    if add_eos and encoder.eos_token_id is None:
        raise InvalidArgumentError(
            "add_eos=True needs an EOS id: pass eos_token_id= (a tokenizers.Tokenizer "
            "does not know which token ends a sequence)"
        )
    names = list(completions)
    prompt_text, comp_text, chat = _prompt_and_completions(encoder, t, prompt, names, boundary)
    specials = not chat
    # Texts to encode: the prompts, and each completion (alone, or joined to its prompt).
    n_texts = t.num_rows * (1 + len(names))
    with reporting(progress, label, n_texts, " texts", core=False) as bar:
        encoder.bar = bar
        prompt_ids = encoder.encode(prompt_text, add_special_tokens=specials)
        moved = None
        if boundary == "joint":
            joints = [
                encoder.encode(
                    [p + c for p, c in zip(prompt_text, texts)], add_special_tokens=specials
                )
                for texts in comp_text
            ]
            labels = [f"{prompt}_ids", *(f"{c}_ids" for c in names)]
            split = _prefcore.split_joint_tokens(prompt_ids, joints, labels)
            prompt_ids, comp_ids, moved = split.prompt, split.completions, split.boundary_moved
        else:
            comp_ids = [encoder.encode(texts, add_special_tokens=False) for texts in comp_text]
    labels = [f"{prompt}_ids", *(completions[c] for c in names)]
    eos = encoder.eos_token_id if add_eos and not chat else None
    cut = _prefcore.cut_tokens(
        prompt_ids, comp_ids, labels, max_length, max_prompt_length, truncation, eos
    )
    p_ids, c_ids, p_cut, c_cut = (
        cut.prompt,
        cut.completions,
        cut.prompt_truncated,
        cut.completion_truncated,
    )
    out = t.append_column(f"{prompt}_ids", p_ids).append_column(f"truncated_{prompt}", p_cut)
    stats: TokenizeStats = {
        "rows": t.num_rows,
        "boundary": boundary,
        "boundary_moved": int(pc.sum(moved).as_py() or 0) if moved is not None else 0,
        f"truncated_{prompt}": int(pc.sum(p_cut).as_py() or 0),
        f"{prompt}_tokens": int(pc.sum(pc.list_value_length(p_ids)).as_py() or 0),
        "vocab_size": encoder.vocab_size,
        "encoder": encoder.used,
    }
    for name, ids, flags in zip(names, c_ids, c_cut):
        out = out.append_column(completions[name], ids).append_column(f"truncated_{name}", flags)
        stats[f"truncated_{name}"] = int(pc.sum(flags).as_py() or 0)
        stats[f"{name}_tokens"] = int(pc.sum(pc.list_value_length(ids)).as_py() or 0)
    rows = in_callers_type(
        caller, out, f"prefcore.tokenize.{label}", same_rows=True,
        tokenizer=tokenizer, vocab=encoder.vocab_size, prompt=prompt,
        completions=completions, max_length=max_length, max_prompt_length=max_prompt_length,
        truncation=truncation, add_eos=add_eos, eos=encoder.eos_token_id,
        chat_template=chat_template, boundary=boundary,
    )  # fmt: skip
    return TokenizedTable(rows, stats)


def _split_prompts(t: pa.Table, prompt: str, chosen: str, rejected: str) -> pa.Table:
    """Implicit-prompt pairs to explicit ones; a row without a clean split is an error."""
    from prefcore.formats import extract_prompt

    split = extract_prompt(t, chosen, rejected)
    bad = first_true(pc.invert(split.ok))
    if bad is not None:
        unclean = split.stats["rows"] - split.stats["clean"]
        raise InvalidArgumentError(
            f"columns '{chosen}'/'{rejected}', row {bad}: no shared prompt to split off "
            f"({split.reason[bad].as_py()}; {unclean} such rows in all). Run "
            "prefcore.formats.extract_prompt and tokenize split.clean(), or add a "
            f"'{prompt}' column"
        )
    rest = [c for c in t.column_names if c not in (chosen, rejected)]
    out = split.table.rename_columns([prompt, chosen, rejected])
    for c in rest:
        out = out.append_column(c, t.column(c))
    return out


def tokenize_pairs(
    table: Any,
    tokenizer: Any,
    *,
    max_length: int | None = None,
    max_prompt_length: int | None = None,
    truncation: Truncation = "keep_start",
    add_eos: bool = True,
    eos_token_id: int | None = None,
    chat_template: str | None = None,
    boundary: Boundary = "separate",
    prompt: str = "prompt",
    chosen: str = "chosen",
    rejected: str = "rejected",
    progress: Progress = None,
) -> TokenizedTable:
    """Tokenize explicit-prompt pairs into ``prompt_ids``, ``chosen_ids``, ``rejected_ids``.

    Columns hold text, or conversations (lists of ``{"role", "content"}`` messages)
    rendered with the tokenizer's chat template (``chat_template`` overrides it). Pairs
    whose prompt is still inside ``chosen``/``rejected`` go through
    :func:`prefcore.formats.extract_prompt` first. See the module docs for the
    boundary, EOS and truncation rules; ``stats`` counts what each of them did.
    ``eos_token_id`` defaults to the tokenizer's own (transformers tokenizers).

    ``progress``: a progress bar on long runs (see *Progress bars* in the semantics page).

    >>> from tokenizers import Tokenizer, models, pre_tokenizers
    >>> vocab = {"<eos>": 0, "hi": 1, "yes": 2, "no": 3, "thanks": 4}
    >>> tok = Tokenizer(models.WordLevel(vocab, unk_token="<eos>"))
    >>> tok.pre_tokenizer = pre_tokenizers.Whitespace()
    >>> rows = {"prompt": ["hi"], "chosen": ["yes thanks"], "rejected": ["no"]}
    >>> out = tokenize_pairs(rows, tok, eos_token_id=0)
    >>> out.table.select(["prompt_ids", "chosen_ids", "rejected_ids"]).to_pylist()
    [{'prompt_ids': [1], 'chosen_ids': [2, 4, 0], 'rejected_ids': [3, 0]}]
    >>> out.stats["chosen_tokens"], out.stats["truncated_chosen"]
    (3, 0)
    """
    t = as_pyarrow_table(table, "table")
    if prompt not in t.column_names and {chosen, rejected} <= set(t.column_names):
        t = _split_prompts(t, prompt, chosen, rejected)
    return _tokenize(
        table,
        t,
        tokenizer,
        prompt,
        {chosen: f"{chosen}_ids", rejected: f"{rejected}_ids"},
        max_length=max_length,
        max_prompt_length=max_prompt_length,
        truncation=truncation,
        add_eos=add_eos,
        eos_token_id=eos_token_id,
        chat_template=chat_template,
        boundary=boundary,
        progress=progress,
        label="tokenize_pairs",
    )


def tokenize_unpaired(
    table: Any,
    tokenizer: Any,
    *,
    max_length: int | None = None,
    max_prompt_length: int | None = None,
    truncation: Truncation = "keep_start",
    add_eos: bool = True,
    eos_token_id: int | None = None,
    chat_template: str | None = None,
    boundary: Boundary = "separate",
    prompt: str = "prompt",
    completion: str = "completion",
    progress: Progress = None,
) -> TokenizedTable:
    """Tokenize unpaired (KTO) rows into ``prompt_ids`` and ``completion_ids``; the
    ``label`` and any other column pass through. Same rules as :func:`tokenize_pairs`.

    ``progress``: a progress bar on long runs (see *Progress bars* in the semantics page).

    >>> from tokenizers import Tokenizer, models, pre_tokenizers
    >>> tok = Tokenizer(models.WordLevel({"<eos>": 0, "hi": 1, "yes": 2}, unk_token="<eos>"))
    >>> tok.pre_tokenizer = pre_tokenizers.Whitespace()
    >>> rows = {"prompt": ["hi"], "completion": ["yes"], "label": [True]}
    >>> tokenize_unpaired(rows, tok, eos_token_id=0).table.column("completion_ids").to_pylist()
    [[2, 0]]
    """
    return _tokenize(
        table,
        as_pyarrow_table(table, "table"),
        tokenizer,
        prompt,
        {completion: f"{completion}_ids"},
        max_length=max_length,
        max_prompt_length=max_prompt_length,
        truncation=truncation,
        add_eos=add_eos,
        eos_token_id=eos_token_id,
        chat_template=chat_template,
        boundary=boundary,
        progress=progress,
        label="tokenize_unpaired",
    )


check_arguments(__name__)  # each public function checks its arguments' annotations
