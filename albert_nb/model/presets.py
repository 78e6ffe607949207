"""Released ALBERT configurations, plus a CPU-sized tiny model and BERT equivalents.

Values follow the released `albert_config.json` files: English models share V=30000, E=128,
one group, one inner block; v1 uses dropout 0.1 (xxlarge 0), v2 uses none. The Chinese models use
ReLU and Google's BERT-Chinese WordPiece vocabulary (21128 entries). BERT equivalents switch
sharing off (one group per layer) and set E = H, which is how the paper's Table 1 compares them.
"""
from __future__ import annotations

_ENGLISH = {
    "vocab_size": 30000,
    "embedding_size": 128,
    "max_position_embeddings": 512,
    "type_vocab_size": 2,
    "initializer_range": 0.02,
    "hidden_act": "gelu",
    "num_hidden_groups": 1,
    "inner_group_num": 1,
    "down_scale_factor": 1,
    "net_structure_type": 0,
    "gap_size": 0,
    "num_memory_blocks": 0,
}

# size: (hidden_size, num_hidden_layers, num_attention_heads, intermediate_size)
SIZES = {
    "base": (768, 12, 12, 3072),
    "large": (1024, 24, 16, 4096),
    "xlarge": (2048, 24, 16, 8192),
    "xxlarge": (4096, 12, 64, 16384),
}

# Chinese xxlarge ships with 16 heads rather than 64 (google-research/albert#153).
_ZH_HEADS = {"xxlarge": 16}


def _sized(size: str, **overrides) -> dict:
    hidden, layers, heads, inter = SIZES[size]
    cfg = dict(_ENGLISH, hidden_size=hidden, num_hidden_layers=layers,
               num_attention_heads=heads, intermediate_size=inter)
    cfg.update(overrides)
    return cfg


def _build() -> dict[str, dict]:
    presets: dict[str, dict] = {}
    for size in SIZES:
        v1_dropout = 0.0 if size == "xxlarge" else 0.1
        presets[f"albert_{size}_v1"] = _sized(size, hidden_dropout_prob=v1_dropout,
                                              attention_probs_dropout_prob=v1_dropout)
        presets[f"albert_{size}_v2"] = _sized(size, hidden_dropout_prob=0.0,
                                              attention_probs_dropout_prob=0.0)
        presets[f"albert_{size}_zh"] = _sized(
            size, vocab_size=21128, hidden_act="relu", hidden_dropout_prob=0.0,
            attention_probs_dropout_prob=0.0,
            num_attention_heads=_ZH_HEADS.get(size, SIZES[size][2]))
    # brightmart/albert_zh "tiny" shape: small enough to pretrain on a laptop CPU.
    presets["albert_tiny"] = dict(
        _ENGLISH, hidden_size=312, num_hidden_layers=4, num_attention_heads=12,
        intermediate_size=1248, hidden_dropout_prob=0.0, attention_probs_dropout_prob=0.0)
    presets["albert_tiny_zh"] = dict(presets["albert_tiny"], vocab_size=21128, hidden_act="relu")
    for size, layers in (("base", 12), ("large", 24)):
        hidden, _, heads, inter = SIZES[size]
        presets[f"bert_{size}"] = dict(
            _ENGLISH, embedding_size=hidden, hidden_size=hidden, num_hidden_layers=layers,
            num_hidden_groups=layers, num_attention_heads=heads, intermediate_size=inter,
            hidden_dropout_prob=0.1, attention_probs_dropout_prob=0.1)
    return presets


PRESETS = _build()

# Exact encoder + pooler parameter counts of the released English checkpoints.
RELEASED_PARAMETER_COUNTS = {
    "albert_base_v2": 11_683_584,
    "albert_large_v2": 17_683_968,
    "albert_xlarge_v2": 58_724_864,
    "albert_xxlarge_v2": 222_595_584,
}
