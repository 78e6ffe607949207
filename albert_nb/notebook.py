"""Notebook plumbing: one `setup()` call at the top of every walkthrough, and output stripping.

`setup()` seeds the RNGs and chooses how figures and progress bars are shown:

* every plotly figure is sent as plotly JSON (JupyterLab, Notebook 7 and VS Code draw it
  interactively) **plus an SVG of itself**, drawn by kaleido in a local Chromium, so that the
  saved notebook also shows it where no JavaScript runs: GitHub, nbviewer, `nbconvert --to html`.
  (SVG: 2-3x smaller than a PNG of the same figure, and sharp.) Without kaleido or a
  Chromium-based browser the SVG is left out and `setup()` says why.
* headless runs (`ALBERT_NB_HEADLESS=1`, which `python -m albert_nb.walkthrough` and the tests set
  for their kernels) get text progress bars: a widget bar's saved state is its first frame ("0%").

`python -m albert_nb.notebook strip notebooks/*.ipynb` clears outputs, execution counts and all
cell metadata except `tags` (papermill's `parameters` tag must survive);
`python -m albert_nb.notebook check notebooks/*.ipynb` exits 1 if any file is not clean.
"""
from __future__ import annotations

import json
import os
import re
import shutil
import sys
import threading

from albert_nb.io_utils import atomic_write_text

# Keras, TensorFlow, plotly, tqdm and kaleido are imported inside `setup` and the figure helpers
# (deliberately lazy): each is optional for some notebook, and kaleido may be absent.

# plotly_mimetype stores a figure as JSON only (no embedded plotly.js, so executed notebooks stay
# small); the static renderer below adds an SVG beside it. Colab needs its own renderer.
DEFAULT_RENDERER = "plotly_mimetype"
STATIC_RENDERER = "albert_nb_svg"
HEADLESS_ENV = "ALBERT_NB_HEADLESS"
STATIC_ENV = "ALBERT_NB_STATIC_FIGURES"        # "0" turns the SVG fallback off
# Figures without a size of their own are drawn at a typical notebook width.
STATIC_WIDTH, STATIC_HEIGHT = 900, 450
BROWSERS = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable", "chrome")


def in_colab() -> bool:
    return "google.colab" in sys.modules


def _flag(name: str) -> bool:
    return os.environ.get(name, "").strip().lower() not in ("", "0", "false", "no")


def headless() -> bool:
    """True when no person watches this kernel (walkthrough, tests): set by ALBERT_NB_HEADLESS."""
    return _flag(HEADLESS_ENV)


def setup(seed: int = 0, renderer: str | None = None, static_figures: bool | None = None) -> dict:
    """Seed every RNG, pick the plotly renderer and progress bars; return a short summary.

    static_figures: add an SVG to every figure (default: on, unless ALBERT_NB_STATIC_FIGURES=0).
    """
    import keras
    import plotly.io as pio
    import tensorflow as tf

    if static_figures is None:
        static_figures = os.environ.get(STATIC_ENV, "1").strip().lower() not in ("0", "false", "no")
    static = "off"
    if renderer is None and not os.environ.get("ALBERT_NB_PLOTLY_RENDERER") and not in_colab():
        static = enable_static_figures() if static_figures else "off (static_figures=False)"
    renderer = renderer or os.environ.get("ALBERT_NB_PLOTLY_RENDERER") or (
        "colab" if in_colab() else DEFAULT_RENDERER + ("+" + STATIC_RENDERER if static == "svg" else ""))
    pio.renderers.default = renderer
    if headless():
        use_text_progress_bars()
    keras.utils.set_random_seed(seed)
    devices = sorted({d.device_type for d in tf.config.list_logical_devices()})
    return {"tensorflow": tf.__version__, "keras": keras.__version__, "devices": devices,
            "plotly_renderer": renderer, "static_figures": static, "seed": seed}


# ------------------------------------------------------------------ progress bars
def use_text_progress_bars() -> None:
    """Make `tqdm.auto` (which every albert_nb bar imports at call time) plain text bars.

    A widget bar is saved as its first frame ("0%"); a text bar ends as its last line, and the
    walkthrough folds its carriage-return updates into that line (`tidy_streams`).
    """
    import tqdm.auto
    import tqdm.autonotebook
    import tqdm.std

    tqdm.auto.tqdm = tqdm.autonotebook.tqdm = tqdm.std.tqdm
    tqdm.auto.trange = tqdm.autonotebook.trange = tqdm.std.trange


_CARRIAGE_RETURN = re.compile(r"[^\n]*\r(?=[^\n])")   # a line overwritten by what follows \r


def tidy_streams(nb: dict) -> dict:
    """Merge each cell's *adjacent* stream outputs of one name and apply their carriage returns,
    as a terminal would, so a text progress bar is saved as its final line (in place)."""
    for cell in nb.get("cells", []):
        merged = []
        for output in cell.get("outputs", []):
            previous = merged[-1] if merged else None
            if (output.get("output_type") == "stream" and previous is not None
                    and previous.get("output_type") == "stream" and previous["name"] == output["name"]):
                previous["text"] = _text(previous) + _text(output)
            else:
                merged.append(output)
        for output in merged:
            if output.get("output_type") == "stream":
                text = _CARRIAGE_RETURN.sub("", _text(output).replace("\r\n", "\n"))
                output["text"] = re.sub(r"(^|\n)[ \t]*\r$", r"\1", text)   # a cleared last line
        if "outputs" in cell:
            cell["outputs"] = merged
    return nb


def _text(output) -> str:
    text = output.get("text", "")
    return "".join(text) if isinstance(text, list) else text


# ------------------------------------------------------------------ static figures
def find_browser() -> str | None:
    """A Chromium-based browser for kaleido: $BROWSER_PATH, else the first on PATH (Debian's
    `chromium` is what scripts/setup.sh installs). Never downloads one."""
    env = os.environ.get("BROWSER_PATH")
    if env:
        return env if os.path.isfile(env) else None
    return next((path for path in map(shutil.which, BROWSERS) if path), None)


class _StaticFigures:
    """One kaleido server (one headless browser, started in the background) per kernel."""

    lock = threading.Lock()
    started = False
    failed: str | None = None

    @classmethod
    def start(cls, browser: str) -> None:
        import kaleido

        with cls.lock:
            if not cls.started:
                os.environ.setdefault("BROWSER_PATH", browser)
                kaleido.start_sync_server(mathjax=False, silence_warnings=True)   # no CDN fetches
                cls.started = True

    @classmethod
    def svg(cls, fig_dict: dict) -> str | None:
        import kaleido

        if cls.failed:
            return None
        layout = fig_dict.get("layout", {})
        opts = {"format": "svg", "scale": 1, "width": layout.get("width") or STATIC_WIDTH,
                "height": layout.get("height") or STATIC_HEIGHT}
        # kaleido's server thread ends if its browser dies, and a call would then wait forever.
        thread = getattr(kaleido._global_server, "_thread", None)  # noqa: SLF001
        if thread is None or not thread.is_alive():
            cls.failed = "kaleido's browser is not running"
        else:
            try:
                return kaleido.calc_fig_sync(fig_dict, opts=opts).decode("utf-8")
            except Exception as err:  # noqa: BLE001 - a missing SVG must not fail the notebook
                cls.failed = f"{type(err).__name__}: {str(err).splitlines()[0] if str(err) else ''}"
        print(f"static figures off for the rest of this kernel ({cls.failed})", file=sys.stderr)
        return None


def _register_static_renderer() -> None:
    import plotly.io as pio
    from plotly.io._base_renderers import MimetypeRenderer

    class SvgFallback(MimetypeRenderer):
        """plotly renderer adding `image/svg+xml` (for readers without JavaScript) to the bundle."""

        def to_mimebundle(self, fig_dict):
            svg = _StaticFigures.svg(fig_dict)
            return {"image/svg+xml": svg} if svg else {}

    pio.renderers[STATIC_RENDERER] = SvgFallback()


def enable_static_figures() -> str:
    """Start kaleido's browser in the background; returns "svg" or why there is no fallback."""
    try:
        import kaleido  # noqa: F401
    except ImportError:
        return "off (kaleido is not installed: pip install albert-nb[notebooks])"
    browser = find_browser()
    if browser is None:
        return "off (no Chromium found: apt-get install chromium, or set BROWSER_PATH)"
    _StaticFigures.start(browser)
    _register_static_renderer()
    return "svg"


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
