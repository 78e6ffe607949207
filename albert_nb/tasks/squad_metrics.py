"""The official SQuAD v1.1 and v2.0 evaluation, with the scripts' exact semantics.

* Normalisation: lower-case, drop ASCII punctuation (`string.punctuation`, so "«", "—" and
  other Unicode punctuation stay), drop the words a/an/the, collapse whitespace.
* Exact match and token F1 of a prediction against *each* gold answer; a question scores the
  maximum over its gold answers.
* v1.1 (`evaluate_v1`): `exact_match`, `f1` in percent over every question.
* v2.0 (`evaluate_v2`): gold answers that normalise to "" are dropped and an unanswerable question's
  only gold answer is "" (so F1 is 1 if and only if the prediction is empty too); `exact`, `f1`,
  `total`, the `HasAns_*` / `NoAns_*` breakdown, and the no-answer threshold search: sort the
  questions by their no-answer score and find the threshold above which predicting "" gives the
  best EM / F1 (`best_exact`, `best_exact_thresh`, `best_f1`, `best_f1_thresh`).
"""
from __future__ import annotations

import collections
import re
import string

import numpy as np

_ARTICLES = re.compile(r"\b(a|an|the)\b", re.UNICODE)
_PUNCTUATION = frozenset(string.punctuation)


def normalize_answer(s: str) -> str:
    """Lower text and remove punctuation, articles and extra whitespace (official order)."""
    s = s.lower()
    s = "".join(ch for ch in s if ch not in _PUNCTUATION)
    s = _ARTICLES.sub(" ", s)
    return " ".join(s.split())


def get_tokens(s: str) -> list[str]:
    return normalize_answer(s).split() if s else []


def exact_score(gold: str, prediction: str) -> int:
    return int(normalize_answer(gold) == normalize_answer(prediction))


def _overlap_f1(gold_toks: list[str], pred_toks: list[str]) -> float:
    """Harmonic mean of token precision and recall, tokens counted with multiplicity."""
    common = collections.Counter(gold_toks) & collections.Counter(pred_toks)
    same = sum(common.values())
    if same == 0:
        return 0.0
    precision, recall = same / len(pred_toks), same / len(gold_toks)
    return 2 * precision * recall / (precision + recall)


def f1_score(gold: str, prediction: str) -> float:
    """Token-overlap F1 (v2.0 rule: if either side is empty, 1 when both are, else 0)."""
    gold_toks, pred_toks = get_tokens(gold), get_tokens(prediction)
    if not gold_toks or not pred_toks:
        return float(gold_toks == pred_toks)
    return _overlap_f1(gold_toks, pred_toks)


def f1_score_v1(gold: str, prediction: str) -> float:
    """v1.1's F1: no empty-answer rule (an empty prediction scores 0; so does an empty gold)."""
    return _overlap_f1(normalize_answer(gold).split(), normalize_answer(prediction).split())


def _questions(dataset: list[dict]):
    for article in dataset:
        for paragraph in article["paragraphs"]:
            for qa in paragraph["qas"]:
                yield qa


def evaluate_v1(dataset: list[dict], predictions: dict) -> dict:
    """Official v1.1: {"exact_match", "f1"} in percent; an unanswered question counts 0."""
    exact = f1 = total = 0.0
    for qa in _questions(dataset):
        total += 1
        if qa["id"] not in predictions:
            continue
        golds = [a["text"] for a in qa["answers"]]
        pred = predictions[qa["id"]]
        exact += max((exact_score(g, pred) for g in golds), default=0)
        f1 += max((f1_score_v1(g, pred) for g in golds), default=0.0)
    total = max(total, 1)
    return {"exact_match": 100.0 * exact / total, "f1": 100.0 * f1 / total}


def has_answer_map(dataset: list[dict]) -> dict:
    return {qa["id"]: bool(qa["answers"]) for qa in _questions(dataset)}


def raw_scores(dataset: list[dict], predictions: dict) -> tuple[dict, dict]:
    """Per-question EM and F1 (max over the gold answers; "" for unanswerable questions)."""
    exact, f1 = {}, {}
    for qa in _questions(dataset):
        golds = [a["text"] for a in qa["answers"] if normalize_answer(a["text"])] or [""]
        if qa["id"] not in predictions:
            continue
        pred = predictions[qa["id"]]
        exact[qa["id"]] = max(exact_score(g, pred) for g in golds)
        f1[qa["id"]] = max(f1_score(g, pred) for g in golds)
    return exact, f1


def apply_no_answer_threshold(scores: dict, na_probs: dict, has_ans: dict, threshold: float) -> dict:
    """Questions whose no-answer score exceeds `threshold` are answered "" instead."""
    return {qid: (float(not has_ans[qid]) if na_probs[qid] > threshold else s)
            for qid, s in scores.items()}


def eval_dict(exact: dict, f1: dict, qids=None) -> dict:
    qids = list(exact) if qids is None else list(qids)
    total = len(qids)
    if total == 0:
        return {"exact": 0.0, "f1": 0.0, "total": 0}
    return {"exact": 100.0 * sum(exact[q] for q in qids) / total,
            "f1": 100.0 * sum(f1[q] for q in qids) / total, "total": total}


def best_threshold(predictions: dict, scores: dict, na_probs: dict, has_ans: dict) -> tuple[float, float]:
    """The official search: start from "answer nothing" (score = #unanswerable), walk the questions
    in order of rising no-answer score, and keep the threshold where the total score peaks."""
    current = best = sum(1 for q in has_ans if not has_ans[q])
    threshold = 0.0
    for qid in sorted(na_probs, key=lambda q: na_probs[q]):
        if qid not in scores:
            continue
        if has_ans[qid]:
            current += scores[qid]
        elif predictions[qid]:
            current -= 1
        if current > best:
            best, threshold = current, na_probs[qid]
    return 100.0 * best / max(len(scores), 1), threshold


def threshold_curve(predictions: dict, na_probs: dict, has_ans: dict, dataset: list[dict],
                    thresholds) -> list[dict]:
    """EM/F1 overall, HasAns and NoAns at each threshold (the notebook's plot)."""
    exact, f1 = raw_scores(dataset, predictions)
    has = [q for q in exact if has_ans[q]]
    no = [q for q in exact if not has_ans[q]]
    rows = []
    for t in thresholds:
        e = apply_no_answer_threshold(exact, na_probs, has_ans, t)
        f = apply_no_answer_threshold(f1, na_probs, has_ans, t)
        rows.append({"threshold": float(t), "f1": eval_dict(e, f)["f1"],
                     "HasAns_f1": eval_dict(e, f, has)["f1"] if has else float("nan"),
                     "NoAns_f1": eval_dict(e, f, no)["f1"] if no else float("nan")})
    return rows


def evaluate_v2(dataset: list[dict], predictions: dict, na_probs: dict | None = None,
                na_prob_thresh: float = 1.0) -> dict:
    """Official v2.0 with the breakdown and the threshold search (when `na_probs` is given)."""
    has_ans = has_answer_map(dataset)
    na_probs = na_probs if na_probs is not None else {q: 0.0 for q in has_ans}
    exact_raw, f1_raw = raw_scores(dataset, predictions)
    exact = apply_no_answer_threshold(exact_raw, na_probs, has_ans, na_prob_thresh)
    f1 = apply_no_answer_threshold(f1_raw, na_probs, has_ans, na_prob_thresh)
    out = eval_dict(exact, f1)
    for prefix, wanted in (("HasAns", True), ("NoAns", False)):
        qids = [q for q in exact if has_ans[q] == wanted]
        if qids:
            for key, value in eval_dict(exact, f1, qids).items():
                out[f"{prefix}_{key}"] = value
    out["best_exact"], out["best_exact_thresh"] = best_threshold(predictions, exact_raw, na_probs, has_ans)
    out["best_f1"], out["best_f1_thresh"] = best_threshold(predictions, f1_raw, na_probs, has_ans)
    return out


def random_word_baseline(dataset: list[dict]) -> dict:
    """Expected EM/F1 (percent) of answering each question with a uniformly random word of its
    context: the floor a span model must beat. Unanswerable questions count as answered."""
    exact = f1 = total = 0.0
    for article in dataset:
        for paragraph in article["paragraphs"]:
            words = paragraph["context"].split()
            for qa in paragraph["qas"]:
                golds = [a["text"] for a in qa["answers"] if normalize_answer(a["text"])] or [""]
                total += 1
                exact += sum(max(exact_score(g, w) for g in golds) for w in words) / len(words)
                f1 += sum(max(f1_score(g, w) for g in golds) for w in words) / len(words)
    total = max(total, 1)
    return {"exact": 100.0 * exact / total, "f1": 100.0 * f1 / total}


def paired_bootstrap(a: dict, b: dict, samples: int = 2000, seed: int = 0) -> tuple[float, float, float]:
    """Mean of a - b over the shared questions (per-question scores, e.g. F1 from `raw_scores`)
    and its 95 % bootstrap interval, resampling questions: is a difference more than noise?"""
    qids = sorted(set(a) & set(b))
    diff = np.asarray([a[q] - b[q] for q in qids], float)
    if not len(diff):
        return float("nan"), float("nan"), float("nan")
    rng = np.random.default_rng(seed)
    means = diff[rng.integers(0, len(diff), (samples, len(diff)))].mean(axis=1)
    return float(diff.mean()), float(np.percentile(means, 2.5)), float(np.percentile(means, 97.5))
