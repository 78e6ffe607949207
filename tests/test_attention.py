"""The attention explorer: numbers (albert_nb.analysis.attention), figures (plots_attention), the widget UI."""
import math

import numpy as np
import pytest

import albert_nb as an
from albert_nb.analysis import attention as att
from albert_nb.plots import attention as plots
from albert_nb.errors import InputError

PAIR = ("The return statement leaves the current function call.",
        "A for loop iterates over the items of a sequence.")


@pytest.fixture(scope="module")
def tokenizer(tmp_path_factory):
    from albert_nb.corpora import loaders as corpora
    from albert_nb.tokenizers import vocab_training

    sentences = [s for doc in corpora.python_docs() for s in doc][:400]
    prefix = tmp_path_factory.mktemp("spm") / "attn"
    path = vocab_training.train_sentencepiece(sentences, prefix, vocab_size=300, hard_vocab_limit=False)
    return an.FullTokenizer(spm_model_file=path)


@pytest.fixture(scope="module")
def config(tokenizer, tiny_config):
    # 4 layers from 2 groups of 2 inner blocks: 8 applications of 4 parameter blocks.
    # A large initializer_range makes random attention peaked rather than near uniform.
    return tiny_config(tokenizer.vocab_size, num_hidden_layers=4, num_hidden_groups=2,
                       inner_group_num=2, num_attention_heads=4, max_position_embeddings=64,
                       initializer_range=0.5)


@pytest.fixture(scope="module")
def model(config):
    import keras

    keras.utils.set_random_seed(0)
    return an.AlbertForPretraining(config)


@pytest.fixture(scope="module")
def pair_run(model, tokenizer):
    return att.run_attention(model, tokenizer, *PAIR)


# ------------------------------------------------------------------------- numbers
def test_shared_block_annotation_groups_and_inner_blocks(config):
    apps = att.application_blocks(config)
    assert [(a["layer"], a["group"], a["inner"]) for a in apps] == [
        (0, 0, 0), (0, 0, 1), (1, 0, 0), (1, 0, 1), (2, 1, 0), (2, 1, 1), (3, 1, 0), (3, 1, 1)]
    assert [a["block"] for a in apps] == [0, 1, 0, 1, 2, 3, 2, 3]
    assert apps[5]["name"] == "group_1_inner_group_1"
    same = att.same_block_matrix(apps)
    assert same[0, 2] and same[5, 7] and not same[0, 1] and not same[1, 5]
    assert same.sum() == 4 * 4   # 4 blocks, each run twice -> 2x2 True per block


def test_run_shapes_rows_sum_to_one_and_segments(pair_run, tokenizer, config):
    run = pair_run
    assert run.attentions.shape == (8, 4, run.length, run.length)
    np.testing.assert_allclose(run.attentions.sum(-1), 1.0, atol=1e-5)
    assert run.tokens[0] == "[CLS]" and run.tokens[-1] == "[SEP]"
    b = run.b_start
    assert run.tokens[b - 1] == "[SEP]" and set(run.segment_ids[:b]) == {0} and set(run.segment_ids[b:]) == {1}
    assert run.tokens == tokenizer.convert_ids_to_tokens(run.input_ids)


def test_padding_gets_no_mass_and_changes_nothing(model, pair_run):
    out, maps = att.attention_maps(model, np.pad(pair_run.input_ids, (0, 7))[None],
                                   np.pad(np.ones_like(pair_run.input_ids), (0, 7))[None],
                                   np.pad(pair_run.segment_ids, (0, 7))[None])
    t = pair_run.length
    assert maps.shape == (1, 8, 4, t + 7, t + 7)
    assert maps[0, :, :, :t, t:].max() < 1e-6                       # real queries ignore padding
    np.testing.assert_allclose(maps[0, :, :, :t, :t], pair_run.attentions, atol=1e-5)
    padded = att.run_ids(model, pair_run.input_ids, pair_run.segment_ids, pad_to=t + 7)
    np.testing.assert_allclose(padded.attentions, pair_run.attentions, atol=1e-5)


def test_entropy_of_uniform_and_one_hot_rows():
    for t in (1, 5, 17):
        assert att.entropy(np.full(t, 1.0 / t)) == pytest.approx(math.log(t))
    assert att.entropy(np.eye(4)).tolist() == [0.0] * 4


def test_statistics_on_hand_made_attention():
    # One application, two heads, T = 4 tokens: [CLS] a [SEP] b  (segments 0 0 0 1).
    identity = np.eye(4)
    previous = np.array([[1, 0, 0, 0], [1, 0, 0, 0], [0, 1, 0, 0], [0, 0, 1, 0]], float)
    uniform = np.full((4, 4), 0.25)
    maps = np.stack([identity, previous])[None]                          # [1, 2, 4, 4]
    stats = att.head_statistics(maps, cls_positions=[0], sep_positions=[2], segment_ids=[0, 0, 0, 1])
    assert stats["self"].tolist() == [[1.0, 0.25]]
    assert stats["previous"].tolist() == [[0.0, 1.0]]                   # rows 1..3 all look back
    assert stats["next"].tolist() == [[0.0, 0.0]]
    assert stats["cls"].tolist() == [[0.25, 0.5]]                       # previous: rows 0, 1 on [CLS]
    assert stats["sep"].tolist() == [[0.25, 0.25]]
    assert stats["distance"].tolist() == [[0.0, 0.75]]                  # (0 + 1 + 1 + 1) / 4
    assert stats["entropy"].tolist() == [[0.0, 0.0]]
    assert stats["other_segment"].tolist() == [[0.0, 0.25]]             # row 3 (B) looks at row 2 (A)
    u = att.head_statistics(uniform[None, None], cls_positions=[0], sep_positions=[2])
    assert u["entropy"][0, 0] == pytest.approx(math.log(4))
    assert u["distance"][0, 0] == pytest.approx((6 + 4 + 4 + 6) / 16)   # mean |i - j|
    assert u["next"][0, 0] == pytest.approx(0.25) and "other_segment" not in u
    with pytest.raises(InputError, match=r"\[A, heads, T, T\]"):
        att.head_statistics(np.ones((4, 4)))


def test_pair_filters_select_the_right_block():
    seg = np.array([0, 0, 0, 1, 1])                                      # [CLS] a [SEP] b [SEP]
    rows, cols = att.filter_block(seg, "A->B")
    assert rows.tolist() == [0, 1, 2] and cols.tolist() == [3, 4]
    rows, cols = att.filter_block(seg, "B->A")
    assert rows.tolist() == [3, 4] and cols.tolist() == [0, 1, 2]
    mask = att.filter_mask(seg, "B->B")
    assert mask.sum() == 4 and mask[3:, 3:].all()
    assert att.filter_mask(seg, "All").all()
    with pytest.raises(InputError, match="needs a sentence pair"):
        att.filter_mask([0, 0, 0], "A->B")
    with pytest.raises(InputError, match="expected one of"):
        att.filter_mask(seg, "A to B")


def test_layer_similarity_same_weights_different_attention(pair_run):
    sim = att.layer_similarity(pair_run.attentions)
    flat = pair_run.attentions.reshape(8, -1).astype("float64")
    expected = flat[0] @ flat[2] / (np.linalg.norm(flat[0]) * np.linalg.norm(flat[2]))
    assert sim[0, 2] == pytest.approx(expected)
    np.testing.assert_allclose(np.diag(sim), 1.0, atol=1e-9)
    np.testing.assert_allclose(sim, sim.T, atol=1e-12)
    # ALBERT's point: block 0 ran at applications 0 and 2 with the same weights, yet attends differently.
    assert sim[0, 2] < 0.999
    summary = att.sharing_summary(sim, pair_run.applications)
    assert summary["min_same_block"] < 0.999 and 0 < summary["different_block"] < 1
    centred = att.layer_similarity(np.full((2, 1, 3, 3), 1 / 3) + np.array([0, 1e-3])[:, None, None, None],
                                   centered=True)
    assert np.isfinite(centred).all()


def test_mask_and_rerun_gives_mlm_top_k(model, tokenizer, pair_run):
    pos = 2
    run = att.run_attention(model, tokenizer, *PAIR, mask_positions=(pos,), top_k=4)
    assert run.tokens[pos] == "[MASK]" and run.masked == {pos: pair_run.tokens[pos]}
    preds = run.predictions[pos]
    assert len(preds) == 4 and all(p >= q for (_, p), (_, q) in zip(preds, preds[1:]))
    # The same probabilities from the model's own head (AlbertForPretraining with positions).
    logits = np.asarray(model({"input_ids": run.input_ids[None], "input_mask": np.ones((1, run.length), "int32"),
                               "segment_ids": run.segment_ids[None],
                               "masked_lm_positions": np.array([[pos]], "int32")})["mlm_logits"])[0, 0]
    probs = np.exp(logits - logits.max()) / np.exp(logits - logits.max()).sum()
    assert preds[0][0] == tokenizer.convert_ids_to_tokens([int(np.argmax(probs))])[0]
    assert preds[0][1] == pytest.approx(float(probs.max()), rel=1e-4)
    assert not np.allclose(run.attentions, pair_run.attentions)           # masking changed attention
    with pytest.raises(InputError, match="not \\[CLS\\]/\\[SEP\\]"):
        att.run_attention(model, tokenizer, *PAIR, mask_positions=(0,))


def test_encoder_only_model_and_bad_input(config, tokenizer):
    encoder = an.AlbertModel(config)
    run = att.run_attention(encoder, tokenizer, "def defines a function.", mask_positions=(1,))
    assert run.b_start is None and run.predictions == {}                 # no MLM head, no predictions
    with pytest.raises(InputError, match="sentence A"):
        att.run_attention(encoder, tokenizer, "   ")
    long = " ".join(["function"] * 200)
    assert att.run_attention(encoder, tokenizer, long, long).length == config.max_position_embeddings


# ------------------------------------------------------------------------- figures
def test_head_heatmap_labels_hover_and_filter(pair_run):
    fig = plots.head_heatmap(pair_run, application=3, head=1)
    z = np.asarray(fig.data[0].z)
    np.testing.assert_allclose(z, pair_run.attentions[3, 1], rtol=1e-3, atol=1e-4)
    assert list(fig.layout.xaxis.ticktext) == pair_run.tokens[::max(1, -(-pair_run.length * 11 // 600))]
    assert list(fig.layout.yaxis.ticktext) == pair_run.tokens
    assert "weight %{z:.4g}" in fig.data[0].hovertemplate and fig.data[0].y[2] == f"2:{pair_run.tokens[2]}"
    # Colours span the weights shown, not a fixed 0-1 (near-uniform heads would look blank).
    assert fig.data[0].zmin == pytest.approx(z.min(), abs=1e-4) and fig.data[0].zmax == pytest.approx(z.max(), abs=1e-4)
    assert "L1.1" in fig.layout.title.text and "group_0_inner_group_1" in fig.layout.title.text
    b = pair_run.b_start
    sub = plots.head_heatmap(pair_run, application=3, head=1, filter="A->B")
    np.testing.assert_allclose(np.asarray(sub.data[0].z), pair_run.attentions[3, 1, :b, b:], rtol=1e-3, atol=1e-4)
    labels = plots.position_labels(pair_run.tokens)
    assert list(sub.data[0].y) == labels[:b] and list(sub.data[0].x) == labels[b:]
    mean = plots.head_heatmap(pair_run, application=0, head=None, hide_special=True)
    keep = [j for j, t in enumerate(pair_run.tokens) if t not in ("[CLS]", "[SEP]")]
    np.testing.assert_allclose(np.asarray(mean.data[0].z), pair_run.attentions[0].mean(0)[:, keep], rtol=1e-3, atol=1e-4)
    with pytest.raises(InputError, match="head 9"):
        plots.head_heatmap(pair_run, 0, 9)


def test_grid_similarity_compare_and_prediction_figures(pair_run, model, tokenizer):
    stats = pair_run.statistics()
    grid = plots.statistic_grid(stats, "entropy", pair_run.applications, selected=(2, 3))
    np.testing.assert_allclose(np.asarray(grid.data[0].z), stats["entropy"])
    assert grid.layout.shapes[0].x0 == 2.5 and grid.layout.shapes[0].y0 == 1.5
    assert list(grid.layout.yaxis.ticktext)[4] == "L2.0 · block 2"
    sim = att.layer_similarity(pair_run.attentions)
    fig = plots.layer_similarity_figure(sim, pair_run.applications)
    squares = sorted(zip(fig.data[1].y, fig.data[1].x))
    assert squares == [(0, 2), (1, 3), (2, 0), (3, 1), (4, 6), (5, 7), (6, 4), (7, 5)]
    assert list(fig.data[1].customdata)[0] == "group_0_inner_group_0"
    masked = att.run_attention(model, tokenizer, *PAIR, mask_positions=(3,), label="masked")
    cmp = plots.compare_figure(pair_run, masked, application=1, head=0)
    assert len(cmp.data) == 3 and cmp.layout.annotations[2].text == "masked − A"
    diff = masked.attentions[1, 0] - pair_run.attentions[1, 0]
    np.testing.assert_allclose(np.asarray(cmp.data[2].z), diff, atol=1e-4 * np.abs(diff).max())
    # One colour scale for both maps (their shades compare), a symmetric one for the difference.
    both = np.stack([masked.attentions[1, 0], pair_run.attentions[1, 0]])
    assert cmp.data[0].coloraxis == cmp.data[1].coloraxis == "coloraxis"
    assert cmp.layout.coloraxis.cmax == pytest.approx(both.max(), abs=1e-6)
    assert cmp.layout.coloraxis2.cmin == pytest.approx(-np.abs(diff).max(), rel=1e-6)
    other = att.run_attention(model, tokenizer, "Short one.")
    assert len(plots.compare_figure(pair_run, other, 0, 0).data) == 2    # lengths differ: no difference
    bars = plots.predictions_figure(masked, 3)
    assert list(bars.data[0].y) == [p for p, _ in masked.predictions[3]]


# ------------------------------------------------------------------------- explorer
def test_explorer_builds_headless_and_updates_in_place(model, tokenizer, config):
    from albert_nb.plots.explorer import AttentionExplorer

    other = an.AlbertForPretraining(config)
    ex = AttentionExplorer(model, tokenizer, *PAIR, compare_model=other, compare_label="other")
    heatmap, grid = ex.heatmap, ex.grid
    before = np.asarray(heatmap.data[0].z).copy()
    assert len(ex.layer.options) == 8 and len(ex.head.options) == 5 and ex.filter.options[2][1] == "A->B"

    ex.layer.value, ex.head.value = 5, 2
    np.testing.assert_allclose(np.asarray(heatmap.data[0].z), ex.run.attentions[5, 2], rtol=1e-3, atol=1e-4)
    assert not np.allclose(before, heatmap.data[0].z)
    assert grid.layout.shapes[0].x0 == 1.5 and grid.layout.shapes[0].y0 == 4.5
    diff = ex.run.attentions[5, 2] - ex.compare_run.attentions[5, 2]    # model - compare model
    np.testing.assert_allclose(np.asarray(ex.compare.data[2].z), diff, atol=1e-4 * np.abs(diff).max())
    assert ex.compare.layout.annotations[2].text == "model − other"

    ex.filter.value = "B->A"
    b = ex.run.b_start
    assert np.asarray(heatmap.data[0].z).shape == (ex.run.length - b, b)

    ex.statistic.value = "cls"
    np.testing.assert_allclose(np.asarray(grid.data[0].z), ex.run.statistics()["cls"])

    ex.mask.value = 2                                        # mask a piece: re-run + MLM top-k
    assert ex.run.tokens[2] == "[MASK]" and ex.predictions.data[0].type == "bar"
    assert (ex.layer.value, ex.head.value, ex.filter.value) == (5, 2, "B->A")   # choices survive

    ex.set_text("Short one.")                                # one sentence: only the All filter
    assert ex.run.b_start is None and ex.filter.options == (("All", "All"),) and ex.mask.value == -1
    assert np.asarray(heatmap.data[0].z).shape == (ex.run.length, ex.run.length)
    ex.text_a.value = "  "                                   # bad input: a message, no exception
    assert "sentence A" in ex.status.value
    assert ex.widget.children


# ------------------------------------------------------------- over many sentences
def test_sharing_by_distance_splits_same_and_different_blocks(config):
    apps = att.application_blocks(config)                    # blocks 0 1 0 1 2 3 2 3
    sim = np.fromfunction(lambda i, j: 1.0 - 0.1 * np.abs(i - j), (8, 8))
    sim[0, 2] = sim[2, 0] = 0.95                              # one same-block pair at distance 2
    rows = {r["distance"]: r for r in att.sharing_by_distance(sim, apps)}
    assert rows[1]["same_block_pairs"] == 0 and np.isnan(rows[1]["same_block"])
    assert rows[1]["different_block"] == pytest.approx(0.9) and rows[1]["different_block_pairs"] == 7
    # distance 2: (0,2) (1,3) (4,6) (5,7) ran the same block; (2,4) (3,5) did not.
    assert rows[2]["same_block_pairs"] == 4 and rows[2]["different_block_pairs"] == 2
    assert rows[2]["same_block"] == pytest.approx((0.95 + 3 * 0.8) / 4)
    assert rows[2]["different_block"] == pytest.approx(0.8)


def test_sentence_pairs_are_consecutive_seeded_and_from_distinct_documents(tmp_path):
    from albert_nb.corpora import loaders as corpora

    docs = [[f"d{d} s{i}." for i in range(4)] for d in range(5)]
    path = corpora.write_pretraining_text(docs, tmp_path / "held_out.txt")
    assert corpora.read_pretraining_text(path) == docs
    pairs = att.sentence_pairs(docs, 3, seed=1)
    assert len(pairs) == 3 and len({a.split()[0] for a, _ in pairs}) == 3       # 3 documents
    for a, b in pairs:
        d, i = a.split()[0], int(a.split()[1][1:-1])
        assert b == f"{d} s{i + 1}."
    assert att.sentence_pairs(docs, 3, seed=1) == pairs
    assert len(att.sentence_pairs(docs, 12, seed=1)) == 12                      # more than documents
    with pytest.raises(InputError, match="two sentences"):
        att.sentence_pairs([["one."]], 2)


def test_corpus_attention_is_the_mean_of_single_runs(model, tokenizer):
    pairs = [PAIR, ("A short line.", "Another one."), ("The list grows.", "Items are appended.")]
    corpus = att.corpus_attention(model, tokenizer, pairs, batch_size=2)      # padding + 2 batches
    runs = [att.run_attention(model, tokenizer, a, b) for a, b in pairs]
    entropy = np.stack([r.statistics()["entropy"] for r in runs])             # [pairs, A, heads]
    assert corpus["pairs"] == 3 and corpus["mean"]["entropy"].shape == (8, 4)
    np.testing.assert_allclose(corpus["mean"]["entropy"], entropy.mean(0), atol=1e-5)
    np.testing.assert_allclose(corpus["se"]["entropy"], entropy.std(0, ddof=1) / np.sqrt(3), atol=1e-5)
    sims = [att.layer_similarity(r.attentions) for r in runs]
    np.testing.assert_allclose(corpus["similarity"], np.mean(sims, 0), atol=1e-5)
    same = [att.sharing_summary(s, runs[0].applications)["same_block"] for s in sims]
    assert corpus["sharing"]["same_block"][0] == pytest.approx(np.mean(same), abs=1e-6)
    assert corpus["uniform_entropy"] == pytest.approx(np.mean([np.log(r.length) for r in runs]))
    assert corpus["by_distance"][1]["same_block_pairs"] == 4


def test_similarity_title_fits_and_small_differences_stay_visible(pair_run):
    sim = att.layer_similarity(pair_run.attentions)
    fig = plots.layer_similarity_figure(sim, pair_run.applications)
    first_line = fig.layout.title.text.split("<br>")[0]
    assert len(first_line) <= 60                              # fits a 700-pixel figure
    off = sim[~np.eye(8, dtype=bool)]
    assert fig.data[0].zmin == pytest.approx(off.min())       # colours span the data
