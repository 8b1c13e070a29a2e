"""Typed command options, each defined once.

A command's options are a frozen dataclass whose fields say, in their metadata, how the
option is spelt and checked (:func:`option`). The command line's flags are made from
those fields (:func:`add_options`) and read back into the dataclass
(:func:`from_args`); a job file's ``[[steps]]`` table is checked against the same
fields and read into the same dataclass (:func:`from_table`), without passing through
argv strings.
"""

from __future__ import annotations

import argparse
import dataclasses
import typing
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from prefcore._check import integer
from prefcore.errors import InvalidArgumentError
from prefcore.io import Format, OnError

__all__ = [
    "COUNT",
    "FORMATS",
    "LEVEL",
    "SEED",
    "Files",
    "HelpFormat",
    "Integer",
    "add_file_command",
    "add_io_options",
    "add_options",
    "from_args",
    "from_table",
    "option",
]

FORMATS: tuple[Format, ...] = typing.get_args(Format)
BATCH_ROWS = 16_384

T = TypeVar("T")


class Integer:
    """An integer option in ``[minimum, maximum]`` (``_check.integer``'s rule). Called
    with the command line's text, it is an argparse ``type`` (a bad value is a usage
    error); :meth:`check` takes a job file's value."""

    def __init__(self, minimum: int, maximum: int = 2**63 - 1) -> None:
        self.minimum, self.maximum = minimum, maximum
        self.__name__ = "integer"  # argparse names the type in its messages

    def check(self, name: str, value: Any) -> int:
        return integer(name, value, minimum=self.minimum, maximum=self.maximum)

    def __call__(self, text: str) -> int:
        try:
            return self.check("value", int(text))
        except ValueError as err:
            message = str(err) if "must be" in str(err) else f"{text!r} is not an integer"
            raise argparse.ArgumentTypeError(message) from None


COUNT = Integer(1)  # sizes and counts: at least 1
SEED = Integer(0, 2**64 - 1)  # seeds: any unsigned 64-bit value
LEVEL = Integer(-(2**63))  # relevance levels: any 64-bit value

# What an option holds: text, a number, an integer in a range, a switch, or a list of
# column names.
Kind = type[str] | type[float] | type[bool] | type[tuple[Any, ...]] | Integer


@dataclass(frozen=True)
class Flag:
    """How one option is spelt on the command line and checked in a job file."""

    help: str
    kind: Kind
    choices: tuple[str, ...] | None
    short: str | None
    metavar: str | None
    required: bool


def option(
    help: str,
    *,
    default: Any = None,
    kind: Kind = str,
    choices: Sequence[str] | None = None,
    short: str | None = None,
    metavar: str | None = None,
    required: bool = False,
) -> Any:
    """A dataclass field that is a command option (``--name-with-dashes`` on the command
    line, ``name_with_underscores`` in a job file)."""
    flag = Flag(help, kind, tuple(choices) if choices else None, short, metavar, required)
    if required:
        return dataclasses.field(metadata={"flag": flag})
    return dataclasses.field(default=default, metadata={"flag": flag})


def _flags(options: type) -> list[tuple[str, Flag]]:
    """Each field's flag; a field typed with a ``Literal`` takes its values as choices,
    so the vocabulary is written once, in the type."""
    hints = typing.get_type_hints(options)
    out = []
    for f in dataclasses.fields(options):
        flag: Flag = f.metadata["flag"]
        values = _literal_values(hints[f.name])
        if values and flag.choices is None:
            flag = dataclasses.replace(flag, choices=values)
        out.append((f.name, flag))
    return out


def _literal_values(annotation: Any) -> tuple[str, ...] | None:
    """The values of a ``Literal`` annotation (or of ``Literal[...] | None``)."""
    members = [annotation]
    if typing.get_origin(annotation) is not typing.Literal:
        members = [a for a in typing.get_args(annotation) if a is not type(None)]
    if len(members) == 1 and typing.get_origin(members[0]) is typing.Literal:
        return tuple(typing.get_args(members[0]))
    return None


def add_options(parser: argparse.ArgumentParser, options: type) -> None:
    """One command-line flag per field of the dataclass ``options``."""
    defaults = {f.name: f.default for f in dataclasses.fields(options)}
    for name, flag in _flags(options):
        spelt = flag.short or "--" + name.replace("_", "-")
        settings: dict[str, Any] = {"dest": name, "help": flag.help}
        if flag.kind is bool:
            settings["action"] = "store_true"
        elif flag.kind is tuple:
            settings |= {"nargs": "+", "metavar": flag.metavar or "COL"}
        else:
            default = defaults[name]
            settings |= {"default": None if default is dataclasses.MISSING else default}
            if flag.kind is not str:
                settings["type"] = flag.kind
            if flag.choices:
                settings["choices"] = flag.choices
            if flag.metavar:
                settings["metavar"] = flag.metavar
        if flag.required:
            settings["required"] = True
        parser.add_argument(spelt, **settings)


def from_args(options: type[T], args: argparse.Namespace) -> T:
    """The dataclass ``options`` from parsed command-line arguments."""
    values = {}
    for name, flag in _flags(options):
        value = getattr(args, name)
        values[name] = tuple(value or ()) if flag.kind is tuple else value
    return options(**values)


def from_table(options: type[T], table: Mapping[str, Any], where: str) -> T:
    """The dataclass ``options`` from a job file's table, each value checked as its
    flag's value would be; ``where`` (file and step) starts every error message."""
    flags = dict(_flags(options))
    unknown = sorted(set(table) - set(flags))
    if unknown:
        raise InvalidArgumentError(
            f"{where}: unknown keys {unknown}; this step takes {sorted(flags)}",
            argument=unknown[0],
        )
    values = {}
    for name, flag in flags.items():
        if name in table:
            values[name] = _checked(name, flag, table[name], where)
        elif flag.required:
            raise InvalidArgumentError(f"{where}: '{name}' is missing", argument=name)
    return options(**values)


def _checked(name: str, flag: Flag, value: Any, where: str) -> Any:
    def wrong(expected: str) -> InvalidArgumentError:
        return InvalidArgumentError(
            f"{where}: '{name}' must be {expected}, not {value!r}", argument=name
        )

    number = isinstance(value, (int, float)) and not isinstance(value, bool)
    if flag.kind is bool:
        if not isinstance(value, bool):
            raise wrong("true or false")
        return value
    if flag.kind is tuple:
        names = [value] if isinstance(value, str) else value
        if not isinstance(names, list) or not names or not all(isinstance(v, str) for v in names):
            raise wrong("a column name or a list of them")
        return tuple(names)
    if isinstance(flag.kind, Integer):
        if not isinstance(value, int) or isinstance(value, bool):
            raise wrong(f"an integer in [{flag.kind.minimum}, {flag.kind.maximum}]")
        try:
            return flag.kind.check(name, value)
        except ValueError as err:
            raise InvalidArgumentError(f"{where}: {err}", argument=name) from None
    if flag.kind is float:
        if not number:
            raise wrong("a number")
        return float(value)
    if not isinstance(value, str):
        raise wrong("a string")
    if flag.choices and value not in flag.choices:
        raise wrong(f"one of {list(flag.choices)}")
    return value


@dataclass(frozen=True)
class Files:
    """Where a command reads and writes, and how: the options every file command shares."""

    input: str
    output: str | None = None
    in_format: Format | None = None
    out_format: Format | None = None
    on_error: OnError = "fail"
    batch_rows: int = BATCH_ROWS
    report: str | None = None
    quiet: bool = False

    @classmethod
    def from_args(cls, args: argparse.Namespace) -> Files:
        return cls(
            input=args.input,
            output=getattr(args, "output", None),
            in_format=args.in_format,
            out_format=getattr(args, "out_format", None),
            on_error=args.on_error,
            batch_rows=args.batch_rows,
            report=args.report,
            quiet=args.quiet,
        )

    def refuse_overwrites(self, **inputs: str | None) -> None:
        """Refuses an OUT or report that is IN or one of the other ``inputs`` (flag
        name without dashes: path)."""
        from prefcore.io import refuse_overwrites

        named = {"IN": self.input} | {f"--{k.replace('_', '-')}": v for k, v in inputs.items()}
        refuse_overwrites(named, {"OUT": self.output, "--report": self.report})

    def target(self) -> str:
        """OUT: a positional argument of a writing command, or a job's next target."""
        if self.output is None:
            raise InvalidArgumentError("this command writes OUT, and none was given")
        return self.output

    def source(self, path: str | None = None, fmt: Format | None = None) -> Any:
        """A batch source over ``path`` (the input by default)."""
        from prefcore.io import open_source

        return open_source(
            path or self.input,
            fmt or self.in_format,
            on_error=self.on_error,
            batch_rows=self.batch_rows,
        )


def add_file_command(
    sub: Any, name: str, options: type, *, help: str, description: str, epilog: str
) -> argparse.ArgumentParser:
    """The parser of a command that reads IN and writes OUT: its typed ``options``,
    then the file options."""
    p: argparse.ArgumentParser = sub.add_parser(
        name, help=help, description=description, epilog=epilog, formatter_class=HelpFormat
    )
    p.add_argument("input", metavar="IN", help="input file or directory")
    p.add_argument("output", metavar="OUT", help="output file (written atomically)")
    add_options(p, options)
    add_io_options(p)
    return p


def add_io_options(p: argparse.ArgumentParser, output: bool = True) -> None:
    """The flags of :class:`Files` beside IN and OUT."""
    p.add_argument("--in-format", choices=FORMATS, help="input format (default: from IN)")
    if output:
        p.add_argument(
            "--out-format", choices=FORMATS[:-1], help="output format (default: from OUT)"
        )
    p.add_argument("--on-error", choices=["fail", "skip"], default="fail",
                   help="malformed JSONL lines: fail (default) or skip and count them")  # fmt: skip
    p.add_argument("--batch-rows", type=COUNT, default=BATCH_ROWS, help="rows per record batch")
    p.add_argument("--report", help="write the JSON report here")
    p.add_argument("-q", "--quiet", action="store_true",
                   help="no progress on stderr (eval's -q is trec_eval's per-query)")  # fmt: skip


class HelpFormat(argparse.RawDescriptionHelpFormatter):
    """Subcommand help keeps the examples' line breaks, and every option with a default
    says it, in one form: ``(default: X)``."""

    def _get_help_string(self, action: argparse.Action) -> str | None:
        text = action.help or ""
        default = action.default
        if (
            not action.option_strings
            or default in (None, argparse.SUPPRESS)
            or isinstance(default, bool)
            or "default" in text  # says it in its own words
        ):
            return text
        shown = " ".join(map(str, default)) if isinstance(default, (list, tuple)) else default
        return f"{text} (default: {shown})".replace("%", "%%")
