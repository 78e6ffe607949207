"""Every notebook runs headless with its smoke parameters, and is committed clean."""
import json

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
