"""Evaluation metrics as GLUE and CLUE define them, computed with scikit-learn and scipy.

Two naming schemes live here, on purpose:

* The benchmarks' names (`accuracy`, `f1`, `mcc`, `pearson`, `spearman`), returned by the
  per-task metric functions (`METRIC_FUNCTIONS`). GLUE scores CoLA and AX by Matthews
  correlation, MRPC and QQP by F1 and accuracy, STS-B by Pearson and Spearman, the rest by
  accuracy; every CLUE classification task by accuracy.
* The original ALBERT's `eval_results.txt` keys (`eval_accuracy`, `eval_loss`, `matthew_corr`,
  `pearson`, `MSE`), from `original_eval_results`. Its checkpoint sweep keeps the checkpoint
  with the best `pearson` (STS-B), `matthew_corr` (CoLA) or `eval_accuracy` (everything else;
  note: MRPC/QQP select on accuracy, not F1).

Every function accepts either predicted label ids `[n]` or per-class scores `[n, num_labels]`
(probabilities or logits; argmax is taken), so a runner can pass the model output directly.
"""
from __future__ import annotations

import warnings
from typing import Callable

import numpy as np

from albert_nb.errors import InputError

# scikit-learn and scipy are imported inside each metric (deliberately lazy): the task registry
# is read by every CLI before any metric is computed.


# ---------------------------------------------------------------------------- inputs
def _labels_and_predictions(y_true, y_pred) -> tuple[np.ndarray, np.ndarray]:
    """Class ids for both; 2-D y_pred (scores per class) is reduced by argmax."""
    y_true = np.asarray(y_true)
    y_pred = np.asarray(y_pred)
    if y_pred.ndim == 2:
        y_pred = y_pred.argmax(axis=-1)                                 # [n, classes] -> [n]
    if y_true.ndim != 1 or y_pred.ndim != 1:
        raise InputError(f"metrics expect 1-D labels and 1-D predictions or 2-D scores; got shapes "
                         f"{y_true.shape} and {np.shape(y_pred)}")
    if len(y_true) != len(y_pred):
        raise InputError(f"metrics: {len(y_true)} labels but {len(y_pred)} predictions")
    if len(y_true) == 0:
        raise InputError("metrics: no examples to score")
    return y_true, y_pred


def _scores(y_true, y_pred) -> tuple[np.ndarray, np.ndarray]:
    """Float arrays for regression; a [n, 1] prediction (one output unit) is squeezed."""
    y_true = np.asarray(y_true, dtype=np.float64).reshape(-1)
    y_pred = np.asarray(y_pred, dtype=np.float64)
    if y_pred.ndim == 2 and y_pred.shape[1] == 1:
        y_pred = y_pred[:, 0]                                           # [n, 1] -> [n]
    if y_pred.ndim != 1 or len(y_pred) != len(y_true):
        raise InputError(f"regression metrics: {len(y_true)} labels but predictions of shape "
                         f"{np.shape(y_pred)} (expected [{len(y_true)}] or [{len(y_true)}, 1])")
    if len(y_true) < 2:
        raise InputError("regression metrics need at least 2 examples (a correlation of one point "
                         "is undefined)")
    return y_true, y_pred


# ---------------------------------------------------------------------------- single metrics
def accuracy(y_true, y_pred) -> float:
    from sklearn.metrics import accuracy_score

    return float(accuracy_score(*_labels_and_predictions(y_true, y_pred)))


def f1(y_true, y_pred) -> float:
    """Binary F1 of the positive class (id 1: "is a paraphrase / duplicate"), as GLUE scores it."""
    from sklearn.metrics import f1_score

    return float(f1_score(*_labels_and_predictions(y_true, y_pred), pos_label=1,
                          average="binary", zero_division=0.0))


def matthews_corr(y_true, y_pred) -> float:
    """Matthews correlation coefficient (multi-class too, for AX); 0.0 when it is undefined
    (e.g. every prediction in one class), which is scikit-learn's convention."""
    from sklearn.metrics import matthews_corrcoef

    return float(matthews_corrcoef(*_labels_and_predictions(y_true, y_pred)))


def _correlation(fn, y_true, y_pred) -> float:
    y_true, y_pred = _scores(y_true, y_pred)
    with warnings.catch_warnings():
        # constant predictions (an untrained model) make the correlation undefined: NaN, quietly
        warnings.simplefilter("ignore")
        return float(fn(y_pred, y_true)[0])


def pearson(y_true, y_pred) -> float:
    """Pearson's r; NaN if either side is constant."""
    from scipy.stats import pearsonr

    return _correlation(pearsonr, y_true, y_pred)


def spearman(y_true, y_pred) -> float:
    """Spearman's rank correlation; NaN if either side is constant."""
    from scipy.stats import spearmanr

    return _correlation(spearmanr, y_true, y_pred)


def mse(y_true, y_pred) -> float:
    from sklearn.metrics import mean_squared_error

    return float(mean_squared_error(*_scores(y_true, y_pred)))


# ---------------------------------------------------------------------------- per-task bundles
def accuracy_metrics(y_true, y_pred) -> dict:
    return {"accuracy": accuracy(y_true, y_pred)}


def acc_and_f1_metrics(y_true, y_pred) -> dict:
    """MRPC and QQP: GLUE shows F1/accuracy and averages the two into the task score."""
    acc, f = accuracy(y_true, y_pred), f1(y_true, y_pred)
    return {"accuracy": acc, "f1": f, "acc_and_f1": (acc + f) / 2}


def mcc_metrics(y_true, y_pred) -> dict:
    """CoLA and AX: Matthews correlation (accuracy alongside, as the original also logs it)."""
    return {"mcc": matthews_corr(y_true, y_pred), "accuracy": accuracy(y_true, y_pred)}


def pearson_spearman_metrics(y_true, y_pred) -> dict:
    """STS-B: Pearson and Spearman, averaged into the task score; MSE for the loss view."""
    p, s = pearson(y_true, y_pred), spearman(y_true, y_pred)
    return {"pearson": p, "spearman": s, "corr": (p + s) / 2, "mse": mse(y_true, y_pred)}


METRIC_FUNCTIONS: dict[str, Callable[..., dict]] = {
    "accuracy": accuracy_metrics,
    "acc_and_f1": acc_and_f1_metrics,
    "mcc": mcc_metrics,
    "pearson_spearman": pearson_spearman_metrics,
}


# ---------------------------------------------------------------------------- original's keys
SELECTION_KEYS = {"sts-b": "pearson", "cola": "matthew_corr"}   # everything else: eval_accuracy


def selection_key(task_name: str) -> str:
    """The eval_results key the original's checkpoint sweep maximises for this task."""
    return SELECTION_KEYS.get(task_name.lower(), "eval_accuracy")


def original_eval_results(task_name: str, y_true, y_pred, eval_loss: float) -> dict:
    """The dict the original's run_classifier writes to eval_results.txt (minus global_step).

    STS-B: pearson, MSE, eval_loss; CoLA: matthew_corr, eval_accuracy, eval_loss; others:
    eval_accuracy, eval_loss. eval_loss is the mean per-example loss the runner measured
    (cross-entropy, or squared error for STS-B).
    """
    task = task_name.lower()
    if task == "sts-b":
        return {"pearson": pearson(y_true, y_pred), "MSE": mse(y_true, y_pred),
                "eval_loss": float(eval_loss)}
    results = {"eval_accuracy": accuracy(y_true, y_pred), "eval_loss": float(eval_loss)}
    if task == "cola":
        results = {"matthew_corr": matthews_corr(y_true, y_pred), **results}
    return results
