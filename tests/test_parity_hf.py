"""Numerical parity with Hugging Face transformers' PyTorch `AlbertModel` (fp32, within 1e-5).

The weights go across through `copy_hf_weights` below, written here on purpose: this test checks
the *model* (embeddings, factorized projection, the shared-block schedule, masking, pooler),
independently of the checkpoint loaders in `albert_nb.interop.hf` / `albert_nb.interop.checkpoints`.

Mapping of outputs (HF v5 records outputs with forward hooks):
- `hidden_states`: HF hooks the *input* of the first `AlbertLayer` (that is, the embeddings after
  `embedding_hidden_mapping_in`) and then the output of every `AlbertLayer` call — one per block
  application, L x inner_group_num in all. Ours is the same list: projected embeddings + one
  entry per block application. So the lists compare index by index.
- `attentions`: HF hooks every `AlbertAttention` call ([batch, heads, seq, seq] softmax
  probabilities, eager implementation); ours appends the probabilities per block application.
- Activation names: our "gelu" (the original's tanh approximation) is HF's "gelu_new"; our
  "gelu_exact" is HF's "gelu" (erf). `AlbertConfig.to_hf_dict` does the translation.
"""
import numpy as np
import pytest

try:
    import torch
    import transformers
except ImportError as err:  # pragma: no cover - depends on the environment
    print(f"skipping Hugging Face parity: {err}")
    pytest.skip(f"torch/transformers not importable ({err})", allow_module_level=True)

import albert_nb as an
from albert_nb.model.layers import activation

ATOL = 1e-5


def copy_hf_weights(ours: an.AlbertModel, state: dict) -> int:
    """Assign a HF `AlbertModel.state_dict()` to our model; returns how many tensors were copied.

    PyTorch Linear stores weight as [out, in]; Keras Dense kernels are [in, out], so every dense
    weight is transposed. Embedding tables and LayerNorm vectors copy as they are.
    """
    def t(key):
        return state[key].detach().cpu().numpy()

    pairs = []
    emb = ours.embeddings
    pairs += [(emb.word_embeddings, t("embeddings.word_embeddings.weight")),
              (emb.position_embeddings, t("embeddings.position_embeddings.weight")),
              (emb.token_type_embeddings, t("embeddings.token_type_embeddings.weight")),
              (emb.LayerNorm.gamma, t("embeddings.LayerNorm.weight")),
              (emb.LayerNorm.beta, t("embeddings.LayerNorm.bias"))]

    def dense(layer, prefix):
        pairs.extend([(layer.kernel, t(f"{prefix}.weight").T), (layer.bias, t(f"{prefix}.bias"))])

    def norm(layer, prefix):
        pairs.extend([(layer.gamma, t(f"{prefix}.weight")), (layer.beta, t(f"{prefix}.bias"))])

    dense(ours.encoder.embedding_hidden_mapping_in, "encoder.embedding_hidden_mapping_in")
    for g, group in enumerate(ours.encoder.groups):
        for i, block in enumerate(group):
            p = f"encoder.albert_layer_groups.{g}.albert_layers.{i}"
            for name in ("query", "key", "value", "dense"):
                dense(getattr(block.attention, name), f"{p}.attention.{name}")
            norm(block.attention.LayerNorm, f"{p}.attention.LayerNorm")
            dense(block.ffn, f"{p}.ffn")
            dense(block.ffn_output, f"{p}.ffn_output")
            norm(block.full_layer_layer_norm, f"{p}.full_layer_layer_norm")
    dense(ours.pooler.dense, "pooler")
    for variable, value in pairs:
        assert tuple(variable.shape) == value.shape, (variable.path, value.shape)
        variable.assign(value)
    return len(pairs)


def make_pair(config: an.AlbertConfig, seed: int = 0):
    """A randomly initialised HF model (eager attention, so it returns attentions) and ours."""
    torch.manual_seed(seed)
    hf_config = transformers.AlbertConfig(**config.to_hf_dict())
    hf_config._attn_implementation = "eager"
    hf = transformers.AlbertModel(hf_config).eval()
    ours = an.AlbertModel(config)
    copied = copy_hf_weights(ours, hf.state_dict())
    # Every parameter tensor of HF's model found a home in ours (none silently left random).
    assert copied == len([k for k in hf.state_dict() if not k.endswith(("position_ids", "token_type_ids"))])
    return hf, ours


def batch_with_padding_and_two_segments(vocab_size: int, seed: int = 1):
    """Two sequences: one full [CLS] A [SEP] B [SEP], one padded after 9 tokens."""
    rng = np.random.default_rng(seed)
    batch, seq = 2, 16
    ids = rng.integers(5, vocab_size, size=(batch, seq)).astype("int32")
    mask = np.ones((batch, seq), dtype="int32")
    seg = np.zeros((batch, seq), dtype="int32")
    seg[0, 7:] = 1
    seg[1, 5:9] = 1
    mask[1, 9:] = 0
    ids[1, 9:] = 0
    return {"input_ids": ids, "input_mask": mask, "segment_ids": seg}


def run_both(hf, ours, inputs):
    with torch.no_grad():
        ref = hf(input_ids=torch.tensor(inputs["input_ids"], dtype=torch.long),
                 attention_mask=torch.tensor(inputs["input_mask"], dtype=torch.long),
                 token_type_ids=torch.tensor(inputs["segment_ids"], dtype=torch.long),
                 output_hidden_states=True, output_attentions=True)
    out = ours(inputs, training=False, output_hidden_states=True, output_attentions=True)
    return ref, out


def assert_close(ours, theirs, what, mask=None):
    ours = np.asarray(ours)
    theirs = theirs.detach().numpy() if hasattr(theirs, "detach") else np.asarray(theirs)
    assert ours.shape == theirs.shape, f"{what}: shape {ours.shape} vs HF {theirs.shape}"
    diff = np.abs(ours - theirs)
    if mask is not None:
        diff = diff[mask]
    assert diff.max() <= ATOL, f"{what}: max |ours - HF| = {diff.max():.3g} > {ATOL}"


BASE_WIDTHS = dict(vocab_size=1000, embedding_size=128, hidden_size=768, num_attention_heads=12,
                   intermediate_size=3072, hidden_act="gelu")


@pytest.mark.parametrize("shape", [
    dict(num_hidden_layers=3, num_hidden_groups=1, inner_group_num=1),   # base widths, all shared
    dict(num_hidden_layers=4, num_hidden_groups=2, inner_group_num=2),   # grouped + inner groups
], ids=["base_shared", "grouped"])
def test_outputs_match_hugging_face(shape):
    config = an.AlbertConfig(**BASE_WIDTHS, **shape)
    hf, ours = make_pair(config)
    inputs = batch_with_padding_and_two_segments(config.vocab_size)
    ref, out = run_both(hf, ours, inputs)

    assert_close(out["sequence_output"], ref.last_hidden_state, "sequence_output")
    assert_close(out["pooled_output"], ref.pooler_output, "pooled_output")

    applications = config.num_hidden_layers * config.inner_group_num
    assert len(ref.hidden_states) == len(out["hidden_states"]) == applications + 1
    for k, (a, b) in enumerate(zip(out["hidden_states"], ref.hidden_states)):
        assert_close(a, b, f"hidden_states[{k}]")
    assert len(ref.attentions) == len(out["attentions"]) == applications
    for k, (a, b) in enumerate(zip(out["attentions"], ref.attentions)):
        assert_close(a, b, f"attentions[{k}]")
    # Padding gets (numerically) zero attention in both implementations.
    padded_keys = inputs["input_mask"][1] == 0
    assert float(np.max(np.asarray(out["attentions"][0])[1][:, :, padded_keys])) < 1e-6


def test_relu_chinese_style_config_matches():
    """The Chinese models use ReLU; the activation name must survive the config translation."""
    config = an.AlbertConfig(vocab_size=500, embedding_size=64, hidden_size=128, num_attention_heads=4,
                             intermediate_size=256, num_hidden_layers=2, hidden_act="relu")
    hf, ours = make_pair(config, seed=3)
    inputs = batch_with_padding_and_two_segments(config.vocab_size, seed=4)
    ref, out = run_both(hf, ours, inputs)
    assert_close(out["sequence_output"], ref.last_hidden_state, "sequence_output (relu)")
    assert_close(out["pooled_output"], ref.pooler_output, "pooled_output (relu)")


def test_activation_names_map_to_hugging_face():
    from transformers.activations import ACT2FN

    x = np.linspace(-6, 6, 241, dtype="float32")
    tx = torch.tensor(x)
    pairs = {"gelu": "gelu_new", "gelu_exact": "gelu", "relu": "relu", "tanh": "tanh"}
    for ours_name, hf_name in pairs.items():
        ours = np.asarray(activation(ours_name)(x))
        theirs = ACT2FN[hf_name](tx).numpy()
        assert np.abs(ours - theirs).max() < 1e-6, (ours_name, hf_name)
    # The two GELUs really differ (so the mapping matters): up to ~5e-4 near |x| = 2.
    approx, exact = np.asarray(activation("gelu")(x)), ACT2FN["gelu"](tx).numpy()
    assert np.abs(approx - exact).max() > 1e-4
    # ... and the config translation picks the right one in both directions.
    cfg = an.AlbertConfig(vocab_size=10, hidden_size=8, num_attention_heads=2, intermediate_size=16)
    assert cfg.to_hf_dict()["hidden_act"] == "gelu_new"
    assert an.AlbertConfig.from_hf_dict(cfg.to_hf_dict()).hidden_act == "gelu"
    assert an.AlbertConfig.from_hf_dict(dict(cfg.to_hf_dict(), hidden_act="gelu")).hidden_act == "gelu_exact"
    hf_config = transformers.AlbertConfig(**cfg.to_hf_dict())
    assert hf_config.hidden_act == "gelu_new" and hf_config.embedding_size == cfg.embedding_size


def test_parameter_counts_match_hugging_face():
    """Same architecture, same count: a base-width HF model and ours hold equally many parameters."""
    from albert_nb.model.params import count_parameters

    config = an.AlbertConfig(**dict(BASE_WIDTHS, vocab_size=30000), num_hidden_layers=12)
    hf = transformers.AlbertModel(transformers.AlbertConfig(**config.to_hf_dict()))
    hf_count = sum(p.numel() for p in hf.parameters())
    assert hf_count == count_parameters(config)["total"] == 11_683_584
