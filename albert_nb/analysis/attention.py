"""Attention maps of an ALBERT model, and the numbers that summarise them (no plotting here).

ALBERT reuses one block (or a few) at every depth, so "layer 3" is not a set of weights but an
*application* of a shared block. Everything here is indexed by application: a run of a model with
L layers and `inner_group_num` blocks per group yields L * inner_group_num attention maps, and
`application_blocks` says which parameter block produced each one. The point the explorer makes
with these numbers: the same weights, applied to different hidden states, attend differently.

Arrays are numpy: attentions [applications, heads, T, T], rows = queries, columns = keys,
each row a probability distribution over the real (unpadded) tokens.
"""
from __future__ import annotations

import dataclasses

import numpy as np
from scipy.special import softmax

from albert_nb.errors import InputError
from albert_nb.tokenizers import pairs

FILTERS = ("All", "A->A", "A->B", "B->A", "B->B")
STATISTICS = {
    "entropy": "mean entropy of a query's attention (nats; uniform over T tokens = log T)",
    "distance": "mean attention distance |i - j| in tokens",
    "cls": "share of attention on [CLS]",
    "sep": "share of attention on [SEP]",
    "self": "share of attention on the query token itself",
    "previous": "share of attention on the previous token",
    "next": "share of attention on the next token",
    "other_segment": "share of attention on the other sentence (pairs only)",
}


# ------------------------------------------------------------------- which block ran
def application_blocks(config) -> list[dict]:
    """One entry per block application, in forward order: which layer, group and inner block.

    `block` numbers the parameter blocks 0 .. G*inner-1, so two applications with the same
    `block` ran the very same weights (ALBERT's cross-layer sharing).
    """
    out = []
    for layer in range(config.num_hidden_layers):
        group = config.group_of_layer(layer)
        for inner in range(config.inner_group_num):
            label = f"L{layer}" + (f".{inner}" if config.inner_group_num > 1 else "")
            out.append({"application": len(out), "layer": layer, "group": group, "inner": inner,
                        "block": group * config.inner_group_num + inner,
                        "name": f"group_{group}_inner_group_{inner}", "label": label})
    return out


def same_block_matrix(applications) -> np.ndarray:
    """[A, A] bool: True where two applications used the same parameter block."""
    blocks = np.array([a["block"] for a in applications])
    return blocks[:, None] == blocks[None, :]


# ----------------------------------------------------------------------- one run
@dataclasses.dataclass
class AttentionRun:
    """One input through one model: its pieces and every attention map (real tokens only)."""

    tokens: list[str]
    input_ids: np.ndarray          # [T]
    segment_ids: np.ndarray        # [T]
    attentions: np.ndarray         # [A, heads, T, T]
    applications: list[dict]       # A entries, see application_blocks
    predictions: dict = dataclasses.field(default_factory=dict)   # position -> [(piece, prob)]
    masked: dict = dataclasses.field(default_factory=dict)        # position -> original piece
    label: str = ""

    @property
    def length(self) -> int:
        return len(self.tokens)

    @property
    def num_heads(self) -> int:
        return self.attentions.shape[1]

    @property
    def b_start(self) -> int | None:
        """Index of the first sentence-B piece (bertviz's sentence_b_start), None for one sentence."""
        where = np.flatnonzero(self.segment_ids == 1)
        return int(where[0]) if where.size else None

    def positions_of(self, piece: str) -> list[int]:
        return [i for i, t in enumerate(self.tokens) if t == piece]

    def statistics(self) -> dict[str, np.ndarray]:
        return head_statistics(self.attentions, self.positions_of("[CLS]"), self.positions_of("[SEP]"),
                               self.segment_ids if self.b_start is not None else None)


def encoder_of(model):
    """The AlbertModel inside any head (heads keep it at `.albert`)."""
    return getattr(model, "albert", model)


def attention_maps(model, input_ids, input_mask=None, segment_ids=None):
    """Run the encoder once; returns (outputs, attentions [batch, A, heads, T, T] as numpy).

    Padding columns get ~0 weight (the -10000 mask bias); padded *query rows* are still
    computed, so callers crop to the real tokens.
    """
    ids = np.asarray(input_ids, dtype="int32")
    if ids.ndim != 2:
        raise InputError(f"attention_maps: input_ids must be [batch, seq], got shape {ids.shape}")
    mask = np.ones_like(ids) if input_mask is None else np.asarray(input_mask, dtype="int32")
    seg = np.zeros_like(ids) if segment_ids is None else np.asarray(segment_ids, dtype="int32")
    out = encoder_of(model)({"input_ids": ids, "input_mask": mask, "segment_ids": seg},
                            training=False, output_attentions=True)
    maps = np.stack([np.asarray(a, dtype="float32") for a in out["attentions"]], axis=1)
    return out, maps                                                   # [batch, A, heads, T, T]


def encode_pair(tokenizer, text_a: str, text_b: str | None = None, max_seq_length: int = 512):
    """[CLS] A [SEP] (B [SEP]) as int32 arrays (ids, segment ids): `tokenizers.pairs` rule."""
    if not tokenizer.encode(text_a or ""):
        raise InputError(f"sentence A {text_a!r} gives no tokens; expected some text")
    ids, seg = pairs.encode_pair(tokenizer, text_a, text_b, max_seq_length)
    return np.array(ids, "int32"), np.array(seg, "int32")


def mlm_top_k(model, sequence_output, positions, tokens_of, top_k: int = 5) -> dict:
    """Top-k MLM predictions at `positions` from a pretraining model's tied decoder.

    sequence_output [1, T, H] (already computed with the attentions, so no second pass);
    tokens_of maps ids to pieces. Returns {position: [(piece, probability), ...]}.
    """
    if not positions:
        return {}
    seq = np.asarray(sequence_output)[:, list(positions)]               # [1, P, H]
    logits = np.asarray(model.mlm_head(seq, encoder_of(model).word_embeddings))[0]   # [P, V]
    probs = softmax(logits, axis=-1)
    out = {}
    for pos, row in zip(positions, probs):
        best = np.argsort(-row)[:top_k]
        out[int(pos)] = [(piece, float(row[i])) for piece, i in zip(tokens_of(best), best)]
    return out


def run_ids(model, input_ids, segment_ids=None, tokens=None, pad_to: int | None = None,
            predict_positions=(), tokens_of=None, top_k: int = 5, label: str = "") -> AttentionRun:
    """One sequence of ids -> AttentionRun (attentions cropped to the real tokens).

    pad_to: run padded to this length (to show that padding changes nothing real).
    predict_positions: MLM top-k there, when the model has an MLM head (AlbertForPretraining).
    """
    ids = np.asarray(input_ids, "int32").ravel()
    seg = np.zeros_like(ids) if segment_ids is None else np.asarray(segment_ids, "int32").ravel()
    length = ids.size
    config = encoder_of(model).config
    if length > config.max_position_embeddings:
        raise InputError(f"input of {length} pieces exceeds max_position_embeddings "
                         f"= {config.max_position_embeddings}")
    total = max(length, pad_to or 0)
    batch_ids, batch_mask, batch_seg = (np.zeros((1, total), "int32") for _ in range(3))
    batch_ids[0, :length], batch_mask[0, :length], batch_seg[0, :length] = ids, 1, seg
    out, maps = attention_maps(model, batch_ids, batch_mask, batch_seg)
    maps = maps[0, :, :, :length, :length]                             # [A, heads, T, T]
    predictions = {}
    if predict_positions and hasattr(model, "mlm_head"):
        predictions = mlm_top_k(model, np.asarray(out["sequence_output"])[:, :length], list(predict_positions),
                                tokens_of or (lambda i: [str(x) for x in i]), top_k)
    tokens = list(tokens) if tokens is not None else [str(i) for i in ids]
    return AttentionRun(tokens=tokens, input_ids=ids, segment_ids=seg, attentions=maps,
                        applications=application_blocks(config), predictions=predictions, label=label)


def run_attention(model, tokenizer, text_a: str, text_b: str | None = None, mask_positions=(),
                  top_k: int = 5, label: str = "") -> AttentionRun:
    """Tokenise a sentence (pair), optionally replace pieces by [MASK], and collect attentions.

    With an AlbertForPretraining model, every masked position also gets MLM top-k predictions
    ("mask and re-run", as exBERT does).
    """
    config = encoder_of(model).config
    ids, seg = encode_pair(tokenizer, text_a, text_b, config.max_position_embeddings)
    masked = {}
    for pos in mask_positions:
        if not 0 < pos < len(ids) or ids[pos] in (tokenizer.cls_id, tokenizer.sep_id):
            raise InputError(f"mask position {pos}: expected the index of a sentence piece "
                             f"(1..{len(ids) - 2}, not [CLS]/[SEP])")
        masked[int(pos)] = tokenizer.convert_ids_to_tokens([ids[pos]])[0]
        ids[pos] = tokenizer.mask_id
    run = run_ids(model, ids, seg, tokens=tokenizer.convert_ids_to_tokens(ids),
                  predict_positions=tuple(masked), tokens_of=tokenizer.convert_ids_to_tokens,
                  top_k=top_k, label=label)
    run.masked = masked
    return run


# ------------------------------------------------------------------ filters, numbers
def filter_mask(segment_ids, name: str) -> np.ndarray:
    """[T, T] bool: which (query, key) cells a bertviz-style sentence-pair filter keeps.

    [CLS] and the first [SEP] belong to A (segment 0), B's pieces and its [SEP] to B.
    """
    if name not in FILTERS:
        raise InputError(f"attention filter {name!r}: expected one of {FILTERS}")
    seg = np.asarray(segment_ids)
    if name == "All":
        return np.ones((seg.size, seg.size), bool)
    if not (seg == 1).any():
        raise InputError(f"attention filter {name!r} needs a sentence pair; this input has one sentence")
    query, key = (0 if side == "A" else 1 for side in name.split("->"))
    return (seg == query)[:, None] & (seg == key)[None, :]


def filter_block(segment_ids, name: str) -> tuple[np.ndarray, np.ndarray]:
    """(query indices, key indices) of the rectangle a filter keeps (segments are contiguous)."""
    keep = filter_mask(segment_ids, name)
    return np.flatnonzero(keep.any(1)), np.flatnonzero(keep.any(0))


def entropy(probs, axis: int = -1) -> np.ndarray:
    """Shannon entropy in nats, with 0 log 0 = 0."""
    p = np.asarray(probs, dtype="float64")
    return -np.sum(np.where(p > 0, p * np.log(np.where(p > 0, p, 1.0)), 0.0), axis=axis)


def head_statistics(attentions, cls_positions=(0,), sep_positions=(), segment_ids=None) -> dict:
    """Per-head summaries of attentions [A, heads, T, T] -> {statistic: [A, heads]}.

    Every statistic is a mean over query rows; "previous"/"next" average over the rows that
    have such a neighbour. "other_segment" is present only when segment_ids mark a pair.
    """
    att = np.asarray(attentions, dtype="float64")
    if att.ndim != 4 or att.shape[-1] != att.shape[-2]:
        raise InputError(f"head_statistics: expected attentions [A, heads, T, T], got {att.shape}")
    t = att.shape[-1]
    idx = np.arange(t)
    distance = np.abs(idx[:, None] - idx[None, :])                      # [T, T]
    stats = {
        "entropy": entropy(att).mean(-1),
        "distance": (att * distance).sum(-1).mean(-1),
        "cls": att[..., list(cls_positions)].sum(-1).mean(-1),
        "sep": att[..., list(sep_positions)].sum(-1).mean(-1),
        "self": att[..., idx, idx].mean(-1),
        "previous": att[..., idx[1:], idx[:-1]].mean(-1) if t > 1 else np.zeros(att.shape[:2]),
        "next": att[..., idx[:-1], idx[1:]].mean(-1) if t > 1 else np.zeros(att.shape[:2]),
    }
    if segment_ids is not None:
        seg = np.asarray(segment_ids)
        other = seg[:, None] != seg[None, :]                            # [T, T]
        stats["other_segment"] = (att * other).sum(-1).mean(-1)
    return stats


def layer_similarity(attentions, head: int | None = None, centered: bool = False) -> np.ndarray:
    """[A, A] cosine similarity between the attention maps of every pair of applications.

    head=None compares all heads at once (maps flattened over heads); an int compares one head
    index, which for two applications of the same block means the same query/key weights.
    centered=True subtracts the uniform map 1/T first: near-uniform maps (an untrained model)
    all have cosine ~1, and centring shows whether their *departures* from uniform agree.
    """
    att = np.asarray(attentions, dtype="float64")
    if centered:
        att = att - 1.0 / att.shape[-1]
    flat = (att if head is None else att[:, head:head + 1]).reshape(att.shape[0], -1)   # [A, H*T*T]
    norms = np.linalg.norm(flat, axis=1)
    return (flat @ flat.T) / np.maximum(norms[:, None] * norms[None, :], 1e-12)


def sharing_summary(similarity, applications) -> dict:
    """Mean off-diagonal similarity between applications of the same block vs different blocks."""
    same = same_block_matrix(applications)
    off = ~np.eye(len(applications), dtype=bool)
    pick = lambda m: float(similarity[m].mean()) if m.any() else float("nan")   # noqa: E731
    return {"same_block": pick(same & off), "different_block": pick(~same & off),
            "min_same_block": float(similarity[same & off].min()) if (same & off).any() else float("nan")}


def sharing_by_distance(similarity, applications) -> list[dict]:
    """Same-block vs different-block similarity at each depth distance d = |i - j|.

    Attention maps drift with depth, so pairs far apart look less alike whatever their
    weights; comparing within one distance separates "same weights" from "close in depth".
    """
    same = same_block_matrix(applications)
    n = len(applications)
    gap = np.abs(np.arange(n)[:, None] - np.arange(n)[None, :])          # [A, A]
    out = []
    for d in range(1, n):
        row = {"distance": d}
        for name, keep in (("same_block", same), ("different_block", ~same)):
            cells = (gap == d) & keep
            row[name] = float(similarity[cells].mean()) if cells.any() else float("nan")
            row[f"{name}_pairs"] = int(cells.sum() // 2)
        out.append(row)
    return out


# ------------------------------------------------------------- over many sentences
def sentence_pairs(documents, count: int, seed: int = 0) -> list[tuple[str, str]]:
    """`count` pairs of consecutive sentences (A, B), each from a different document when there
    are enough documents, drawn with a seeded RNG (held-out text, never the training split)."""
    rng = np.random.default_rng(seed)
    candidates = [(doc, i) for doc in documents for i in range(len(doc) - 1)]
    if not candidates:
        raise InputError("sentence_pairs: expected documents with at least two sentences")
    by_document = {}
    for index in rng.permutation(len(candidates)):
        doc, i = candidates[index]
        by_document.setdefault(id(doc), (doc[i], doc[i + 1]))
    pairs = list(by_document.values())
    if len(pairs) < count:   # few documents: take further pairs from the same ones
        pairs += [(candidates[j][0][candidates[j][1]], candidates[j][0][candidates[j][1] + 1])
                  for j in rng.permutation(len(candidates))][: count - len(pairs)]
    return pairs[:count]


def corpus_attention(model, tokenizer, pairs, batch_size: int = 32) -> dict:
    """Head statistics and layer similarity averaged over many sentence pairs, with standard
    errors over the pairs: a pattern of one sentence may be that sentence's, not the head's.

    Returns {"pairs", "applications", "mean": {stat: [A, heads]}, "se": {stat: [A, heads]},
    "uniform_entropy": mean log T, "similarity": [A, A] mean, "sharing": {key: (mean, se)},
    "by_distance": [{distance, same_block: (mean, se), different_block: (mean, se)}]}.
    """
    config = encoder_of(model).config
    encoded = [encode_pair(tokenizer, a, b, config.max_position_embeddings) for a, b in pairs]
    if not encoded:
        raise InputError("corpus_attention: expected at least one sentence pair")
    applications = application_blocks(config)
    per_pair, sims, sharing, distance = [], [], [], []
    for start in range(0, len(encoded), batch_size):
        chunk = encoded[start:start + batch_size]
        width = max(ids.size for ids, _ in chunk)
        ids, mask, seg = (np.zeros((len(chunk), width), "int32") for _ in range(3))
        for row, (i, s) in enumerate(chunk):
            ids[row, :i.size], mask[row, :i.size], seg[row, :i.size] = i, 1, s
        _, maps = attention_maps(model, ids, mask, seg)                   # [batch, A, heads, W, W]
        for row, (i, s) in enumerate(chunk):
            t = i.size
            att = maps[row, :, :, :t, :t]                                 # [A, heads, T, T]
            per_pair.append(head_statistics(att, [0], list(np.flatnonzero(i == tokenizer.sep_id)), s))
            sim = layer_similarity(att)
            sims.append(sim)
            sharing.append(sharing_summary(sim, applications))
            distance.append(sharing_by_distance(sim, applications))

    def mean_se(values):
        v = np.asarray(values, dtype="float64")
        se = v.std(0, ddof=1) / np.sqrt(len(v)) if len(v) > 1 else np.full(v.shape[1:], np.nan)
        return v.mean(0), se

    names = [k for k in per_pair[0] if all(k in p for p in per_pair)]
    stats = {k: mean_se([p[k] for p in per_pair]) for k in names}
    pick = lambda rows, key: tuple(float(x) for x in mean_se([r[key] for r in rows]))   # noqa: E731
    return {
        "pairs": len(per_pair), "applications": applications,
        "mean": {k: m for k, (m, _) in stats.items()}, "se": {k: e for k, (_, e) in stats.items()},
        "uniform_entropy": float(np.mean([np.log(i.size) for i, _ in encoded])),
        "similarity": np.mean(sims, axis=0),
        "sharing": {k: pick(sharing, k) for k in ("same_block", "different_block")},
        "by_distance": [{"distance": row["distance"],
                         "same_block": pick([d[j] for d in distance], "same_block"),
                         "different_block": pick([d[j] for d in distance], "different_block"),
                         "same_block_pairs": row["same_block_pairs"],
                         "different_block_pairs": row["different_block_pairs"]}
                        for j, row in enumerate(distance[0])],
    }


def difference(run_a: AttentionRun, run_b: AttentionRun) -> np.ndarray:
    """run_b - run_a attentions [A, heads, T, T]; needs equal shapes (same length, same model size)."""
    if run_a.attentions.shape != run_b.attentions.shape:
        raise InputError(f"cannot difference attentions of shapes {run_a.attentions.shape} and "
                         f"{run_b.attentions.shape}: compare equal-length inputs on equal-sized models")
    return run_b.attentions - run_a.attentions
