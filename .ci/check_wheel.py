"""Checks what `make wheel` built in dist/: one abi3 wheel for CPython 3.10+ tagged
manylinux_2_28 (or an older glibc), that `auditwheel show` accepts, carrying the
licences, type information and demo data, with a stripped library; and an sdist with
the licences and the sources a build needs.

Usage: python .ci/check_wheel.py dist
"""

from __future__ import annotations

import re
import subprocess
import sys
import tarfile
import tempfile
import zipfile
from pathlib import Path

MAX_GLIBC = (2, 28)
# The unstripped library was 18 MB; stripped it is about 15.
MAX_LIBRARY_MB = 17


def fail(message: str) -> None:
    sys.exit(f"check_wheel: {message}")


def check_wheel(wheel: Path) -> None:
    m = re.fullmatch(r"prefcore-[^-]+-cp310-abi3-(.+)\.whl", wheel.name)
    if not m:
        fail(f"{wheel.name}: expected an abi3 wheel for cp310")
    for tag in m.group(1).split("."):
        g = re.fullmatch(r"manylinux_(\d+)_(\d+)_x86_64", tag)
        if not g or (int(g.group(1)), int(g.group(2))) > MAX_GLIBC:
            fail(f"{wheel.name}: platform tag {tag} needs a glibc newer than 2.28")

    shown = subprocess.run(
        [sys.executable, "-m", "auditwheel", "show", str(wheel)], capture_output=True, text=True
    )
    consistent = re.search(r'platform tag:\s*"(manylinux_\d+_\d+_x86_64)"', shown.stdout)
    if shown.returncode != 0 or not consistent:
        fail(f"auditwheel show:\n{shown.stdout}{shown.stderr}")
    g = re.fullmatch(r"manylinux_(\d+)_(\d+)_x86_64", consistent.group(1))
    assert g is not None
    if (int(g.group(1)), int(g.group(2))) > MAX_GLIBC:
        fail(f"auditwheel show: the library needs {consistent.group(1)}")

    with zipfile.ZipFile(wheel) as z:
        names = set(z.namelist())
        dist_info = next(n.split("/")[0] for n in names if ".dist-info/" in n)
        required = [
            f"{dist_info}/licenses/LICENSE-MIT",
            f"{dist_info}/licenses/LICENSE-APACHE",
            "prefcore/py.typed",
            "prefcore/_prefcore.pyi",
            "prefcore/__init__.py",
        ]
        missing = [n for n in required if n not in names]
        if not any(n.startswith("prefcore/data/") for n in names):
            missing.append("prefcore/data/ (the demo data)")
        if missing:
            fail(f"{wheel.name} lacks {missing}")
        metadata = z.read(f"{dist_info}/METADATA").decode()
        for line in ("License-Expression: MIT OR Apache-2.0", "Requires-Python: >=3.10"):
            if line not in metadata:
                fail(f"METADATA lacks '{line}'")
        for extra in ("torch", "tokenize", "faiss", "ray", "polars", "datasets", "trl", "all"):
            if f"Provides-Extra: {extra}" not in metadata:
                fail(f"METADATA lacks the extra '{extra}'")
        library = next(n for n in names if n.startswith("prefcore/_prefcore") and n.endswith(".so"))
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(z.extract(library, tmp))
            size_mb = path.stat().st_size / 2**20
            sections = subprocess.run(
                ["readelf", "-S", "-W", str(path)], capture_output=True, text=True, check=True
            ).stdout
    if ".symtab" in sections or ".debug_info" in sections:
        fail(f"{library} is not stripped")
    if size_mb > MAX_LIBRARY_MB:
        fail(f"{library} is {size_mb:.1f} MB")
    tag = consistent.group(1)
    print(f"{wheel.name}: ok ({size_mb:.1f} MB stripped library; auditwheel: {tag})")


def check_sdist(sdist: Path) -> None:
    with tarfile.open(sdist) as t:
        names = {n.split("/", 1)[1] for n in t.getnames() if "/" in n}
    required = [
        "LICENSE-MIT",
        "LICENSE-APACHE",
        "pyproject.toml",
        "Cargo.toml",
        "Cargo.lock",
        "rust/prefcore-core/src/lib.rs",
        "rust/prefcore-python/src/lib.rs",
        "python/prefcore/py.typed",
    ]
    missing = [n for n in required if n not in names]
    if missing:
        fail(f"{sdist.name} lacks {missing}")
    print(f"{sdist.name}: ok ({len(names)} files)")


def main() -> None:
    dist = Path(sys.argv[1] if len(sys.argv) > 1 else "dist")
    wheels = sorted(dist.glob("*.whl"))
    sdists = sorted(dist.glob("*.tar.gz"))
    if len(wheels) != 1 or len(sdists) != 1:
        fail(f"expected one wheel and one sdist in {dist}, found {wheels + sdists}")
    check_wheel(wheels[0])
    check_sdist(sdists[0])


if __name__ == "__main__":
    main()
