"""What makes a walkthrough notebook open on Colab: its badge and its install cell.

Every `notebooks/NN_*.ipynb` has, in its first (markdown) cell, right under the title, the
"Open In Colab" badge linking to itself on GitHub, and as its first code cell `INSTALL_CELL`:
on Colab it pip-installs albert-nb (whose compatible ranges keep the TensorFlow, Keras and numpy
that Colab ships); anywhere else it does nothing (local set-up is `bash scripts/setup.sh`).

    python -m albert_nb.colab check notebooks/*.ipynb    # exit 1 naming what is missing
    python -m albert_nb.colab fix notebooks/*.ipynb      # add the badge and the cell

tests/test_install.py runs the check on every notebook.
"""
from __future__ import annotations

import json
import os
import sys
import uuid

from albert_nb.io_utils import atomic_write_text

REPOSITORY = "albert-nb/albert-nb"
BADGE_IMAGE = "https://colab.research.google.com/assets/colab-badge.svg"
INSTALL_CELL = """\
# On Colab: install albert-nb (it keeps the TensorFlow, Keras and numpy Colab ships).
# Elsewhere this does nothing: set up once with `bash scripts/setup.sh` (see the README).
import importlib.util
import subprocess
import sys

if "google.colab" in sys.modules and importlib.util.find_spec("albert_nb") is None:
    subprocess.run([sys.executable, "-m", "pip", "install", "-q",
                    "git+https://github.com/albert-nb/albert-nb"], check=True)"""


def badge(notebook_name: str) -> str:
    """The markdown badge that opens `notebooks/<notebook_name>` on Colab."""
    target = f"https://colab.research.google.com/github/{REPOSITORY}/blob/main/notebooks/{notebook_name}"
    return f"[![Open In Colab]({BADGE_IMAGE})]({target})"


def _source(cell: dict) -> str:
    source = cell.get("source", "")
    return "".join(source) if isinstance(source, list) else source


def problems(nb: dict, notebook_name: str) -> list[str]:
    """What `nb` lacks to open on Colab (empty when it is ready)."""
    found = []
    cells = nb.get("cells", [])
    if not cells or cells[0].get("cell_type") != "markdown" or badge(notebook_name) not in _source(cells[0]):
        found.append(f"the first cell must be markdown holding {badge(notebook_name)}")
    code = [c for c in cells if c.get("cell_type") == "code"]
    if not code or _source(code[0]).strip() != INSTALL_CELL:
        found.append("the first code cell must be albert_nb.colab.INSTALL_CELL")
    return found


def _lines(text: str) -> list[str]:
    lines = text.split("\n")
    return [line + "\n" for line in lines[:-1]] + [lines[-1]]


def fix(nb: dict, notebook_name: str) -> dict:
    """Add the badge under the title and the install cell after the first cell."""
    nb = json.loads(json.dumps(nb))
    cells = nb["cells"]
    first = cells[0]
    if badge(notebook_name) not in _source(first):
        text = _source(first).split("\n", 1)
        rest = text[1] if len(text) > 1 else ""
        first["source"] = _lines(f"{text[0]}\n\n{badge(notebook_name)}\n" + (rest if rest.startswith("\n") else f"\n{rest}"))
    code = [i for i, c in enumerate(cells) if c.get("cell_type") == "code"]
    if code and "google.colab" in _source(cells[code[0]]) and "pip" in _source(cells[code[0]]):
        cells[code[0]]["source"] = _lines(INSTALL_CELL)     # an older install cell: update it
    elif not code or _source(cells[code[0]]).strip() != INSTALL_CELL:
        cells.insert(1, {"cell_type": "code", "execution_count": None, "id": uuid.uuid4().hex[:8],
                         "metadata": {}, "outputs": [], "source": _lines(INSTALL_CELL)})
    return nb


def main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if len(argv) < 2 or argv[0] not in ("check", "fix"):
        print("usage: python -m albert_nb.colab {check,fix} NOTEBOOK.ipynb ...", file=sys.stderr)
        return 2
    status = 0
    for path in argv[1:]:
        with open(path, encoding="utf-8") as handle:
            nb = json.load(handle)
        name = os.path.basename(path)
        if argv[0] == "fix" and problems(nb, name):
            atomic_write_text(path, json.dumps(fix(nb, name), indent=1, ensure_ascii=False) + "\n")
            print(f"fixed {path}")
        for problem in problems(nb, name) if argv[0] == "check" else []:
            print(f"{path}: {problem}")
            status = 1
    return status


if __name__ == "__main__":
    sys.exit(main())
