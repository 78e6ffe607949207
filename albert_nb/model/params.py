"""Where ALBERT's parameters (and BERT's) live, counted from the config alone.

Counting analytically, rather than building a model and calling `count_params()`, takes
microseconds even for xxlarge, and — more usefully for teaching — it says *which* component each
parameter belongs to. `tests/test_params.py` cross-checks every formula here against a built
`AlbertModel`, component by component (`count_built_parameters`).

The module also holds the paper's Table 1 (model sizes) and Table 4 (the cross-layer sharing
ablation) side by side with our exact counts, an estimate of training activation memory (which
parameter sharing does *not* reduce), and an analytic forward-FLOP count used by
`benchmarks/bench_model.py`.
"""
from __future__ import annotations

import dataclasses

from albert_nb.errors import InputError
from albert_nb.model.config import AlbertConfig
from albert_nb.model.presets import RELEASED_PARAMETER_COUNTS

COMPONENTS = ("embeddings", "embedding_projection", "attention", "ffn", "pooler")

# How many copies of the attention and FFN sub-layers own parameters, per sharing mode.
# "config" follows the config's groups (num_hidden_groups x inner_group_num blocks), which is the
# only layout our model builds; the others are the paper's Table 4 ablation.
SHARING_MODES = ("config", "all", "attention", "ffn", "none")


# --------------------------------------------------------------------------- counting
def embedding_parameters(config: AlbertConfig) -> int:
    """Word [V,E] + position [P,E] + segment [T,E] tables and one LayerNorm (gamma, beta) at width E."""
    e = config.embedding_size
    return (config.vocab_size + config.max_position_embeddings + config.type_vocab_size) * e + 2 * e


def projection_parameters(config: AlbertConfig) -> int:
    """The E -> H dense (kernel + bias); absent when E == H, as in the original and BERT."""
    if config.embedding_size == config.hidden_size:
        return 0
    return config.embedding_size * config.hidden_size + config.hidden_size


def attention_parameters(config: AlbertConfig) -> int:
    """One attention sub-layer: query, key, value, output dense (H x H + H each) and its LayerNorm."""
    h = config.hidden_size
    return 4 * (h * h + h) + 2 * h


def ffn_parameters(config: AlbertConfig) -> int:
    """One feed-forward sub-layer: H -> I -> H with biases, and the block's second LayerNorm."""
    h, i = config.hidden_size, config.intermediate_size
    return (h * i + i) + (i * h + h) + 2 * h


def block_parameters(config: AlbertConfig) -> int:
    return attention_parameters(config) + ffn_parameters(config)


def pooler_parameters(config: AlbertConfig) -> int:
    h = config.hidden_size
    return h * h + h


def pretraining_head_parameters(config: AlbertConfig) -> int:
    """MLM transform (H -> E dense, LayerNorm) + output bias [V] (decoder tied) + SOP dense H -> 2.

    = V + H*E + 3E + 2H + 2; released checkpoints hold these on top of the encoder and pooler.
    """
    h, e, v = config.hidden_size, config.embedding_size, config.vocab_size
    mlm = (h * e + e) + 2 * e + v
    sop = 2 * h + 2
    return mlm + sop


def sublayer_copies(config: AlbertConfig, sharing: str = "config") -> tuple[int, int]:
    """(attention copies, FFN copies) that own parameters under a sharing mode.

    "all": one block (x inner_group_num) reused at every depth (ALBERT); "none": a block per layer
    (BERT); "attention": attention shared, FFN per layer; "ffn": FFN shared, attention per layer.
    """
    if sharing not in SHARING_MODES:
        raise InputError(f"sharing = {sharing!r}: expected one of {SHARING_MODES}")
    inner = config.inner_group_num
    per_layer = config.num_hidden_layers * inner
    copies = {
        "config": (inner if config.shared_sublayer == "attention" else config.num_distinct_blocks,
                   inner if config.shared_sublayer == "ffn" else config.num_distinct_blocks),
        "all": (inner, inner),
        "none": (per_layer, per_layer),
        "attention": (inner, per_layer),
        "ffn": (per_layer, inner),
    }
    return copies[sharing]


def count_parameters(config: AlbertConfig, sharing: str = "config", include_pooler: bool = True,
                     include_pretraining_heads: bool = False) -> dict[str, int]:
    """Parameters per component (COMPONENTS) plus "total"; exact, from the config alone."""
    attention_copies, ffn_copies = sublayer_copies(config, sharing)
    counts = {
        "embeddings": embedding_parameters(config),
        "embedding_projection": projection_parameters(config),
        "attention": attention_copies * attention_parameters(config),
        "ffn": ffn_copies * ffn_parameters(config),
        "pooler": pooler_parameters(config) if include_pooler else 0,
    }
    if include_pretraining_heads:
        counts["pretraining_heads"] = pretraining_head_parameters(config)
    counts["total"] = sum(counts.values())
    return counts


def component_of(weight_path: str) -> str:
    """Which COMPONENTS entry a weight of a built `AlbertModel` belongs to (by its Keras path).

    Paths look like `embeddings/word_embeddings` or `encoder/group_0_inner_group_0/ffn/kernel`,
    possibly behind an outer model's prefix (`albert/...` inside a head).
    """
    parts = weight_path.split("/")
    for start, part in enumerate(parts):
        if part in ("embeddings", "encoder", "pooler"):
            parts = parts[start:]
            break
    if parts[0] == "embeddings":
        return "embeddings"
    if "embedding_hidden_mapping_in" in parts:
        return "embedding_projection"
    if "attention" in parts:
        return "attention"
    if any(p in ("ffn", "ffn_output", "LayerNorm_1") for p in parts):
        return "ffn"
    if "pooler" in parts:
        return "pooler"
    raise InputError(f"weight {weight_path!r}: not part of an AlbertModel (expected embeddings/, "
                     "encoder/ or pooler/)")


def count_built_parameters(model) -> dict[str, int]:
    """The same breakdown as `count_parameters`, but read off a built model's weights."""
    counts = dict.fromkeys(COMPONENTS, 0)
    for weight in model.weights:
        size = 1
        for dim in weight.shape:
            size *= int(dim)
        counts[component_of(weight.path)] += size
    counts["total"] = sum(counts.values())
    return counts


def millions(n: int) -> str:
    return f"{n / 1e6:.1f}M"


# ------------------------------------------------------------------------ paper tables
@dataclasses.dataclass(frozen=True)
class PaperRow:
    model: str
    preset: str
    paper_params_m: int  # as printed in the paper (millions, rounded)
    layers: int
    hidden: int
    embedding: int
    sharing: bool


# ALBERT paper (Lan et al., 2019/2020), Table 1. Counts are the paper's, rounded by its authors.
PAPER_TABLE1 = (
    PaperRow("BERT-base", "bert_base", 108, 12, 768, 768, False),
    PaperRow("BERT-large", "bert_large", 334, 24, 1024, 1024, False),
    PaperRow("ALBERT-base", "albert_base_v2", 12, 12, 768, 128, True),
    PaperRow("ALBERT-large", "albert_large_v2", 18, 24, 1024, 128, True),
    PaperRow("ALBERT-xlarge", "albert_xlarge_v2", 60, 24, 2048, 128, True),
    PaperRow("ALBERT-xxlarge", "albert_xxlarge_v2", 235, 12, 4096, 128, True),
)

XXLARGE_NOTE = (
    "The paper prints 235M for ALBERT-xxlarge, but the released configuration (H=4096, I=16384, "
    "L=12, one shared block, E=128, V=30000) has exactly 222,595,584 encoder + pooler parameters "
    "(the released checkpoint, Hugging Face's and keras-hub's model cards all say 223M). The "
    "pretraining heads add only 0.56M, so they do not close the 12.4M gap, and the paper gives no "
    "formula; the 235M is best read as a figure for a configuration other than the released one. "
    "Trust the exact count, which the checkpoint's variable shapes confirm.")


def table1() -> list[dict]:
    """The paper's Table 1 with our exact encoder + pooler counts beside its rounded ones.

    BERT rows use V = 30000 (the paper's comparison setting; the real BERT vocabulary has 30522
    entries, which adds 0.4M to base and 0.5M to large). Our BERT-base count (109.1M) reads 108M
    in the paper, which matches it without the pooler (108.5M) — see TABLE4_NOTE — and the
    paper rounds loosely elsewhere too (ALBERT-xlarge: 58.7M printed as 60M). Only xxlarge is off
    by more than rounding (XXLARGE_NOTE).
    """
    rows = []
    for row in PAPER_TABLE1:
        config = AlbertConfig.from_preset(row.preset)
        assert (config.num_hidden_layers, config.hidden_size, config.embedding_size) == (
            row.layers, row.hidden, row.embedding), row
        exact = count_parameters(config)["total"]
        released = RELEASED_PARAMETER_COUNTS.get(row.preset)
        rows.append({
            "model": row.model, "layers": row.layers, "hidden": row.hidden,
            "embedding": row.embedding, "sharing": "all" if row.sharing else "none",
            "paper_params": f"{row.paper_params_m}M", "exact_params": exact,
            "exact_millions": round(exact / 1e6, 1),
            "released_checkpoint": released,
            "note": XXLARGE_NOTE if row.preset == "albert_xxlarge_v2" else "",
        })
    return rows


# ALBERT paper, Table 4: ALBERT-base (L=12, H=768), cross-layer sharing ablation. Paper's rounding.
PAPER_TABLE4 = {
    (768, "none"): 108, (768, "attention"): 83, (768, "ffn"): 57, (768, "all"): 31,
    (128, "none"): 89, (128, "attention"): 64, (128, "ffn"): 38, (128, "all"): 12,
}
SHARING_LABELS = {"all": "all-shared", "attention": "shared-attention", "ffn": "shared-FFN",
                  "none": "not-shared"}

TABLE4_NOTE = (
    "Our counts include the pooler (0.59M). Six of the paper's eight figures match them rounded; "
    "the two not-shared rows (108M, 89M) match only without the pooler (108.5M, 89.1M), while "
    "all-shared E=128 (12M) matches only with it (11.7M vs 11.1M): the paper's numbers are "
    "rounded and not all counted the same way.")


def sharing_ablation(embedding_sizes=(768, 128)) -> list[dict]:
    """Table 4: ALBERT-base parameters under each sharing mode, ours exact and the paper's."""
    base = AlbertConfig.from_preset("albert_base_v2")
    rows = []
    for e in embedding_sizes:
        config = base.replace(embedding_size=e)
        for mode in ("all", "attention", "ffn", "none"):
            counts = count_parameters(config, sharing=mode)
            paper = PAPER_TABLE4.get((e, mode))
            rows.append({
                "embedding": e, "sharing": SHARING_LABELS[mode], "mode": mode,
                "exact_params": counts["total"], "exact_millions": round(counts["total"] / 1e6, 1),
                "without_pooler_millions": round((counts["total"] - counts["pooler"]) / 1e6, 1),
                "paper_params": f"{paper}M" if paper is not None else "",
                **{f"{k}_params": v for k, v in counts.items() if k != "total"},
            })
    return rows


def format_table(rows: list[dict], columns: list[str] | None = None) -> str:
    """A fixed-width text table (numbers with thousands separators) for printing in notebooks."""
    if not rows:
        return ""
    columns = columns or list(rows[0])

    def cell(value):
        if isinstance(value, bool):
            return str(value)
        if isinstance(value, int):
            return f"{value:,}"
        return "" if value is None else str(value)

    body = [[cell(row.get(c)) for c in columns] for row in rows]
    widths = [max(len(c), *(len(r[i]) for r in body)) for i, c in enumerate(columns)]
    lines = ["  ".join(c.ljust(w) for c, w in zip(columns, widths)),
             "  ".join("-" * w for w in widths)]
    lines += ["  ".join(v.rjust(w) if v[:1].isdigit() else v.ljust(w) for v, w in zip(r, widths))
              for r in body]
    return "\n".join(lines)


# ----------------------------------------------------------- activation memory and FLOPs
def block_activation_elements(config: AlbertConfig, batch: int, seq: int,
                              attention_dropout: bool | None = None) -> int:
    """Elements one block application keeps for the backward pass (an estimate, see below).

    Per application: the block input, Q, K and V, the attention context, the attention output
    before and after its LayerNorm, the FFN output before the last LayerNorm (8 x [B,T,H]); the
    FFN activation's input and output (2 x [B,T,I]); the softmax probabilities [B,N,T,T] (plus
    their dropout mask when attention dropout is on). Frameworks fuse or recompute some of these,
    so real numbers differ by a small factor — but the *scaling* is right, and sharing does not
    change it: a shared block applied 12 times stores 12 sets of activations.
    """
    b, t, h, i, n = batch, seq, config.hidden_size, config.intermediate_size, config.num_attention_heads
    if attention_dropout is None:
        attention_dropout = config.attention_probs_dropout_prob > 0
    scores = b * n * t * t * (2 if attention_dropout else 1)
    return 8 * b * t * h + 2 * b * t * i + scores


def activation_memory(config: AlbertConfig, batch: int = 1, seq: int = 512, bytes_per_element: int = 4,
                      attention_dropout: bool | None = None) -> dict[str, int]:
    """Estimated bytes of training activations, next to the bytes of parameters.

    Embeddings keep 3 x [B,T,E] (sum, LayerNorm in/out) and the projection its [B,T,H] output;
    then every one of the L x inner_group_num block applications keeps its own activations.
    """
    b, t = batch, seq
    applications = config.num_hidden_layers * config.inner_group_num
    embed = 3 * b * t * config.embedding_size + (b * t * config.hidden_size
                                                 if config.embedding_size != config.hidden_size else 0)
    blocks = applications * block_activation_elements(config, b, t, attention_dropout)
    params = count_parameters(config)["total"]
    return {
        "activation_bytes": (embed + blocks) * bytes_per_element,
        "parameter_bytes": params * bytes_per_element,
        # AdamW keeps two slots per parameter, and training needs a gradient per parameter too.
        "parameter_gradient_adam_bytes": 4 * params * bytes_per_element,
        "block_applications": applications,
    }


def forward_flops(config: AlbertConfig, batch: int, seq: int, include_pooler: bool = True) -> dict[str, int]:
    """Floating-point operations of one forward pass (2 per multiply-add), matmuls only.

    Element-wise work (softmax, LayerNorm, GELU, bias adds) is under 2% of the total at base
    sizes and is memory-bound, so it is left out: this is the count a matmul-rate comparison wants.
    Sharing changes none of it — compute follows depth, not distinct parameters.
    """
    b, t, e, h, i = batch, seq, config.embedding_size, config.hidden_size, config.intermediate_size
    applications = config.num_hidden_layers * config.inner_group_num
    counts = {
        "embedding_projection": 2 * b * t * e * h if e != h else 0,
        "attention_projections": applications * 4 * 2 * b * t * h * h,   # q, k, v, output dense
        "attention_scores": applications * 2 * 2 * b * t * t * h,       # q.k^T and probs.v
        "ffn": applications * 2 * 2 * b * t * h * i,
        "pooler": 2 * b * h * h if include_pooler else 0,
    }
    counts["total"] = sum(counts.values())
    return counts


def training_step_flops(config: AlbertConfig, batch: int, seq: int) -> int:
    """The usual estimate: backward costs twice the forward, so a step is ~3x forward FLOPs."""
    return 3 * forward_flops(config, batch, seq)["total"]


def pretraining_step_flops(config: AlbertConfig, batch: int, seq: int, predictions: int) -> int:
    """One pretraining step: the encoder's training FLOPs plus the heads', 3x their forward.

    The MLM head runs only at the `predictions` masked positions (dense H->E, then logits
    against the V x E table); SOP is a 2-way classifier on the pooled vector.
    """
    b, p, e, h = batch, predictions, config.embedding_size, config.hidden_size
    heads = 2 * b * p * h * e + 2 * b * p * e * config.vocab_size + 2 * b * h * 2
    return training_step_flops(config, batch, seq) + 3 * heads


def size_comparison(presets=("bert_base", "bert_large", "albert_base_v2", "albert_large_v2",
                             "albert_xlarge_v2", "albert_xxlarge_v2"),
                    batch: int = 1, seq: int = 512) -> list[dict]:
    """Parameters, activation memory and forward FLOPs per preset: the BERT vs ALBERT trade-off."""
    rows = []
    for name in presets:
        config = AlbertConfig.from_preset(name)
        # Attention dropout off for every row, so the rows differ only in architecture.
        mem = activation_memory(config, batch=batch, seq=seq, attention_dropout=False)
        rows.append({
            "preset": name, "params": count_parameters(config)["total"],
            "parameter_mb": mem["parameter_bytes"] / 2**20,
            "activation_mb": mem["activation_bytes"] / 2**20,
            "forward_gflops": forward_flops(config, batch, seq)["total"] / 1e9,
        })
    return rows
