"""Looking into a pretrained model: constant baselines, fill-mask, and the honest held-out
numbers of what it learnt beyond the easy guesses.

The original reports masked-LM accuracy and sentence-order accuracy on one mixed set. On a
small model both hide more than they show:

* **Masked LM.** A small model first learns to answer `,`, `▁` or `▁the` everywhere; that
  alone scores well. So we also score the positions whose answer is *not* one of the
  `num_trivial` most frequent training pieces, every predictor choosing among the non-trivial
  pieces only (it is told the answer is not trivial), next to two baselines computed from the
  training records: the **unigram** guess (the most frequent non-trivial piece) and the
  **bigram** guess (the most frequent piece after the piece the model sees to the left; a
  `[MASK]` on the left falls back to the unigram guess).
* **Sentence order.** When a chunk holds a single sentence, the original pairs it with a random
  document's text, label 1 (its issue #234). The mixed set thus rewards spotting a change of
  topic, which is BERT's NSP, the very shortcut SOP is meant to remove. `sop_report` on a
  *swapped-pair* set (made with `drop_single_sentence_chunks`: every label 1 is A and B of one
  document swapped, labels balanced) measures order alone; on a *random-document* set (made with
  `random_next_sentence` and the same option) it measures topic change alone.

Every function reads TFRecords written by `create_pretraining_data` and takes any
`AlbertForPretraining`, so it works for the tiny model, the ablations of notebook 09 and a
released checkpoint alike.
"""
from __future__ import annotations

import dataclasses
import functools
import os
import weakref

import numpy as np
import tensorflow as tf
from keras import ops
from scipy.special import softmax
from sklearn.metrics import balanced_accuracy_score, roc_auc_score

from albert_nb.errors import InputError
from albert_nb.pretraining.objectives import model_inputs
from albert_nb.pretraining.records import expand_input_files, make_dataset

NUM_TRIVIAL = 12   # the measure: the 12 most common pieces are "trivial"


def read_arrays(files, max_seq_length: int, max_predictions_per_seq: int,
                batch_size: int = 512) -> dict:
    """Every record of `files` as numpy arrays {feature: [N, ...]}, in file order."""
    parts: dict[str, list] = {}
    for batch in make_dataset(files, max_seq_length, max_predictions_per_seq, batch_size,
                              is_training=False, repeat=False, drop_remainder=False):
        for key, value in batch.items():
            parts.setdefault(key, []).append(value.numpy())
    if not parts:
        raise InputError(f"{files!r} holds no pretraining records")
    return {key: np.concatenate(value) for key, value in parts.items()}


def original_ids(arrays: dict) -> np.ndarray:
    """The unmasked input ids [N, L]: masked slots get their labels back."""
    ids = arrays["input_ids"].copy()                                    # [N, L]
    positions = arrays["masked_lm_positions"]                            # [N, P]
    rows = np.broadcast_to(np.arange(len(ids))[:, None], positions.shape)  # [N, P]
    real = arrays["masked_lm_weights"] > 0                               # [N, P]
    ids[rows[real], positions[real]] = arrays["masked_lm_ids"][real]
    return ids


@dataclasses.dataclass
class PieceStatistics:
    """Unigram and bigram statistics of the training text, for the MLM baselines."""

    counts: np.ndarray          # [V] occurrences of each piece (specials excluded)
    trivial: np.ndarray         # [K] ids of the most frequent pieces
    bigram_best: np.ndarray     # [V] most frequent non-trivial piece after each piece
    unigram_best: int           # most frequent non-trivial piece
    bigram_best_any: np.ndarray  # [V] most frequent piece (trivial ones included) after each piece
    unigram_best_any: int

    def is_trivial(self, ids) -> np.ndarray:
        return np.isin(ids, self.trivial)


def piece_statistics(train_arrays: dict, vocab_size: int, special_ids, mask_id: int,
                     num_trivial: int = NUM_TRIVIAL) -> PieceStatistics:
    """Count pieces and adjacent pairs in the (unmasked) training records."""
    ids = original_ids(train_arrays)                                     # [N, L]
    real = train_arrays["input_mask"] > 0                                # [N, L]
    is_target = real & ~np.isin(ids, list(special_ids))                  # [N, L]
    counts = np.bincount(ids[is_target], minlength=vocab_size).astype(np.int64)
    order = np.argsort(-counts, kind="stable")
    trivial = order[:num_trivial]
    unigram_any = int(order[0])
    unigram = int(next(i for i in order if i not in set(trivial.tolist())))
    prev, cur = ids[:, :-1][is_target[:, 1:]], ids[:, 1:][is_target[:, 1:]]
    codes, pair_counts = np.unique(prev.astype(np.int64) * vocab_size + cur, return_counts=True)

    def best_after(keep):
        table = np.full(vocab_size, unigram_any if keep is None else unigram, np.int64)
        c, n = (codes, pair_counts) if keep is None else (codes[keep], pair_counts[keep])
        by_count = np.lexsort((-n, c // vocab_size))   # grouped by prev, most frequent first
        first = np.unique(c[by_count] // vocab_size, return_index=True)[1]
        chosen = c[by_count][first]
        table[chosen // vocab_size] = chosen % vocab_size
        table[mask_id] = unigram_any if keep is None else unigram   # nothing to read on the left
        return table

    keep = ~np.isin(codes % vocab_size, trivial)
    return PieceStatistics(counts=counts, trivial=trivial, bigram_best=best_after(keep),
                           unigram_best=unigram, bigram_best_any=best_after(None),
                           unigram_best_any=unigram_any)


def _predict(model, arrays: dict, batch_size: int, trivial: np.ndarray):
    """Top-1 MLM guesses (all pieces, and non-trivial pieces only) and p(SOP label 1)."""
    forward = _forward(model)
    top_any, top_nontrivial, p_label1 = [], [], []
    for start in range(0, len(arrays["input_ids"]), batch_size):
        batch = {k: v[start:start + batch_size] for k, v in arrays.items()}
        outputs = forward(model_inputs(batch))
        logits = np.array(ops.cast(outputs["mlm_logits"], "float32"))    # [batch, P, V], a copy
        top_any.append(logits.argmax(-1))
        logits[..., trivial] = -np.inf
        top_nontrivial.append(logits.argmax(-1))
        sop = np.asarray(ops.softmax(ops.cast(outputs["sop_logits"], "float32"), axis=-1))
        p_label1.append(sop[:, 1])                                        # [batch]
    return np.concatenate(top_any), np.concatenate(top_nontrivial), np.concatenate(p_label1)


_FORWARDS: "weakref.WeakKeyDictionary" = weakref.WeakKeyDictionary()


def _forward(model):
    """The model's inference graph, traced once per model (eager calls cost more CPU)."""
    if model not in _FORWARDS:
        _FORWARDS[model] = tf.function(lambda inputs: model(inputs, training=False),
                                       reduce_retracing=True)
    return _FORWARDS[model]


def mlm_report(model, arrays: dict, stats: PieceStatistics, batch_size: int = 256) -> dict:
    """Held-out MLM accuracy, overall and on non-trivial answers, beside unigram and bigram."""
    top_any, top_nontrivial, _ = _predict(model, arrays, batch_size, stats.trivial)
    return mlm_scores(arrays, stats, top_any, top_nontrivial)


def mlm_scores(arrays: dict, stats: PieceStatistics, top_any, top_nontrivial) -> dict:
    labels = arrays["masked_lm_ids"]                                     # [N, P]
    real = arrays["masked_lm_weights"] > 0                               # [N, P]
    positions = arrays["masked_lm_positions"]
    left = np.take_along_axis(arrays["input_ids"], np.maximum(positions - 1, 0), axis=1)
    nontrivial = real & ~stats.is_trivial(labels)

    def accuracy(guess, where):
        return float((guess == labels)[where].mean()) if where.any() else float("nan")

    return {
        "accuracy": accuracy(top_any, real),
        "unigram_accuracy": accuracy(np.full_like(labels, stats.unigram_best_any), real),
        "bigram_accuracy": accuracy(stats.bigram_best_any[left], real),
        "nontrivial_accuracy": accuracy(top_nontrivial, nontrivial),
        "nontrivial_unigram_accuracy": accuracy(np.full_like(labels, stats.unigram_best), nontrivial),
        "nontrivial_bigram_accuracy": accuracy(stats.bigram_best[left], nontrivial),
        "trivial_prediction_share": float(stats.is_trivial(top_any)[real].mean()),
        "num_positions": int(real.sum()), "num_nontrivial_positions": int(nontrivial.sum()),
        "num_trivial": int(len(stats.trivial)),
    }


def sop_scores(labels, p_label1) -> dict:
    """Accuracy, balanced accuracy and ROC AUC of p(label 1), with the majority baseline."""
    labels = np.asarray(labels).ravel()
    predicted = (np.asarray(p_label1) >= 0.5).astype(int)
    share = float(labels.mean())
    auc = float(roc_auc_score(labels, p_label1)) if 0 < share < 1 else float("nan")
    return {"accuracy": float((predicted == labels).mean()),
            "balanced_accuracy": float(balanced_accuracy_score(labels, predicted)),
            "roc_auc": auc, "majority_accuracy": max(share, 1 - share),
            "num_pairs": int(labels.size)}


def sop_report(model, arrays: dict, batch_size: int = 256) -> dict:
    """Sentence-order (or NSP) quality of the model on one set of pairs."""
    _, _, p_label1 = _predict(model, arrays, batch_size, np.zeros(0, np.int64))
    return sop_scores(arrays["next_sentence_labels"], p_label1)


def auc_standard_error(auc: float, num_positive: int, num_negative: int) -> float:
    """Hanley & McNeil's standard error of a ROC AUC (for 'is it above 0.5?')."""
    q1, q2 = auc / (2 - auc), 2 * auc * auc / (1 + auc)
    variance = (auc * (1 - auc) + (num_positive - 1) * (q1 - auc * auc)
                + (num_negative - 1) * (q2 - auc * auc)) / (num_positive * num_negative)
    return float(np.sqrt(max(variance, 0.0)))


def held_out_report(model, data: dict, max_seq_length: int, max_predictions_per_seq: int,
                    tokenizer, stats: PieceStatistics | None = None,
                    max_examples: int | None = None) -> dict:
    """Every honest number of one model on the held-out files of `tiny.prepare_data`.

    `data`: the paths {"train", "held", "held_sop", "held_nsp"}; the piece statistics (from
    "train") can be passed in when several models share the records (notebook 09).
    `max_examples`: score at most this many records of each file, evenly spaced over it (the
    forward passes are most of the cost; notebook 09 scores seven models).
    """
    lengths = (max_seq_length, max_predictions_per_seq)
    if stats is None:
        stats = statistics_of(data["train"], lengths, tokenizer)
    held = held_out_arrays(data["held"], lengths, max_examples)
    top_any, top_nontrivial, p_mixed = _predict(model, held, 256, stats.trivial)
    report = {"mlm": mlm_scores(held, stats, top_any, top_nontrivial),
              "sop_mixed": sop_scores(held["next_sentence_labels"], p_mixed)}
    for key, name in (("sop_swapped", "held_sop"), ("nsp_random", "held_nsp")):
        arrays = held_out_arrays(data[name], lengths, max_examples)
        report[key] = sop_report(model, arrays)
        labels = arrays["next_sentence_labels"].ravel()
        report[key]["roc_auc_se"] = auc_standard_error(
            report[key]["roc_auc"], int(labels.sum()), int((1 - labels).sum()))
    report["trivial_pieces"] = tokenizer.convert_ids_to_tokens(stats.trivial.tolist())
    return report


def subsample(arrays: dict, max_examples: int | None) -> dict:
    """At most `max_examples` records, evenly spaced (every document keeps its share)."""
    n = len(arrays["input_ids"])
    if max_examples is None or n <= max_examples:
        return arrays
    keep = np.linspace(0, n - 1, max_examples).round().astype(np.int64)   # [max_examples]
    return {key: value[keep] for key, value in arrays.items()}


def held_out_arrays(files, lengths, max_examples: int | None) -> dict:
    """`subsample(read_arrays(files, *lengths), max_examples)`, cached per file version:
    notebook 09 scores seven models on the same held-out records, and reading them costs
    about as much CPU as one model's forward passes. The arrays are read-only (shared)."""
    versions = tuple((f, os.stat(f).st_size, os.stat(f).st_mtime_ns)
                     for f in expand_input_files(files))
    return dict(_cached_arrays(versions, tuple(lengths), max_examples))


@functools.lru_cache(maxsize=8)
def _cached_arrays(versions, lengths, max_examples) -> dict:
    arrays = subsample(read_arrays([path for path, _, _ in versions], *lengths), max_examples)
    for value in arrays.values():
        value.flags.writeable = False
    return arrays


def statistics_of(train_file, lengths, tokenizer) -> PieceStatistics:
    """PieceStatistics of a training TFRecord file (specials never count as answers).

    Cached per file version: notebook 09 scores several models trained on the same records."""
    special = (tokenizer.pad_id, tokenizer.cls_id, tokenizer.sep_id, tokenizer.mask_id)
    stat = os.stat(train_file)
    return _cached_statistics(os.fspath(train_file), stat.st_size, stat.st_mtime_ns,
                              tuple(lengths), tokenizer.vocab_size, special)


@functools.lru_cache(maxsize=4)
def _cached_statistics(path, size, mtime, lengths, vocab_size, special) -> PieceStatistics:
    return piece_statistics(read_arrays(path, *lengths), vocab_size, set(special), special[-1])


def summary_line(report: dict) -> str:
    """The one line notebook 03 ends with: every number beside its baseline."""
    mlm, swapped, mixed = report["mlm"], report["sop_swapped"], report["sop_mixed"]
    return (f"swapped-pair SOP AUC {swapped['roc_auc']:.3f} ± {swapped['roc_auc_se']:.3f} "
            f"(chance 0.5; balanced acc {swapped['balanced_accuracy']:.3f}, "
            f"{swapped['num_pairs']} pairs), mixed-set SOP acc {mixed['accuracy']:.3f} "
            f"(majority {mixed['majority_accuracy']:.3f}); MLM acc on non-trivial pieces "
            f"{mlm['nontrivial_accuracy']:.3f} (unigram {mlm['nontrivial_unigram_accuracy']:.3f}, "
            f"bigram {mlm['nontrivial_bigram_accuracy']:.3f}), all pieces {mlm['accuracy']:.3f} "
            f"(unigram {mlm['unigram_accuracy']:.3f}, bigram {mlm['bigram_accuracy']:.3f})")


def most_frequent_token_baseline(dataset, max_steps: int | None = None) -> dict:
    """Accuracy of always predicting the most frequent label *of these very masked positions*.

    This is the best any constant guess can do on the set (it peeks at the labels), so a model
    that beats it has learnt to use context, not just token frequencies.
    """
    counts: dict[int, float] = {}
    total = 0.0
    for step, batch in enumerate(dataset):
        if max_steps is not None and step >= max_steps:
            break
        ids = batch["masked_lm_ids"].numpy().ravel()
        weights = batch["masked_lm_weights"].numpy().ravel()
        for token, weight in zip(ids[weights > 0], weights[weights > 0]):
            counts[int(token)] = counts.get(int(token), 0.0) + float(weight)
        total += float(weights.sum())
    if not total:
        raise InputError("most_frequent_token_baseline: the evaluation data has no masked positions")
    token, count = max(counts.items(), key=lambda kv: kv[1])
    return {"token_id": token, "accuracy": count / total, "num_positions": int(total)}


def fill_mask(model, tokenizer, text: str, top_k: int = 5) -> list[list[tuple[str, float]]]:
    """Top-k pieces (with probabilities) for every `[MASK]` in `text`, read by the MLM head.

    Each [MASK] stands for one piece; the rest of the text is tokenised as usual.
    """
    parts = text.split("[MASK]")
    if len(parts) < 2:
        raise InputError(f"fill_mask: {text!r} has no [MASK]")
    ids, positions = [tokenizer.cls_id], []
    for index, part in enumerate(parts):
        ids += tokenizer.encode(part) if part.strip() else []
        if index < len(parts) - 1:
            positions.append(len(ids))
            ids.append(tokenizer.mask_id)
    ids.append(tokenizer.sep_id)
    batch = {"input_ids": np.array([ids], "int32"), "input_mask": np.ones((1, len(ids)), "int32"),
             "segment_ids": np.zeros((1, len(ids)), "int32"),
             "masked_lm_positions": np.array([positions], "int32")}
    logits = np.asarray(model(batch, training=False)["mlm_logits"])[0]     # [masks, V]
    probs = softmax(logits, axis=-1)
    out = []
    for row in probs:
        best = np.argsort(-row)[:top_k]
        out.append([(tokenizer.inv_vocab[int(i)], float(row[i])) for i in best])
    return out
