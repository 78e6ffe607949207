"""Fault injection: every CLI is killed (SIGKILL, via the named fault points of albert_nb.faults)
at each point where it publishes an output, then run again with the same command. After the
rerun the outputs must be complete and identical to an uninterrupted run's, no temporary file
of ours may remain, and stderr may hold only our own lines (no TensorFlow banner).

Sizes are tiny (a 40-document corpus, a 2-layer model, a few steps) so the suite stays cheap.
"""
import filecmp
import os
import signal
import subprocess
import sys

import numpy as np
import pytest

from test_checkpoints import make_release, tf1_arrays

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
# A user's environment: no TF_CPP_MIN_LOG_LEVEL of ours, so the CLIs must quiet TF themselves.
ENV = {k: v for k, v in os.environ.items() if k not in ("TF_CPP_MIN_LOG_LEVEL", "ALBERT_NB_FAULT")}
ENV["PYTHONPATH"] = REPO + os.pathsep + os.environ.get("PYTHONPATH", "")


def cli(module, *args, fault=None, timeout=600):
    env = dict(ENV, ALBERT_NB_FAULT=fault) if fault else ENV
    return subprocess.run([sys.executable, "-m", f"albert_nb.{module}", *args], env=env,
                          capture_output=True, text=True, timeout=timeout)


def our_lines(stderr: str) -> list[str]:
    """Non-empty stderr lines; each must be one of ours (progress bars are switched off)."""
    return [line for line in stderr.splitlines() if line.strip()]


def assert_quiet(result):
    lines = our_lines(result.stderr)
    noise = [l for l in lines if "absl::InitializeLog" in l or ".cc:" in l or l.startswith(("I0000", "E0000", "W0000"))
             or "pkg_resources" in l or l.startswith("INFO")]
    assert not noise, result.stderr[-2000:]


def temp_leftovers(*directories) -> list[str]:
    found = []
    for directory in directories:
        for root, dirs, files in os.walk(directory):
            for name in dirs + files:
                if name.endswith(".tmp") or ".hub-" in name or name.startswith((".export-", ".ckpt-")):
                    found.append(os.path.join(root, name))
    return found


def killed(result) -> bool:
    return result.returncode == -signal.SIGKILL


def same_tree(a, b) -> None:
    comparison = filecmp.dircmp(a, b)
    assert not comparison.left_only and not comparison.right_only, (comparison.left_only,
                                                                     comparison.right_only)
    _, mismatch, errors = filecmp.cmpfiles(a, b, comparison.common_files, shallow=False)
    assert not mismatch and not errors, (mismatch, errors)
    for sub in comparison.common_dirs:
        same_tree(os.path.join(a, sub), os.path.join(b, sub))


@pytest.fixture(scope="module")
def release(tmp_path_factory):
    return make_release(tmp_path_factory.mktemp("faults") / "albert_tiny", tf1_arrays(seed=5))


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    from test_create_pretraining_data import _python_docs_corpus

    path = tmp_path_factory.mktemp("corpus") / "corpus.txt"
    path.write_text(_python_docs_corpus(), encoding="utf-8")
    return str(path)


# ------------------------------------------------------------------ create_pretraining_data
def _cpd_args(corpus, release, outputs):
    return [f"--input_file={corpus}", f"--output_file={outputs}",
            f"--spm_model_file={os.path.join(release, '30k-clean.model')}", "--max_seq_length=32",
            "--max_predictions_per_seq=5", "--dupe_factor=2", "--noprogress"]


def test_create_pretraining_data_killed_at_each_write_point(tmp_path, corpus, release):
    reference = tmp_path / "reference"
    reference.mkdir()
    outs = f"{reference / 'a.tfrecord'},{reference / 'b.tfrecord'}"
    done = cli("create_pretraining_data", *_cpd_args(corpus, release, outs))
    assert done.returncode == 0, done.stderr[-2000:]
    assert_quiet(done)
    for point in ("create_pretraining_data.pass", "create_pretraining_data.before_publish"):
        out = tmp_path / point
        out.mkdir()
        outs = f"{out / 'a.tfrecord'},{out / 'b.tfrecord'}"
        first = cli("create_pretraining_data", *_cpd_args(corpus, release, outs), fault=point)
        assert killed(first), (point, first.returncode, first.stderr[-2000:])
        assert not (out / "a.tfrecord").exists()            # nothing half written is published
        assert temp_leftovers(out)                           # the kill left its temp files
        rerun = cli("create_pretraining_data", *_cpd_args(corpus, release, outs))
        assert rerun.returncode == 0, rerun.stderr[-2000:]
        assert_quiet(rerun)
        assert temp_leftovers(out) == []                     # the rerun removed them
        same_tree(reference, out)


# -------------------------------------------------------------------------- export_checkpoints
def test_export_checkpoints_killed_before_publish(tmp_path, release):
    reference = tmp_path / "reference"
    done = cli("export_checkpoints", f"--albert_directory={release}",
               f"--export_path={reference / 'model.ckpt-best'}")
    assert done.returncode == 0, done.stderr[-2000:]
    assert_quiet(done)
    out = tmp_path / "out"
    first = cli("export_checkpoints", f"--albert_directory={release}",
                f"--export_path={out / 'model.ckpt-best'}", fault="export_checkpoints.before_publish")
    assert killed(first), first.stderr[-2000:]
    assert [n for n in os.listdir(out) if not n.startswith(".")] == []   # nothing published
    rerun = cli("export_checkpoints", f"--albert_directory={release}",
                f"--export_path={out / 'model.ckpt-best'}")
    assert rerun.returncode == 0, rerun.stderr[-2000:]
    assert temp_leftovers(out) == []
    same_tree(reference, out)


# ------------------------------------------------------------------------------ export_to_tfhub
def _module_values(path):
    import tensorflow as tf

    reader = tf.train.load_checkpoint(os.path.join(path, "variables", "variables"))
    return {k: reader.get_tensor(k) for k in reader.get_variable_to_shape_map()
            if k.startswith("variables/")}


def test_export_to_tfhub_killed_before_publish_keeps_the_old_module(tmp_path, release):
    out = tmp_path / "module"
    done = cli("export_to_tfhub", f"--albert_directory={release}", f"--export_path={out}")
    assert done.returncode == 0, done.stderr[-2000:]
    assert_quiet(done)
    assert our_lines(done.stderr) == [] and done.stdout.strip() == f"hub module written to {out}"
    assert oct(os.stat(out).st_mode & 0o777) != oct(0o700)   # normal permissions, not mkdtemp's
    before = _module_values(out)
    first = cli("export_to_tfhub", f"--albert_directory={release}", f"--export_path={out}",
                fault="export_to_tfhub.before_publish")
    assert killed(first), first.stderr[-2000:]
    assert os.path.isfile(out / "saved_model.pb")            # the old module is still there
    assert temp_leftovers(tmp_path)                          # staging left behind by the kill
    rerun = cli("export_to_tfhub", f"--albert_directory={release}", f"--export_path={out}")
    assert rerun.returncode == 0, rerun.stderr[-2000:]
    assert temp_leftovers(tmp_path) == []
    after = _module_values(out)
    assert sorted(before) == sorted(after)
    for key in before:
        np.testing.assert_array_equal(before[key], after[key])
    assert filecmp.cmp(os.path.join(release, "30k-clean.model"), out / "assets" / "30k-clean.model",
                       shallow=False)


# ----------------------------------------------- run_classifier / run_pretraining (the shared loop)
# One uninterrupted reference run, then the same command killed at one write point after another
# (each rerun resumes and is killed at the next point), then a last rerun: its outputs must equal
# the reference's. Chaining the points keeps the suite at a few runs per CLI. The points:
#   train.checkpoint:n   before the n-th checkpoint is saved (albert_nb.training.loop)
#   checkpoint.copy      model.ckpt-best's data copied, its .index not yet (training.checkpoints)
#   selection.history    best copied and its files written, eval_history.json not yet (selection)
#   selection.results    eval_history.json written, eval_results.txt / best_trial.txt not yet
#   train.history        before train_history.json (finetuning.trainer)
#   predict.outputs      before test_results.tsv / submit_results.tsv (finetuning.classifier)
#   pretraining.eval_results  before run_pretraining's eval_results.txt
CLASSIFIER_POINTS = ("checkpoint.copy", "selection.results", "train.checkpoint", "predict.outputs")
CLASSIFIER_OUTPUTS = ("eval_results.txt", "best_trial.txt", "eval_history.json",
                      "eval_predictions.json", "test_results.tsv", "submit_results.tsv")


def _classifier_args(release, out):
    return ["--task_name=MNLI", f"--data_dir={os.path.join(REPO, 'data', 'glue')}",
            f"--output_dir={out}", f"--albert_config_file={os.path.join(release, 'albert_config.json')}",
            f"--spm_model_file={os.path.join(release, '30k-clean.model')}",
            f"--init_checkpoint={os.path.join(release, 'model.ckpt-best')}", "--do_train",
            "--do_eval", "--do_predict", "--train_step=4", "--save_checkpoints_steps=2",
            "--train_batch_size=4", "--max_seq_length=24", "--noprogress"]


def _tensors(prefix):
    import tensorflow as tf

    reader = tf.train.load_checkpoint(str(prefix))
    return {k: reader.get_tensor(k) for k in reader.get_variable_to_shape_map()
            if k.startswith(("variables/", "global_step"))}


def _same_checkpoints(a, b, names):
    for name in names:
        x, y = _tensors(a / name), _tensors(b / name)
        assert sorted(x) == sorted(y), name
        for key in x:
            np.testing.assert_array_equal(x[key], y[key], err_msg=f"{name}: {key}")


def _killed_chain(module, args, points, out):
    """Run `module` killed at each point in turn, then once to the end; returns the last run."""
    for point in points:
        first = cli(module, *args, fault=point)
        assert killed(first), (point, first.returncode, first.stderr[-2000:])
    rerun = cli(module, *args)
    assert rerun.returncode == 0, rerun.stderr[-2000:]
    assert_quiet(rerun)
    assert temp_leftovers(out) == []
    return rerun


def test_run_classifier_killed_at_each_write_point(tmp_path, release):
    """The issue's case first: killed during the best-checkpoint copy, the rerun must not end
    with a best_trial.txt naming a step that model.ckpt-best does not hold."""
    reference, out = tmp_path / "reference", tmp_path / "killed"
    done = cli("run_classifier", *_classifier_args(release, reference))
    assert done.returncode == 0, done.stderr[-2000:]
    assert_quiet(done)
    rerun = _killed_chain("run_classifier", _classifier_args(release, out), CLASSIFIER_POINTS, out)
    assert "is damaged" not in rerun.stderr
    for name in CLASSIFIER_OUTPUTS:
        assert (out / name).read_bytes() == (reference / name).read_bytes(), name
    _same_checkpoints(reference, out, ("model.ckpt-best", "model.ckpt-2", "model.ckpt-4"))
    _, best_step, _ = (out / "best_trial.txt").read_text().split(":")
    assert _tensors(out / "model.ckpt-best")["global_step/.ATTRIBUTES/VARIABLE_VALUE"] == int(best_step)


PRETRAINING_POINTS = ("train.checkpoint:2", "checkpoint.copy", "pretraining.eval_results")


def _pretraining_args(records, release, out):
    """run_pretraining on records of the release's 24 positions (4 predictions), 4 steps."""
    return [f"--input_file={records}", f"--output_dir={out}",
            f"--albert_config_file={os.path.join(release, 'albert_config.json')}",
            "--do_train", "--do_eval", "--max_seq_length=24", "--max_predictions_per_seq=4",
            "--train_batch_size=4", "--eval_batch_size=8", "--num_train_steps=4",
            "--num_warmup_steps=1", "--save_checkpoints_steps=2", "--max_eval_steps=2",
            "--deterministic", "--noprogress"]


def test_run_pretraining_killed_at_each_write_point(tmp_path, release, corpus):
    from albert_nb.pretraining import create
    from albert_nb.tokenizers.tokenization import FullTokenizer

    records = tmp_path / "train.tfrecord"
    create.run(corpus, str(records), FullTokenizer(spm_model_file=os.path.join(release, "30k-clean.model")),
               max_seq_length=24, max_predictions_per_seq=4, dupe_factor=2, show_progress=False)
    reference, out = tmp_path / "reference", tmp_path / "killed"
    done = cli("run_pretraining", *_pretraining_args(records, release, reference))
    assert done.returncode == 0, done.stderr[-2000:]
    _killed_chain("run_pretraining", _pretraining_args(records, release, out), PRETRAINING_POINTS, out)
    assert (out / "eval_results.txt").read_bytes() == (reference / "eval_results.txt").read_bytes()
    _same_checkpoints(reference, out, ("model.ckpt-best", "model.ckpt-2", "model.ckpt-4"))
