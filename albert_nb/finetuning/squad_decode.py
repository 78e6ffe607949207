"""Model outputs per window -> answers per question, and the original's output files.

* **v1** (`decode_v1`): in each window take the `n_best_size` best start and end logits; keep
  pairs whose start is a paragraph token in its max-context window, whose end is a paragraph
  token not before the start, and that span at most `max_answer_length` tokens; rank all windows'
  pairs by start + end logit; the answer text is the *original* paragraph's characters from the
  start token's first to the end token's last (`final text recovery`: case, accents and spacing
  as written, not as tokenized); duplicates by text are dropped; n-best probabilities are the
  softmax of the kept scores.
* **v2** (`decode_v2`): the head already did a beam search: the top `start_n_top` starts, and
  for each the top `end_n_top` ends, with log-probabilities. The same filters and ranking apply
  to those candidates. The no-answer score of a question is the *minimum* over its windows of the
  answerability logit `cls_logits` (high = no answer), written to `null_odds.json`; the question
  is answered "" when that score exceeds `null_score_diff_threshold`. (The original answers ""
  already when the score *equals* it, so the question at which the official search put the
  threshold lost its answer on the second pass; here both passes use the script's `>`.)
* `evaluate_v2_tuned`: the original's two passes: decode without a threshold, run the official
  v2.0 evaluation with the null odds, take `best_f1_thresh` as the threshold, decode again.
  The threshold is tuned on the file being evaluated (as the original, on dev); to report a
  number not used for tuning, decode a held-out file with the dev threshold (`decode_v2(...,
  null_score_diff_threshold=t)`).
"""
from __future__ import annotations

import collections
import os

import numpy as np

from albert_nb.io_utils import atomic_write_json, atomic_write_text
from albert_nb.tasks import squad_metrics


def _softmax(scores: list[float]) -> list[float]:
    if not scores:
        return []
    x = np.asarray(scores, np.float64)
    e = np.exp(x - x.max())
    return (e / e.sum()).tolist()


def _top(values, n: int) -> list[int]:
    """Indices of the n largest values, best first (stable for ties, as Python's sort)."""
    return [int(i) for i in np.argsort(-np.asarray(values), kind="stable")[:n]]


def _candidate(meta: dict, start: int, end: int, max_answer_length: int):
    """(start, end) in paragraph-token coordinates of this window, or None if not allowed."""
    s, e = start - meta["doc_offset"], end - meta["doc_offset"]
    n = len(meta["tok_start_to_orig_index"])
    if s < 0 or e < 0 or s >= n or e >= n:
        return None
    if not meta["token_is_max_context"][s] or e < s or e - s + 1 > max_answer_length:
        return None
    return s, e


def _nbest(example, metas, candidates, n_best_size: int) -> list[dict]:
    """Ranked, de-duplicated answers with probabilities. candidates: (meta_index, s, e, sl, el)."""
    candidates.sort(key=lambda c: c[3] + c[4], reverse=True)
    seen, best = set(), []
    for meta_index, s, e, start_score, end_score in candidates:
        if len(best) >= n_best_size:
            break
        meta = metas[meta_index]
        first, last = meta["tok_start_to_orig_index"][s], meta["tok_end_to_orig_index"][e]
        text = example.paragraph_text[first:last + 1].strip()
        if text in seen:
            continue
        seen.add(text)
        best.append({"text": text, "start_log_prob": float(start_score), "end_log_prob": float(end_score)})
    return best


def _by_example(metas: list[dict], results: dict) -> dict:
    out = collections.defaultdict(list)
    for meta in metas:
        if meta["unique_id"] in results:
            out[meta["example_index"]].append(meta)
    return out


def decode_v1(examples, metas: list[dict], results: dict, n_best_size: int = 20,
              max_answer_length: int = 30) -> tuple[dict, dict]:
    """results: unique_id -> {"start_logits": [T], "end_logits": [T]} -> (predictions, nbest)."""
    windows = _by_example(metas, results)
    predictions, nbest_json = collections.OrderedDict(), collections.OrderedDict()
    for index, example in enumerate(examples):
        features = windows.get(index, [])
        candidates = []
        for k, meta in enumerate(features):
            result = results[meta["unique_id"]]
            starts, ends = result["start_logits"], result["end_logits"]
            for start in _top(starts, n_best_size):
                for end in _top(ends, n_best_size):
                    span = _candidate(meta, start, end, max_answer_length)
                    if span is not None:
                        candidates.append((k, *span, starts[start], ends[end]))
        best = _nbest(example, features, candidates, n_best_size) or [
            {"text": "empty", "start_log_prob": 0.0, "end_log_prob": 0.0}]  # the original's nonce
        for entry, p in zip(best, _softmax([b["start_log_prob"] + b["end_log_prob"] for b in best])):
            entry["probability"] = p
        predictions[example.qas_id] = best[0]["text"]
        nbest_json[example.qas_id] = best
    return predictions, nbest_json


def decode_v2(examples, metas: list[dict], results: dict, n_best_size: int = 20,
              max_answer_length: int = 30, null_score_diff_threshold: float | None = None
              ) -> tuple[dict, dict, dict]:
    """results: unique_id -> {"start_top_log_probs" [k], "start_top_index" [k],
    "end_top_log_probs" [k*k'], "end_top_index" [k*k'], "cls_logits"} ->
    (predictions, nbest, null_odds)."""
    windows = _by_example(metas, results)
    predictions, nbest_json, null_odds = (collections.OrderedDict() for _ in range(3))
    for index, example in enumerate(examples):
        features = windows.get(index, [])
        candidates, null_score = [], None
        for k, meta in enumerate(features):
            r = results[meta["unique_id"]]
            cls = float(r["cls_logits"])
            null_score = cls if null_score is None else min(null_score, cls)
            start_n_top = len(r["start_top_index"])
            end_n_top = len(r["end_top_index"]) // max(start_n_top, 1)
            for i in range(start_n_top):
                for j in range(end_n_top):
                    start, end = int(r["start_top_index"][i]), int(r["end_top_index"][i * end_n_top + j])
                    span = _candidate(meta, start, end, max_answer_length)
                    if span is not None:
                        candidates.append((k, *span, r["start_top_log_probs"][i],
                                           r["end_top_log_probs"][i * end_n_top + j]))
        best = _nbest(example, features, candidates, n_best_size) or [
            {"text": "", "start_log_prob": -1e6, "end_log_prob": -1e6}]
        for entry, p in zip(best, _softmax([b["start_log_prob"] + b["end_log_prob"] for b in best])):
            entry["probability"] = p
        score = 1e6 if null_score is None else null_score  # no window at all: no answer
        null_odds[example.qas_id] = score
        answer_none = null_score_diff_threshold is not None and score > null_score_diff_threshold
        predictions[example.qas_id] = "" if answer_none else best[0]["text"]
        nbest_json[example.qas_id] = best
    return predictions, nbest_json, null_odds


def evaluate_v2_tuned(dataset: list[dict], examples, metas, results, n_best_size: int = 20,
                      max_answer_length: int = 30) -> dict:
    """The original's evaluate_v2: tune the null threshold (best F1) and decode with it.

    Returns {"predictions", "nbest", "null_odds", "metrics", "raw_predictions" (every question
    answered: the first pass, for threshold curves)}; metrics has exact, f1, total, the
    HasAns_/NoAns_ breakdown, best_exact(_thresh), best_f1(_thresh), null_score_diff_threshold.
    """
    raw, _, odds = decode_v2(examples, metas, results, n_best_size, max_answer_length)
    first = squad_metrics.evaluate_v2(dataset, raw, odds)
    threshold = first["best_f1_thresh"]
    preds, nbest, odds = decode_v2(examples, metas, results, n_best_size, max_answer_length, threshold)
    metrics = squad_metrics.evaluate_v2(dataset, preds, odds)
    for key in ("best_exact", "best_exact_thresh", "best_f1", "best_f1_thresh"):
        metrics[key] = first[key]
    metrics["null_score_diff_threshold"] = threshold
    return {"predictions": preds, "nbest": nbest, "null_odds": odds, "metrics": metrics,
            "raw_predictions": raw}


def write_prediction_files(output_dir: str, predictions: dict, nbest: dict,
                           null_odds: dict | None = None) -> dict:
    """predictions.json, nbest_predictions.json (and null_odds.json), each written atomically."""
    paths = {"predictions": os.path.join(output_dir, "predictions.json"),
             "nbest": os.path.join(output_dir, "nbest_predictions.json")}
    atomic_write_json(paths["predictions"], predictions, indent=4, sort_keys=False)
    atomic_write_json(paths["nbest"], nbest, indent=4, sort_keys=False)
    if null_odds is not None:
        paths["null_odds"] = os.path.join(output_dir, "null_odds.json")
        atomic_write_json(paths["null_odds"], null_odds, indent=4, sort_keys=False)
    return paths


def format_results(metrics: dict) -> str:
    """`key = value` lines, sorted (the original's eval_results.txt)."""
    return "".join(f"{key} = {metrics[key]}\n" for key in sorted(metrics))


def write_eval_results(output_dir: str, metrics: dict) -> str:
    path = os.path.join(output_dir, "eval_results.txt")
    atomic_write_text(path, format_results(metrics))
    return path
