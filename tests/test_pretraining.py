"""Pretraining library: losses and metrics against references, flag validation, training on real
text lowers held-out loss, init checkpoints and init_from_group0, TensorBoard scalars, plots,
the artifact builder's smoke build."""
import json
import os

import numpy as np
import pytest

import albert_nb as an
from albert_nb.training.checkpoints import variables_by_path
from albert_nb.training import distribute
from albert_nb.plots import pretraining as plots_pretraining
from albert_nb.pretraining import trainer as pretraining
from albert_nb.pretraining import tiny as tiny_pretrained
from albert_nb.errors import InputError
from pretraining_helpers import PREDS, SEQ, pretraining_files


def _log_softmax(x):
    x = x - x.max(-1, keepdims=True)
    return x - np.log(np.exp(x).sum(-1, keepdims=True))


def test_losses_match_numpy_reference():
    rng = np.random.default_rng(1)
    logits = rng.normal(size=(3, 4, 7)).astype("float32")
    ids = rng.integers(0, 7, size=(3, 4))
    weights = np.array([[1, 1, 0, 0], [1, 0, 0, 0], [1, 1, 1, 0]], "float32")
    sop_logits = rng.normal(size=(3, 2)).astype("float32")
    labels = np.array([[0], [1], [1]])
    out = pretraining.pretraining_losses(
        {"mlm_logits": logits, "sop_logits": sop_logits},
        {"masked_lm_ids": ids, "masked_lm_weights": weights, "next_sentence_labels": labels})
    nll = -np.take_along_axis(_log_softmax(logits), ids[..., None], -1)[..., 0]
    mlm = (weights * nll).sum() / (weights.sum() + 1e-5)
    sop = -np.take_along_axis(_log_softmax(sop_logits), labels, -1).mean()
    assert float(out["masked_lm_loss"]) == pytest.approx(mlm, rel=1e-5)
    assert float(out["sentence_order_loss"]) == pytest.approx(sop, rel=1e-5)
    assert float(out["loss"]) == pytest.approx(mlm + sop, rel=1e-5)
    # Padding slots (weight 0) cannot change the loss, whatever their labels.
    ids2 = np.where(weights > 0, ids, (ids + 3) % 7)
    out2 = pretraining.pretraining_losses(
        {"mlm_logits": logits, "sop_logits": sop_logits},
        {"masked_lm_ids": ids2, "masked_lm_weights": weights, "next_sentence_labels": labels})
    assert float(out2["masked_lm_loss"]) == pytest.approx(mlm, rel=1e-6)


def test_metrics_match_sklearn():
    from sklearn.metrics import accuracy_score

    rng = np.random.default_rng(2)
    metrics = pretraining.PretrainingMetrics()
    all_ids, all_pred, all_w, sop_true, sop_pred = [], [], [], [], []
    for _ in range(3):
        logits = rng.normal(size=(4, 5, 6)).astype("float32")
        ids = rng.integers(0, 6, size=(4, 5))
        weights = (rng.random((4, 5)) > 0.4).astype("float32")
        sop_logits = rng.normal(size=(4, 2)).astype("float32")
        labels = rng.integers(0, 2, size=(4, 1))
        batch = {"masked_lm_ids": ids, "masked_lm_weights": weights, "next_sentence_labels": labels}
        outputs = {"mlm_logits": logits, "sop_logits": sop_logits}
        metrics.update(outputs, batch, pretraining.pretraining_losses(outputs, batch))
        all_ids.append(ids.ravel()), all_pred.append(logits.argmax(-1).ravel())
        all_w.append(weights.ravel()), sop_true.append(labels.ravel())
        sop_pred.append(sop_logits.argmax(-1))
    result = metrics.result()
    expected = accuracy_score(np.concatenate(all_ids), np.concatenate(all_pred),
                              sample_weight=np.concatenate(all_w))
    assert result["masked_lm_accuracy"] == pytest.approx(expected, rel=1e-6)
    assert result["sentence_order_accuracy"] == pytest.approx(
        accuracy_score(np.concatenate(sop_true), np.concatenate(sop_pred)), rel=1e-6)
    assert set(result) == set(pretraining.EVAL_KEYS) - {"global_step"}


def _opts(tmp_path, **kw):
    files = pretraining_files()
    base = dict(input_file=files["train"], eval_input_file=files["held"], output_dir=str(tmp_path),
                albert_config_file=files["config"], max_seq_length=SEQ,
                max_predictions_per_seq=PREDS, train_batch_size=16, eval_batch_size=64,
                learning_rate=0.005, num_train_steps=30, num_warmup_steps=3,
                save_checkpoints_steps=15, log_every_steps=10, max_eval_steps=4, do_eval=True)
    base.update(kw)
    return pretraining.PretrainingOptions(**base)


@pytest.mark.parametrize("change, message", [
    ({"masked_lm_budget": 5}, "--masked_lm_budget=5"),
    ({"max_seq_length": 600}, "exceeds max_position_embeddings=64"),
    ({"max_predictions_per_seq": 12}, "--max_predictions_per_seq=12 but"),
    ({"eval_input_file": "/nonexistent/*.tfrecord"}, "--eval_input_file"),
    ({"train_batch_size": 0}, "--train_batch_size=0"),
    ({"do_train": False, "do_eval": False}, "--do_train or --do_eval"),
])
def test_validation_errors_name_the_flag(tmp_path, change, message):
    with pytest.raises(InputError, match=message.replace("*", r"\*")):
        pretraining.validate(_opts(tmp_path, **change))


def test_not_a_tfrecord_is_an_input_error(tmp_path):
    bad = tmp_path / "notes.tfrecord"
    bad.write_text("just some text, not records\n")
    with pytest.raises(InputError, match="notes.tfrecord"):
        pretraining.validate(_opts(tmp_path, input_file=str(bad)))


def test_training_lowers_held_out_loss_and_writes_scalars(tmp_path):
    import tensorflow as tf

    trainer = pretraining.Pretrainer(_opts(tmp_path))
    before = trainer.evaluate()
    history = trainer.train(show_progress=False)
    after = trainer.evaluate()
    assert [r["step"] for r in history] == [10, 20, 30]
    assert after["global_step"] == 30 and before["global_step"] == 0
    assert after["masked_lm_loss"] < before["masked_lm_loss"] - 0.25
    assert sorted(pretraining.checkpoint_steps(str(tmp_path))) == [15, 30]
    events = [os.path.join(tmp_path, f) for f in os.listdir(tmp_path) if "tfevents" in f]
    tags = {}
    for event in tf.compat.v1.train.summary_iterator(events[0]):
        for value in event.summary.value:
            tags.setdefault(value.tag, []).append(
                (event.step, float(tf.make_ndarray(value.tensor))))
    assert [s for s, _ in tags["loss"]] == [10, 20, 30]
    assert tags["loss"][-1][1] == pytest.approx(history[-1]["loss"], rel=1e-6)
    assert tags["learning_rate"][-1][1] == 0.0  # polynomial decay reaches 0 at the last step
    fig = plots_pretraining.training_figure(history)
    assert len(fig.data) == len(plots_pretraining.CURVES) and list(fig.data[0].x) == [10, 20, 30]

    # Eval of every checkpoint: blocks for 15 and 30, best copied, newest returned.
    results = trainer.evaluate_checkpoints(show=None)
    assert results["global_step"] == 30
    text = open(tmp_path / "eval_results.txt").read()
    assert text.count("***** Eval results *****") == 2 and "global_step = 15" in text
    assert os.path.exists(tmp_path / "model.ckpt-best.index")


def test_init_checkpoint_and_init_from_group0(tmp_path):
    import tensorflow as tf

    files = pretraining_files()
    one = an.AlbertConfig.from_json_file(files["config"])
    source = an.AlbertForPretraining(one)
    prefix = str(tmp_path / "src" / "model.ckpt-0")
    tf.train.Checkpoint(variables=variables_by_path(source)).write(prefix)
    two = one.replace(num_hidden_groups=2)
    target = an.AlbertForPretraining(two)
    pretraining.load_init_checkpoint(target, prefix, init_from_group0=True)
    src_block = source.albert.encoder.groups[0][0]
    for group in target.albert.encoder.groups:
        np.testing.assert_array_equal(group[0].attention.query.kernel.numpy(),
                                      src_block.attention.query.kernel.numpy())
    np.testing.assert_array_equal(target.albert.word_embeddings.numpy(),
                                  source.albert.word_embeddings.numpy())
    with pytest.raises(InputError, match="16 encoder weight"):
        pretraining.load_init_checkpoint(an.AlbertForPretraining(two), prefix)
    with pytest.raises(InputError, match="checkpoint not found"):
        pretraining.load_init_checkpoint(target, str(tmp_path / "missing"))


def test_precision_flags():
    import keras

    assert distribute.select_strategy().num_replicas_in_sync == 1
    with pytest.raises(InputError, match="--mixed_precision='fp8'"):
        distribute.set_precision("fp8")
    try:
        assert distribute.set_precision("bf16") == "mixed_bfloat16"
        assert keras.mixed_precision.global_policy().compute_dtype == "bfloat16"
        opt = distribute.wrap_for_precision(keras.optimizers.SGD())
        assert distribute.inner_optimizer(opt) is opt  # bfloat16 needs no loss scaling
        distribute.set_precision("mixed_float16")
        opt = distribute.wrap_for_precision(keras.optimizers.SGD())
        assert isinstance(opt, keras.optimizers.LossScaleOptimizer)
    finally:
        distribute.set_precision(None)


def test_smoke_artifact_layout(tmp_path, monkeypatch):
    monkeypatch.setenv("ALBERT_NB_HOME", str(tmp_path))
    directory = tiny_pretrained.build_tiny_pretrained(smoke=True, show_progress=False)
    assert directory == tmp_path / f"tiny_pretrained_v{tiny_pretrained.FORMAT_VERSION}_smoke"
    names = set(os.listdir(directory))
    assert {"albert_config.json", "30k-clean.model", "30k-clean.vocab", "checkpoint",
            "model.ckpt-best.index", "eval_results.txt", "history.json",
            tiny_pretrained.MARKER} <= names
    summary = json.loads((directory / tiny_pretrained.MARKER).read_text())
    assert summary["smoke"] is True and summary["held_out"]["global_step"] == 20
    assert 0 < summary["mlm_baseline"]["accuracy"] < 1
    report = summary["evaluation"]   # the honest numbers notebook 03 reports
    assert report["sop_swapped"]["num_pairs"] > 0 and 0 <= report["sop_swapped"]["roc_auc"] <= 1
    assert 0 <= report["mlm"]["nontrivial_bigram_accuracy"] <= 1
    assert summary["summary_line"].startswith("swapped-pair SOP AUC ")
    probes = sorted(p.name for p in (directory / "data").glob("held_out_*_pairs.tfrecord"))
    assert probes == ["held_out_random_pairs.tfrecord", "held_out_swapped_pairs.tfrecord"]
    from albert_nb.tokenizers.tokenization import FullTokenizer

    tok = FullTokenizer.from_directory(directory)
    assert tok.vocab_size == an.AlbertConfig.from_json_file(directory).vocab_size
    # Complete -> reused without work; the real build lives elsewhere.
    mtime = os.path.getmtime(directory / tiny_pretrained.MARKER)
    assert tiny_pretrained.build_tiny_pretrained(smoke=True) == directory
    assert os.path.getmtime(directory / tiny_pretrained.MARKER) == mtime
    assert tiny_pretrained.artifact_directory(smoke=False) != directory


MIRRORED_SCRIPT = r'''
import sys
import numpy as np
import tensorflow as tf
cpu = tf.config.list_physical_devices("CPU")[0]
tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)
sys.path.insert(0, sys.argv[1])
from pretraining_helpers import pretraining_files, SEQ, PREDS
from albert_nb.training import distribute
from albert_nb.pretraining import trainer as pretraining
distribute.select_strategy = lambda *a, **k: tf.distribute.MirroredStrategy(["/cpu:0", "/cpu:1"])
f = pretraining_files()
def opts(out):
    return pretraining.PretrainingOptions(
        input_file=f["train"], output_dir=out, albert_config_file=f["config"], max_seq_length=SEQ,
        max_predictions_per_seq=PREDS, train_batch_size=16, num_train_steps=10, num_warmup_steps=2,
        save_checkpoints_steps=5, log_every_steps=5, learning_rate=0.005)
whole = pretraining.Pretrainer(opts(sys.argv[2] + "/whole"))
assert whole.strategy.num_replicas_in_sync == 2
whole.train(show_progress=False)
class Stop(Exception):
    pass
def stop(record):
    if record["step"] == 10:
        raise Stop
try:
    pretraining.Pretrainer(opts(sys.argv[2] + "/cut")).train(on_log=stop, show_progress=False)
except Stop:
    pass
assert tf.train.latest_checkpoint(sys.argv[2] + "/cut").endswith("model.ckpt-5")
resumed = pretraining.Pretrainer(opts(sys.argv[2] + "/cut"))
resumed.train(show_progress=False)
diff = max(float(np.abs(a.numpy() - b.numpy()).max())
           for a, b in zip(whole.model.trainable_variables, resumed.model.trainable_variables))
print("MAXDIFF", diff)
'''


def test_mirrored_strategy_trains_and_resumes(tmp_path):
    """Two logical CPUs under MirroredStrategy: its iterator cannot be checkpointed, so a resumed
    run replays the seeded stream past the consumed batches and still ends identical."""
    import subprocess
    import sys

    tests_dir = os.path.dirname(os.path.abspath(__file__))
    env = dict(os.environ, PYTHONPATH=os.path.dirname(tests_dir), TF_CPP_MIN_LOG_LEVEL="3")
    done = subprocess.run([sys.executable, "-c", MIRRORED_SCRIPT, tests_dir, str(tmp_path)],
                          env=env, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr[-3000:]
    assert float(done.stdout.split("MAXDIFF")[-1]) == 0.0
