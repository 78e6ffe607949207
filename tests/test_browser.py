"""The notebooks as a person uses them: JupyterLab in a real (headless) Chromium, driven by Playwright.

Two checks, a few minutes together in smoke mode:
* notebook 06 runs in JupyterLab, and the attention explorer's figures change when the layer, the
  head, the sentence and the masked piece are changed with the mouse and keyboard;
* an executed notebook 01 (as the walkthrough writes it) shows every figure, drawn.
The browser console must stay free of errors throughout. Skips, with the reason, where there is no
Chromium or no Playwright (scripts/setup.sh installs both where it can).
"""
from __future__ import annotations

import json
import re
import time

import papermill as pm
import pytest

from albert_nb import walkthrough
from browser_helpers import (chromium_page, error_outputs, jupyterlab, lab_command, open_notebook,
                             save_and_read, wait_until_executed, why_no_browser)

pytestmark = pytest.mark.slow

NOTEBOOKS = {p.name[:2]: p for p in walkthrough.notebooks()}

# Every plotly figure in a cell's output, as data the page holds (what is drawn comes from it).
FIGURE_DATA = """els => els.map(gd => JSON.stringify((gd.data || []).map(t =>
    [t.type, t.z || null, t.x || null, t.y || null, t.text || null])))"""
# A figure is drawn when plotly laid it out, it has a size, and its SVG holds trace elements.
DRAWN = """els => els.map(gd => {
    const box = gd.getBoundingClientRect();
    const traces = gd.querySelectorAll('.trace, .heatmaplayer image, .barlayer path, .scatterlayer path');
    return {width: box.width, height: box.height, traces: traces.length,
            full: (gd._fullData || []).length};
})"""


@pytest.fixture(scope="module")
def browser_ready():
    reason = why_no_browser()
    if reason:
        print(f"browser test skipped: {reason}")
        pytest.skip(reason)


def _dropdown(scope, label: str):
    """The <select> of the ipywidgets Dropdown whose description is `label`."""
    return scope.locator(".widget-dropdown").filter(
        has=scope.page.locator("label", has_text=re.compile(f"^{re.escape(label)}$"))).locator("select")


def _text_input(scope, label: str):
    return scope.locator(".widget-text").filter(
        has=scope.page.locator("label", has_text=re.compile(f"^{re.escape(label)}$"))).locator("input")


def _wait_for_change(read, before, what: str, timeout: float = 60.0):
    """Poll `read()` until it differs from `before`; returns the new value."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        now = read()
        if now != before:
            return now
        time.sleep(0.25)
    raise AssertionError(f"the explorer's figure did not change after {what} (waited {timeout:.0f} s)")


def _pick_other(select) -> str:
    """Choose an option other than the current one; returns its label."""
    current = select.input_value()
    values = select.locator("option").evaluate_all("os => os.map(o => [o.value, o.textContent])")
    value, label = next((v, t) for v, t in values if v != current)
    select.select_option(value=value)
    return label


def test_attention_explorer_responds_in_jupyterlab(browser_ready, tmp_path):
    root = tmp_path / "lab"
    root.mkdir()
    target = root / "06_attention_explorer.ipynb"
    pm.execute_notebook(str(NOTEBOOKS["06"]), str(target), parameters={"SMOKE": True, "NUM_PAIRS": 4},
                        prepare_only=True, progress_bar=False)
    errors: list[str] = []
    with jupyterlab(root) as (base, token), chromium_page(errors) as page:
        open_notebook(page, base, token, target.name)
        lab_command(page, "notebook:run-all-cells")
        wait_until_executed(page, timeout_ms=900_000)
        saved = save_and_read(page, target)
        assert not error_outputs(saved), f"06 raised in JupyterLab: {error_outputs(saved)}"

        cell = page.locator(".jp-CodeCell").filter(has_text="explorer = AttentionExplorer(")
        output = cell.locator(".jp-OutputArea")
        plots = output.locator(".js-plotly-plot")
        plots.first.wait_for(timeout=60_000)
        assert plots.count() == 5, f"expected the explorer's 5 figures, found {plots.count()}"
        figures = lambda: plots.evaluate_all(FIGURE_DATA)   # noqa: E731
        heatmap = lambda: figures()[0]                       # noqa: E731
        predictions = lambda: figures()[3]                   # noqa: E731
        status = output.locator(".widget-html")

        before = heatmap()
        _pick_other(_dropdown(output, "layer"))
        before = _wait_for_change(heatmap, before, "choosing another layer")

        _pick_other(_dropdown(output, "head"))
        before = _wait_for_change(heatmap, before, "choosing another head")

        status_before = status.inner_text()
        sentence = _text_input(output, "sentence A")
        sentence.fill("The lambda expression returns a new function object for every call.")
        sentence.press("Enter")
        before = _wait_for_change(heatmap, before, "typing a new sentence A")
        assert status.inner_text() != status_before, "the piece count did not follow the new sentence"

        mask = _dropdown(output, "mask")
        options = mask.locator("option").all_text_contents()
        word = next(o for o in options if o.endswith("function") or o.endswith("▁function"))
        predictions_before = predictions()
        mask.select_option(label=word)
        _wait_for_change(heatmap, before, f"masking {word!r}")
        after = _wait_for_change(predictions, predictions_before, f"masking {word!r} (MLM top-k)")
        bars = json.loads(after)
        assert bars and bars[0][0] == "bar", f"the top-k figure should be bars, got {bars[:1]}"

        drawn = plots.evaluate_all(DRAWN)
        assert all(d["traces"] > 0 and d["width"] > 100 for d in drawn), drawn
    assert not errors, "the browser console reported errors:\n" + "\n".join(errors)


def test_executed_architecture_notebook_shows_its_figures(browser_ready, tmp_path):
    root = tmp_path / "lab"
    outcome = walkthrough.run_notebook(NOTEBOOKS["01"], root, {"SMOKE": True}, timeout=600)
    assert outcome["ok"], outcome["result"]
    executed = json.loads(outcome["output"].read_text(encoding="utf-8"))
    expected = sum(1 for c in executed["cells"] if c["cell_type"] == "code" for o in c.get("outputs", [])
                   if "application/vnd.plotly.v1+json" in o.get("data", {}))
    assert expected >= 5, f"01 should hold its figures, found {expected}"
    errors: list[str] = []
    with jupyterlab(root) as (base, token), chromium_page(errors) as page:
        open_notebook(page, base, token, outcome["output"].name)
        plots = page.locator(".jp-OutputArea .js-plotly-plot")
        deadline = time.monotonic() + 120
        while plots.count() < expected and time.monotonic() < deadline:
            page.mouse.wheel(0, 2000)   # outputs further down render as they come into view
            time.sleep(0.5)
        for i in range(plots.count()):
            plots.nth(i).scroll_into_view_if_needed()
        drawn = plots.evaluate_all(DRAWN)
        assert len(drawn) == expected, f"{len(drawn)} of {expected} figures rendered"
        blank = [i for i, d in enumerate(drawn) if not (d["traces"] and d["full"] and d["width"] > 100
                                                         and d["height"] > 100)]
        assert not blank, f"figures {blank} are blank: {[drawn[i] for i in blank]}"
    assert not errors, "the browser console reported errors:\n" + "\n".join(errors)
