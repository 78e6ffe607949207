"""Every notebook runs headless with its smoke parameters, and is committed clean."""
import json
import os

import papermill as pm
import pytest

from albert_nb import notebook, walkthrough

NOTEBOOKS = walkthrough.notebooks()


def test_there_are_numbered_notebooks():
    assert NOTEBOOKS, "no notebooks/NN_*.ipynb found"
    prefixes = [p.name[:2] for p in NOTEBOOKS]
    assert len(prefixes) == len(set(prefixes)), f"duplicate notebook numbers: {prefixes}"
    assert prefixes[0] == "00"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_committed_without_outputs_and_with_parameters_tag(path):
    assert notebook.is_clean(path), f"{path.name} has outputs/metadata: python -m albert_nb.notebook strip {path}"
    nb = json.loads(path.read_text(encoding="utf-8"))
    tagged = [c for c in nb["cells"] if "parameters" in c.get("metadata", {}).get("tags", [])]
    assert len(tagged) == 1, f"{path.name}: expected exactly one cell tagged 'parameters'"
    params = pm.inspect_notebook(str(path))
    assert "SMOKE" in params, f"{path.name}: the parameters cell must define SMOKE"
    assert params["SMOKE"]["default"] == "False", f"{path.name}: the default run must be the real one"
    assert params["SMOKE"]["inferred_type_name"] == "bool"


@pytest.mark.slow
@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_runs_headless_in_smoke_mode(path, tmp_path):
    outcome = walkthrough.run_notebook(path, tmp_path, {"SMOKE": True}, timeout=900)
    assert outcome["ok"], f"{path.name} failed: {outcome['result']} (see {outcome['output']})"
    executed = json.loads(outcome["output"].read_text(encoding="utf-8"))
    injected = [c for c in executed["cells"] if "injected-parameters" in c["metadata"].get("tags", [])]
    assert injected, "papermill did not inject the SMOKE parameter"


def test_strip_keeps_tags_and_drops_outputs(tmp_path):
    nb = {
        "cells": [
            {"cell_type": "code", "metadata": {"tags": ["parameters"], "scrolled": True},
             "execution_count": 3, "outputs": [{"output_type": "stream", "name": "stdout", "text": "x"}],
             "source": "SMOKE: bool = False"},
            {"cell_type": "markdown", "metadata": {}, "source": "# hi"},
        ],
        "metadata": {"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"},
                     "widgets": {"state": {}}},
        "nbformat": 4, "nbformat_minor": 5,
    }
    path = tmp_path / "nb.ipynb"
    path.write_text(json.dumps(nb))
    assert not notebook.is_clean(path)
    assert notebook.main(["check", str(path)]) == 1
    assert notebook.main(["strip", str(path)]) == 0
    assert notebook.is_clean(path)
    cleaned = json.loads(path.read_text())
    assert cleaned["cells"][0]["metadata"] == {"tags": ["parameters"]}
    assert cleaned["cells"][0]["outputs"] == [] and cleaned["cells"][0]["execution_count"] is None
    assert "widgets" not in cleaned["metadata"]


def test_result_line_is_last_printed_line():
    executed = {"cells": [
        {"cell_type": "code", "outputs": [{"output_type": "stream", "name": "stdout", "text": "a\nfirst\n"}]},
        {"cell_type": "code", "outputs": []},
        {"cell_type": "markdown"},
    ]}
    assert walkthrough.result_line(executed) == "first"


def test_tidy_streams_keeps_each_progress_bar_as_its_last_line():
    executed = {"cells": [{"cell_type": "code", "outputs": [
        {"output_type": "stream", "name": "stderr", "text": "train:   0%|    | 0/3\r"},
        {"output_type": "stream", "name": "stderr", "text": "train:  33%|#   | 1/3\rtrain: 100%|####| 3/3\n"},
        {"output_type": "stream", "name": "stdout", "text": "done\n"},
        {"output_type": "display_data", "data": {"text/plain": "fig"}, "metadata": {}},
        {"output_type": "stream", "name": "stdout", "text": ["after ", "figure\n"]},
        {"output_type": "stream", "name": "stderr", "text": "eval: 50%\r          \r"},
    ]}]}
    outputs = notebook.tidy_streams(executed)["cells"][0]["outputs"]
    assert [o.get("name") for o in outputs] == ["stderr", "stdout", None, "stdout", "stderr"]  # order kept
    assert outputs[0]["text"] == "train: 100%|####| 3/3\n"
    assert outputs[3]["text"] == "after figure\n"
    assert outputs[4]["text"] == ""                                   # a bar that cleared itself


def test_headless_kernels_get_text_progress_bars(monkeypatch):
    import tqdm.auto
    import tqdm.std

    monkeypatch.setattr(tqdm.auto, "tqdm", tqdm.auto.tqdm)           # restored after the test
    monkeypatch.setattr(tqdm.auto, "trange", tqdm.auto.trange)
    with walkthrough.headless_kernels():
        assert notebook.headless()
    assert notebook.headless() is (os.environ.get(notebook.HEADLESS_ENV) == "1")
    notebook.use_text_progress_bars()
    from tqdm.auto import tqdm as bar                                 # as albert_nb's trainers import it

    assert bar is tqdm.std.tqdm


def test_setup_says_why_figures_have_no_static_copy(monkeypatch):
    monkeypatch.setenv("BROWSER_PATH", "/nonexistent/chromium")
    monkeypatch.delenv("ALBERT_NB_PLOTLY_RENDERER", raising=False)
    summary = notebook.setup(seed=0)
    assert summary["plotly_renderer"] == notebook.DEFAULT_RENDERER
    assert summary["static_figures"].startswith("off (no Chromium")
    assert notebook.setup(seed=0, static_figures=False)["static_figures"].startswith("off")


@pytest.mark.skipif(notebook.find_browser() is None, reason="no Chromium for kaleido (scripts/setup.sh installs it)")
def test_every_figure_carries_an_svg_copy():
    import plotly.graph_objects as go
    import plotly.io as pio

    summary = notebook.setup(seed=0)
    assert summary["static_figures"] == "svg"
    assert pio.renderers.default == f"{notebook.DEFAULT_RENDERER}+{notebook.STATIC_RENDERER}"
    bundle = pio.renderers[notebook.STATIC_RENDERER].to_mimebundle(go.Figure(go.Bar(x=[1, 2], y=[3, 1])).to_dict())
    assert list(bundle) == ["image/svg+xml"]
    assert bundle["image/svg+xml"].startswith("<svg") and "main-svg" in bundle["image/svg+xml"]


def test_walkthrough_starts_the_long_notebooks_first_and_holds_back_what_needs_03():
    order = [p.name[:2] for p in walkthrough.schedule(NOTEBOOKS)]
    assert order[:2] == ["03", "08"] and sorted(order) == [p.name[:2] for p in NOTEBOOKS]
    for prefix, need in walkthrough.NEEDS.items():
        source = next(p for p in NOTEBOOKS if p.name.startswith(prefix)).read_text(encoding="utf-8")
        assert "tiny" in source, f"{prefix} is held back for {need} but does not read the tiny model"


def test_walkthrough_splits_the_cores_between_concurrent_kernels_unless_the_user_chose():
    env = walkthrough.concurrent_environment({"PATH": "/bin"}, jobs=2, cores=2)
    assert env["TF_NUM_INTRAOP_THREADS"] == env["TF_NUM_INTEROP_THREADS"] == "1" and env["PATH"] == "/bin"
    assert walkthrough.concurrent_environment({}, jobs=2, cores=8)["TF_NUM_INTRAOP_THREADS"] == "4"
    assert walkthrough.concurrent_environment({}, jobs=3, cores=2)["TF_NUM_INTRAOP_THREADS"] == "1"
    chosen = walkthrough.concurrent_environment({"TF_NUM_INTRAOP_THREADS": "3"}, jobs=2, cores=2)
    assert chosen["TF_NUM_INTRAOP_THREADS"] == "3" and chosen["TF_NUM_INTEROP_THREADS"] == "1"


@pytest.mark.slow
def test_walkthrough_runs_two_notebooks_at_once(tmp_path, capsys):
    assert walkthrough.main(["--smoke", "--only", "00,01", "--jobs", "2", "--output_dir", str(tmp_path)]) == 0
    out = capsys.readouterr().out.splitlines()
    assert sorted(line.split()[1] for line in out[:2]) == ["00_quickstart", "01_architecture"], out
    assert all(line.startswith("ok") for line in out[:2]) and out[2].startswith("2 passed, 0 failed")
    assert (tmp_path / "00_quickstart.ipynb").is_file() and (tmp_path / "01_architecture.ipynb").is_file()
    assert walkthrough.main(["--jobs", "0", "--only", "00"]) == 2
