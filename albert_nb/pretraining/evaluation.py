"""Looking into a pretrained model: what a constant guess scores, and what the MLM fills in."""
from __future__ import annotations

import numpy as np
from scipy.special import softmax

from albert_nb.errors import InputError


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
