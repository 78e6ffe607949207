"""Unit tests of the core model: config, presets, shapes, masking, sharing, groups, dropout, tracing."""
import json

import numpy as np
import pytest

import albert_nb as an
from albert_nb.errors import InputError
from albert_nb.model.presets import PRESETS
from configs import tiny_config

TINY = dict(num_attention_heads=4, num_hidden_layers=3)


def tiny(**changes) -> an.AlbertConfig:
    return tiny_config(**{"vocab_size": 100, **TINY, **changes})


def random_inputs(batch=2, seq=10, vocab=100, seed=0, pad_from=None):
    rng = np.random.default_rng(seed)
    ids = rng.integers(1, vocab, size=(batch, seq)).astype("int32")
    mask = np.ones_like(ids)
    seg = np.zeros_like(ids)
    seg[:, seq // 2:] = 1
    if pad_from is not None:
        mask[:, pad_from:] = 0
        seg[:, pad_from:] = 0
    return {"input_ids": ids, "input_mask": mask, "segment_ids": seg}


# ------------------------------------------------------------------------------ config
ORIGINAL_JSON = {
    "attention_probs_dropout_prob": 0, "down_scale_factor": 1, "embedding_size": 128,
    "gap_size": 0, "hidden_act": "gelu", "hidden_dropout_prob": 0, "hidden_size": 768,
    "initializer_range": 0.02, "inner_group_num": 1, "intermediate_size": 3072,
    "layers_to_keep": [], "max_position_embeddings": 512, "net_structure_type": 0,
    "num_attention_heads": 12, "num_hidden_groups": 1, "num_hidden_layers": 12,
    "num_memory_blocks": 0, "type_vocab_size": 2, "vocab_size": 30000,
}


def test_original_config_round_trip_keeps_unknown_keys(tmp_path):
    src = tmp_path / "albert_config.json"
    src.write_text(json.dumps(ORIGINAL_JSON, indent=2))
    cfg = an.AlbertConfig.from_json_file(tmp_path)          # a directory finds albert_config.json
    assert cfg.hidden_size == 768 and cfg.hidden_act == "gelu"
    assert cfg.extra == {"gap_size": 0, "layers_to_keep": [], "net_structure_type": 0, "num_memory_blocks": 0}
    out = tmp_path / "saved.json"
    cfg.to_json_file(out)
    assert json.loads(out.read_text()) == {k: (float(v) if "prob" in k else v) for k, v in ORIGINAL_JSON.items()}
    assert out.read_text() == cfg.to_json_string()
    assert list(json.loads(out.read_text())) == sorted(ORIGINAL_JSON)     # sorted keys, as the original
    assert an.AlbertConfig.from_json_file(out) == cfg


def test_replace_copies_extras_and_rejects_unknown_fields():
    cfg = an.AlbertConfig.from_dict(ORIGINAL_JSON)
    small = cfg.replace(vocab_size=500)
    assert small.vocab_size == 500 and cfg.vocab_size == 30000
    assert small.extra == cfg.extra and small.extra is not cfg.extra
    with pytest.raises(InputError, match="unknown field"):
        cfg.replace(hidden_sizes=3)


def test_hugging_face_config_json_read_and_write(tmp_path):
    hf_json = dict(ORIGINAL_JSON, hidden_act="gelu_new", model_type="albert",
                   architectures=["AlbertForMaskedLM"], layer_norm_eps=1e-12, pad_token_id=0,
                   bos_token_id=2, eos_token_id=3, classifier_dropout_prob=0.1)
    path = tmp_path / "config.json"
    path.write_text(json.dumps(hf_json))
    cfg = an.AlbertConfig.from_json_file(path)
    assert cfg.hidden_act == "gelu"                    # HF's gelu_new is the original's gelu
    back = cfg.to_hf_dict()
    assert back["hidden_act"] == "gelu_new" and back["model_type"] == "albert"
    assert back["architectures"] == ["AlbertForMaskedLM"]
    for key in ("vocab_size", "embedding_size", "hidden_size", "num_hidden_layers",
                "num_attention_heads", "intermediate_size", "net_structure_type", "pad_token_id"):
        assert back[key] == hf_json[key], key
    # HF's plain "gelu" is the exact erf GELU, which we keep distinct.
    assert an.AlbertConfig.from_hf_dict(dict(hf_json, hidden_act="gelu")).hidden_act == "gelu_exact"


def test_reads_config_json_written_by_transformers(tmp_path):
    transformers = pytest.importorskip("transformers")
    hf = transformers.AlbertConfig(vocab_size=321, embedding_size=24, hidden_size=48, num_attention_heads=4,
                                   intermediate_size=96, num_hidden_layers=5, num_hidden_groups=1,
                                   hidden_act="gelu_new")
    hf.save_pretrained(tmp_path)
    cfg = an.AlbertConfig.from_json_file(tmp_path / "config.json")
    assert (cfg.vocab_size, cfg.embedding_size, cfg.hidden_size, cfg.num_hidden_layers) == (321, 24, 48, 5)
    assert cfg.hidden_act == "gelu"
    again = transformers.AlbertConfig(**cfg.to_hf_dict())
    assert again.hidden_act == "gelu_new" and again.intermediate_size == 96


@pytest.mark.parametrize("bad, message", [
    (dict(hidden_size=30), "not divisible"),
    (dict(num_hidden_groups=4), "exceeds"),
    (dict(hidden_act="swish"), "hidden_act"),
    (dict(hidden_dropout_prob=1.5), "probability"),
    (dict(vocab_size=0), "positive integer"),
    (dict(num_hidden_layers=2.5), "positive integer"),
])
def test_bad_config_values_raise_input_error(bad, message):
    with pytest.raises(InputError, match=message):
        tiny(**bad)


def test_bad_config_files_raise_input_error(tmp_path):
    with pytest.raises(InputError, match="not found"):
        an.AlbertConfig.from_json_file(tmp_path / "missing.json")
    broken = tmp_path / "broken.json"
    broken.write_text('{"vocab_size": 10,')
    with pytest.raises(InputError, match="malformed JSON at line"):
        an.AlbertConfig.from_json_file(broken)
    no_vocab = tmp_path / "no_vocab.json"
    no_vocab.write_text('{"hidden_size": 8}')
    with pytest.raises(InputError, match="vocab_size"):
        an.AlbertConfig.from_json_file(no_vocab)
    with pytest.raises(InputError, match="unknown preset"):
        an.AlbertConfig.from_preset("albert_huge")


# ----------------------------------------------------------------------------- presets
def test_presets_match_released_configs():
    for name in PRESETS:
        an.AlbertConfig.from_preset(name)              # every preset validates
    base = an.AlbertConfig.from_preset("albert-base-v2")
    assert (base.vocab_size, base.embedding_size, base.hidden_size, base.num_hidden_layers,
            base.num_attention_heads, base.intermediate_size) == (30000, 128, 768, 12, 12, 3072)
    assert base.hidden_dropout_prob == 0.0 and an.AlbertConfig.from_preset("albert_base_v1").hidden_dropout_prob == 0.1
    assert an.AlbertConfig.from_preset("albert_xxlarge_v1").hidden_dropout_prob == 0.0
    xlarge = an.AlbertConfig.from_preset("albert_xlarge_v2")
    assert xlarge.num_attention_heads == 16 and xlarge.head_size == 128
    zh = an.AlbertConfig.from_preset("albert_base_zh")
    assert zh.hidden_act == "relu" and zh.vocab_size == 21128
    assert an.AlbertConfig.from_preset("albert_xxlarge_zh").num_attention_heads == 16
    bert = an.AlbertConfig.from_preset("bert_base")
    assert bert.embedding_size == bert.hidden_size and bert.num_distinct_blocks == bert.num_hidden_layers


# ------------------------------------------------------------------------------ shapes
def test_output_shapes_and_hidden_state_count():
    cfg = tiny(num_hidden_layers=3, inner_group_num=2)
    model = an.AlbertModel(cfg)
    out = model(random_inputs(batch=2, seq=7), output_hidden_states=True, output_attentions=True)
    assert tuple(out["sequence_output"].shape) == (2, 7, 32)
    assert tuple(out["pooled_output"].shape) == (2, 32)
    assert tuple(out["embedding_output"].shape) == (2, 7, 16)
    assert len(out["hidden_states"]) == 1 + 3 * 2
    assert all(tuple(h.shape) == (2, 7, 32) for h in out["hidden_states"])
    assert len(out["attentions"]) == 3 * 2
    assert all(tuple(a.shape) == (2, 4, 7, 7) for a in out["attentions"])
    np.testing.assert_allclose(np.asarray(out["attentions"][0]).sum(-1), 1.0, atol=1e-5)
    assert "hidden_states" not in model(random_inputs(seq=7))


def test_no_projection_when_embedding_equals_hidden():
    model = an.AlbertModel(tiny(embedding_size=32))
    assert model.encoder.embedding_hidden_mapping_in is None
    out = model(random_inputs(seq=5), output_hidden_states=True)
    np.testing.assert_allclose(out["hidden_states"][0], out["embedding_output"])


def test_optional_mask_and_segments_default_to_ones_and_zeros():
    model = an.AlbertModel(tiny())
    full = random_inputs(seq=6)
    full["segment_ids"][:] = 0
    a = model({"input_ids": full["input_ids"]})["sequence_output"]
    b = model(full)["sequence_output"]
    np.testing.assert_allclose(a, b, atol=1e-6)


def test_heads_produce_expected_shapes():
    cfg = tiny()
    inputs = random_inputs(batch=2, seq=8)
    pre = an.AlbertForPretraining(cfg)
    out = pre(dict(inputs, masked_lm_positions=np.array([[1, 2, 3], [4, 5, 6]], dtype="int32")))
    assert tuple(out["mlm_logits"].shape) == (2, 3, 100) and tuple(out["sop_logits"].shape) == (2, 2)
    assert tuple(an.AlbertForSequenceClassification(cfg, 3)(inputs)["logits"].shape) == (2, 3)


# ----------------------------------------------------------------------------- masking
def test_padding_never_changes_real_tokens():
    """Real tokens' outputs are identical whether the batch is padded (with junk ids) or not."""
    model = an.AlbertModel(tiny(num_hidden_layers=4))
    real = random_inputs(batch=2, seq=6, seed=3)
    padded = random_inputs(batch=2, seq=15, seed=4, pad_from=6)      # junk ids and segments after 6
    padded["input_ids"][:, :6] = real["input_ids"]
    padded["segment_ids"][:, :6] = real["segment_ids"]
    padded["segment_ids"][:, 6:] = 1                                  # junk segments too
    a = model(real, output_hidden_states=True)
    b = model(padded, output_hidden_states=True)
    np.testing.assert_allclose(np.asarray(b["sequence_output"])[:, :6], a["sequence_output"], atol=1e-5)
    np.testing.assert_allclose(b["pooled_output"], a["pooled_output"], atol=1e-5)
    for ha, hb in zip(a["hidden_states"], b["hidden_states"]):
        np.testing.assert_allclose(np.asarray(hb)[:, :6], ha, atol=1e-5)
    # ... while without the mask the junk would leak in (so the assertion above can fail).
    unmasked = dict(padded, input_mask=np.ones_like(padded["input_mask"]))
    leak = np.abs(np.asarray(model(unmasked)["sequence_output"])[:, :6] - np.asarray(a["sequence_output"]))
    assert leak.max() > 1e-3


# ----------------------------------------------------------------------------- sharing
def perturb(variable, seed=0):
    rng = np.random.default_rng(seed)
    value = np.asarray(variable)
    variable.assign(value + rng.normal(0, 0.5, size=value.shape).astype(value.dtype))


def test_one_shared_block_drives_every_layer():
    cfg = tiny(num_hidden_layers=4)
    model = an.AlbertModel(cfg)
    assert len(model.encoder.groups) == 1 and len(model.encoder.groups[0]) == 1
    n_weights = len(model.weights)
    assert n_weights == len(an.AlbertModel(cfg.replace(num_hidden_layers=12)).weights)   # depth is free
    inputs = random_inputs(seq=6)
    before = [np.asarray(h) for h in model(inputs, output_hidden_states=True)["hidden_states"]]
    perturb(model.encoder.groups[0][0].ffn_output.kernel)
    after = [np.asarray(h) for h in model(inputs, output_hidden_states=True)["hidden_states"]]
    np.testing.assert_allclose(after[0], before[0])                 # projection untouched
    for layer in range(1, 5):                                        # every layer moved
        assert np.abs(after[layer] - before[layer]).max() > 1e-3, f"layer {layer} did not change"


def test_grouped_config_uses_each_group_for_its_layers():
    cfg = tiny(num_hidden_layers=6, num_hidden_groups=3, inner_group_num=2)
    assert [cfg.group_of_layer(layer) for layer in range(6)] == [0, 0, 1, 1, 2, 2]
    assert [tiny(num_hidden_layers=5, num_hidden_groups=2).group_of_layer(i) for i in range(5)] == [0, 0, 0, 1, 1]
    model = an.AlbertModel(cfg)
    assert [len(g) for g in model.encoder.groups] == [2, 2, 2]
    single = an.AlbertModel(tiny(num_hidden_layers=6))
    per_block = (len(model.weights) - len(single.weights)) // 5
    assert len(model.weights) == len(single.weights) + 5 * per_block          # 6 distinct blocks
    inputs = random_inputs(seq=6)
    before = [np.asarray(h) for h in model(inputs, output_hidden_states=True)["hidden_states"]]
    assert len(before) == 1 + 6 * 2
    perturb(model.encoder.groups[2][0].attention.value.kernel)
    after = [np.asarray(h) for h in model(inputs, output_hidden_states=True)["hidden_states"]]
    # Group 2 first runs at layer 4 -> block application 8 -> hidden_states index 9.
    for index in range(9):
        np.testing.assert_allclose(after[index], before[index], err_msg=f"hidden_states[{index}]")
    for index in range(9, 13):
        assert np.abs(after[index] - before[index]).max() > 1e-3, f"hidden_states[{index}] unchanged"


# ----------------------------------------------------------------------------- dropout
def test_dropout_only_when_training():
    model = an.AlbertModel(tiny(hidden_dropout_prob=0.1, attention_probs_dropout_prob=0.1))
    inputs = random_inputs(seq=8)
    eval_a = np.asarray(model(inputs, training=False)["sequence_output"])
    eval_b = np.asarray(model(inputs, training=False)["sequence_output"])
    np.testing.assert_array_equal(eval_a, eval_b)
    train_a = np.asarray(model(inputs, training=True)["sequence_output"])
    train_b = np.asarray(model(inputs, training=True)["sequence_output"])
    assert np.abs(train_a - eval_a).max() > 1e-3 and np.abs(train_a - train_b).max() > 1e-3
    no_dropout = an.AlbertModel(tiny())
    np.testing.assert_allclose(no_dropout(inputs, training=True)["sequence_output"],
                               no_dropout(inputs, training=False)["sequence_output"], atol=1e-6)


# ----------------------------------------------------------------------------- tracing
def test_forward_function_traces_once_for_every_length_and_batch():
    model = an.AlbertModel(tiny())
    forward = model.forward_function()
    for batch, seq in ((1, 5), (3, 9), (2, 17), (4, 3)):
        out = forward(random_inputs(batch=batch, seq=seq))
        assert tuple(out["sequence_output"].shape) == (batch, seq, 32)
    assert forward.experimental_get_tracing_count() == 1
    eager = model(random_inputs(batch=4, seq=3))["sequence_output"]
    np.testing.assert_allclose(out["sequence_output"], eager, atol=1e-5)


def test_model_config_round_trip_through_keras():
    model = an.AlbertModel(tiny(num_hidden_groups=3))
    clone = an.AlbertModel.from_config(model.get_config())
    assert clone.config == model.config and len(clone.weights) == len(model.weights)


# ------------------------------------------------------------------------- bad inputs
def test_bad_model_inputs_raise_input_error():
    model = an.AlbertModel(tiny(max_position_embeddings=16))
    good = random_inputs(seq=8)
    with pytest.raises(InputError, match="expects a dict"):
        model(good["input_ids"])
    with pytest.raises(InputError, match="missing"):
        model({"input_mask": good["input_mask"]})
    with pytest.raises(InputError, match=r"expected shape \[batch, seq\]"):
        model({"input_ids": good["input_ids"][None]})
    with pytest.raises(InputError, match="exceeds max_position_embeddings"):
        model(random_inputs(seq=17))
    with pytest.raises(InputError, match="does not match input_ids"):
        model(dict(good, input_mask=good["input_mask"][:, :5]))
