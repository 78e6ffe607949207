"""Metrics against values worked out by hand (the arithmetic is in the comments)."""
import math

import numpy as np
import pytest

from albert_nb.tasks import metrics
from albert_nb.errors import InputError

Y = [0, 1, 1, 0]
P = [0, 1, 0, 0]      # one positive missed: TP=1, TN=2, FP=0, FN=1


def test_accuracy_f1_mcc_binary():
    assert metrics.accuracy(Y, P) == 0.75                      # 3 of 4 right
    # precision 1/1, recall 1/2 -> F1 = 2*1*0.5/(1+0.5) = 2/3
    assert metrics.f1(Y, P) == pytest.approx(2 / 3)
    # MCC = (TP*TN - FP*FN) / sqrt((TP+FP)(TP+FN)(TN+FP)(TN+FN)) = 2 / sqrt(1*2*2*3) = 0.57735
    assert metrics.matthews_corr(Y, P) == pytest.approx(2 / math.sqrt(12))
    bundle = metrics.acc_and_f1_metrics(Y, P)
    assert bundle["acc_and_f1"] == pytest.approx((0.75 + 2 / 3) / 2)       # 0.708333


def test_mcc_multiclass_for_ax():
    # y=[0,1,2,0], p=[0,1,1,0]: c=3 correct of s=4; true counts t=[2,1,1], predicted p=[2,2,0]
    # MCC = (c*s - sum p_k t_k) / sqrt((s^2 - sum p_k^2)(s^2 - sum t_k^2)) = (12-6)/sqrt(8*10)
    assert metrics.matthews_corr([0, 1, 2, 0], [0, 1, 1, 0]) == pytest.approx(6 / math.sqrt(80))


def test_mcc_is_zero_for_constant_predictions():
    assert metrics.matthews_corr([0, 1, 1, 0], [1, 1, 1, 1]) == 0.0


def test_scores_are_argmaxed():
    probs = np.array([[0.9, 0.1], [0.3, 0.7], [0.6, 0.4], [0.8, 0.2]])     # argmax = P
    assert metrics.accuracy(Y, probs) == 0.75
    assert metrics.mcc_metrics(Y, probs) == pytest.approx({"mcc": 2 / math.sqrt(12), "accuracy": 0.75})


def test_pearson_spearman_mse():
    # y=[1,2,3], p=[1,2,4]: deviations (-1,0,1) and (-4/3,-1/3,5/3); cov sum 3; sums of squares 2 and 14/3
    # r = 3 / sqrt(2 * 14/3) = 0.981981
    assert metrics.pearson([1, 2, 3], [1, 2, 4]) == pytest.approx(3 / math.sqrt(28 / 3))
    assert metrics.spearman([1, 2, 3], [1, 2, 4]) == pytest.approx(1.0)        # same order
    # ranks (1,2,3) vs (3,1,2): d = (-2,1,1), sum d^2 = 6, rho = 1 - 6*6/(3*8) = -0.5
    assert metrics.spearman([1, 2, 3], [3, 1, 2]) == pytest.approx(-0.5)
    assert metrics.mse([1, 2, 3], [1, 2, 4]) == pytest.approx(1 / 3)
    # a [n, 1] regression output is accepted as is
    bundle = metrics.pearson_spearman_metrics([1, 2, 3], np.array([[1.0], [2.0], [4.0]]))
    assert bundle["corr"] == pytest.approx((3 / math.sqrt(28 / 3) + 1.0) / 2)


def test_constant_regression_output_gives_nan():
    assert math.isnan(metrics.pearson([1.0, 2.0, 3.0], [2.0, 2.0, 2.0]))


def test_original_eval_results_keys():
    cola = metrics.original_eval_results("CoLA", Y, P, eval_loss=0.5)
    assert cola == pytest.approx({"matthew_corr": 2 / math.sqrt(12), "eval_accuracy": 0.75, "eval_loss": 0.5})
    mrpc = metrics.original_eval_results("mrpc", Y, P, eval_loss=0.25)
    assert mrpc == {"eval_accuracy": 0.75, "eval_loss": 0.25}
    stsb = metrics.original_eval_results("sts-b", [1, 2, 3], [1, 2, 4], eval_loss=1 / 3)
    assert set(stsb) == {"pearson", "MSE", "eval_loss"} and stsb["MSE"] == pytest.approx(1 / 3)
    assert [metrics.selection_key(t) for t in ("STS-B", "cola", "qqp", "afqmc")] == \
        ["pearson", "matthew_corr", "eval_accuracy", "eval_accuracy"]


def test_bad_inputs():
    with pytest.raises(InputError, match="4 labels but 3 predictions"):
        metrics.accuracy(Y, [0, 1, 0])
    with pytest.raises(InputError, match="no examples"):
        metrics.accuracy([], [])
    with pytest.raises(InputError, match="at least 2 examples"):
        metrics.pearson([1.0], [1.0])
    with pytest.raises(InputError, match=r"predictions of shape \(3, 2\)"):
        metrics.pearson([1, 2, 3], np.zeros((3, 2)))
