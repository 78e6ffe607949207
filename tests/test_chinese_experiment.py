"""Notebook 08's helpers without training: standard errors, the summary rows, the figures
(the runs themselves are exercised by the notebook's smoke run in tests/test_notebooks.py)."""
import math

import numpy as np
import pytest

from albert_nb.experiments import chinese_tasks as experiment
from albert_nb.plots import chinese as plots_chinese
from albert_nb.plots import finetuning as plots
from albert_nb.tasks import tagging


def test_standard_errors():
    hits = [1, 0] * 50
    assert experiment.standard_error(hits) == pytest.approx(0.5 / math.sqrt(100), rel=0.02)
    assert math.isnan(experiment.standard_error([1]))
    gold = [["B-PER", "I-PER", "O"], ["B-LOC", "O", "O"], ["O", "B-ORG", "I-ORG"]] * 20
    assert experiment.entity_f1_se(gold, gold) == 0.0                       # always F1 1
    half = [g if i % 2 else ["O"] * 3 for i, g in enumerate(gold)]
    se = experiment.entity_f1_se(gold, half)
    assert 0.01 < se < 0.2 and tagging.entity_scores(gold, half)["f1"] == pytest.approx(2 / 3, abs=0.02)


def test_summary_rows_pair_the_two_starting_points():
    records = [{"task": "NER", "kind": k, "test": v, "test_se": 0.01, "dev": v + 0.1}
               for k, v in (("pretrained", 0.4), ("scratch", 0.3))]
    (row,) = experiment.summary_rows(records, {"NER": 0.0})
    assert row["gain"] == pytest.approx(0.1) and row["floor"] == 0.0 and row["scratch_dev"] == 0.4
    with pytest.raises(ValueError, match="kind="):
        experiment.model_flags("x", "random")
    assert experiment.model_flags("m", "scratch")["init_checkpoint"] is None
    assert experiment.TaskSettings(steps=100, batch_size=8).train_examples == 800


def test_figures():
    scores = {"pretrained": {"f1": 0.5, "PER_f1": 0.6, "PER_support": 12, "LOC_f1": 0.4}, "scratch": {"f1": 0.2}}
    fig = plots_chinese.entity_f1_figure(scores)
    assert [t.name for t in fig.data] == ["pretrained", "scratch"]
    assert list(fig.data[0].x) == ["PER (12)", "LOC (0)", "ORG (0)", "all"]
    assert list(fig.data[0].y) == [0.6, 0.4, 0.0, 0.5]
    bars = plots.comparison_figure({"NER": {"pretrained": 0.5, "scratch": 0.2, "majority class": 0.0}},
                                   errors={"NER": {"pretrained": 0.03}}, axis_title="test score")
    by_name = {t.name: t for t in bars.data}
    assert list(by_name["pretrained"].error_y.array) == [0.03]
    assert list(by_name["scratch"].error_y.array) == [0]
    assert bars.layout.yaxis.title.text == "test score"
    assert np.isclose(by_name["majority class"].y[0], 0.0)
