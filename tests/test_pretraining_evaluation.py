"""Honest held-out metrics: unigram/bigram baselines, non-trivial MLM accuracy, SOP probes,
the learning-curve statistics of 05 and the experiment helpers of 09 (small, CPU-only)."""
import numpy as np
import pytest

import albert_nb as an
from albert_nb.errors import InputError
from albert_nb.experiments import learning_curves, paper_claims, transitions
from albert_nb.pretraining import evaluation, grown

V, MASK = 12, 4


def _arrays(originals, masked_slots, labels=None):
    """Records from unmasked id rows: `masked_slots[i]` are the positions replaced by [MASK]."""
    originals = np.asarray(originals, np.int64)
    n, seq = originals.shape
    p = max(len(m) for m in masked_slots)
    ids = originals.copy()
    positions = np.zeros((n, p), np.int64)
    mlm_ids = np.zeros((n, p), np.int64)
    weights = np.zeros((n, p), np.float32)
    for row, slots in enumerate(masked_slots):
        for k, pos in enumerate(slots):
            positions[row, k], mlm_ids[row, k], weights[row, k] = pos, originals[row, pos], 1.0
            ids[row, pos] = MASK
    return {"input_ids": ids, "input_mask": (originals > 0).astype(np.int64),
            "segment_ids": np.zeros_like(ids), "masked_lm_positions": positions,
            "masked_lm_ids": mlm_ids, "masked_lm_weights": weights,
            "next_sentence_labels": np.asarray(labels if labels is not None else [0] * n)[:, None]}


def test_original_ids_puts_the_labels_back():
    rows = [[2, 5, 6, 7, 3, 0], [2, 8, 9, 3, 0, 0]]
    arrays = _arrays(rows, [[1, 3], [2]])
    assert (arrays["input_ids"] != np.asarray(rows)).any()
    assert (evaluation.original_ids(arrays) == np.asarray(rows)).all()


def test_unigram_and_bigram_baselines_from_training_counts():
    # Training text: piece 5 is the most frequent; 7 always follows 6; 9 always follows 8.
    train = _arrays([[2, 5, 5, 6, 7, 3], [2, 5, 8, 9, 3, 0], [2, 6, 7, 5, 5, 3]], [[1], [1], [1]])
    stats = evaluation.piece_statistics(train, V, special_ids={0, 2, 3, MASK}, mask_id=MASK,
                                        num_trivial=1)
    assert stats.trivial.tolist() == [5]
    assert stats.unigram_best_any == 5 and stats.unigram_best in (6, 7)
    assert stats.bigram_best[6] == 7 and stats.bigram_best[8] == 9
    assert stats.bigram_best[MASK] == stats.unigram_best      # nothing to read on the left
    # Held out: masks at 7 (after 6), 9 (after 8) and 5 (trivial, excluded from non-trivial).
    held = _arrays([[2, 6, 7, 8, 9, 5, 3]], [[2, 4, 5]])
    good = np.array([[7, 9, 5]])
    scores = evaluation.mlm_scores(held, stats, top_any=good, top_nontrivial=good)
    assert scores["num_positions"] == 3 and scores["num_nontrivial_positions"] == 2
    assert scores["accuracy"] == 1.0 and scores["nontrivial_accuracy"] == 1.0
    assert scores["nontrivial_bigram_accuracy"] == 1.0        # both follow their bigram
    assert scores["nontrivial_unigram_accuracy"] <= 0.5
    assert scores["trivial_prediction_share"] == pytest.approx(1 / 3)
    bad = np.array([[5, 5, 5]])
    assert evaluation.mlm_scores(held, stats, bad, bad)["accuracy"] == pytest.approx(1 / 3)


def test_sop_scores_chance_and_perfect():
    labels = np.array([0, 1] * 50)
    perfect = evaluation.sop_scores(labels, labels * 0.8 + 0.1)
    assert perfect["roc_auc"] == 1.0 and perfect["balanced_accuracy"] == 1.0
    constant = evaluation.sop_scores(labels, np.full(100, 0.7))
    assert constant["roc_auc"] == 0.5 and constant["balanced_accuracy"] == 0.5
    assert constant["majority_accuracy"] == 0.5
    se = evaluation.auc_standard_error(0.5, 50, 50)
    assert 0.04 < se < 0.07   # ~ sqrt(1/12 * (1/50 + 1/50)) for a useless score


def test_model_reports_run_on_real_records_shapes():
    config = an.AlbertConfig(vocab_size=V, embedding_size=8, hidden_size=16, num_hidden_layers=2,
                             num_attention_heads=2, intermediate_size=32, max_position_embeddings=8)
    model = an.AlbertForPretraining(config)
    held = _arrays([[2, 6, 7, 8, 9, 5, 3, 0], [2, 5, 6, 7, 3, 8, 9, 3]], [[2, 4], [1, 6]],
                   labels=[0, 1])
    train = _arrays([[2, 5, 5, 6, 7, 3, 0, 0]] * 3, [[1]] * 3)
    stats = evaluation.piece_statistics(train, V, {0, 2, 3, MASK}, MASK, num_trivial=2)
    mlm = evaluation.mlm_report(model, held, stats)
    assert 0.0 <= mlm["accuracy"] <= 1.0 and mlm["num_positions"] == 4
    sop = evaluation.sop_report(model, held)
    assert sop["num_pairs"] == 2 and 0.0 <= sop["roc_auc"] <= 1.0
    curve = transitions.layer_transitions(model.albert, held)
    assert len(curve["l2"]) == len(curve["cosine"]) == 2 and curve["num_tokens"] == 15
    assert all(v > 0 for v in curve["l2"]) and all(0 <= v <= 2 for v in curve["cosine"])


def test_subsample_keeps_evenly_spaced_records():
    arrays = {"input_ids": np.arange(10)[:, None], "next_sentence_labels": np.arange(10) % 2}
    kept = evaluation.subsample(arrays, 4)
    assert kept["input_ids"].ravel().tolist() == [0, 3, 6, 9]
    assert kept["next_sentence_labels"].tolist() == [0, 1, 0, 1]
    assert evaluation.subsample(arrays, None) is arrays and evaluation.subsample(arrays, 10) is arrays


def test_grown_model_has_same_and_different_block_pairs_whatever_the_tiny_depth():
    two_layers = an.AlbertConfig(vocab_size=100, hidden_size=32, num_hidden_layers=2,
                                 num_attention_heads=2, intermediate_size=64)
    config = grown.grown_config(two_layers)
    assert (config.num_hidden_layers, config.num_hidden_groups, config.num_attention_heads) == (4, 2, 4)


def test_paper_claim_verdicts_need_two_standard_errors():
    assert paper_claims.verdict(0.05, 0.02, "x").startswith("shown")
    assert paper_claims.verdict(0.03, 0.02, "x").startswith("not shown at this scale")
    assert paper_claims.verdict(-0.05, 0.02, "x").startswith("the opposite")
    assert paper_claims.difference_se(0.03, 0.04) == pytest.approx(0.05)


def test_oscillation_is_the_mean_layer_to_layer_change():
    assert transitions.oscillation([1.0, 3.0, 2.0]) == pytest.approx(1.5)
    assert transitions.oscillation([4.0]) == 0.0


def test_learning_curve_statistics():
    assert learning_curves.steps_for(250, 32, 3.0, 60, 400) == 60
    assert learning_curves.steps_for(1000, 32, 3.0, 60, 400) == 94
    assert learning_curves.steps_for(100000, 32, 3.0, 60, 400) == 400
    mean, se = learning_curves.mean_se([1.0, 2.0, 3.0])
    assert mean == 2.0 and se == pytest.approx(1 / np.sqrt(3))
    records = [{"size": 250, "seed": s, "kind": k, "test_accuracy": acc}
               for s, (p, q) in enumerate([(0.80, 0.70), (0.82, 0.70), (0.78, 0.72)])
               for k, acc in (("pretrained", p), ("scratch", q))]
    (row,) = learning_curves.summarise(records)
    assert row["gain"] == pytest.approx(100 * np.mean([0.10, 0.12, 0.06]))
    assert row["gain_se"] == pytest.approx(100 * np.std([0.10, 0.12, 0.06], ddof=1) / np.sqrt(3))
    assert learning_curves.gain_line(row) == f"+{row['gain']:.1f} ± {row['gain_se']:.1f}"


def test_low_data_size_is_chosen_on_dev_never_on_test():
    # dev gains: 250 -> +1, 1000 -> +10, full -> +20 (never a candidate); test says the opposite.
    dev = {250: (0.61, 0.60), 1000: (0.70, 0.60), 8000: (0.90, 0.70)}
    records = [{"size": n, "seed": s, "kind": k, "dev_accuracy": d,
                "test_accuracy": 1.0 - d if n == 1000 else d}
               for n, (p, q) in dev.items() for s in range(2)
               for k, d in (("pretrained", p), ("scratch", q))]
    assert learning_curves.low_data_size(records) == 1000


def test_paper_claim_variants_change_one_thing_each():
    base = paper_claims.base_recipe(smoke=True)
    found = paper_claims.variants(smoke=True)
    assert found["all-shared"] == base
    assert found["NSP"]["objective"] == "nsp" and found["NSP"]["model"] == base["model"]
    counts = {name: paper_claims.parameter_count(recipe, 1000) for name, recipe in found.items()}
    assert counts["all-shared"] < counts["shared-attention"] < counts["not-shared"]
    assert counts["all-shared"] < counts["shared-FFN"] < counts["not-shared"]
    sizes = paper_claims.embedding_sizes(smoke=True)
    assert sizes[-1] == base["model"]["embedding_size"]
    assert [counts[f"E={e}"] for e in sizes[:-1]] == sorted(counts[f"E={e}"] for e in sizes[:-1])


def test_paper_claims_at_another_step_count_train_every_variant_that_long_in_its_own_folder(
        tmp_path, monkeypatch):
    monkeypatch.setenv("ALBERT_NB_HOME", str(tmp_path))
    default, longer = paper_claims.directory(smoke=False), paper_claims.directory(False, 300)
    assert default != longer and paper_claims.directory(False, paper_claims.STEPS[False]) == default
    found = paper_claims.variants(smoke=False, steps=300)
    assert {r["num_train_steps"] for r in found.values()} == {300}
    assert {r["save_checkpoints_steps"] for r in found.values()} == {300}
    assert all(r["mixed_precision"] is None for r in found.values())   # the same numbers on every CPU
    for bad in (0, -5, 2.5, "300"):
        with pytest.raises(InputError, match=r"STEPS=.*expected a whole number"):
            paper_claims.variants(smoke=False, steps=bad)


def test_pretraining_heads_run_eagerly_under_bfloat16():
    """The evaluation calls the model eagerly; under mixed_bfloat16 the MLM bias arrives in
    bfloat16 and must still be added in float32 (it was a crash after a bf16 build)."""
    from albert_nb.training import distribute

    distribute.set_precision("mixed_bfloat16")
    try:
        config = an.AlbertConfig(vocab_size=V, embedding_size=8, hidden_size=16,
                                 num_hidden_layers=1, num_attention_heads=2, intermediate_size=32,
                                 max_position_embeddings=8)
        model = an.AlbertForPretraining(config)
        held = _arrays([[2, 6, 7, 8, 9, 5, 3, 0]], [[2, 4]], labels=[1])
        out = model(evaluation.model_inputs(held), training=False)
        assert out["mlm_logits"].dtype == "float32" and out["sop_logits"].dtype == "float32"
        assert evaluation.sop_report(model, held)["num_pairs"] == 1
    finally:
        distribute.set_precision(None)
