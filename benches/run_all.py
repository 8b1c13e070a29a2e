"""Run every benchmark and rewrite benches/RESULTS.md with what they printed.

``make bench`` calls this after a release build. Each Python bench times prefcore
against its peer on the same input in one process and prints its own ratios; the
criterion benches (``cargo bench -p prefcore-core``) time the Rust kernels alone.
The file written holds the machine, the commands and their output, nothing else.

    python benches/run_all.py                 # every bench at the sizes the README quotes
    python benches/run_all.py --quick         # the same benches at a tenth of the size
    python benches/run_all.py --only pairs metrics --out /tmp/results.md
"""

from __future__ import annotations

import argparse
import datetime
import os
import platform
import re
import subprocess
import sys
import time
from pathlib import Path

BENCHES = Path(__file__).resolve().parent
ROOT = BENCHES.parent

# name: (script, arguments at full size, arguments for --quick)
SUITE: dict[str, tuple[str, list[str], list[str]]] = {
    "metrics": ("bench_metrics.py", [], ["--scale", "0.1"]),
    "pairs": ("bench_pairs.py", [], ["--scale", "0.1"]),
    "dedup": ("bench_dedup.py", [], ["--scale", "0.1"]),
    "match": ("bench_match.py", [], ["--scale", "0.1"]),
    "semantic": ("bench_semantic.py", [], ["--rows", "20000"]),
    "collate": ("bench_collate.py", [], ["--pairs", "10000", "--skip-epoch"]),
    "trl": ("bench_trl.py", [], ["--repeat", "1"]),
    "prefix": ("bench_prefix.py", [], ["--steps", "2", "--long", "128"]),
    "trainers": ("bench_trainers.py", [], ["--steps", "2", "--layers", "2"]),
    "pipeline": ("bench_pipeline.py", [], ["--rows", "100000"]),
    "memory": ("bench_memory.py", [], ["--gb", "0.5"]),
    "ray": ("bench_ray.py", [], ["--rows", "20000"]),
    "benchmarks": ("bench_benchmarks.py", [], ["--rows", "100000"]),
    "arena": ("bench_arena.py", [], ["--battles", "200000", "--models", "50", "--rounds", "100"]),
    "quality": ("quality_dedup.py", [], []),
}


def machine() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    memory = ""
    try:
        kib = int(Path("/proc/meminfo").read_text().split()[1])
        memory = f", {kib / 2**20:.0f} GiB"
    except (OSError, ValueError, IndexError):
        pass
    import prefcore

    return (
        f"{cpu}, {os.cpu_count()} cores{memory}, {platform.system()} {platform.machine()}, "
        f"CPython {platform.python_version()}, prefcore {prefcore.__version__} "
        f"(SIMD {prefcore.simd_level()}, {prefcore.get_num_threads()} threads)"
    )


def run(command: list[str]) -> tuple[str, float, int]:
    """The command's output (stdout, then stderr if it failed), seconds and exit code."""
    start = time.perf_counter()
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, check=False)
    seconds = time.perf_counter() - start
    out = done.stdout.strip()
    if done.returncode != 0:
        out += "\n" + done.stderr.strip()[-4000:]
    return out, seconds, done.returncode


def criterion_summary(output: str) -> str:
    """criterion's results as a table: it prints ``name  time: [low mid high]``, or the
    name alone on a line when it is long and ``time: [...]`` on the next."""
    rows = []
    name = ""
    for line in output.splitlines():
        same_line = re.match(r"^(\S.*?)\s+time:\s+\[(.+)\]", line)
        next_line = re.match(r"^\s+time:\s+\[(.+)\]", line)
        if same_line:
            rows.append((same_line.group(1).strip(), same_line.group(2)))
        elif next_line and name:
            rows.append((name, next_line.group(1)))
        name = line.strip() if line and not line[0].isspace() else ""
    table = ["| kernel | time per call [low, estimate, high] |", "|---|---|"]
    table += [f"| {n} | {t} |" for n, t in rows]
    return "\n".join(table)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument(
        "--quick", action="store_true", help="a tenth of the sizes (minutes, not an hour)"
    )
    ap.add_argument("--only", nargs="+", choices=[*SUITE, "criterion"], help="run only these")
    ap.add_argument("--out", default=str(BENCHES / "RESULTS.md"), help="where to write")
    args = ap.parse_args()
    chosen = args.only or [*SUITE, "criterion"]

    sections = []
    failed = []
    for name in chosen:
        if name == "criterion":
            command = ["cargo", "bench", "-p", "prefcore-core", "--bench", "kernels"]
            if args.quick:
                command += ["--", "--quick"]
        else:
            script, full, quick = SUITE[name]
            command = [sys.executable, f"benches/{script}", *(quick if args.quick else full)]
        print(f"running {' '.join(command)}", file=sys.stderr, flush=True)
        output, seconds, code = run(command)
        if code != 0:
            failed.append(name)
        body = (
            criterion_summary(output)
            if name == "criterion" and code == 0
            else f"```\n{output}\n```"
        )
        status = "" if code == 0 else f" — **failed (exit {code})**"
        shown = " ".join(command[1:] if command[0] == sys.executable else command)
        sections.append(f"## {name}{status}\n\n`{shown}` ({seconds:.0f} s)\n\n{body}\n")

    today = datetime.date.today().isoformat()
    size = "quick sizes (`--quick`, a tenth)" if args.quick else "full sizes"
    header = (
        "# Benchmark results\n\n"
        "Written by `make bench` (`benches/run_all.py`); do not edit by hand. Each bench\n"
        "times prefcore and its peer on the same input in one run and prints the ratio;\n"
        "what each target is, and how each bench is measured, is in the docs\n"
        "(`docs/benchmarks.md`).\n\n"
        f"- date: {today}\n- machine: {machine()}\n- sizes: {size}\n"
    )
    Path(args.out).write_text(header + "\n" + "\n".join(sections))
    print(f"wrote {args.out}", file=sys.stderr)
    if failed:
        print(f"failed: {', '.join(failed)}", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
