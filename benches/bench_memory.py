"""Peak memory of `prefcore dedup` (exact + near) on a JSON Lines file larger than
the memory it may use: generates the file, runs the command in a child process and
reports its peak RSS and rate.

    python benches/bench_memory.py --gb 10        # the README figure
    python benches/bench_memory.py --gb 0.5

Rows: prompt (~30 words), chosen and rejected (~60 words each) from a 20k-word
vocabulary, about 1.1 KB of JSON a row; 5% exact and 5% near copies.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np


def write_jsonl(path: Path, gigabytes: float, seed: int = 0) -> int:
    rng = np.random.default_rng(seed)
    vocab = np.array([f"w{i}" for i in range(20_000)])
    target, written, rows = gigabytes * 2**30, 0, 0
    recent: list[str] = []
    with open(path, "w") as f:
        while written < target:
            ids = rng.integers(0, len(vocab), size=(10_000, 150))
            lines = []
            for r in vocab[ids]:
                row = {"prompt": " ".join(r[:30]), "chosen": " ".join(r[30:90]),
                       "rejected": " ".join(r[90:])}  # fmt: skip
                roll = rng.random()
                if recent and roll < 0.05:
                    line = recent[int(rng.integers(0, len(recent)))]
                elif recent and roll < 0.10:
                    old = json.loads(recent[int(rng.integers(0, len(recent)))])
                    old["chosen"] = old["chosen"].replace(" ", " x ", 1)
                    line = json.dumps(old) + "\n"
                else:
                    line = json.dumps(row) + "\n"
                lines.append(line)
            recent = lines[:1000]
            text = "".join(lines)
            f.write(text)
            written += len(text)
            rows += len(lines)
    return rows


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--gb", type=float, default=10.0)
    ap.add_argument("--dir", default=None, help="where to write the file (default: tmp)")
    ap.add_argument("--input", help="an existing JSON Lines file to use instead")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(dir=args.dir) as d:
        src, out = Path(d) / "big.jsonl", Path(d) / "out.parquet"
        t = time.perf_counter()
        if args.input:
            src = Path(args.input)
            with open(src, "rb") as f:
                rows = sum(1 for _ in f)
        else:
            rows = write_jsonl(src, args.gb)
        size = src.stat().st_size / 2**30
        took = time.perf_counter() - t
        how = "counted" if args.input else "written"
        print(f"{rows:,} rows, {size:.2f} GiB of JSON Lines ({how} in {took:.0f} s)")
        cmd = [sys.executable, "-m", "prefcore.cli", "dedup", str(src), str(out), "--quiet"]
        cmd += ["--exact", "prompt", "chosen", "rejected", "--near", "chosen"]
        cmd += ["--report", str(Path(d) / "report.json")]
        t = time.perf_counter()
        child = subprocess.Popen(cmd)
        _, status, usage = os.wait4(child.pid, 0)
        wall = time.perf_counter() - t
        if status:
            raise SystemExit(f"prefcore dedup failed ({status})")
        report = json.loads((Path(d) / "report.json").read_text())
        print(
            f"prefcore dedup (exact + near): {wall:.0f} s, {rows / wall:,.0f} rows/s, "
            f"peak RSS {usage.ru_maxrss / 1024:,.0f} MiB; kept {report['rows_out']:,}, "
            f"removed {report['by_reason']}"
        )


if __name__ == "__main__":
    main()
