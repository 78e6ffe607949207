"""Submodules on first attribute access, so `albert_nb.model.config` works after
`import albert_nb` without importing TensorFlow up front (CLIs start fast)."""
from __future__ import annotations

import importlib
import os


def lazy_submodules(package: str, init_file: str):
    """(__getattr__, __dir__) for a package whose submodules load when first named."""
    folder = os.path.dirname(init_file)
    names = tuple(sorted(n[:-3] if n.endswith(".py") else n for n in os.listdir(folder)
                         if not n.startswith("_") and (n.endswith(".py")
                                                      or os.path.isfile(os.path.join(folder, n, "__init__.py")))))

    def __getattr__(name):
        if name in names:
            return importlib.import_module(f"{package}.{name}")
        raise AttributeError(f"module {package!r} has no attribute {name!r}")

    def __dir__():
        return sorted(set(names))

    return __getattr__, __dir__
