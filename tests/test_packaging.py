"""What a user who ran `pip install prefcore` relies on: one version everywhere, the
public modules importable with only the required dependencies, and a missing optional
dependency named with the extra that installs it.

`.ci/test-installed` also runs this file against the built wheel in fresh virtual
environments (PREFCORE_INSTALLED_TEST=1), where it checks that the package under test
is the installed one.
"""

from __future__ import annotations

import importlib
import importlib.metadata
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from public_api import PUBLIC_MODULES

import prefcore

INSTALLED = os.environ.get("PREFCORE_INSTALLED_TEST") == "1"


def test_the_version_is_one_and_the_same_everywhere() -> None:
    version = importlib.metadata.version("prefcore")
    assert prefcore.__version__ == version
    cargo = Path(__file__).parents[1] / "Cargo.toml"
    if cargo.exists():  # in a checkout: the version is written there once
        assert f'\nversion = "{version}"\n' in cargo.read_text()


def test_the_python_floor_is_written_the_same_everywhere() -> None:
    meta = importlib.metadata.metadata("prefcore")
    floor = meta["Requires-Python"].removeprefix(">=")
    assert sys.version_info >= tuple(int(p) for p in floor.split("."))
    root = Path(__file__).parents[1]
    if not (root / "pyproject.toml").exists():  # an installed wheel: no sources here
        return
    major, minor = floor.split(".")
    pyproject = (root / "pyproject.toml").read_text()
    assert f'requires-python = ">={floor}"' in pyproject
    assert f'python_version = "{floor}"' in pyproject  # mypy
    assert f'target-version = "py{major}{minor}"' in pyproject  # ruff
    assert f'"abi3-py{major}{minor}"' in (root / "Cargo.toml").read_text()  # the wheel tag


def test_the_metadata_declares_the_licences_and_the_extras() -> None:
    meta = importlib.metadata.metadata("prefcore")
    assert meta["License-Expression"] == "MIT OR Apache-2.0"
    assert meta["Requires-Python"] == ">=3.10"
    extras = set(meta.get_all("Provides-Extra") or [])
    assert {"torch", "tokenize", "faiss", "ray", "polars", "datasets", "trl", "all"} <= extras
    requires = meta.get_all("Requires-Dist") or []
    # tomllib is in the standard library from 3.11 on; 3.10 gets tomli.
    assert any(r.startswith("tomli") and "< '3.11'" in r for r in requires), requires


@pytest.mark.parametrize("name", PUBLIC_MODULES)
def test_every_public_module_imports_with_the_required_dependencies_only(name: str) -> None:
    # A fresh interpreter in which the optional libraries cannot be imported.
    blocked = [
        "torch",
        "tokenizers",
        "faiss",
        "ray",
        "polars",
        "datasets",
        "pandas",
        "trl",
        "transformers",
    ]
    code = (
        "import sys\n"
        f"for m in {blocked!r}: sys.modules[m] = None\n"
        f"import importlib; mod = importlib.import_module({name!r})\n"
        "print(sorted(getattr(mod, '__all__', [])) != [])"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "True", f"{name} has no __all__"


def _without(monkeypatch: pytest.MonkeyPatch, *modules: str) -> None:
    for m in modules:
        monkeypatch.setitem(sys.modules, m, None)  # `import m` raises ImportError


def test_a_missing_torch_names_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    from prefcore.torch import PreferenceCollator

    example = {"prompt_ids": [1, 2], "chosen_ids": [3], "rejected_ids": [4, 5]}
    # The numpy path needs no torch at all.
    batch = PreferenceCollator(pad_token_id=0, return_tensors="np")([example])
    assert batch["input_ids"].tolist() == [[1, 2, 3, 0], [1, 2, 4, 5]]
    _without(monkeypatch, "torch", "torch.utils", "torch.utils.data")
    with pytest.raises(ImportError, match=r"pip install 'prefcore\[torch\]'"):
        PreferenceCollator(pad_token_id=0)([example])


def test_a_missing_tokenizers_names_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    _without(monkeypatch, "tokenizers")
    with pytest.raises(ImportError, match=r"pip install 'prefcore\[tokenize\]'"):
        prefcore.report.stats(
            {"prompt": ["a"], "chosen": ["b"], "rejected": ["c"]}, tokenizer="gpt2"
        )


def test_a_missing_faiss_names_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    x = np.eye(3, dtype=np.float32)
    # The Rust backend needs nothing optional.
    _, indices = prefcore.match.knn(x, x, k=1)
    assert indices.ravel().tolist() == [0, 1, 2]
    _without(monkeypatch, "faiss")
    with pytest.raises(ImportError, match=r"pip install 'prefcore\[faiss\]'"):
        prefcore.match.knn(x, x, k=1, backend="faiss")


def test_a_missing_ray_names_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    import prefcore.ray

    _without(monkeypatch, "ray", "ray.data")
    with pytest.raises(ImportError, match=r"pip install 'prefcore\[ray\]'"):
        prefcore.ray.with_row_ids(object())


def test_a_missing_trl_names_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    import prefcore.trl

    prefcore.trl._trainers.cache_clear()
    _without(monkeypatch, "trl")
    try:
        with pytest.raises(ImportError, match=r"pip install 'prefcore\[trl\]'"):
            prefcore.trl.DPOTrainer  # noqa: B018
    finally:
        prefcore.trl._trainers.cache_clear()


def test_the_package_under_test_is_the_one_meant() -> None:
    package = Path(prefcore.__file__).parent
    assert (package / "_prefcore.pyi").exists() and (package / "py.typed").exists()
    if INSTALLED:  # the wheel (.ci/test-installed also keeps Rust off PATH)
        assert "site-packages" in str(package), package
    else:  # this checkout, installed in development mode
        assert package == Path(__file__).parents[1] / "python" / "prefcore"


def test_the_module_list_covers_the_package() -> None:
    package = Path(prefcore.__file__).parent
    found = {f"prefcore.{p.stem}" for p in package.glob("*.py") if not p.stem.startswith("_")}
    # subpackages with an API (data/ holds the shipped sample and its loaders)
    found |= {f"prefcore.{p.parent.name}" for p in package.glob("*/__init__.py")} - {
        "prefcore.data"
    }
    assert found | {"prefcore"} == set(PUBLIC_MODULES)


def test_the_cli_runs_from_the_installed_entry_point(tmp_path: Path) -> None:
    exe = Path(sys.executable).with_name("prefcore")
    assert exe.exists(), "the wheel installs a `prefcore` command beside the interpreter"
    proc = subprocess.run([str(exe), "--version"], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    assert prefcore.__version__ in proc.stdout
    importlib.import_module("prefcore.cli")
