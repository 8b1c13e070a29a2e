"""Optional dependencies: imported where first needed, and when missing, an
``ImportError`` that names the extra to install (``pip install 'prefcore[torch]'``)."""

from __future__ import annotations

import importlib
from types import ModuleType

__all__ = ["require"]

#: The extra that installs each optional top-level module.
EXTRAS = {
    "torch": "torch",
    "tokenizers": "tokenize",
    "faiss": "faiss",
    "ray": "ray",
    "polars": "polars",
    "datasets": "datasets",
    "trl": "trl",
    "matplotlib": "plot",
}


def require(module: str, purpose: str) -> ModuleType:
    """``module`` imported, or an ``ImportError`` saying that ``purpose`` needs it and
    which extra installs it.

    >>> require("numpy", "arrays").__name__
    'numpy'
    >>> require("torch.no_such_module", "this example")
    Traceback (most recent call last):
    ...
    ImportError: this example needs torch.no_such_module: pip install 'prefcore[torch]'
    """
    try:
        return importlib.import_module(module)
    except ImportError as err:
        top = module.split(".")[0]
        extra = EXTRAS.get(top)
        how = f"pip install 'prefcore[{extra}]'" if extra else f"pip install {top}"
        raise ImportError(f"{purpose} needs {module}: {how}", name=module) from err
