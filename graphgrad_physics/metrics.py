"""Evaluation metrics on numpy arrays: ROC curve and AUC, accuracy, R², mean absolute error.

Plain numpy, float64, no engine: the numbers a physicist would compute by hand.
"""

from __future__ import annotations

import numpy as np


def _pair(y_true, y_score, what: str) -> tuple[np.ndarray, np.ndarray]:
    t = np.asarray(y_true, dtype=np.float64).reshape(-1)
    s = np.asarray(y_score, dtype=np.float64).reshape(-1)
    if t.shape != s.shape:
        raise ValueError(f"{what}: targets and predictions differ in length ({t.size} vs {s.size})")
    if t.size == 0:
        raise ValueError(f"{what}: no samples")
    if not np.all(np.isfinite(s)):
        raise ValueError(f"{what}: predictions hold NaN or inf")
    return t, s


def roc_curve(y_true, y_score) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """False- and true-positive rates at every distinct score threshold, from (0, 0) to (1, 1).

    Returns ``(fpr, tpr, thresholds)``; tied scores form one step.

    >>> fpr, tpr, _ = roc_curve([0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8])
    >>> fpr.tolist(), tpr.tolist()
    ([0.0, 0.0, 0.5, 0.5, 1.0], [0.0, 0.5, 0.5, 1.0, 1.0])
    """
    t, s = _pair(y_true, y_score, "roc_curve")
    if not np.all((t == 0) | (t == 1)):
        raise ValueError("roc_curve: targets must be 0 or 1")
    n_pos, n_neg = t.sum(), t.size - t.sum()
    if n_pos == 0 or n_neg == 0:
        raise ValueError(f"roc_curve: needs both classes; got {int(n_pos)} signal, "
                         f"{int(n_neg)} background")
    order = np.argsort(-s, kind="stable")
    s, t = s[order], t[order]
    last = np.r_[np.flatnonzero(np.diff(s)), t.size - 1]  # last index of each run of tied scores
    tp = np.cumsum(t)[last]
    fp = (last + 1) - tp
    fpr = np.r_[0.0, fp / n_neg]
    tpr = np.r_[0.0, tp / n_pos]
    return fpr, tpr, np.r_[np.inf, s[last]]


def roc_auc(y_true, y_score) -> float:
    """Area under the ROC curve (trapezoids; ties count half).

    >>> roc_auc([0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8])
    0.75
    """
    fpr, tpr, _ = roc_curve(y_true, y_score)
    return float(np.sum(np.diff(fpr) * (tpr[1:] + tpr[:-1]) / 2))


def accuracy(y_true, y_pred) -> float:
    """Fraction of equal labels.

    >>> accuracy([0, 1, 1, 0], [0, 1, 0, 0])
    0.75
    """
    t, p = _pair(y_true, y_pred, "accuracy")
    return float(np.mean(t == p))


def r2_score(y_true, y_pred) -> float:
    """Coefficient of determination, 1 - SS_res / SS_tot.

    >>> r2_score([1.0, 2.0, 3.0], [1.0, 2.0, 3.0])
    1.0
    """
    t, p = _pair(y_true, y_pred, "r2_score")
    ss_tot = np.sum((t - t.mean()) ** 2)
    if ss_tot == 0:
        raise ValueError("r2_score: the targets are all equal; R² is undefined")
    return float(1.0 - np.sum((t - p) ** 2) / ss_tot)


def mean_absolute_error(y_true, y_pred) -> float:
    """Mean of |y_true - y_pred|.

    >>> mean_absolute_error([1.0, 2.0], [1.5, 1.0])
    0.75
    """
    t, p = _pair(y_true, y_pred, "mean_absolute_error")
    return float(np.mean(np.abs(t - p)))
