"""run_squad_v1 / run_squad_v2 / run_race: the documented commands end to end (small values) on
the fixtures in the official layouts (data/squad, data/RACE); output files, the SavedModel and
TFLite exports, resumption, and one clear line for bad input."""
import json
import os
import subprocess
import sys

import numpy as np
import pytest

from albert_nb import paths
from albert_nb.errors import InputError
from finetuning_helpers import model_files

REPO = str(paths.REPO_ROOT)
SQUAD = os.path.join(REPO, "data", "squad")


def squad_command(module, out, files, version="v1.1", bare=False, **changes):
    """The README's SQuAD command flag for flag; only paths and sizes are filled in."""
    v = {"max_seq_length": "64", "doc_stride": "16", "max_query_length": "16", "train_batch_size": "4",
         "predict_batch_size": "8", "learning_rate": "5e-5", "num_train_epochs": "2.0",
         "warmup_proportion": ".1", "save_checkpoints_steps": "2", "n_best_size": "20",
         "max_answer_length": "30"}
    v.update(changes)
    switches = ["--do_train", "--do_predict"] if bare else ["--do_train=true", "--do_predict=true"]
    return [sys.executable, "-m", f"albert_nb.{module}", f"--albert_config_file={files['config']}",
            f"--vocab_file={files['vocab']}", f"--output_dir={out}",
            f"--train_file={SQUAD}/train-{version}.json", f"--predict_file={SQUAD}/dev-{version}.json",
            f"--train_feature_file={out}/train.tf_record", f"--predict_feature_file={out}/predict.tf_record",
            f"--predict_feature_left_file={out}/predict_left.json",
            f"--init_checkpoint={files['init_checkpoint']}", f"--spm_model_file={files['spm']}",
            "--do_lower_case", f"--max_seq_length={v['max_seq_length']}", f"--doc_stride={v['doc_stride']}",
            f"--max_query_length={v['max_query_length']}", *switches,
            f"--train_batch_size={v['train_batch_size']}", f"--predict_batch_size={v['predict_batch_size']}",
            f"--learning_rate={v['learning_rate']}", f"--num_train_epochs={v['num_train_epochs']}",
            f"--warmup_proportion={v['warmup_proportion']}",
            f"--save_checkpoints_steps={v['save_checkpoints_steps']}", f"--n_best_size={v['n_best_size']}",
            f"--max_answer_length={v['max_answer_length']}", "--progress=false"]


def run_cli(command):
    env = dict(os.environ, PYTHONPATH=REPO + os.pathsep + os.environ.get("PYTHONPATH", ""))
    return subprocess.run(command, capture_output=True, text=True, cwd=REPO, env=env, timeout=600)


def dev_ids(version):
    data = json.load(open(os.path.join(SQUAD, f"dev-{version}.json")))["data"]
    return {qa["id"] for a in data for p in a["paragraphs"] for qa in p["qas"]}


def test_run_squad_v1_documented_command_export_and_resume(tmp_path):
    files = model_files()
    out = tmp_path / "v1"
    done = run_cli(squad_command("run_squad_v1", out, files) + [f"--export_dir={tmp_path / 'export'}"])
    assert done.returncode == 0, done.stderr[-2000:]
    assert "***** Eval results *****" in done.stdout and "f1 = " in done.stdout
    preds = json.load(open(out / "predictions.json"))
    assert set(preds) == dev_ids("v1.1")
    nbest = json.load(open(out / "nbest_predictions.json"))
    assert all(1 <= len(v) <= 20 and abs(sum(e["probability"] for e in v) - 1) < 1e-4 for v in nbest.values())
    results = open(out / "eval_results.txt").read()
    assert "exact = " in results and "f1 = " in results
    assert os.path.isfile(out / "model.ckpt-best.index")
    steps = [r["step"] for r in json.load(open(out / "train_history.json"))]

    # Serving exports: the SavedModel's signature and the TFLite model agree on one window.
    import tensorflow as tf

    ids = np.array([[2, 10, 11, 3, 20, 21, 22, 3]], np.int32)
    feed = {"input_ids": ids, "input_mask": np.ones_like(ids),
            "segment_ids": np.array([[0, 0, 0, 0, 1, 1, 1, 1]], np.int32)}
    served = tf.saved_model.load(str(tmp_path / "export" / "saved_model")).signatures["serving_default"]
    reference = served(**{k: tf.constant(v) for k, v in feed.items()})
    lite = tf.lite.Interpreter(model_path=str(tmp_path / "export" / "albert_model.tflite"))
    outputs = lite.get_signature_runner("serving_default")(**feed)
    for key in ("start_logits", "end_logits"):
        np.testing.assert_allclose(outputs[key], reference[key].numpy(), atol=1e-4)

    # The same command with more epochs resumes from the newest checkpoint and reuses the caches.
    stamp = os.path.getmtime(out / "train.tf_record")
    again = run_cli(squad_command("run_squad_v1", out, files, num_train_epochs="3.0"))
    assert again.returncode == 0, again.stderr[-2000:]
    assert "resumed from" in again.stdout + again.stderr
    assert os.path.getmtime(out / "train.tf_record") == stamp
    more = [r["step"] for r in json.load(open(out / "train_history.json"))]
    assert more[: len(steps)] == steps and more[-1] > steps[-1]


def test_run_squad_v2_bare_switches_and_v2_outputs(tmp_path):
    files = model_files()
    out = tmp_path / "v2"
    done = run_cli(squad_command("run_squad_v2", out, files, version="v2.0", bare=True)
                   + ["--start_n_top=3", "--end_n_top=3"])
    assert done.returncode == 0, done.stderr[-2000:]
    odds = json.load(open(out / "null_odds.json"))
    assert set(odds) == dev_ids("v2.0") and all(isinstance(v, float) for v in odds.values())
    block = open(out / "eval_results.txt").read().split("=" * 50)[0]
    for key in ("exact", "f1", "best_exact", "best_exact_thresh", "best_f1", "best_f1_thresh",
                "null_score_diff_threshold", "HasAns_f1", "NoAns_f1", "NoAns_total"):
        assert f"\n{key} = " in "\n" + block, key
    preds = json.load(open(out / "predictions.json"))
    threshold = float(block.split("null_score_diff_threshold = ")[1].split()[0])
    assert all((preds[q] == "") == (odds[q] > threshold) for q in preds)


def test_run_race_command(tmp_path):
    files = model_files()
    out = tmp_path / "race"
    command = [sys.executable, "-m", "albert_nb.run_race", f"--data_dir={paths.data_dir()}",
               f"--output_dir={out}", f"--init_checkpoint={files['init_checkpoint']}",
               f"--albert_config_file={files['config']}", f"--spm_model_file={files['spm']}",
               "--do_train", "--do_eval", "--do_predict", "--max_seq_length=64", "--max_qa_length=24",
               "--train_batch_size=2", "--eval_batch_size=8", "--learning_rate=1e-5", "--train_step=4",
               "--warmup_step=1", "--save_checkpoints_steps=2", "--progress=false"]
    done = run_cli(command)
    assert done.returncode == 0, done.stderr[-2000:]
    results = open(out / "predict_results.txt").read()
    for key in ("eval_accuracy", "accuracy_middle", "accuracy_high", "total = 5"):
        assert key in results
    assert "eval_accuracy = " in open(out / "eval_results.txt").read()
    assert os.path.isfile(out / "model.ckpt-best.index")
    assert set(json.load(open(out / "predictions.json"))["predictions"].values()) <= set("ABCD")


def test_bad_input_is_one_line(tmp_path):
    files = model_files()
    bad = tmp_path / "train.json"
    bad.write_text('{"data": [}')
    command = squad_command("run_squad_v1", tmp_path / "o", files)
    command = [f"--train_file={bad}" if c.startswith("--train_file=") else c for c in command]
    done = run_cli(command)
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert done.stderr.strip().splitlines()[-1].startswith("InputError: ")
    assert "malformed JSON" in done.stderr and str(bad) in done.stderr


def test_feature_file_from_other_flags_is_refused(tmp_path):
    from albert_nb.finetuning import squad_trainer
    from albert_nb.finetuning.qa_options import SquadV1Options

    files = model_files()
    common = dict(output_dir=str(tmp_path / "o"), train_file=f"{SQUAD}/train-v1.1.json",
                  albert_config_file=files["config"], spm_model_file=files["spm"], do_train=True,
                  max_seq_length=64, max_query_length=16, train_batch_size=4, num_train_epochs=0.5,
                  train_feature_file=str(tmp_path / "shared.tf_record"), save_checkpoints_steps=100)
    squad_trainer.run(SquadV1Options(doc_stride=16, **common), show=None, show_progress=False)
    with pytest.raises(InputError, match=r"--train_feature_file=.*built from other flags or data \(doc_stride=16->32\)"):
        squad_trainer.run(SquadV1Options(doc_stride=32, **{**common, "output_dir": str(tmp_path / "p")}),
                          show=None, show_progress=False)
