"""Fine-tuning library: features, dynamic padding, feature cache, resumable training,
checkpoint selection, task defaults and the figures."""
import json
import os

import numpy as np
import pytest

from albert_nb.finetuning import classifier as finetuning
from albert_nb.finetuning import features as fdata
from albert_nb.finetuning import options as finetuning_options
from albert_nb.model.inputs import INPUT_NAMES
from albert_nb.tokenizers.pairs import truncate_seq_pair
from albert_nb.paths import BEST_NAME
from albert_nb.training.checkpoints import checkpoint_steps
from albert_nb.training.selection import read_best_trial
from albert_nb.errors import InputError
from albert_nb.tasks.glue import InputExample
from finetuning_helpers import model_files, write_sst2


def tokenizer():
    from albert_nb.tokenizers.tokenization import FullTokenizer

    return FullTokenizer(spm_model_file=model_files()["spm"])


# ------------------------------------------------------------------------- features
def test_truncate_seq_pair_trims_the_longer_side_from_the_end():
    a, b = list("abcdefgh"), list("xyz")
    truncate_seq_pair(a, b, 7)
    assert a == list("abcd") and b == list("xyz")
    a, b = list("ab"), list("uvwxyz")
    truncate_seq_pair(a, b, 5)
    assert a == list("ab") and b == list("uvw")


def test_convert_example_layout_and_truncation():
    tok = tokenizer()
    ex = InputExample("g1", "The assert statement is a convenient way",
                      "to insert debugging assertions into a program", "entailment")
    f = fdata.convert_example(ex, {"contradiction": 0, "entailment": 1, "neutral": 2}, 128, tok)
    a = tok.tokenize(tok.preprocess(ex.text_a))
    b = tok.tokenize(tok.preprocess(ex.text_b))
    assert f.input_ids == tok.convert_tokens_to_ids(["[CLS]", *a, "[SEP]", *b, "[SEP]"])
    assert f.segment_ids == [0] * (len(a) + 2) + [1] * (len(b) + 1)
    assert f.label_id == 1
    short = fdata.convert_example(ex, {"entailment": 1}, 9, tok)
    assert len(short) == 9 and short.input_ids[0] == tok.cls_id and short.input_ids[-1] == tok.sep_id
    assert short.input_ids.count(tok.sep_id) == 2
    single = fdata.convert_example(InputExample("g2", " ".join(["word"] * 50), None, "1"),
                                   {"0": 0, "1": 1}, 10, tok)
    assert len(single) == 10 and set(single.segment_ids) == {0}
    regression = fdata.convert_example(InputExample("g3", "a", "b", "3.8"), None, 16, tok)
    assert regression.label_id == pytest.approx(3.8)
    with pytest.raises(InputError, match="not one of the task's labels"):
        fdata.convert_example(InputExample("g4", "a", None, "maybe"), {"0": 0, "1": 1}, 16, tok)


def test_bucket_boundaries():
    assert fdata.bucket_boundaries(512) == [16, 24, 32, 48, 64, 96, 128, 192, 256, 384, 512]
    assert fdata.bucket_boundaries(100) == [16, 24, 32, 48, 64, 96, 100]
    assert fdata.bucket_boundaries(12) == [12]


def _features(n=200, max_len=120, seed=0):
    rng = np.random.default_rng(seed)
    out = []
    for i in range(n):
        length = int(rng.integers(3, max_len))
        out.append(fdata.InputFeatures(list(rng.integers(5, 500, length)), [0] * length, i % 3))
    return out


def test_dynamic_batches_are_bucketed_and_keep_every_token():
    feats = _features()
    ds = fdata.batch_dataset(fdata.features_dataset(feats, False), 8, 128, is_training=True)
    allowed = set(fdata.bucket_boundaries(128))
    for batch in ds.take(20):
        width = int(batch["input_ids"].shape[1])
        assert width in allowed and batch["input_ids"].shape[0] == 8
        lengths = batch["input_mask"].numpy().sum(axis=1)
        # every example sits in the smallest bucket that holds it
        smaller = [b for b in allowed if b < width]
        assert lengths.max() <= width and (not smaller or lengths.min() > max(smaller))
        ids = batch["input_ids"].numpy()
        assert ((ids != 0) == batch["input_mask"].numpy().astype(bool)).all()


def test_eval_batches_keep_order_and_fixed_padding_pads_to_max():
    feats = _features(n=37)
    ds = fdata.batch_dataset(fdata.features_dataset(feats, False), 8, 128, is_training=False)
    labels = np.concatenate([b["label_ids"].numpy() for b in ds])
    first_ids = [b["input_ids"].numpy() for b in ds][0]
    assert labels.tolist() == [f.label_id for f in feats]          # order kept, last batch short
    assert first_ids[0, : len(feats[0])].tolist() == feats[0].input_ids
    fixed = fdata.batch_dataset(fdata.features_dataset(feats, False), 8, 128, is_training=False,
                                padding="max")
    assert {int(b["input_ids"].shape[1]) for b in fixed} == {128}


def test_padding_does_not_change_the_logits():
    import albert_nb as an
    import tensorflow as tf

    config = an.AlbertConfig.from_json_file(model_files()["config"])
    model = an.AlbertForSequenceClassification(config, 3)
    feats = _features(n=16, max_len=40)
    out = {}
    for padding in ("dynamic", "max"):
        ds = fdata.batch_dataset(fdata.features_dataset(feats, False), 16, 128, is_training=False,
                                 padding=padding)
        batch = next(iter(ds))
        out[padding] = model({k: batch[k] for k in INPUT_NAMES}, training=False)["logits"]
        assert isinstance(out[padding], tf.Tensor)
    np.testing.assert_allclose(out["dynamic"].numpy(), out["max"].numpy(), atol=1e-5)


def test_feature_cache_is_reused_only_when_it_matches(tmp_path):
    tok = tokenizer()
    examples = [InputExample(str(i), s, None, str(i % 2))
                for i, s in enumerate(model_files()["sentences"][:40])]
    path = str(tmp_path / "sst-2_train.tf_record")
    messages = []
    _, n, reused = fdata.cached_features(path, examples, ["0", "1"], 64, tok, "sst-2", "train",
                                         show=messages.append)
    assert (n, reused) == (40, False)
    assert fdata.cached_features(path, examples, ["0", "1"], 64, tok, "sst-2", "train")[2] is True
    # different max_seq_length, labels or text -> rebuilt, with a message
    assert fdata.cached_features(path, examples, ["0", "1"], 32, tok, "sst-2", "train",
                                 show=messages.append)[2] is False
    changed = examples[:-1] + [InputExample("39", "a different sentence", None, "1")]
    assert fdata.cached_features(path, changed, ["0", "1"], 32, tok, "sst-2", "train",
                                 show=messages.append)[2] is False
    assert len(messages) == 2 and "rebuilding" in messages[0]
    # the records hold exactly the converted features
    expected = fdata.convert_examples(changed, ["0", "1"], 32, tok)
    got = list(fdata.read_features(path, False))
    assert [g["input_ids"].numpy().tolist() for g in got] == [f.input_ids for f in expected]
    assert [int(g["label_ids"]) for g in got] == [f.label_id for f in expected]


# ---------------------------------------------------------------------------- training
def _sst2_options(tmp_path, name, **overrides):
    """A learnable real-text task: CPython doc sentences, label = mentions "object"."""
    sentences = [s for s in model_files()["sentences"] if 4 <= len(s.split()) <= 30]
    rows = [(s.replace("\t", " "), int("object" in s.lower())) for s in sentences]
    positives = [r for r in rows if r[1] == 1]
    negatives = [r for r in rows if r[1] == 0][: len(positives)]
    balanced = [r for pair in zip(positives, negatives) for r in pair]
    data_dir = tmp_path / "data"
    if not (data_dir / "SST-2").is_dir():
        write_sst2(data_dir, balanced[:-160], balanced[-160:-20], balanced[-20:])
    files = model_files()
    values = dict(data_dir=str(data_dir), task_name="SST-2", output_dir=str(tmp_path / name),
                  spm_model_file=files["spm"], albert_config_file=files["config"],
                  max_seq_length=64, do_train=True, do_eval=True, do_predict=True,
                  train_batch_size=16, eval_batch_size=32, predict_batch_size=32,
                  learning_rate=2e-3, train_step=6, warmup_step=1, save_checkpoints_steps=2,
                  log_every_steps=2, seed=7)
    values.update(overrides)
    return finetuning.ClassifierOptions(**values)


def _weights(prefix):
    import tensorflow as tf

    reader = tf.train.load_checkpoint(prefix)
    return {name: reader.get_tensor(name) for name, _ in tf.train.list_variables(prefix)
            if name.startswith("variables/")}


def test_interrupted_training_resumes_to_the_same_weights(tmp_path):
    straight = _sst2_options(tmp_path, "straight", do_predict=False)
    finetuning.run(straight, show=None, show_progress=False)

    interrupted = _sst2_options(tmp_path, "interrupted", do_predict=False)

    def stop_after_step_4(record):
        if record["global_step"] == 4:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        finetuning.run(interrupted, on_eval=stop_after_step_4, show=None, show_progress=False)
    assert sorted(checkpoint_steps(interrupted.output_dir)) == [2, 4]
    messages = []
    result = finetuning.run(interrupted, show=messages.append, show_progress=False)
    assert any("resumed from" in m and "model.ckpt-4" in m for m in messages)
    assert [r["global_step"] for r in result["eval_history"]] == [2, 4, 6]
    a = _weights(os.path.join(straight.output_dir, "model.ckpt-6"))
    b = _weights(os.path.join(interrupted.output_dir, "model.ckpt-6"))
    assert a.keys() == b.keys() and len(a) > 10
    for name in a:
        np.testing.assert_allclose(a[name], b[name], rtol=1e-5, atol=1e-6, err_msg=name)


def test_a_restarted_tuner_gives_a_fresh_runs_numbers(tmp_path):
    """learning_curves reuses one FineTuner's compiled steps across runs: a run after another
    (other seed, size and init) must equal the same run done from scratch, bit for bit."""
    first = _sst2_options(tmp_path, "first", init_checkpoint=model_files()["init_checkpoint"])
    second = dict(seed=3, max_train_examples=40)          # from scratch, another seed and size
    earlier = finetuning.run(first, show=None, show_progress=False)
    reused = finetuning.run(_sst2_options(tmp_path, "reused", **second), show=None,
                            show_progress=False, tuner=earlier["tuner"])
    fresh = finetuning.run(_sst2_options(tmp_path, "fresh", **second), show=None,
                           show_progress=False)
    assert reused["tuner"] is earlier["tuner"]
    assert [r["loss"] for r in reused["history"]] == [r["loss"] for r in fresh["history"]]
    assert ([r["eval_accuracy"] for r in reused["eval_history"]]
            == [r["eval_accuracy"] for r in fresh["eval_history"]])
    np.testing.assert_array_equal(reused["predict"]["probabilities"],
                                  fresh["predict"]["probabilities"])
    with pytest.raises(ValueError, match="total_steps"):
        finetuning.run(_sst2_options(tmp_path, "longer", train_step=8), show=None,
                       show_progress=False, tuner=earlier["tuner"])


def test_selection_sees_every_checkpoint_even_when_few_are_kept(tmp_path):
    opts = _sst2_options(tmp_path, "keep1", keep_checkpoint_max=1, train_step=8,
                         export_dir=str(tmp_path / "export"))
    result = finetuning.run(opts, show=None, show_progress=False)
    out = opts.output_dir
    history = result["eval_history"]
    assert [r["global_step"] for r in history] == [2, 4, 6, 8]
    assert sorted(checkpoint_steps(out)) == [8]           # retention: 1
    scores = [r["eval_accuracy"] for r in history]
    best = history[int(np.argmax(scores))]
    step, best_step, best_value = read_best_trial(os.path.join(out, "best_trial.txt"))
    assert (step, best_step) == (8, best["global_step"]) and best_value == pytest.approx(max(scores))
    # model.ckpt-best holds the weights that scored best: re-evaluating it gives the same metric
    tuner = result["tuner"]
    tuner.read_weights(os.path.join(out, BEST_NAME))
    assert tuner.evaluate()[0]["eval_accuracy"] == pytest.approx(best["eval_accuracy"])
    saved = json.load(open(os.path.join(out, "eval_predictions.json")))
    assert saved["global_step"] == best["global_step"]
    assert np.mean(np.argmax(saved["logits"], -1) == saved["labels"]) == pytest.approx(max(scores))
    # the prediction files come from the best checkpoint
    assert result["predict"]["checkpoint"].endswith(BEST_NAME)
    # the export serves the best weights: its probabilities are the prediction file's
    import tensorflow as tf

    served = tf.saved_model.load(result["export"]).signatures["serving_ids"]
    test = fdata.batch_dataset(fdata.read_features(os.path.join(out, "albert_nb_sst-2_predict.tf_record"), False),
                               64, 64, is_training=False)
    batch = next(iter(test))
    probs = served(**{k: batch[k] for k in INPUT_NAMES})["probabilities"].numpy()
    np.testing.assert_allclose(probs, result["predict"]["probabilities"][: len(probs)], atol=1e-5)


def test_fine_tuning_learns_a_real_text_task(tmp_path):
    opts = _sst2_options(tmp_path, "learn", train_step=180, save_checkpoints_steps=60,
                         log_every_steps=60, do_predict=False, warmup_step=10, learning_rate=1e-3)
    result = finetuning.run(opts, show=None, show_progress=False)
    assert result["history"][-1]["loss"] < 0.5 * result["history"][0]["loss"]
    assert result["best"]["eval_accuracy"] >= 0.75         # majority class: 0.5 (balanced)


# ------------------------------------------------------------------------- settings
def test_task_defaults_fill_only_what_was_not_given():
    opts = finetuning.ClassifierOptions(data_dir="data/glue", task_name="MNLI", output_dir="/tmp/x",
                                        learning_rate=1e-4)
    filled = finetuning_options.apply_task_defaults(opts, explicit={"learning_rate"})
    assert (filled.warmup_step, filled.train_step, filled.save_checkpoints_steps,
            filled.train_batch_size, filled.max_seq_length) == (1000, 10000, 100, 128, 512)
    assert filled.learning_rate == 1e-4
    assert finetuning_options.apply_task_defaults(opts).learning_rate == 3e-5
    sts = finetuning_options.task_defaults("sts-b")
    assert (sts["warmup_step"], sts["learning_rate"], sts["train_step"], sts["train_batch_size"]) == \
        (214, 2e-5, 3598, 16)


def test_validation_errors(tmp_path):
    files = model_files()
    base = dict(data_dir="data/glue", task_name="MNLI", output_dir=str(tmp_path / "o"),
                spm_model_file=files["spm"], albert_config_file=files["config"], do_train=True,
                max_seq_length=64)
    finetuning.validate(finetuning.ClassifierOptions(**base))
    cases = [({"task_name": "mnlx"}, "not a known task"),
             ({"data_dir": str(tmp_path / "nope")}, "--data_dir"),
             ({"data_dir": str(tmp_path)}, "MNLI train file not found"),
             ({"spm_model_file": str(tmp_path / "x.model")}, "--spm_model_file"),
             ({"max_seq_length": 512}, "max_position_embeddings"),
             ({"do_train": False}, "--do_train, --do_eval, --do_predict or --export_dir"),
             ({"albert_config_file": None}, "--albert_config_file"),
             ({"init_checkpoint": str(tmp_path / "missing")}, "--init_checkpoint")]
    for change, message in cases:
        with pytest.raises(InputError, match=message):
            finetuning.validate(finetuning.ClassifierOptions(**{**base, **change}))


def test_figures_build():
    from albert_nb.plots import finetuning as plots

    history = [{"step": 2, "loss": 0.7}, {"step": 4, "loss": 0.5}]
    evals = [{"global_step": 2, "eval_accuracy": 0.6}, {"global_step": 4, "eval_accuracy": 0.7}]
    fig = plots.curves_figure({"pretrained": {"history": history, "eval_history": evals},
                               "scratch": {"history": history, "eval_history": evals[:1]}})
    assert len(fig.data) == 6 and fig.data[2].y[0] == 0.7
    cm = plots.confusion_figure([0, 1, 1, 0], [0, 1, 0, 0], ["neg", "pos"])
    assert cm.data[0].z.tolist() == [[2, 0], [1, 1]]
    assert len(plots.length_figure([5, 10, 20], 64, [16, 32]).data) == 1
    assert plots.throughput_figure({"fixed": 10.0, "dynamic": 40.0}).data[0].y == (10.0, 40.0)
    bars = plots.comparison_figure({"SST-2": {"pretrained": 0.8, "scratch": 0.6}})
    assert len(bars.data) == 2
