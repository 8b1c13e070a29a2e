"""Scaling of `prefcore.ray.dedup` on one machine: the same generated data deduped on
a local Ray cluster of 1 and of 2 worker CPUs (each run in a fresh process), against
the single-process streaming CLI on the same rows.

    python benches/bench_ray.py --rows 200000
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

RUN = """
import sys, time, ray, prefcore.ray as pray
cpus, src = int(sys.argv[1]), sys.argv[2]
ray.init(num_cpus=cpus, include_dashboard=False, log_to_driver=False, configure_logging=False)
ray.data.DataContext.get_current().enable_progress_bars = False
ds = ray.data.read_parquet(src).repartition(16)
t = time.perf_counter()
out, report = pray.dedup(ds, "chosen", 0.8)
kept = out.count()
# Ray may print its own lines to stdout (at shutdown too): the result has a marker.
print(f"BENCH_RESULT {time.perf_counter() - t:.2f} {kept}", flush=True)
"""


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--rows", type=int, default=200_000)
    args = ap.parse_args()
    here = Path(__file__).parent
    with tempfile.TemporaryDirectory() as d:
        src = Path(d) / "data.parquet"
        make = [sys.executable, str(here / "bench_pipeline.py"), "--rows", str(args.rows)]
        subprocess.run([*make, "--make-only", str(src)], check=True)
        print(f"{args.rows:,} rows; near dedup of 'chosen' at 0.8")
        t = time.perf_counter()
        cli = [sys.executable, "-m", "prefcore.cli", "dedup", str(src), str(Path(d) / "o.parquet")]
        subprocess.run([*cli, "--near", "chosen", "--quiet"], check=True)
        single = time.perf_counter() - t
        print(f"  streaming CLI, one process (2 Rayon threads): {single:6.1f} s")
        times = {}
        for cpus in (1, 2):
            out = subprocess.run(
                [sys.executable, "-c", RUN, str(cpus), str(src)],
                check=True, capture_output=True, text=True,
            )  # fmt: skip
            result = [ln for ln in out.stdout.splitlines() if ln.startswith("BENCH_RESULT ")]
            if not result:
                sys.exit(f"the Ray run printed no result line:\n{out.stdout}\n{out.stderr}")
            seconds, kept = result[-1].split()[1:3]
            times[cpus] = float(seconds)
            print(f"  prefcore.ray, {cpus} worker CPU(s): {times[cpus]:6.1f} s, {kept} rows kept")
        print(f"  speed-up from 1 to 2 workers: {times[1] / times[2]:.2f}x")


if __name__ == "__main__":
    main()
