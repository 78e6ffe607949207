"""Two workers on 127.0.0.1 (TF_CONFIG, MultiWorkerMirroredStrategy, CPU): run_pretraining trains
as one worker does with the same global batch, and a cluster whose second worker is killed and
restarted reaches the same final step with the same weights.

Tolerance. Dropout is off (each replica draws its own masks, by design) and the data, the
initial weights and every reduction are the same, so the two runs differ only in float32
summation order: per-replica partial sums of the loss and gradients, added over the network.
That is ~1e-7 relative per step; 30 steps measured 1e-8 relative over all weights and 2e-7 on
the loss, so RTOL = 1e-5 leaves room for other CPUs' kernels and still fails on any real
difference (clipping each replica's gradient, per-replica MLM normalisation, or other batches
cost 1e-4 to 1e-2). One variable is left out: the attention key bias. Its gradient is zero in
exact arithmetic (a shift of every key by the same bias cancels in the softmax), so Adam turns
float noise into its moments; the outputs do not depend on it.
"""
import json
import os
import signal
import socket
import subprocess
import sys

import numpy as np
import pytest

from pretraining_helpers import PREDS, SEQ, pretraining_files

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
ENV = dict(os.environ, PYTHONPATH=REPO + os.pathsep + os.environ.get("PYTHONPATH", ""),
           TF_CPP_MIN_LOG_LEVEL="3", CUDA_VISIBLE_DEVICES="")
ENV.pop("TF_CONFIG", None)
STEPS, SAVE_EVERY = 30, 10
RTOL = 1e-5
NOISE_ONLY = "attention.Skey.Sbias"  # zero gradient in exact arithmetic (see the docstring)


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    import albert_nb as an

    files = pretraining_files()
    config = an.AlbertConfig.from_json_file(files["config"])
    config.hidden_dropout_prob = config.attention_probs_dropout_prob = 0.0
    path = tmp_path_factory.mktemp("multi_worker") / "albert_config.json"
    config.to_json_file(str(path))
    return {"train": files["train"], "config": str(path)}


@pytest.fixture(scope="module")
def one_worker(data, tmp_path_factory):
    """The reference: one process, the same global batch (8)."""
    out = tmp_path_factory.mktemp("one_worker") / "out"
    done = subprocess.run(_command(data, out), env=ENV, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr[-3000:]
    assert "strategy: DefaultStrategy with 1 replica(s)" in done.stdout
    return out


def _command(data, out, *extra):
    return [sys.executable, "-m", "albert_nb.run_pretraining", f"--input_file={data['train']}",
            f"--output_dir={out}", f"--albert_config_file={data['config']}", "--do_train",
            "--train_batch_size=8", f"--max_seq_length={SEQ}", f"--max_predictions_per_seq={PREDS}",
            "--optimizer=lamb", "--learning_rate=0.005", f"--num_train_steps={STEPS}",
            "--num_warmup_steps=2", f"--save_checkpoints_steps={SAVE_EVERY}",
            f"--log_every_steps={SAVE_EVERY}", "--iterations_per_loop=5", *extra]


def _free_ports(count):
    sockets = [socket.socket() for _ in range(count)]
    for sock in sockets:
        sock.bind(("127.0.0.1", 0))
    ports = [sock.getsockname()[1] for sock in sockets]
    for sock in sockets:
        sock.close()
    return ports


def _start_cluster(data, out, fault_on_worker_1=None, extra=()):
    """Both workers of a fresh cluster (new ports, as a restarted job gets) -> [Popen, Popen]."""
    workers = [f"127.0.0.1:{port}" for port in _free_ports(2)]
    procs = []
    for index in range(2):
        env = dict(ENV, TF_CONFIG=json.dumps({"cluster": {"worker": workers},
                                              "task": {"type": "worker", "index": index}}))
        if index == 1 and fault_on_worker_1:
            env["ALBERT_NB_FAULT"] = fault_on_worker_1
        procs.append(subprocess.Popen(_command(data, out, *extra), env=env, stdout=subprocess.PIPE,
                                      stderr=subprocess.PIPE, text=True))
    return procs


def _finish(procs, timeout=300):
    results = []
    for proc in procs:
        stdout, stderr = proc.communicate(timeout=timeout)
        results.append((proc.returncode, stdout, stderr))
    return results


def _checkpoint(prefix):
    import tensorflow as tf

    reader = tf.train.load_checkpoint(str(prefix))
    names = [n for n, _ in tf.train.list_variables(str(prefix)) if n.endswith("VARIABLE_VALUE")]
    return {n: reader.get_tensor(n) for n in names}


def _losses(out):
    """{step: training loss} from the run's TensorBoard events."""
    import tensorflow as tf
    from tensorflow.core.util import event_pb2

    losses = {}
    for name in os.listdir(out):
        if name.startswith("events.out.tfevents"):
            for record in tf.data.TFRecordDataset(str(out / name)):
                event = event_pb2.Event.FromString(record.numpy())
                for value in event.summary.value:
                    if value.tag == "loss":
                        losses[event.step] = float(tf.make_ndarray(value.tensor))
    return losses


def _assert_same_training(reference, out):
    a, b = _checkpoint(reference / f"model.ckpt-{STEPS}"), _checkpoint(out / f"model.ckpt-{STEPS}")
    assert set(a) == set(b) and len(a) > 50
    assert int(b["global_step/.ATTRIBUTES/VARIABLE_VALUE"]) == STEPS
    compared = [name for name in a if name.startswith("variables/") and NOISE_ONLY not in name]
    assert len(compared) > 20
    for name in compared:
        difference = np.linalg.norm(b[name] - a[name])
        assert difference <= RTOL * np.linalg.norm(a[name]) + 1e-7, name
    ref_losses, losses = _losses(reference), _losses(out)
    assert sorted(losses) == list(range(SAVE_EVERY, STEPS + 1, SAVE_EVERY)) == sorted(ref_losses)
    for step, loss in ref_losses.items():
        assert losses[step] == pytest.approx(loss, rel=RTOL), step


def test_two_workers_train_as_one_with_the_same_global_batch(data, one_worker, tmp_path):
    out = tmp_path / "out"
    evaluate = ("--do_eval", "--max_eval_steps=2", "--eval_batch_size=16")
    (chief_rc, chief_out, chief_err), (rc, _, err) = _finish(_start_cluster(data, out, extra=evaluate))
    assert chief_rc == 0, chief_err[-3000:]
    assert rc == 0, err[-3000:]
    assert "strategy: MultiWorkerMirroredStrategy with 2 replica(s) on 2 workers" in chief_out
    assert "worker 1 of 2 trained to step 30; the chief writes the outputs" in err
    _assert_same_training(one_worker, out)
    # The chief evaluated alone, after worker 1 had gone: every checkpoint, the original's block.
    assert "***** Eval results *****" in chief_out and "global_step = 30" in chief_out
    assert (out / "eval_results.txt").read_text().count("global_step") == STEPS // SAVE_EVERY
    # Worker 1 wrote only to its own folder, removed at the end: one set of events, no leftovers.
    assert not (out / ".worker-1").exists()
    assert sum(n.startswith("events.out.tfevents") for n in os.listdir(out)) == 1


def test_killed_worker_then_restarted_cluster_reaches_the_final_step(data, one_worker, tmp_path):
    """Worker 1 is SIGKILLed at its second checkpoint (step 20); the cluster is restarted, as a
    job manager does (BackupAndRestore semantics): both workers resume from the chief's newest
    checkpoint and end at step 30 with the weights of the uninterrupted one-worker run."""
    out = tmp_path / "out"
    chief, worker = _start_cluster(data, out, fault_on_worker_1="train.checkpoint:2")
    worker.communicate(timeout=300)
    assert worker.returncode == -signal.SIGKILL
    chief.kill()  # restart the whole cluster: the chief cannot go on alone
    chief.communicate(timeout=60)
    assert not (out / f"model.ckpt-{STEPS}.index").exists()
    newest = int(open(out / "checkpoint").read().split('"')[1].rsplit("-", 1)[1])
    assert newest in (SAVE_EVERY, 2 * SAVE_EVERY)

    (chief_rc, chief_out, chief_err), (rc, _, err) = _finish(_start_cluster(data, out))
    assert chief_rc == 0, chief_err[-3000:]
    assert rc == 0, err[-3000:]
    assert f"resumed from {out / f'model.ckpt-{newest}'}" in chief_out
    _assert_same_training(one_worker, out)
    assert not (out / ".worker-1").exists()


def test_tf_config_roles_and_bad_specs():
    from albert_nb.errors import InputError
    from albert_nb.training import cluster

    def spec(cluster_spec, task):
        return {"TF_CONFIG": json.dumps({"cluster": cluster_spec, "task": task})}

    two = {"worker": ["h0:1", "h1:1"]}
    assert cluster.from_env({}) is None
    assert cluster.from_env(spec({"worker": ["h0:1"]}, {"type": "worker", "index": 0})) is None
    first, second = (cluster.from_env(spec(two, {"type": "worker", "index": i})) for i in (0, 1))
    assert first.is_chief and not second.is_chief and second.num_workers == 2
    assert cluster.worker_dir("/o", first) == "/o"
    assert cluster.worker_dir("/o", second) == os.path.join("/o", ".worker-1")
    with_chief = {"chief": ["c:1"], "worker": ["h0:1"]}
    assert cluster.from_env(spec(with_chief, {"type": "chief", "index": 0})).is_chief
    assert not cluster.from_env(spec(with_chief, {"type": "worker", "index": 0})).is_chief
    for bad, words in (({"TF_CONFIG": "{cluster"}, "not JSON"),
                       (spec({**two, "ps": ["p:1"]}, {"type": "worker", "index": 0}), "ps"),
                       (spec(two, {"type": "worker", "index": 2}), "is not one of")):
        with pytest.raises(InputError, match=words):
            cluster.from_env(bad)
