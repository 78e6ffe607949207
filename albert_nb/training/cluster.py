"""This process's place in a `TF_CONFIG` cluster, and the folder a non-chief worker writes to.

`TF_CONFIG` is TensorFlow's own cluster spec (no scheduler of ours): the launcher of each
process (a shell, Slurm, Kubernetes, Vertex AI) sets it, e.g. for the second of two workers

    TF_CONFIG='{"cluster": {"worker": ["host0:12345", "host1:12345"]},
                "task": {"type": "worker", "index": 1}}'

When it names more than one worker the training CLIs run under MultiWorkerMirroredStrategy
(`albert_nb.training.distribute`). Every worker runs the same command, with the same flags:

* the chief (task type "chief", else worker 0, as tf.distribute decides) writes the checkpoints
  and every output into --output_dir;
* each other worker saves its copy of the checkpoints (saving is collective in
  tf.distribute: every worker must take part) into `<output_dir>/.worker-<index>`, which is
  emptied when it starts and removed when it ends, and it reads the chief's checkpoints to
  resume. --output_dir must therefore be one folder every worker sees (a shared disk or a
  bucket, as the original's gs:// output_dir on a TPU pod).

Nothing here imports TensorFlow: the role is known before TensorFlow starts.
"""
from __future__ import annotations

import dataclasses
import json
import os
import shutil

from albert_nb.errors import InputError

TF_CONFIG = "TF_CONFIG"
WORKER_DIR_PREFIX = ".worker-"
_EXAMPLE = ('{"cluster": {"worker": ["host0:port", "host1:port"]}, '
            '"task": {"type": "worker", "index": 0}}')


@dataclasses.dataclass(frozen=True)
class Cluster:
    """The TF_CONFIG of one multi-worker run, seen from this process."""

    num_workers: int        # chief + workers: every process that trains
    task_type: str          # "chief" or "worker"
    task_index: int
    has_chief: bool         # a separate "chief" task; else worker 0 is the chief

    @property
    def is_chief(self) -> bool:
        return self.task_type == "chief" or (not self.has_chief and self.task_index == 0)

    @property
    def name(self) -> str:
        return f"{self.task_type} {self.task_index}"


def from_env(environ=None) -> Cluster | None:
    """The cluster TF_CONFIG names, or None when it is unset or names a single worker."""
    text = (os.environ if environ is None else environ).get(TF_CONFIG, "")
    if not text.strip():
        return None
    try:
        config = json.loads(text)
    except json.JSONDecodeError as err:
        raise InputError(f"{TF_CONFIG} is not JSON ({err.msg} at character {err.pos}); "
                         f"expected e.g. {_EXAMPLE}") from None
    spec = config.get("cluster") if isinstance(config, dict) else None
    if not isinstance(spec, dict):
        raise InputError(f"{TF_CONFIG} has no \"cluster\" object; expected e.g. {_EXAMPLE}")
    other = sorted(set(spec) - {"chief", "worker"})
    if other:
        raise InputError(f"{TF_CONFIG} names task types {other}: only \"chief\" and \"worker\" "
                         "are supported (MultiWorkerMirroredStrategy; no parameter servers)")
    sizes = {kind: len(spec.get(kind) or []) for kind in ("chief", "worker")}
    if sum(sizes.values()) <= 1:
        return None
    task = config.get("task") or {}
    kind, index = task.get("type"), task.get("index", 0)
    if kind not in sizes or not isinstance(index, int) or not 0 <= index < sizes[kind]:
        raise InputError(f"{TF_CONFIG} task {json.dumps(task)} is not one of the cluster's "
                         f"{sizes['chief']} chief and {sizes['worker']} worker tasks")
    return Cluster(num_workers=sum(sizes.values()), task_type=kind, task_index=index,
                   has_chief=sizes["chief"] > 0)


def worker_dir(output_dir: str, cluster: Cluster | None) -> str:
    """Where this process writes: output_dir for the chief (or a single worker), else its own
    `.worker-<index>` folder inside it."""
    if cluster is None or cluster.is_chief:
        return output_dir
    return os.path.join(output_dir, f"{WORKER_DIR_PREFIX}{cluster.task_index}")


def fresh_worker_dir(output_dir: str, cluster: Cluster) -> str:
    """A non-chief's empty folder: what a killed earlier run left there is ours and stale."""
    path = worker_dir(output_dir, cluster)
    remove_worker_dir(output_dir, cluster)
    os.makedirs(path, exist_ok=True)
    return path


def remove_worker_dir(output_dir: str, cluster: Cluster | None) -> None:
    """Delete a non-chief's folder (never output_dir itself)."""
    path = worker_dir(output_dir, cluster)
    if path != output_dir and os.path.basename(path).startswith(WORKER_DIR_PREFIX):
        shutil.rmtree(path, ignore_errors=True)


class WorkerDone(Exception):
    """A non-chief worker has trained to the last step; evaluation and outputs are the chief's.
    The CLIs end such a worker with status 0."""

