"""Notebook plumbing: one `setup()` call at the top of every walkthrough, and output stripping.

`python -m albert_nb.notebook strip notebooks/*.ipynb` clears outputs, execution counts and all
cell metadata except `tags` (papermill's `parameters` tag must survive);
`python -m albert_nb.notebook check notebooks/*.ipynb` exits 1 if any file is not clean.
"""
from __future__ import annotations

import json
import os
import sys

from albert_nb.io_utils import atomic_write_text

# plotly_mimetype stores a figure as JSON only (no embedded plotly.js), so executed notebooks
# stay small; JupyterLab, Notebook 7 and VS Code render it. Colab needs its own renderer.
DEFAULT_RENDERER = "plotly_mimetype"


def in_colab() -> bool:
    return "google.colab" in sys.modules


def setup(seed: int = 0, renderer: str | None = None) -> dict:
    """Seed every RNG, pick a plotly renderer, and return a short environment summary."""
    import keras
    import plotly.io as pio
    import tensorflow as tf

    renderer = renderer or os.environ.get("ALBERT_NB_PLOTLY_RENDERER") or (
        "colab" if in_colab() else DEFAULT_RENDERER)
    pio.renderers.default = renderer
    keras.utils.set_random_seed(seed)
    devices = sorted({d.device_type for d in tf.config.list_logical_devices()})
    return {"tensorflow": tf.__version__, "keras": keras.__version__, "devices": devices,
            "plotly_renderer": renderer, "seed": seed}


def strip_notebook(nb: dict) -> dict:
    """Return a copy without outputs, counts or cell metadata other than tags."""
    nb = json.loads(json.dumps(nb))
    nb["metadata"] = {k: v for k, v in nb.get("metadata", {}).items() if k in ("kernelspec", "language_info")}
    if "language_info" in nb["metadata"]:
        nb["metadata"]["language_info"] = {"name": nb["metadata"]["language_info"].get("name", "python")}
    for cell in nb.get("cells", []):
        tags = cell.get("metadata", {}).get("tags")
        cell["metadata"] = {"tags": tags} if tags else {}
        if cell.get("cell_type") == "code":
            cell["outputs"] = []
            cell["execution_count"] = None
    return nb


def _dump(nb: dict) -> str:
    return json.dumps(nb, indent=1, ensure_ascii=False) + "\n"


def is_clean(path) -> bool:
    with open(path, encoding="utf-8") as handle:
        text = handle.read()
    return _dump(strip_notebook(json.loads(text))) == text


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if len(argv) < 2 or argv[0] not in ("strip", "check"):
        print("usage: python -m albert_nb.notebook {strip|check} NOTEBOOK.ipynb ...", file=sys.stderr)
        return 2
    command, paths = argv[0], argv[1:]
    dirty = []
    for path in paths:
        if not os.path.isfile(path):
            print(f"notebook not found: {path}", file=sys.stderr)
            return 2
        if command == "strip":
            with open(path, encoding="utf-8") as handle:
                atomic_write_text(path, _dump(strip_notebook(json.load(handle))))
        elif not is_clean(path):
            dirty.append(path)
    for path in dirty:
        print(f"{path}: has outputs or extra metadata; run python -m albert_nb.notebook strip {path}")
    return 1 if dirty else 0


if __name__ == "__main__":
    sys.exit(main())
