"""The official SQuAD v1.1 / v2.0 evaluation semantics, against values worked out by hand."""
import pytest

from albert_nb.tasks import squad_metrics as m


@pytest.mark.parametrize("text, expected", [
    ("The Cat, sat!", "cat sat"),                      # article, punctuation, case
    ("An apple a day", "apple day"),
    ("theater of the absurd", "theater of absurd"),    # "the" only as a whole word
    ("  Denver   Broncos. ", "denver broncos"),
    ("Café — «déjà vu»", "café — «déjà vu»"),          # only ASCII punctuation is removed
    ("U.S.A.", "usa"),
    ("", ""),
])
def test_normalize_answer(text, expected):
    assert m.normalize_answer(text) == expected


def test_f1_and_exact_by_hand():
    # gold [big, red, dog], prediction [big, dog]: P = 1, R = 2/3, F1 = 0.8
    assert m.f1_score("the big red dog", "big dog") == pytest.approx(0.8)
    assert m.f1_score_v1("the big red dog", "big dog") == pytest.approx(0.8)
    # repeated tokens count with multiplicity: gold [a1, a1], pred [a1] -> P 1, R 1/2
    assert m.f1_score("x x", "x") == pytest.approx(2 / 3)
    assert m.exact_score("The Denver Broncos", "denver broncos.") == 1
    assert m.exact_score("Denver", "Denver Broncos") == 0


def test_empty_answers_follow_each_version():
    assert m.f1_score("", "") == 1.0           # v2: both empty agree
    assert m.f1_score("", "Paris") == 0.0
    assert m.f1_score("Paris", "") == 0.0
    assert m.f1_score_v1("", "") == 0.0        # v1 has no empty-answer rule
    assert m.f1_score("the", "a") == 1.0       # both normalise to nothing


def _dataset(qas):
    return [{"title": "t", "paragraphs": [{"context": "c", "qas": qas}]}]


def test_evaluate_v1_max_over_gold_and_missing_counts_zero():
    data = _dataset([
        {"id": "q1", "answers": [{"text": "Denver Broncos"}, {"text": "The Denver Broncos"}]},
        {"id": "q2", "answers": [{"text": "the big red dog"}]},
        {"id": "q3", "answers": [{"text": "Paris"}]},
    ])
    out = m.evaluate_v1(data, {"q1": "denver broncos!", "q2": "big dog"})
    assert out["exact_match"] == pytest.approx(100 / 3)
    assert out["f1"] == pytest.approx(100 * (1 + 0.8 + 0) / 3)


def test_evaluate_v2_breakdown_and_threshold_search():
    data = _dataset([
        {"id": "q1", "answers": [{"text": "Paris"}]},
        {"id": "q2", "answers": []},
        {"id": "q3", "answers": [{"text": "the big red dog"}]},
        {"id": "q4", "answers": []},
    ])
    preds = {"q1": "Paris", "q2": "London", "q3": "big dog", "q4": ""}
    odds = {"q1": 0.1, "q2": 0.9, "q3": 0.5, "q4": 0.2}
    out = m.evaluate_v2(data, preds, odds)
    # default threshold 1.0: nothing is overridden -> EM (1 + 0 + 0 + 1) / 4, F1 (1 + 0 + .8 + 1) / 4
    assert out["exact"] == pytest.approx(50.0)
    assert out["f1"] == pytest.approx(70.0)
    assert (out["HasAns_exact"], out["HasAns_f1"], out["HasAns_total"]) == (50.0, pytest.approx(90.0), 2)
    assert (out["NoAns_exact"], out["NoAns_total"]) == (50.0, 2)
    # search, by rising odds: start 2 (two unanswerable); q1 +1 -> 3 (t=.1); q4 (pred "") +0;
    # q3 +0 (EM) / +0.8 (F1) -> 3.8 (t=.5); q2 answered "London" -1.
    assert out["best_exact"] == pytest.approx(75.0) and out["best_exact_thresh"] == 0.1
    assert out["best_f1"] == pytest.approx(95.0) and out["best_f1_thresh"] == 0.5
    # above the threshold the question counts as answered "" (right only if unanswerable)
    tuned = m.evaluate_v2(data, preds, odds, na_prob_thresh=0.5)
    assert tuned["exact"] == pytest.approx(75.0) and tuned["f1"] == pytest.approx(95.0)


def test_gold_answers_that_normalise_to_nothing_are_dropped():
    data = _dataset([{"id": "q", "answers": [{"text": "the"}]}])   # behaves as unanswerable
    assert m.evaluate_v2(data, {"q": ""})["exact"] == 100.0


def test_threshold_curve_separates_has_and_no_answer():
    data = _dataset([{"id": "q1", "answers": [{"text": "Paris"}]}, {"id": "q2", "answers": []}])
    rows = m.threshold_curve({"q1": "Paris", "q2": "Rome"}, {"q1": 0.3, "q2": 0.7},
                             m.has_answer_map(data), data, [0.0, 0.5, 1.0])
    assert [(r["HasAns_f1"], r["NoAns_f1"]) for r in rows] == [(0.0, 100.0), (100.0, 100.0), (100.0, 0.0)]


def test_random_word_baseline_and_bootstrap_by_hand():
    data = [{"paragraphs": [{"context": "red blue", "qas": [{"id": "q", "answers": [{"text": "blue"}]}]}]}]
    assert m.random_word_baseline(data) == {"exact": 50.0, "f1": 50.0}
    mean, low, high = m.paired_bootstrap({"a": 1.0, "b": 1.0}, {"a": 0.0, "b": 0.0})
    assert (mean, low, high) == (1.0, 1.0, 1.0)
    mean, low, high = m.paired_bootstrap({"a": 1.0, "b": 0.0}, {"a": 0.0, "b": 1.0})
    assert mean == 0.0 and low < 0 < high
