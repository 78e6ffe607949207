"""`python -m albert_nb.run_classifier`: the original README's MNLI command end to end on the
GLUE-format fixture (data/glue/MNLI), every output file checked; resumption; the hub handle;
one clear error line (exit 2) for bad input."""
import csv
import json
import os
import subprocess
import sys

import numpy as np
import pytest

from albert_nb import paths
from finetuning_helpers import model_files

REPO = str(paths.REPO_ROOT)
GLUE = os.path.join(REPO, "data", "glue")


def readme_mnli_command(output_dir, files, **changes):
    """The README's MNLI command, flag for flag; only paths and the sizes are filled in (a tiny
    config's 128 positions; a few steps on the 4-example fixture)."""
    values = {"vocab_file": files["vocab"], "data_dir": GLUE, "output_dir": output_dir,
              "init_checkpoint": files["init_checkpoint"], "albert_config_file": files["config"],
              "spm_model_file": files["spm"], "max_seq_length": "128", "optimizer": "adamw",
              "task_name": "MNLI", "warmup_step": "2", "learning_rate": "3e-5", "train_step": "6",
              "save_checkpoints_steps": "2", "train_batch_size": "4"}
    values.update(changes)
    v = values
    return [sys.executable, "-m", "albert_nb.run_classifier",
            f"--vocab_file={v['vocab_file']}", f"--data_dir={v['data_dir']}",
            f"--output_dir={v['output_dir']}", f"--init_checkpoint={v['init_checkpoint']}",
            f"--albert_config_file={v['albert_config_file']}",
            f"--spm_model_file={v['spm_model_file']}", "--do_train", "--do_eval", "--do_predict",
            "--do_lower_case", f"--max_seq_length={v['max_seq_length']}",
            f"--optimizer={v['optimizer']}", f"--task_name={v['task_name']}",
            f"--warmup_step={v['warmup_step']}", f"--learning_rate={v['learning_rate']}",
            f"--train_step={v['train_step']}",
            f"--save_checkpoints_steps={v['save_checkpoints_steps']}",
            f"--train_batch_size={v['train_batch_size']}"]


def run_cli(command):
    env = dict(os.environ, PYTHONPATH=REPO + os.pathsep + os.environ.get("PYTHONPATH", ""))
    return subprocess.run(command, capture_output=True, text=True, cwd=REPO, env=env, timeout=300)


def read_eval_blocks(path):
    """eval_results.txt -> one dict per checkpoint block (the original's layout)."""
    blocks, current = [], {}
    for line in open(path, encoding="utf-8").read().splitlines():
        if line == "=" * 50:
            blocks.append(current)
            current = {}
            continue
        key, sep, value = line.partition(" = ")
        assert sep, f"malformed line {line!r}"
        current[key] = float(value)
    assert current == {}, "trailing block without its rule"
    return blocks


def test_readme_mnli_command_end_to_end(tmp_path):
    from albert_nb.tasks.glue import MnliProcessor

    files = model_files()
    out = str(tmp_path / "mnli")
    result = run_cli(readme_mnli_command(out, files))
    assert result.returncode == 0, result.stderr[-2000:]
    assert "encoder from" in result.stdout + result.stderr          # --init_checkpoint was loaded

    # checkpoints: every saved step, and the best as a copy
    for step in (2, 4, 6):
        assert os.path.isfile(os.path.join(out, f"model.ckpt-{step}.index"))
    assert os.path.isfile(os.path.join(out, "model.ckpt-best.index"))

    # the encoder started from --init_checkpoint (a few small steps move it very little)
    import tensorflow as tf

    key = "variables/embeddings.Sword_embeddings/.ATTRIBUTES/VARIABLE_VALUE"
    trained = tf.train.load_checkpoint(os.path.join(out, "model.ckpt-6")).get_tensor(key)
    assert np.abs(trained - files["word_embeddings"]).max() < 2e-3
    assert np.abs(files["word_embeddings"]).mean() > 5e-3            # ... and is not near zero

    # eval_results.txt: one block per checkpoint, the original's keys, running best
    blocks = read_eval_blocks(os.path.join(out, "eval_results.txt"))
    assert [int(b["global_step"]) for b in blocks] == [2, 4, 6]
    for block in blocks:
        assert {"eval_accuracy", "eval_loss", "global_step", "best"} <= set(block)
        assert 0.0 <= block["eval_accuracy"] <= 1.0 and block["eval_loss"] > 0
    assert blocks[0]["best"] == -1
    accuracies = [b["eval_accuracy"] for b in blocks]
    best_step = [2, 4, 6][int(np.argmax(accuracies))]

    # best_trial.txt: "global_step:best_step:best_value"
    text = open(os.path.join(out, "best_trial.txt")).read()
    step, chosen, value = text.split(":")
    assert (int(step), int(chosen)) == (6, best_step) and float(value) == pytest.approx(max(accuracies))
    history = json.load(open(os.path.join(out, "eval_history.json")))
    assert [r["global_step"] for r in history] == [2, 4, 6]

    # test_results.tsv: class probabilities per test example; submit_results.tsv: GLUE layout
    test_examples = MnliProcessor().get_test_examples(GLUE)
    rows = [list(map(float, line.split("\t")))
            for line in open(os.path.join(out, "test_results.tsv")).read().splitlines()]
    assert len(rows) == len(test_examples) and all(len(r) == 3 for r in rows)
    np.testing.assert_allclose([sum(r) for r in rows], 1.0, atol=1e-5)
    with open(os.path.join(out, "submit_results.tsv"), newline="") as handle:
        submit = list(csv.reader(handle, delimiter="\t"))
    assert submit[0] == ["index", "prediction"]
    assert [r[0] for r in submit[1:]] == [ex.guid for ex in test_examples]
    labels = ["contradiction", "entailment", "neutral"]
    assert [r[1] for r in submit[1:]] == [labels[int(np.argmax(r))] for r in rows]

    # feature caches as the original names them, each with its fingerprint
    for name in ("albert_nb_mnli_train.tf_record", "albert_nb_mnli_eval.tf_record",
                 "albert_nb_mnli_predict.tf_record"):
        assert os.path.isfile(os.path.join(out, name))
        assert os.path.isfile(os.path.join(out, name + ".fingerprint.json"))
    assert json.load(open(os.path.join(out, "train_history.json")))[-1]["step"] == 6

    # the same command again: nothing retrained or re-evaluated, caches reused, same files
    again = run_cli(readme_mnli_command(out, files))
    assert again.returncode == 0, again.stderr[-2000:]
    assert "resumed from" in again.stdout + again.stderr
    assert "rebuilding" not in again.stdout + again.stderr
    assert json.load(open(os.path.join(out, "eval_history.json"))) == history

    # a longer run in the same folder continues from step 6, and a changed max_seq_length
    # rebuilds the stale feature cache instead of reusing it
    longer = run_cli(readme_mnli_command(out, files, train_step="8", max_seq_length="64"))
    assert longer.returncode == 0, longer.stderr[-2000:]
    assert "model.ckpt-6" in longer.stdout + longer.stderr
    assert "rebuilding" in longer.stdout + longer.stderr
    assert [r["global_step"] for r in json.load(open(os.path.join(out, "eval_history.json")))] == \
        [2, 4, 6, 8]


# --albert_hub_module_handle (with run_glue.sh's flags and the Colab's from_tf_hub):
# tests/test_original_compat.py::test_run_glue_sh_two_phases_then_export_alone_through_a_hub_module


# ------------------------------------------------------------------------ bad input
def _in_process(argv, capsys):
    """Run the CLI's main() in this process (absl flags defined once) -> (exit code, stderr)."""
    from absl import flags

    from albert_nb import run_classifier

    if "task_name" not in flags.FLAGS:
        run_classifier.define_flags()
    flags.FLAGS.unparse_flags()
    flags.FLAGS(["run_classifier", *argv])
    with pytest.raises(SystemExit) as info:
        run_classifier.main(["run_classifier"])
    return info.value.code, capsys.readouterr().err


def test_use_task_defaults_fills_run_glue_values_but_explicit_flags_win(capsys):
    from absl import flags

    from albert_nb import run_classifier

    if "task_name" not in flags.FLAGS:
        run_classifier.define_flags()
    flags.FLAGS.unparse_flags()
    flags.FLAGS(["run_classifier", "--task_name=RTE", f"--data_dir={GLUE}", "--output_dir=/tmp/o",
                 "--use_task_defaults", "--learning_rate=1e-4"])
    opts = run_classifier.options_from_flags()
    assert (opts.warmup_step, opts.train_step, opts.save_checkpoints_steps, opts.train_batch_size,
            opts.max_seq_length) == (200, 800, 100, 32, 512)
    assert opts.learning_rate == 1e-4                         # given explicitly: kept
    flags.FLAGS.unparse_flags()
    flags.FLAGS(["run_classifier", "--task_name=RTE", f"--data_dir={GLUE}", "--output_dir=/tmp/o"])
    assert run_classifier.options_from_flags().train_step == 1000   # opt-in: original default


@pytest.mark.parametrize("change, message", [
    ({"task_name": "MNLX"}, "--task_name='MNLX' is not a known task"),
    ({"data_dir": "/nonexistent/glue"}, "--data_dir"),
    ({"spm_model_file": "/nonexistent/30k-clean.model"}, "--spm_model_file"),
    ({"max_seq_length": "512"}, "exceeds max_position_embeddings"),
    ({"do": False}, "at least one of --do_train, --do_eval, --do_predict or --export_dir"),
])
def test_bad_input_gives_one_line_and_exit_2(tmp_path, capsys, change, message):
    files = model_files()
    values = {"data_dir": GLUE, "task_name": "MNLI", "spm_model_file": files["spm"],
              "max_seq_length": "64", **change}
    argv = [f"--data_dir={values['data_dir']}", f"--task_name={values['task_name']}",
            f"--output_dir={tmp_path / 'out'}", f"--albert_config_file={files['config']}",
            f"--spm_model_file={values['spm_model_file']}",
            f"--max_seq_length={values['max_seq_length']}"]
    if values.get("do", True):
        argv.append("--do_train")
    code, err = _in_process(argv, capsys)
    lines = [line for line in err.splitlines() if line.strip()]
    assert code == 2
    assert len(lines) == 1 and lines[0].startswith("InputError: ") and message in lines[0], err
    assert not os.path.exists(tmp_path / "out" / "checkpoint")
