"""The run_pretraining CLI: the README command end to end, kill -9 + resume, bad input."""
import os
import shlex
import shutil
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

from pretraining_helpers import PREDS, SEQ, pretraining_files

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
ENV = dict(os.environ, PYTHONPATH=REPO + os.pathsep + os.environ.get("PYTHONPATH", ""),
           TF_CPP_MIN_LOG_LEVEL="3")


def _cli(*args, **kw):
    return subprocess.run([sys.executable, "-m", "albert_nb.run_pretraining", *args], env=ENV,
                          capture_output=True, text=True, **kw)


def test_readme_command_end_to_end(tmp_path):
    """Corpus text -> create_pretraining_data CLI -> the README's run_pretraining command."""
    import tensorflow as tf

    import albert_nb as an
    from albert_nb.pretraining import trainer as pretraining
    from albert_nb.training.checkpoints import variables_by_path

    files = pretraining_files()
    records = tmp_path / "docs.tfrecord"
    made = subprocess.run(
        [sys.executable, "-m", "albert_nb.create_pretraining_data", f"--input_file={files['train_txt']}",
         f"--output_file={records}", "--vocab_file=unused", f"--spm_model_file={files['spm']}",
         f"--max_seq_length={SEQ}", f"--max_predictions_per_seq={PREDS}", "--dupe_factor=1",
         "--noprogress"], env=ENV, capture_output=True, text=True)
    assert made.returncode == 0, made.stderr
    init = tmp_path / "init" / "model.ckpt-0"
    config = an.AlbertConfig.from_json_file(files["config"])
    initial = an.AlbertForPretraining(config)
    tf.train.Checkpoint(variables=variables_by_path(initial)).write(str(init))
    out = tmp_path / "out"
    # The README command as a shell would split it, small values; one flag space-separated.
    command = (f"--input_file={records} --output_dir={out} --init_checkpoint={init} "
               f"--albert_config_file={files['config']} --do_train --do_eval "
               f"--train_batch_size=8 --eval_batch_size=16 --max_seq_length={SEQ} "
               f"--max_predictions_per_seq={PREDS} --optimizer='lamb' --learning_rate=.00176 "
               "--num_train_steps 6 --num_warmup_steps=2 --save_checkpoints_steps=3 "
               "--max_eval_steps=3")
    result = _cli(*shlex.split(command))
    assert result.returncode == 0, result.stderr[-3000:]
    lines = result.stdout.strip().splitlines()
    block = lines[lines.index("***** Eval results *****"):]
    assert [line.split(" = ")[0] for line in block[1:]] == list(pretraining.EVAL_KEYS)
    assert block[1] == "global_step = 6"
    names = set(os.listdir(out))
    assert {"checkpoint", "eval_results.txt", "model.ckpt-3.index", "model.ckpt-6.index",
            "model.ckpt-best.index"} <= names
    assert any(n.startswith("events.out.tfevents") for n in names)
    assert any(n.startswith("events.out.tfevents") for n in os.listdir(out / "eval"))
    results = pretraining.read_eval_results(out / "eval_results.txt")
    assert results["global_step"] == 6 and 0.0 <= results["masked_lm_accuracy"] <= 1.0
    assert results["loss"] == pytest.approx(results["masked_lm_loss"] + results["sentence_order_loss"],
                                            rel=0.05)
    # Training started from --init_checkpoint: six small LAMB steps (each moves a weight
    # matrix by about lr relative to its norm) leave the weights close to `initial`'s.
    final = an.AlbertForPretraining(config)
    pretraining.load_init_checkpoint(final, str(out / "model.ckpt-6"))
    for before, after in ((initial.albert.word_embeddings, final.albert.word_embeddings),
                          (initial.sop_head.kernel, final.sop_head.kernel)):
        change = np.linalg.norm(after.numpy() - before.numpy()) / np.linalg.norm(before.numpy())
        assert 0.0 < change < 0.05


def _run_cmd(out, files):
    return [sys.executable, "-m", "albert_nb.run_pretraining", f"--input_file={files['train']}",
            f"--output_dir={out}", f"--albert_config_file={files['config']}", "--do_train",
            "--train_batch_size=16", f"--max_seq_length={SEQ}", f"--max_predictions_per_seq={PREDS}",
            "--optimizer=lamb", "--learning_rate=0.005", "--num_train_steps=60",
            "--num_warmup_steps=5", "--save_checkpoints_steps=10", "--deterministic",
            "--noprogress"]


def _weights(prefix):
    import tensorflow as tf

    reader = tf.train.load_checkpoint(prefix)
    return {name: reader.get_tensor(name) for name, _ in tf.train.list_variables(prefix)
            if name.endswith("VARIABLE_VALUE")}


def test_kill_9_then_resume_matches_uninterrupted_run(tmp_path):
    """SIGKILL after the first checkpoint, start the same command again: the final weights,
    optimizer slots and step equal those of an uninterrupted run (dropout on, data shuffled)."""
    files = pretraining_files()
    whole, killed = tmp_path / "whole", tmp_path / "killed"
    done = subprocess.run(_run_cmd(whole, files), env=ENV, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr[-3000:]

    proc = subprocess.Popen(_run_cmd(killed, files), env=ENV, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    deadline = time.time() + 120
    while not (killed / "checkpoint").exists():
        assert proc.poll() is None, "the run ended before writing its first checkpoint"
        assert time.time() < deadline
        time.sleep(0.01)
    os.kill(proc.pid, signal.SIGKILL)
    assert proc.wait() == -signal.SIGKILL
    assert not (killed / "model.ckpt-60.index").exists()

    again = subprocess.run(_run_cmd(killed, files), env=ENV, capture_output=True, text=True)
    assert again.returncode == 0, again.stderr[-3000:]
    a, b = _weights(str(whole / "model.ckpt-60")), _weights(str(killed / "model.ckpt-60"))
    assert set(a) == set(b) and len(a) > 50
    assert int(b["global_step/.ATTRIBUTES/VARIABLE_VALUE"]) == 60
    for name in a:
        np.testing.assert_allclose(b[name], a[name], rtol=1e-6, atol=1e-7, err_msg=name)


def test_bad_input_exits_2_with_one_line(tmp_path):
    files = pretraining_files()
    base = [f"--output_dir={tmp_path / 'o'}", f"--albert_config_file={files['config']}",
            f"--max_seq_length={SEQ}", f"--max_predictions_per_seq={PREDS}", "--num_train_steps=2"]
    missing = _cli(f"--input_file={tmp_path / 'nothing-*.tfrecord'}", *base)
    assert missing.returncode == 2 and "Traceback" not in missing.stderr
    assert missing.stderr.strip().splitlines()[-1].startswith("InputError: input_file")
    assert "nothing-*.tfrecord" in missing.stderr
    wrong = _cli(f"--input_file={files['train']}", *base[:2], "--max_seq_length=32",
                 f"--max_predictions_per_seq={PREDS}")
    assert wrong.returncode == 2 and "Traceback" not in wrong.stderr
    assert "--max_seq_length=32" in wrong.stderr and files["train"] in wrong.stderr
    shutil.rmtree(tmp_path / "o", ignore_errors=True)
