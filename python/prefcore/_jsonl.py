"""Types of JSON Lines columns as Python's ``json`` (and pandas, polars) read them.

Arrow's JSON reader infers each block's types on its own, so a column can be
``int64`` in one block and ``double`` in the next, or ``null`` until its first
value. Here the blocks' schemas are unified (:func:`unify_schema`): ``null`` then
``T`` is ``T``; integers and floats are floats, unless an integer would not survive
the conversion (beyond 2**53), which is an error naming the column and the line;
a column absent from some lines is null there. Anything else (a string where an
earlier line had a number) is a mixed-type error. Nesting deeper than
:data:`MAX_DEPTH` is refused by name before the parser sees it: Arrow's recursive
reader crashes on a line nested some thousands of levels deep.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc

from prefcore.errors import InputError

__all__ = ["MAX_DEPTH", "check_depth", "conform", "exact_integers", "unify_schema"]

#: The deepest nesting of arrays and objects read (Python's ``json`` stops near 1000
#: too, at its recursion limit).
MAX_DEPTH = 1000
#: The largest integer every one of whose neighbours a float64 holds exactly.
EXACT_IN_FLOAT = 2**53

_STRING = re.compile(rb'"(?:[^"\\]|\\.)*"')
_BRACKET = re.compile(rb"[\[\]{}]")
# An integer literal of 16 or more digits (2**53 has 16): the only kind a float64
# may round. A string holding digits also matches; it only costs a closer look.
_LONG_INTEGER = re.compile(rb"(?<![\d.eE+\-])-?\d{16,}(?![\d.eE])")


def nesting_depth(line: bytes) -> int:
    """The deepest nesting of arrays and objects in one JSON line."""
    depth = deepest = 0
    for bracket in _BRACKET.findall(_STRING.sub(b'""', line)):
        if bracket in (b"[", b"{"):
            depth += 1
            deepest = max(deepest, depth)
        else:
            depth -= 1
    return deepest


def check_depth(path: Path, lines: list[tuple[int, bytes]]) -> None:
    """An ``InputError`` for the first line nested deeper than :data:`MAX_DEPTH`."""
    for number, line in lines:
        # Counting brackets is cheap and bounds the depth from above.
        if line.count(b"[") + line.count(b"{") > MAX_DEPTH and nesting_depth(line) > MAX_DEPTH:
            raise InputError(
                f"{path}, line {number}: JSON nested deeper than {MAX_DEPTH} levels",
                path=str(path),
                line=number,
            )


def _unify(a: pa.DataType, b: pa.DataType) -> pa.DataType | None:
    if a == b:
        return a
    if pa.types.is_null(a):
        return b
    if pa.types.is_null(b):
        return a
    numbers = (pa.types.is_integer(a) or pa.types.is_floating(a)) and (
        pa.types.is_integer(b) or pa.types.is_floating(b)
    )
    if numbers:
        return pa.float64()
    if pa.types.is_list(a) and pa.types.is_list(b):
        inner = _unify(a.value_type, b.value_type)
        return None if inner is None else pa.list_(inner)
    if pa.types.is_struct(a) and pa.types.is_struct(b):
        fields: dict[str, pa.DataType] = {f.name: f.type for f in a}
        for f in b:
            if f.name in fields:
                inner = _unify(fields[f.name], f.type)
                if inner is None:
                    return None
                fields[f.name] = inner
            else:
                fields[f.name] = f.type
        return pa.struct([pa.field(n, t) for n, t in fields.items()])
    return None


def unify_schema(
    earlier: pa.Schema | None, block: pa.Schema, path: Path, first_line: int
) -> pa.Schema:
    """The schema holding both ``earlier`` blocks and this one, columns in order of
    first appearance; an ``InputError`` naming the column where no type holds both."""
    if earlier is None:
        return block
    types: dict[str, pa.DataType] = {f.name: f.type for f in earlier}
    for f in block:
        if f.name not in types:
            types[f.name] = f.type
            continue
        unified = _unify(types[f.name], f.type)
        if unified is None:
            raise InputError(
                f"{path}, from line {first_line}: column '{f.name}' holds {f.type} values "
                f"where earlier lines hold {types[f.name]} (mixed types)",
                path=str(path),
                line=first_line,
            )
        types[f.name] = unified
    return pa.schema([pa.field(n, t) for n, t in types.items()])


def _too_large(path: Path, column: str, line: int, value: int) -> InputError:
    return InputError(
        f"{path}, line {line}: column '{column}' holds the integer {value}, which a float64 "
        f"cannot hold exactly, and other lines hold floats; write it as a string, or "
        f"keep the column integral",
        path=str(path),
        line=line,
    )


def exact_integers(path: Path, table: pa.Table, lines: list[tuple[int, bytes]]) -> None:
    """Within one block Arrow reads a column of integers and floats as float64,
    rounding integers past 2**53: refuse such a line by name instead."""
    floats = [f.name for f in table.schema if pa.types.is_floating(f.type)]
    if not floats:
        return
    for number, line in lines:
        if not _LONG_INTEGER.search(line):
            continue
        record = json.loads(line)
        for name in floats:
            value = record.get(name)
            if isinstance(value, int) and abs(value) > EXACT_IN_FLOAT:
                raise _too_large(path, name, number, value)


def conform(table: pa.Table, schema: pa.Schema, path: Path, line_numbers: pa.Array) -> pa.Table:
    """``table`` (one block, whose rows came from ``line_numbers``) in the unified
    ``schema``: absent columns null, integers of columns that became floats converted,
    if each is exact in a float64."""
    columns = []
    for field in schema:
        if field.name not in table.column_names:
            columns.append(pa.nulls(table.num_rows, field.type))
            continue
        column = table.column(field.name)
        if pa.types.is_integer(column.type) and pa.types.is_floating(field.type):
            outside = pc.or_(pc.greater(column, EXACT_IN_FLOAT), pc.less(column, -EXACT_IN_FLOAT))
            hits = pc.indices_nonzero(pc.fill_null(outside, False))
            if len(hits):
                row = hits[0].as_py()
                value = column[row].as_py()
                raise _too_large(path, field.name, line_numbers[row].as_py(), value)
        columns.append(column.cast(field.type) if column.type != field.type else column)
    return pa.Table.from_arrays(columns, schema=schema)
