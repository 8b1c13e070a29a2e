"""Reading and writing datasets as streams of Arrow record batches, with bounded memory.

Formats, chosen from the path (or ``format=``): Parquet (``.parquet``, ``.pq``), JSON
Lines (``.jsonl``, ``.ndjson``, ``.json``; optionally ``.gz``/``.zst``/``.bz2``), CSV
(``.csv``, optionally compressed), Arrow IPC (``.arrow``, ``.feather``, ``.ipc``), a
directory of shards of one format (read in name order), and a Hugging Face ``datasets``
directory written by ``save_to_disk`` (format ``"hf"``).

Output goes to a temporary file next to ``OUT`` that is renamed over it only when the
whole write succeeded: a failed or interrupted run leaves no half-written ``OUT``.

>>> import tempfile, pathlib
>>> d = pathlib.Path(tempfile.mkdtemp())
>>> _ = (d / "in.jsonl").write_text('{"prompt": "a"}\\n{"prompt": "b"}\\n')
>>> src = open_source(d / "in.jsonl")
>>> with AtomicWriter(d / "out.parquet") as w:
...     for batch in src.batches():
...         w.write(batch)
>>> open_source(d / "out.parquet").read_all().column("prompt").to_pylist()
['a', 'b']
"""

from __future__ import annotations

import glob
import io
import json
import os
import queue
import secrets
import signal
import threading
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Literal, TypeVar

import pyarrow as pa
import pyarrow.csv as pa_csv
import pyarrow.json as pa_json
import pyarrow.parquet as pq

from prefcore import _jsonl
from prefcore._check import integer, positive
from prefcore._check import path as check_path
from prefcore._typed import check_arguments
from prefcore.errors import InputError, InvalidArgumentError

__all__ = [
    "AtomicWriter",
    "InputError",
    "Source",
    "format_of",
    "interrupt_guard",
    "open_source",
    "prefetched",
    "process_alive",
    "require_writable",
    "temporary_path",
]

Format = Literal["parquet", "jsonl", "csv", "arrow", "hf"]
OnError = Literal["fail", "skip"]

_COMPRESSION = {".gz": "gzip", ".zst": "zstd", ".zstd": "zstd", ".bz2": "bz2"}
_EXTENSIONS: dict[str, Format] = {
    ".parquet": "parquet",
    ".pq": "parquet",
    ".jsonl": "jsonl",
    ".ndjson": "jsonl",
    ".json": "jsonl",
    ".csv": "csv",
    ".arrow": "arrow",
    ".feather": "arrow",
    ".ipc": "arrow",
}
#: Bytes of JSON Lines parsed per block: large enough for Arrow's parallel parser,
#: small enough to bound memory.
JSONL_BLOCK_BYTES = 16 << 20
#: Arrow bytes of parsed JSON Lines blocks kept between the typing pass and the
#: reading pass; an input past it is parsed twice instead.
JSONL_KEEP_BYTES = 512 << 20
_T = TypeVar("_T")


def _split_compression(path: Path) -> tuple[str, str | None]:
    suffixes = [s.lower() for s in path.suffixes]
    codec = _COMPRESSION.get(suffixes[-1]) if suffixes else None
    if codec:
        suffixes = suffixes[:-1]
    return (suffixes[-1] if suffixes else ""), codec


def format_of(path: str | os.PathLike[str]) -> Format:
    """The format a path names (a directory: ``hf`` or its shards' format).

    >>> format_of("train.jsonl.zst"), format_of("part-0.parquet"), format_of("x.csv.gz")
    ('jsonl', 'parquet', 'csv')
    """
    p = check_path("path", path)
    if p.is_dir():
        if (p / "state.json").exists() and (p / "dataset_info.json").exists():
            return "hf"
        shards = _shards(p)
        if not shards:
            raise InputError(f"{p}: a directory without data files")
        return format_of(shards[0])
    ext, _ = _split_compression(p)
    if ext not in _EXTENSIONS:
        raise InputError(
            f"{p}: cannot tell the format from the extension '{ext}'; "
            f"use one of {sorted(_EXTENSIONS)} or pass the format"
        )
    return _EXTENSIONS[ext]


def _shards(directory: Path) -> list[Path]:
    return sorted(
        f
        for f in directory.iterdir()
        if f.is_file() and not f.name.startswith(".") and _split_compression(f)[0] in _EXTENSIONS
    )


class Source:
    """A dataset on disk read as record batches; reading twice reads it twice."""

    def __init__(
        self,
        path: str | os.PathLike[str],
        format: Format | None = None,
        *,
        on_error: OnError = "fail",
        batch_rows: int = 16_384,
    ) -> None:
        self.path = check_path("path", path)
        if not self.path.exists():
            raise FileNotFoundError(f"{self.path}: no such file or directory")
        self.format: Format = format or format_of(self.path)
        self.on_error = on_error
        self.batch_rows = positive("batch_rows", batch_rows)
        #: Malformed lines skipped so far (``on_error="skip"``), as (file, line).
        self.skipped: list[tuple[str, int]] = []
        #: Bytes of the files (compressed, as on disk) read so far by this pass; kept
        #: for JSON Lines only, whose row count is not known up front.
        self.bytes_read: int | None = None
        self.schema: pa.Schema | None = None

    def files(self) -> list[Path]:
        if self.format == "hf":
            state = json.loads((self.path / "state.json").read_text())
            return [self.path / f["filename"] for f in state["_data_files"]]
        if self.path.is_dir():
            return _shards(self.path)
        return [self.path]

    @property
    def size_bytes(self) -> int:
        return sum(f.stat().st_size for f in self.files())

    def num_rows(self) -> int | None:
        """Rows, when the format says so without reading the data."""
        if self.format == "parquet":
            total = 0
            for f in self.files():
                try:
                    total += int(pq.ParquetFile(f).metadata.num_rows)
                except (pa.ArrowException, OSError) as err:
                    raise InputError(f"{f}: cannot read it as parquet: {err}") from err
            return total
        return None

    def batches(self) -> Iterator[pa.RecordBatch]:
        """Record batches of every file in order, all with one schema: the first
        file's, or for JSON Lines the types of every line (see :mod:`prefcore._jsonl`)."""
        self.skipped = []
        self.bytes_read = 0 if self.format == "jsonl" else None
        if self.format == "jsonl":
            yield from self._jsonl_batches()
            return
        for f in self.files():
            for batch in self._read_naming(f, self._read(f)):
                if batch.num_rows == 0:
                    continue
                yield self._conform(batch, f)

    def _read_naming(self, f: Path, reading: Iterator[_T]) -> Iterator[_T]:
        """``reading`` of ``f``, with a damaged file (truncated Parquet or gzip, bad
        bytes) reported as an ``InputError`` that names it."""
        try:
            yield from reading
        except InputError:
            raise
        except (pa.ArrowException, OSError, EOFError, UnicodeDecodeError) as err:
            if isinstance(err, (FileNotFoundError, PermissionError)):
                raise
            raise InputError(f"{f}: cannot read it as {self.format}: {err}") from err

    def _jsonl_batches(self) -> Iterator[pa.RecordBatch]:
        """Two passes: the first finds the types of every line of every file; the
        second converts each block to them. Blocks are kept from the first pass while
        they fit in ``JSONL_KEEP_BYTES``; past that they are parsed again, so memory
        stays bounded on inputs larger than RAM."""
        files = self.files()
        schema: pa.Schema | None = None
        kept: list[tuple[Path, pa.Table, pa.Array]] | None = []
        kept_bytes = 0
        for f in files:
            for table, lines in self._read_naming(f, self._jsonl_blocks(f)):
                if table.num_rows == 0:
                    continue
                schema = _jsonl.unify_schema(schema, table.schema, f, lines[0].as_py())
                if kept is not None:
                    kept.append((f, table, lines))
                    kept_bytes += table.nbytes
                    if kept_bytes > JSONL_KEEP_BYTES:
                        kept = None
        if schema is None:
            return
        self.schema = schema
        blocks: Iterator[tuple[Path, pa.Table, pa.Array]]
        if kept is not None:
            blocks = iter(kept)
        else:
            self.skipped = []  # the second pass finds the same lines again
            blocks = (
                (f, table, lines)
                for f in files
                for table, lines in self._read_naming(f, self._jsonl_blocks(f))
            )
        for f, table, lines in blocks:
            if table.num_rows == 0:
                continue
            yield from _jsonl.conform(table, schema, f, lines).to_batches(self.batch_rows)

    def read_all(self) -> pa.Table:
        batches = list(self.batches())
        if not batches:
            raise InputError(f"{self.path}: no rows")
        return pa.Table.from_batches(batches)

    def _conform(self, batch: pa.RecordBatch, f: Path) -> pa.RecordBatch:
        if self.schema is None:
            self.schema = batch.schema
            return batch
        if batch.schema.equals(self.schema):
            return batch
        extra = [n for n in batch.schema.names if n not in self.schema.names]
        if extra:
            raise InputError(
                f"{f}: columns {extra} are not in the earlier input's {self.schema.names}"
            )
        for field in self.schema:
            if field.name not in batch.schema.names:  # absent here: null, as in JSON
                batch = batch.append_column(field, pa.nulls(batch.num_rows, field.type))
                continue
            other = batch.schema.field(field.name)
            if other.type != field.type and not pa.types.is_null(other.type):
                try:
                    batch.column(field.name).cast(field.type)
                except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as err:
                    raise InputError(
                        f"{f}: column '{field.name}' is {other.type} here but {field.type} in "
                        f"the earlier input (mixed types)"
                    ) from err
        columns = [batch.column(n).cast(fld.type) for n, fld in zip(self.schema.names, self.schema)]
        return pa.RecordBatch.from_arrays(columns, schema=self.schema)

    def _read(self, f: Path) -> Iterator[pa.RecordBatch]:
        if self.format == "csv" and not _split_compression(f)[1]:
            with open(f, "rb") as head:
                _refuse_binary(f, head.read(8), self.format)
        if self.format in ("parquet", "csv"):
            yield from self._scan(f)
        else:
            # Memory-mapped: batches are views of the file, nothing to read ahead.
            yield from _read_ipc(f)

    def _scan(self, f: Path) -> Iterator[pa.RecordBatch]:
        """Parquet and CSV through ``pyarrow.dataset``, which decodes the next batch on
        its own threads while this one is used. Read-ahead is one batch, and Parquet is
        read a column chunk at a time (no pre-buffering of whole row groups: 300 MiB
        instead of 860 MiB on a 1M-row file), so memory stays bounded."""
        import pyarrow.dataset as ds  # heavy to import; only these formats need it

        file_format: ds.FileFormat
        if self.format == "parquet":
            scan = ds.ParquetFragmentScanOptions(pre_buffer=False, buffer_size=8 << 20)
            file_format = ds.ParquetFileFormat(default_fragment_scan_options=scan)
        else:
            file_format = ds.CsvFileFormat()  # compression from the file's extension
        dataset = ds.dataset(str(f), format=file_format)
        yield from dataset.to_batches(
            batch_size=self.batch_rows, batch_readahead=1, fragment_readahead=1
        )

    def _jsonl_blocks(self, f: Path) -> Iterator[tuple[pa.Table, pa.Array]]:
        """Each block of ``f`` parsed, with the line number of each of its rows. Our
        own reader: pyarrow's cannot say which line is malformed, nor skip one."""
        before = self.bytes_read or 0
        codec = _COMPRESSION.get(f.suffix.lower())
        with pa.OSFile(str(f)) as on_disk:
            raw = pa.CompressedInputStream(on_disk, codec) if codec else on_disk
            buffered = io.BufferedReader(raw, buffer_size=1 << 20)
            _refuse_binary(f, buffered.peek(8)[:8], self.format)
            line_no = 0
            while True:
                lines = buffered.readlines(JSONL_BLOCK_BYTES)
                if not lines:
                    return
                first = line_no + 1
                line_no += len(lines)
                self.bytes_read = before + on_disk.tell()
                kept = [(first + i, ln) for i, ln in enumerate(lines) if ln.strip()]
                if kept:
                    _jsonl.check_depth(f, kept)
                    yield self._parse_block(f, kept)

    def _parse_block(self, f: Path, kept: list[tuple[int, bytes]]) -> tuple[pa.Table, pa.Array]:
        try:
            table = _json_table(b"".join(_terminated(ln) for _, ln in kept))
        except pa.ArrowInvalid:
            kept = self._well_formed(f, kept)
            if not kept:
                return pa.table({}), pa.array([], pa.int64())
            try:
                table = _json_table(b"".join(_terminated(ln) for _, ln in kept))
            except pa.ArrowInvalid as err:
                raise InputError(f"{f}, lines {kept[0][0]}-{kept[-1][0]}: {err}") from err
        _jsonl.exact_integers(f, table, kept)
        return table, pa.array([number for number, _ in kept], pa.int64())

    def _well_formed(self, f: Path, kept: list[tuple[int, bytes]]) -> list[tuple[int, bytes]]:
        """The lines of a block that failed as a whole that are JSON objects; each
        other line fails the read, or is skipped (``on_error="skip"``)."""
        good = []
        for number, ln in kept:
            try:
                value = json.loads(ln)
                if not isinstance(value, dict):
                    raise ValueError(f"a JSON {type(value).__name__}, not an object")
                good.append((number, ln))
            except ValueError as err:
                if self.on_error == "fail":
                    raise InputError(
                        f"{f}, line {number}: malformed JSON Lines record ({err}); "
                        "use on_error='skip' (--on-error skip) to skip such lines",
                        path=str(f),
                        line=number,
                    ) from err
                self.skipped.append((str(f), number))
        return good


def prefetched(batches: Iterator[pa.RecordBatch], depth: int = 2) -> Iterator[pa.RecordBatch]:
    """``batches`` read ahead by a background thread (``depth`` batches at most), so
    decoding the next batch overlaps with the caller's work on this one.

    >>> batches = (pa.record_batch({"n": [i]}) for i in range(3))
    >>> [b.column(0)[0].as_py() for b in prefetched(batches)]
    [0, 1, 2]
    """
    items: queue.Queue[Any] = queue.Queue(maxsize=depth)
    done, stop = object(), threading.Event()

    def produce() -> None:
        try:
            for batch in batches:
                while not stop.is_set():
                    try:
                        items.put(batch, timeout=0.1)
                        break
                    except queue.Full:
                        continue
                if stop.is_set():
                    return
            items.put(done)
        except BaseException as err:  # handed to the consumer, raised there
            items.put(err)

    thread = threading.Thread(target=produce, name="prefcore-read", daemon=True)
    thread.start()
    try:
        while True:
            item = items.get()
            if item is done:
                return
            if isinstance(item, BaseException):
                raise item
            yield item
    finally:
        stop.set()
        thread.join(timeout=5)


# The first bytes of the binary formats, to name a file whose extension says text.
_MAGIC = {
    b"PAR1": "a Parquet file",
    b"ARROW1": "an Arrow IPC file",
    b"\xff\xff\xff\xff": "an Arrow IPC stream",
}


def _refuse_binary(f: Path, head: bytes, fmt: str) -> None:
    """An :class:`InputError` when a file read as text (JSON Lines, CSV) is a Parquet
    or Arrow file, whose bytes would otherwise be reported as malformed lines."""
    for magic, name in _MAGIC.items():
        if head.startswith(magic):
            raise InputError(
                f"{f}: this is {name}, not {fmt} (it starts with {magic!r}); "
                f"rename it (.parquet, .arrow) or pass the format (--in-format, format=)"
            )


def _terminated(line: bytes) -> bytes:
    return line if line.endswith(b"\n") else line + b"\n"


def _json_table(block: bytes) -> pa.Table:
    options = pa_json.ReadOptions(block_size=max(len(block) + 1, 1 << 20))
    return pa_json.read_json(io.BytesIO(block), read_options=options)


def _read_ipc(f: Path) -> Iterator[pa.RecordBatch]:
    with pa.memory_map(str(f)) as source:
        try:
            reader: Any = pa.ipc.open_file(source)
            for i in range(reader.num_record_batches):
                yield reader.get_batch(i)
            return
        except pa.ArrowInvalid:
            source.seek(0)
        yield from pa.ipc.open_stream(source)


def open_source(
    path: str | os.PathLike[str],
    format: Format | None = None,
    *,
    on_error: OnError = "fail",
    batch_rows: int = 16_384,
) -> Source:
    """A :class:`Source` over ``path``.

    >>> import tempfile, pathlib
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "rows.jsonl"
    >>> _ = path.write_text('{"prompt": "a"}\\n{"prompt": "b"}\\n')
    >>> source = open_source(path, batch_rows=1)
    >>> source.format, [b.num_rows for b in source.batches()]
    ('jsonl', [1, 1])
    """
    return Source(path, format, on_error=on_error, batch_rows=batch_rows)


def temporary_path(path: str | os.PathLike[str]) -> Path:
    """A fresh temporary name beside ``path`` (``.NAME.prefcore-PID-RANDOM.tmp``) to write
    into before renaming over ``path``. Unique per call, so two writers in one process
    never share one; leftovers of killed runs (their PID no longer alive) are removed.

    >>> import tempfile
    >>> out = Path(tempfile.mkdtemp()) / "out.parquet"
    >>> a, b = temporary_path(out), temporary_path(out)
    >>> a != b and a.name.startswith(".out.parquet.prefcore-")
    True
    """
    path = check_path("path", path)
    for stale in path.parent.glob(f".{glob.escape(path.name)}.prefcore-*.tmp"):
        pid = stale.name[len(path.name) + len(".prefcore-") + 1 :].split("-", 1)[0]
        if pid.isdigit() and not process_alive(int(pid)):
            stale.unlink(missing_ok=True)
    return path.parent / f".{path.name}.prefcore-{os.getpid()}-{secrets.token_hex(4)}.tmp"


def process_alive(pid: int) -> bool:
    """Whether a process ``pid`` exists (perhaps another user's).

    >>> process_alive(os.getpid())
    True
    """
    try:
        os.kill(integer("pid", pid, minimum=1), 0)
    except ProcessLookupError:
        return False
    except OSError:  # it exists but belongs to someone else
        return True
    return True


def require_writable(path: str | os.PathLike[str]) -> None:
    """An ``OSError`` now, before any work, when ``path`` cannot be written later.

    >>> require_writable("/no/such/directory/out.jsonl")
    Traceback (most recent call last):
    ...
    OSError: /no/such/directory: output directory does not exist
    """
    if is_device(check_path("path", path)):
        if not os.access(path, os.W_OK):
            raise PermissionError(f"{path}: not writable")
        return
    parent = Path(path).parent
    if not parent.is_dir():
        raise OSError(f"{parent}: output directory does not exist")
    if not os.access(parent, os.W_OK):
        raise PermissionError(f"{parent}: output directory is not writable")
    if Path(path).is_dir():
        raise IsADirectoryError(f"{path}: is a directory, not a file to write")


def _same_file(a: str | os.PathLike[str], b: str | os.PathLike[str]) -> bool:
    """Whether two paths name one file: the same real path, or (existing) the same
    inode, as hard links and bind mounts do."""
    pa_, pb = Path(a), Path(b)
    if pa_.resolve() == pb.resolve():
        return True
    try:
        return os.path.samefile(pa_, pb)
    except OSError:
        return False


def _in_directory(out: str | os.PathLike[str], src: str | os.PathLike[str]) -> bool:
    """Whether ``out`` is a file of the directory ``src``, whose files are all read as
    shards (one there now, or one a rerun would read)."""
    directory = Path(src)
    if not directory.is_dir():
        return False
    parent = Path(out).parent
    try:
        return parent.resolve() == directory.resolve() or os.path.samefile(parent, directory)
    except OSError:
        return False


def refuse_overwrites(inputs: Mapping[str, Any], outputs: Mapping[str, Any]) -> None:
    """An :class:`InvalidArgumentError` when any output (OUT, ``--report``) is any input
    (IN, ``--against``, ``--run``, ``--qrels``, the job file) or lies in an input
    directory, or two outputs are one file: prefcore never writes over what it reads,
    and never where a rerun would read its own output as input.

    >>> import tempfile
    >>> d = Path(tempfile.mkdtemp())
    >>> refuse_overwrites({"IN": d}, {"OUT": d / "clean.parquet"})  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    prefcore.errors.InvalidArgumentError: ...clean.parquet: OUT is in the IN directory ...
    """
    ins = {k: v for k, v in inputs.items() if v}
    outs = {k: v for k, v in outputs.items() if v}
    for out_name, out in outs.items():
        if not Path(out).exists() or Path(out).is_file():
            for in_name, src in ins.items():
                if _same_file(out, src):
                    raise InvalidArgumentError(
                        f"{out}: {out_name} is the {in_name} file; prefcore never overwrites "
                        "its input (choose another output path)"
                    )
                if _in_directory(out, src):
                    raise InvalidArgumentError(
                        f"{out}: {out_name} is in the {in_name} directory {src}, whose files "
                        "are all read as input: it could overwrite a shard, and a rerun "
                        "would read this output as input (write it outside that directory)"
                    )
    names = list(outs)
    for i, a in enumerate(names):
        for b in names[i + 1 :]:
            if _same_file(outs[a], outs[b]) and not is_device(Path(outs[a])):
                raise InvalidArgumentError(f"{outs[a]}: {a} and {b} are the same file")


def is_device(path: Path) -> bool:
    """A path that exists and is neither a regular file nor a directory: a character
    device such as ``/dev/null``, a FIFO, a socket. Written in place, never replaced."""
    return path.exists() and not path.is_file() and not path.is_dir()


# Set by the SIGINT handler of `interrupt_guard`: a Ctrl-C seen while it is active.
_INTERRUPTED = threading.Event()


@contextmanager
def interrupt_guard() -> Iterator[None]:
    """Within the block, a Ctrl-C stops every :class:`AtomicWriter` from putting its
    file in place, even one Python could not raise: a signal that lands while a
    finalizer runs becomes an "Exception ignored" message and the run would go on to
    write its output. Such a Ctrl-C is raised again as :class:`KeyboardInterrupt` when
    the block ends, so work after it (a report, say) is not done either. Outside the
    main thread, or where SIGINT has a handler of the caller's, it changes nothing.

    >>> with interrupt_guard():
    ...     pass
    """
    if (
        threading.current_thread() is not threading.main_thread()
        or signal.getsignal(signal.SIGINT) is not signal.default_int_handler
    ):
        yield
        return

    def on_interrupt(signum: int, frame: Any) -> None:
        _INTERRUPTED.set()
        raise KeyboardInterrupt

    _INTERRUPTED.clear()
    previous = signal.signal(signal.SIGINT, on_interrupt)
    try:
        yield
        if _INTERRUPTED.is_set():  # swallowed inside the block: the run is still interrupted
            raise KeyboardInterrupt
    finally:
        signal.signal(signal.SIGINT, previous)
        _INTERRUPTED.clear()


class AtomicWriter:
    """Write record batches to ``path`` in its format, all or nothing: the data goes
    to a temporary file in the same directory, renamed over ``path`` on success and
    removed on any failure (including Ctrl-C). A ``path`` that is a device or a FIFO
    (``/dev/null``, ``/dev/stdout``, a named pipe) is written in place instead, as JSON
    Lines unless its name or ``format`` says otherwise: renaming over it would replace
    the device with a regular file."""

    def __init__(
        self,
        path: str | os.PathLike[str],
        format: Format | None = None,
        *,
        reads: Mapping[str, str | os.PathLike[str]] | None = None,
    ) -> None:
        self.path = check_path("path", path)
        refuse_overwrites(reads or {}, {"output": self.path})
        require_writable(self.path)
        self.in_place = is_device(self.path)
        if format is None and self.in_place and not self.path.suffix:
            format = "jsonl"  # /dev/stdout, /dev/null: a stream of lines
        self.format = format or format_of(self.path)
        if self.format == "hf":
            raise InvalidArgumentError("writing a Hugging Face datasets directory is not supported")
        self.tmp = self.path if self.in_place else temporary_path(self.path)
        self._writer: Any = None
        self._stream: Any = None
        self._done = False
        self.rows = 0

    def __enter__(self) -> AtomicWriter:
        return self

    def __exit__(self, kind: Any, value: Any, tb: Any) -> None:
        if kind is None:
            self.close()
        elif not self._done:
            self.abort()

    def _open(self, schema: pa.Schema) -> None:
        _, codec = _split_compression(self.path)
        if self.format == "parquet":
            self._writer = pq.ParquetWriter(str(self.tmp), schema)
            return
        self._stream = pa.OSFile(str(self.tmp), "wb")
        if codec and self.format in ("jsonl", "csv"):
            self._stream = pa.CompressedOutputStream(self._stream, codec)
        if self.format == "arrow":
            self._writer = pa.ipc.new_file(self._stream, schema)
        elif self.format == "csv":
            self._writer = pa_csv.CSVWriter(self._stream, schema)

    def write(self, batch: pa.RecordBatch | pa.Table) -> None:
        try:
            self._write(batch)
        except (OSError, pa.ArrowException) as err:  # a full disk, a lost mount
            self.abort()
            raise OSError(f"{self.path}: cannot write the output: {err}") from err

    def _write(self, batch: pa.RecordBatch | pa.Table) -> None:
        if self._writer is None and self._stream is None:
            self._open(batch.schema)
        self.rows += batch.num_rows
        if self.format == "jsonl":
            text = "".join(
                json.dumps(row, ensure_ascii=False, default=str) + "\n" for row in batch.to_pylist()
            )
            self._stream.write(text.encode())
        elif isinstance(batch, pa.Table):
            self._writer.write_table(batch)
        else:
            self._writer.write_batch(batch)

    def close(self, schema: pa.Schema | None = None) -> None:
        """Finish the file and move it into place (an empty result keeps ``schema``)."""
        if self._done:
            return
        self._done = True
        try:
            if self._writer is None and self._stream is None:
                self._open(schema or pa.schema([]))
            if self._writer is not None:
                self._writer.close()
            if self._stream is not None and not self._stream.closed:
                self._stream.close()
            if _INTERRUPTED.is_set():  # a Ctrl-C Python swallowed (see interrupt_guard)
                raise KeyboardInterrupt
            if not self.in_place:
                os.replace(self.tmp, self.path)
        except (OSError, pa.ArrowException) as err:
            self.abort()
            raise OSError(f"{self.path}: cannot write the output: {err}") from err
        except BaseException:
            self.abort()
            raise

    def abort(self) -> None:
        for closer in (self._writer, self._stream):
            try:
                if closer is not None:
                    closer.close()
            except Exception:
                pass
        if not self.in_place:
            self.tmp.unlink(missing_ok=True)


check_arguments(__name__)  # each public function checks its arguments' annotations
