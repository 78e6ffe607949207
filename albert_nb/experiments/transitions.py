"""The paper's Figure 1: how far each layer moves its input, ALBERT against BERT.

For every layer l, the input x = hidden_states[l] and the output y = hidden_states[l + 1] of
each real token of held-out text are compared by the L2 distance ||y - x|| and the cosine
distance 1 - cos(x, y), averaged over tokens. The paper finds ALBERT's transitions smoother
than BERT's (smaller, and oscillating less from layer to layer): weight sharing stabilises the
network's parameters. `layer_transitions` works for any `AlbertModel`, shared or not.
"""
from __future__ import annotations

import numpy as np

from albert_nb.pretraining.evaluation import original_ids


def layer_transitions(albert, arrays: dict, batch_size: int = 128, max_examples: int = 512) -> dict:
    """{"l2": [L], "cosine": [L], "num_tokens"} for an `AlbertModel` on pretraining records.

    The records' masked slots are filled back in (`original_ids`), so the model reads the
    plain held-out text.
    """
    ids = original_ids(arrays)[:max_examples]                                # [N, seq]
    mask = arrays["input_mask"][:max_examples]                               # [N, seq]
    segments = arrays["segment_ids"][:max_examples]
    l2_sum = cos_sum = None
    count = 0
    for start in range(0, len(ids), batch_size):
        batch = {"input_ids": ids[start:start + batch_size],
                 "input_mask": mask[start:start + batch_size],
                 "segment_ids": segments[start:start + batch_size]}
        states = albert(batch, training=False, output_hidden_states=True)["hidden_states"]
        states = [np.asarray(s, dtype=np.float32) for s in states]            # L+1 x [b, seq, H]
        real = batch["input_mask"].astype(bool)                               # [b, seq]
        l2 = np.stack([np.linalg.norm(y - x, axis=-1)[real]
                       for x, y in zip(states[:-1], states[1:])])             # [L, tokens]
        cos = np.stack([1 - _cosine(x, y)[real] for x, y in zip(states[:-1], states[1:])])
        l2_sum = l2.sum(1) if l2_sum is None else l2_sum + l2.sum(1)
        cos_sum = cos.sum(1) if cos_sum is None else cos_sum + cos.sum(1)
        count += int(real.sum())
    return {"l2": (l2_sum / count).tolist(), "cosine": (cos_sum / count).tolist(),
            "num_tokens": count}


def _cosine(x, y):
    """cos(x, y) along the last axis: [b, seq, H] x2 -> [b, seq]."""
    dot = (x * y).sum(-1)
    return dot / (np.linalg.norm(x, axis=-1) * np.linalg.norm(y, axis=-1) + 1e-9)


def oscillation(values) -> float:
    """Mean absolute change from one layer to the next: how unsmooth a transition curve is."""
    values = np.asarray(values, dtype=np.float64)
    return float(np.abs(np.diff(values)).mean()) if len(values) > 1 else 0.0
