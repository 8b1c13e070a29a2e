"""Preference data formats: what a table holds, whether it is valid, and the
conversions between HH-style transcripts and conversational messages.

Column names follow TRL: pairwise data has ``prompt``, ``chosen``, ``rejected``;
unpaired (KTO/BCO) data has ``prompt``, ``completion``, ``label``. A text value is a
string or a conversation, a list of ``{role, content}`` structs.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal, TypedDict, overload

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from prefcore import _prefcore
from prefcore._arrow import (
    as_array,
    as_pyarrow_table,
    as_table,
    filter_like,
    first_true,
    in_callers_type,
    require_no_nulls,
)
from prefcore._display import Summarised
from prefcore._typed import check_arguments
from prefcore.errors import (
    ArgumentTypeError,
    ColumnTypeError,
    InvalidArgumentError,
    InvalidValueError,
    MissingColumnError,
    invalid_value,
)

__all__ = [
    "FORMATS",
    "FormatInfo",
    "PromptSplit",
    "PromptSplitStats",
    "detect",
    "extract_prompt",
    "parse_transcript",
    "render_transcript",
    "validate",
]

Format = Literal["pairwise", "transcript", "unpaired", "scored", "ranked"]

#: The formats and the columns that identify them.
FORMATS: dict[str, tuple[str, ...]] = {
    "pairwise": ("prompt", "chosen", "rejected"),
    "transcript": ("chosen", "rejected"),
    "unpaired": ("prompt", "completion", "label"),
    "scored": ("prompt", "completions", "scores"),
    "ranked": ("prompt", "completions", "ranking"),
}


@dataclass(frozen=True, repr=False)
class FormatInfo(Summarised):
    """A table's format, the columns it was recognised by, and whether its texts are
    conversations (lists of ``{role, content}``) rather than strings."""

    format: str
    columns: tuple[str, ...]
    conversational: bool


def _table(table: Any) -> pa.Table:
    return as_pyarrow_table(table, "table")


def detect(table: Any) -> FormatInfo:
    """Which preference format ``table`` is in.

    ``transcript`` is pairwise data without a ``prompt`` column, where ``chosen`` and
    ``rejected`` hold whole conversations (HH-RLHF); :func:`extract_prompt` turns it
    into ``pairwise``.

    >>> detect({"prompt": ["q"], "chosen": ["a"], "rejected": ["b"]}).format
    'pairwise'
    >>> detect({"prompt": ["q"], "completion": ["a"], "label": [True]}).format
    'unpaired'
    """
    t = _table(table)
    names = set(t.column_names)
    for name, columns in FORMATS.items():
        needed = set(columns) - ({"prompt"} if name in ("scored", "ranked") else set())
        if needed <= names:
            used = tuple(c for c in columns if c in names)
            text = "chosen" if "chosen" in names else used[1] if len(used) > 1 else used[0]
            return FormatInfo(name, used, _is_conversation(t.schema.field(text).type))
    wanted = "; ".join(f"{k}: {', '.join(v)}" for k, v in FORMATS.items())
    raise InvalidArgumentError(
        f"no preference format matches the columns {t.column_names}; the formats need {wanted}"
    )


def _is_conversation(t: pa.DataType) -> bool:
    if not (pa.types.is_list(t) or pa.types.is_large_list(t)):
        return False
    inner = t.value_type
    return pa.types.is_struct(inner) and {"role", "content"} <= {
        inner.field(i).name for i in range(inner.num_fields)
    }


def _is_text(t: pa.DataType) -> bool:
    return pa.types.is_string(t) or pa.types.is_large_string(t) or _is_conversation(t)


def _check_text(t: pa.Table, name: str) -> None:
    typ = t.schema.field(name).type
    if not _is_text(typ):
        raise ColumnTypeError(
            f"column '{name}' has type {typ}; expected strings or a list of {{role, content}} "
            "structs",
            column=name,
        )
    require_no_nulls(t, name)


def _check_numeric_lists(t: pa.Table, name: str, against: str) -> None:
    typ = t.schema.field(name).type
    if not (pa.types.is_list(typ) or pa.types.is_large_list(typ)) or not (
        pa.types.is_integer(typ.value_type) or pa.types.is_floating(typ.value_type)
    ):
        raise ColumnTypeError(
            f"column '{name}' has type {typ}; expected a list of numbers", column=name
        )
    require_no_nulls(t, name)
    lengths = pc.list_value_length(t.column(name))
    other = pc.list_value_length(t.column(against))
    row = first_true(pc.not_equal(lengths, other))
    if row is not None:
        raise invalid_value(
            name,
            row,
            f"{lengths[row].as_py()} values for {other[row].as_py()} entries in '{against}'",
        )
    flat = pc.list_flatten(t.column(name))
    if flat.null_count:
        raise InvalidValueError(f"column '{name}': a list holds a null value", column=name)
    if pa.types.is_floating(typ.value_type):
        bad = first_true(pc.is_nan(flat))
        if bad is not None:
            offsets = np.cumsum([0, *lengths.to_numpy(zero_copy_only=False)])
            row = int(np.searchsorted(offsets, bad, side="right") - 1)
            raise invalid_value(name, row, "NaN")


def validate(table: Any, format: Format | None = None) -> FormatInfo:
    """Check that ``table`` is valid ``format`` data (detected when None): the columns
    exist, texts are strings or conversations without nulls, labels are booleans,
    score and ranking lists match the completions and hold no NaN.

    >>> validate({"prompt": ["q"], "chosen": ["a"], "rejected": ["b"]}).columns
    ('prompt', 'chosen', 'rejected')
    >>> validate({"prompt": ["q"], "completion": ["a"], "label": [1]}, "unpaired")
    Traceback (most recent call last):
    ...
    prefcore.errors.ArgumentTypeError: column 'label' has type int64; expected bool
    """
    t = _table(table)
    info = detect(t) if format is None else None
    fmt = info.format if info else format
    if fmt not in FORMATS:
        raise InvalidArgumentError(
            f"format must be one of {sorted(FORMATS)}; not {fmt!r}", argument="format"
        )
    required = FORMATS[fmt]
    optional_prompt = fmt in ("scored", "ranked")
    for c in required:
        if c not in t.column_names and not (c == "prompt" and optional_prompt):
            raise MissingColumnError(
                f"{fmt} data needs column '{c}'; the table has {t.column_names}", column=c
            )
    columns = tuple(c for c in required if c in t.column_names)
    texts = [c for c in columns if c in ("prompt", "chosen", "rejected", "completion")]
    for c in texts:
        _check_text(t, c)
    if fmt == "unpaired":
        typ = t.schema.field("label").type
        if not pa.types.is_boolean(typ):
            raise ArgumentTypeError(f"column 'label' has type {typ}; expected bool")
        require_no_nulls(t, "label")
    if fmt in ("scored", "ranked"):
        typ = t.schema.field("completions").type
        if not (pa.types.is_list(typ) or pa.types.is_large_list(typ)) or not _is_text(
            typ.value_type
        ):
            raise ArgumentTypeError(
                f"column 'completions' has type {typ}; expected a list of strings or conversations"
            )
        require_no_nulls(t, "completions")
        _check_numeric_lists(t, "scores" if fmt == "scored" else "ranking", "completions")
    first_text = t.schema.field(texts[-1]).type if texts else pa.null()
    conversational = _is_conversation(first_text)
    if fmt in ("scored", "ranked"):
        conversational = _is_conversation(t.schema.field("completions").type.value_type)
    return FormatInfo(fmt, columns, conversational)


class PromptSplitStats(TypedDict):
    """``PromptSplit.stats``: rows, rows split cleanly, and the other rows per reason."""

    rows: int
    clean: int
    by_reason: dict[str, int]


@dataclass(frozen=True, repr=False)
class PromptSplit(Summarised):
    """The result of :func:`extract_prompt`.

    ``table`` has ``prompt``, ``chosen`` and ``rejected`` for every input row; they are
    null where no clean split exists, and ``reason`` says why: ``no_shared_prompt``
    (no complete turn in common), ``diverges_before_last_turn`` (the transcripts
    differ before their last assistant turn) or ``identical``. ``ok`` marks clean rows.
    ``table`` is in the input's type (see :class:`prefcore.pairs.PairResult`).
    """

    table: Any
    reason: pa.Array
    stats: PromptSplitStats

    @property
    def ok(self) -> pa.Array:
        return pc.is_null(self.reason)

    def clean(self) -> Any:
        """The rows with a clean split (in the type of ``table``)."""
        return filter_like(self.table, self.ok, "split")


def extract_prompt(
    table: Any,
    chosen: str = "chosen",
    rejected: str = "rejected",
    *,
    roles: tuple[str, str] = ("Human", "Assistant"),
    rule: Literal["turn", "trl"] = "turn",
) -> PromptSplit:
    """Split the shared prompt off ``chosen`` and ``rejected`` transcripts.

    ``rule="turn"`` (default): for HH-style strings the prompt is their longest common
    prefix cut back to the end of its last ``\\n\\nAssistant:`` marker (``roles``
    names the two speakers); for conversations it is the longest run of equal leading
    messages, cut back to the last one that is not the assistant's. Rows with no
    clean split are reported, not guessed (see :class:`PromptSplit`).

    ``rule="trl"`` reproduces TRL's ``extract_prompt`` exactly, for runs that must
    match TRL's own preparation: the split falls at the first differing character
    (or message), one space back when a space precedes it. In text that can be inside
    a word: two answers "Dogs..." and "Don't..." share the prompt "...Assistant: Do".
    Every row is then "clean"; the turn rule finds 445 of the 2,312 rows of the HH
    sample split differently.

    >>> s = extract_prompt({
    ...     "chosen": ["\\n\\nHuman: Hi?\\n\\nAssistant: Hello!"],
    ...     "rejected": ["\\n\\nHuman: Hi?\\n\\nAssistant: Go away."]})
    >>> s.table.to_pylist()
    [{'prompt': '\\n\\nHuman: Hi?\\n\\nAssistant:', 'chosen': ' Hello!', 'rejected': ' Go away.'}]
    """
    if rule == "trl":
        split = _first_difference_split(as_pyarrow_table(table, "table"), chosen, rejected)
    elif rule == "turn":
        parts = _prefcore.extract_prompt(
            as_table(table, "table"), chosen, rejected, roles[0], roles[1]
        )
        reason = parts.reason
        out = pa.table({"prompt": parts.prompt, "chosen": parts.chosen, "rejected": parts.rejected})
        counts = {d["values"]: d["counts"] for d in pc.value_counts(reason.drop_null()).to_pylist()}
        stats = PromptSplitStats(rows=len(reason), clean=reason.null_count, by_reason=counts)
        split = PromptSplit(out, reason, stats)
    else:
        raise InvalidArgumentError(f"rule must be 'turn' or 'trl', not {rule!r}", argument="rule")
    rows = in_callers_type(
        table, split.table, "prefcore.formats.extract_prompt", same_rows=True,
        chosen=chosen, rejected=rejected, roles=roles, rule=rule,
    )  # fmt: skip
    return PromptSplit(rows, split.reason, split.stats)


def _common_prefix(a: Any, b: Any, n: int) -> int:
    """Length of the common prefix of ``a`` and ``b`` (both at least ``n`` long)."""
    if not isinstance(a, str):
        return next((i for i in range(n) if a[i] != b[i]), n)
    # Binary search with slice comparisons: C speed, where a loop over characters is
    # most of the preparation's time on long transcripts.
    lo, hi = 0, n
    while lo < hi:
        mid = (lo + hi + 1) // 2
        if a[:mid] == b[:mid]:
            lo = mid
        else:
            hi = mid - 1
    return lo


def _first_difference_split(t: pa.Table, chosen: str, rejected: str) -> PromptSplit:
    """TRL's rule, quirks included, so a run can reproduce its preparation exactly."""
    for name in (chosen, rejected):
        if name not in t.column_names:
            raise MissingColumnError(
                f"column '{name}' not found; the table has {t.column_names}", column=name
            )
        require_no_nulls(t, name)
    prompts, firsts, seconds = [], [], []
    for row, (a, b) in enumerate(zip(t.column(chosen).to_pylist(), t.column(rejected).to_pylist())):
        n = min(len(a), len(b))
        if n == 0:
            raise InvalidValueError(
                f"columns '{chosen}'/'{rejected}', row {row}: empty transcript",
                column=chosen,
                row=row,
            )
        common = _common_prefix(a, b, n)
        # TRL scans positions 0..n-1 and stops at the first difference; when there is
        # none it stops on the last position, so a transcript that is a prefix of the
        # other loses its last character (or message) to the completions.
        idx = common if common < n else n - 1
        if common < n and a[idx - 1] == " ":
            idx -= 1
        prompts.append(a[:idx])
        firsts.append(a[idx:])
        seconds.append(b[idx:])
    typ = t.schema.field(chosen).type
    typ = pa.string() if pa.types.is_string_view(typ) else typ
    out = pa.table(
        {
            "prompt": pa.array(prompts, typ),
            "chosen": pa.array(firsts, typ),
            "rejected": pa.array(seconds, typ),
        }
    )
    reason = pa.nulls(t.num_rows, pa.string())
    stats = PromptSplitStats(rows=t.num_rows, clean=t.num_rows, by_reason={})
    return PromptSplit(out, reason, stats)


Message = dict[str, str]


@overload
def parse_transcript(text: str, roles: tuple[str, str] = ...) -> list[Message]: ...
@overload
def parse_transcript(text: Any, roles: tuple[str, str] = ...) -> pa.Array: ...
def parse_transcript(
    text: str | Any, roles: tuple[str, str] = ("Human", "Assistant")
) -> list[Message] | pa.Array:
    """Parse HH-style transcripts into ``{role, content}`` messages.

    ``roles`` are the speaker names in the text; they become ``user`` and ``assistant``.
    Each turn starts with ``\\n\\n<name>:``; one space after the colon is dropped.
    Takes one string (returns a list of dicts) or a string column (returns a
    ``list<struct<role, content>>`` array).

    >>> parse_transcript("\\n\\nHuman: Hi?\\n\\nAssistant: Hello!")
    [{'role': 'user', 'content': 'Hi?'}, {'role': 'assistant', 'content': 'Hello!'}]
    """
    if isinstance(text, str):
        out = _prefcore.parse_transcripts(pa.array([text]), roles[0], roles[1])
        result: list[Message] = out[0].as_py()
        return result
    return _prefcore.parse_transcripts(as_array(text, "text"), roles[0], roles[1])


@overload
def render_transcript(messages: Sequence[Message], roles: tuple[str, str] = ...) -> str: ...
@overload
def render_transcript(messages: Any, roles: tuple[str, str] = ...) -> pa.Array: ...
def render_transcript(
    messages: Sequence[Message] | Any, roles: tuple[str, str] = ("Human", "Assistant")
) -> str | pa.Array:
    """Render ``{role, content}`` messages as HH-style text: the inverse of
    :func:`parse_transcript`. Only ``user`` and ``assistant`` roles have a marker.

    >>> render_transcript([{"role": "user", "content": "Hi?"},
    ...                    {"role": "assistant", "content": "Hello!"}])
    '\\n\\nHuman: Hi?\\n\\nAssistant: Hello!'
    """
    if isinstance(messages, Sequence) and all(isinstance(m, dict) for m in messages):
        typ = pa.list_(pa.struct([("role", pa.string()), ("content", pa.string())]))
        out = _prefcore.render_transcripts(pa.array([list(messages)], typ), roles[0], roles[1])
        text: str = out[0].as_py()
        return text
    return _prefcore.render_transcripts(as_array(messages, "messages"), roles[0], roles[1])


check_arguments(__name__)  # each public function checks its arguments' annotations
