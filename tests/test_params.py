"""Analytic parameter counts, cross-checked against built models; the paper's tables; FLOPs."""
import numpy as np
import pytest

import albert_nb as an
from albert_nb.model import params
from albert_nb.errors import InputError
from albert_nb.model.presets import RELEASED_PARAMETER_COUNTS


def test_released_checkpoint_counts_exactly():
    expected = {"albert_base_v2": 11_683_584, "albert_large_v2": 17_683_968,
                "albert_xlarge_v2": 58_724_864, "albert_xxlarge_v2": 222_595_584}
    assert RELEASED_PARAMETER_COUNTS == expected
    for preset, count in expected.items():
        assert params.count_parameters(an.AlbertConfig.from_preset(preset))["total"] == count, preset


@pytest.mark.parametrize("changes", [
    dict(),                                                           # tiny, all shared
    dict(num_hidden_layers=6, num_hidden_groups=3, inner_group_num=2),
    dict(num_hidden_layers=5, num_hidden_groups=5),                   # BERT-like, a block per layer
    dict(embedding_size=40),                                          # E == H: no projection
    dict(vocab_size=777, max_position_embeddings=64, type_vocab_size=3),
    dict(num_hidden_groups=3, shared_sublayer="attention"),           # Table 4's ablation rows
    dict(num_hidden_groups=3, shared_sublayer="ffn"),
])
def test_analytic_count_equals_built_model_by_component(changes):
    config = an.AlbertConfig(**dict(dict(vocab_size=120, embedding_size=8, hidden_size=40,
                                         num_attention_heads=4, intermediate_size=72,
                                         num_hidden_layers=3), **changes))
    model = an.AlbertModel(config)
    built = params.count_built_parameters(model)
    assert built == params.count_parameters(config)
    assert built["total"] == model.count_params()


def test_trained_sharing_modes_count_as_table_4():
    """A model built with a block per layer and one shared sub-layer has exactly the count the
    analytic Table 4 modes give, so the trained ablation of notebook 09 is the paper's."""
    base = dict(vocab_size=120, embedding_size=8, hidden_size=40, num_attention_heads=4,
                intermediate_size=72, num_hidden_layers=3)
    layouts = {"all": {}, "none": dict(num_hidden_groups=3),
               "attention": dict(num_hidden_groups=3, shared_sublayer="attention"),
               "ffn": dict(num_hidden_groups=3, shared_sublayer="ffn")}
    counts = {}
    for mode, changes in layouts.items():
        model = an.AlbertModel(an.AlbertConfig(**base, **changes))
        counts[mode] = model.count_params()
        assert counts[mode] == params.count_parameters(an.AlbertConfig(**base), sharing=mode)["total"]
    assert counts["all"] < counts["attention"] < counts["none"] and counts["ffn"] < counts["none"]
    with pytest.raises(InputError, match="shared_sublayer"):
        an.AlbertConfig(**base, shared_sublayer="pooler")


def test_built_base_and_xxlarge_match_released_counts():
    for preset in ("albert_base_v2", "albert_xxlarge_v2"):
        model = an.AlbertModel(an.AlbertConfig.from_preset(preset))
        assert model.count_params() == RELEASED_PARAMETER_COUNTS[preset]
        assert params.count_built_parameters(model) == params.count_parameters(model.config)
        del model


def test_pretraining_heads_count_equals_built_head():
    config = an.AlbertConfig(vocab_size=300, embedding_size=16, hidden_size=48, num_attention_heads=4,
                             intermediate_size=96, num_hidden_layers=2)
    model = an.AlbertForPretraining(config)
    heads = model.count_params() - model.albert.count_params()
    assert heads == params.pretraining_head_parameters(config) == 300 + 48 * 16 + 3 * 16 + 2 * 48 + 2
    assert params.count_parameters(config, include_pretraining_heads=True)["total"] == model.count_params()


def test_table1_rows():
    rows = {r["model"]: r for r in params.table1()}
    assert list(rows) == ["BERT-base", "BERT-large", "ALBERT-base", "ALBERT-large", "ALBERT-xlarge",
                          "ALBERT-xxlarge"]
    assert rows["ALBERT-xxlarge"]["exact_params"] == 222_595_584
    assert rows["ALBERT-xxlarge"]["paper_params"] == "235M" and "235M" in rows["ALBERT-xxlarge"]["note"]
    assert rows["BERT-large"]["exact_params"] == 334_607_360        # the paper's 334M
    assert rows["BERT-base"]["exact_params"] == 109_081_344
    for name in ("ALBERT-base", "ALBERT-large", "ALBERT-xlarge"):  # loose rounding (58.7M reads 60M)
        paper = int(rows[name]["paper_params"][:-1]) * 1e6
        assert abs(rows[name]["exact_params"] - paper) / paper < 0.03, name
    assert abs(rows["ALBERT-xxlarge"]["exact_params"] - 235e6) / 235e6 > 0.05
    text = params.format_table(params.table1(), ["model", "paper_params", "exact_params"])
    assert "222,595,584" in text and "ALBERT-xxlarge" in text


def test_sharing_ablation_matches_paper_table4_where_it_should():
    rows = params.sharing_ablation()
    assert len(rows) == 8
    by_key = {(r["embedding"], r["mode"]): r for r in rows}
    # ALBERT-base with every block shared is ALBERT-base; not-shared at E=768 is BERT-base.
    assert by_key[(128, "all")]["exact_params"] == 11_683_584
    assert by_key[(768, "none")]["exact_params"] == params.count_parameters(
        an.AlbertConfig.from_preset("bert_base"))["total"]
    # Sharing one sub-layer saves exactly 11 copies of it.
    base = an.AlbertConfig.from_preset("albert_base_v2")
    saved_attention = by_key[(128, "none")]["exact_params"] - by_key[(128, "attention")]["exact_params"]
    assert saved_attention == 11 * params.attention_parameters(base)
    saved_ffn = by_key[(128, "none")]["exact_params"] - by_key[(128, "ffn")]["exact_params"]
    assert saved_ffn == 11 * params.ffn_parameters(base)
    matches = sum(round(r["exact_millions"]) == int(r["paper_params"][:-1]) for r in rows)
    assert matches == 6                                            # see params.TABLE4_NOTE
    for (e, mode) in ((768, "none"), (128, "none")):
        assert int(by_key[(e, mode)]["without_pooler_millions"]) == params.PAPER_TABLE4[(e, mode)]


def test_sharing_mode_is_validated():
    with pytest.raises(InputError, match="sharing"):
        params.count_parameters(an.AlbertConfig.from_preset("albert_tiny"), sharing="some")
    with pytest.raises(InputError, match="not part of an AlbertModel"):
        params.component_of("predictions/output_bias")


def test_component_of_handles_head_prefixes():
    model = an.AlbertForSequenceClassification(an.AlbertConfig(
        vocab_size=50, embedding_size=8, hidden_size=16, num_attention_heads=2, intermediate_size=32,
        num_hidden_layers=1), num_labels=2)
    assert params.count_built_parameters(model.albert)["total"] == model.albert.count_params()


def test_activation_memory_grows_with_depth_not_with_parameters():
    base = an.AlbertConfig.from_preset("albert_base_v2")
    bert = an.AlbertConfig.from_preset("bert_base")
    a = params.activation_memory(base, attention_dropout=False)
    b = params.activation_memory(bert, attention_dropout=False)
    # Same L, H, I: block activations are identical; only the E-wide embeddings differ.
    embed_diff = 512 * (768 - 128) * 3 * 4 - 512 * 768 * 4
    assert b["activation_bytes"] - a["activation_bytes"] == embed_diff
    assert a["parameter_bytes"] * 9 < b["parameter_bytes"]
    # Doubling depth doubles block activations even though a shared model gains no parameters.
    deeper = base.replace(num_hidden_layers=24)
    assert params.count_parameters(deeper)["total"] == params.count_parameters(base)["total"]
    assert params.activation_memory(deeper)["activation_bytes"] > 1.9 * a["activation_bytes"]
    rows = {r["preset"]: r for r in params.size_comparison()}
    assert rows["albert_xxlarge_v2"]["activation_mb"] > rows["bert_large"]["activation_mb"]
    assert rows["albert_xxlarge_v2"]["params"] < rows["bert_large"]["params"]


def test_forward_flops_match_the_matmuls_of_a_block():
    config = an.AlbertConfig(vocab_size=50, embedding_size=8, hidden_size=16, num_attention_heads=2,
                             intermediate_size=32, num_hidden_layers=3, inner_group_num=2)
    b, t, e, h, i = 2, 5, 8, 16, 32
    flops = params.forward_flops(config, b, t)
    per_block = 2 * b * t * (4 * h * h + 2 * h * i) + 2 * 2 * b * t * t * h
    assert flops["total"] == 2 * b * t * e * h + 6 * per_block + 2 * b * h * h
    # Sharing does not change compute: BERT-base and ALBERT-base (E=768) cost the same.
    bert = an.AlbertConfig.from_preset("bert_base")
    assert params.forward_flops(bert, 8, 128)["total"] == params.forward_flops(
        an.AlbertConfig.from_preset("albert_base_v2").replace(embedding_size=768), 8, 128)["total"]
    assert params.training_step_flops(config, b, t) == 3 * flops["total"]
    assert np.isclose(params.forward_flops(an.AlbertConfig.from_preset("albert_base_v2"), 8, 128)["total"],
                      179e9, rtol=0.01)


# --------------------------------------------------------------- figures and shape trace
def test_architecture_figures_build_headless():
    import plotly.graph_objects as go

    from albert_nb.plots import architecture as plots

    cfg = an.AlbertConfig.from_preset("albert_base_v2")
    figures = {
        "embedding": plots.embedding_factorization_figure(),
        "schedule": plots.layer_schedule_figure(cfg.replace(num_hidden_groups=3, inner_group_num=2)),
        "breakdown": plots.parameter_breakdown_figure(),
        "table1": plots.table1_figure(),
        "ablation": plots.sharing_ablation_figure(),
        "sizes": plots.size_comparison_figure(),
    }
    assert all(isinstance(f, go.Figure) and f.data for f in figures.values())
    assert figures["embedding"].layout.yaxis.type == "log"  # ALBERT's lines apart from BERT's
    # The schedule marks exactly one block per application: 12 layers x 2 inner blocks.
    z = np.asarray(figures["schedule"].data[0].z)
    assert z.shape == (24, 6) and (z.sum(axis=1) == 1).all()
    assert list(np.argmax(z, axis=1)[:8]) == [0, 1, 0, 1, 0, 1, 0, 1]       # layers 0-3 run group 0
    # Stacked components add up to the exact totals.
    breakdown = figures["breakdown"]
    total_base = sum(trace.y[1] for trace in breakdown.data) * 1e6
    assert abs(total_base - 11_683_584) < 1


def test_forward_shape_trace_replays_the_model_exactly():
    from albert_nb.plots import architecture as plots

    cfg = an.AlbertConfig(vocab_size=90, embedding_size=8, hidden_size=24, num_attention_heads=3,
                          intermediate_size=40, num_hidden_layers=4, num_hidden_groups=2, inner_group_num=2)
    model = an.AlbertModel(cfg)
    rng = np.random.default_rng(0)
    ids = rng.integers(1, 90, size=(2, 7)).astype("int32")
    mask = np.ones_like(ids)
    mask[1, 4:] = 0
    inputs = {"input_ids": ids, "input_mask": mask, "segment_ids": np.zeros_like(ids)}
    trace, replay = plots.forward_shape_trace(model, inputs)
    ref = model(inputs)
    np.testing.assert_allclose(replay["sequence_output"], ref["sequence_output"], atol=1e-6)
    np.testing.assert_allclose(replay["pooled_output"], ref["pooled_output"], atol=1e-6)
    shapes = {r["step"]: r["shape"] for r in trace}
    assert shapes["  split heads"] == (2, 3, 7, 8)
    assert shapes["  softmax(scores + mask)"] == (2, 3, 7, 7)
    assert shapes["group_0_inner_group_0/ffn (activation)"] == (2, 7, 40)
    assert sum(r["step"].startswith("layer ") for r in trace) == 4 * 2 - 1
    with pytest.raises(InputError, match="segment_ids"):
        plots.forward_shape_trace(model, {"input_ids": ids, "input_mask": mask})
