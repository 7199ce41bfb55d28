"""An honest classification task: the Z peak against the continuum, from what each muon alone
measures (its pt, its η, its charge), so that the label is *not* a function of the inputs.

The demo's ``classify`` task labels pairs by a mass window and gives the network inputs that fix
the mass exactly (pt₁, pt₂, |Δη|, |Δφ|), so it can reach AUC 1: it learns a formula. Here the
azimuthal opening |Δφ| is left out. With it missing, the pair mass
M = √(2 pt₁ pt₂ (cosh Δη − cos Δφ)) is only known to lie between
√(2 pt₁ pt₂ (cosh Δη − 1)) and √(2 pt₁ pt₂ (cosh Δη + 1)), and pairs with the same inputs can be
in the peak or not: the best possible AUC is below 1 and the network has to estimate a
probability.

The network sorts pairs into three mass regions with the multi-class cross-entropy of the note
(:data:`CLASSES`: below the peak, the peak, above it); its peak-versus-continuum score is
log p(peak) − log(1 − p(peak)). Two references put its test AUC in context:

- the physicist's baseline, :func:`best_single_cut`: one cut on one variable, chosen on the
  training split among the muons' quantities and the classic combinations of them (the smaller
  pt, the scalar pt sum, the largest mass the pair could have);
- a reference model trained by ``scripts/reference_sklearn.py`` (scikit-learn, optional).
"""

from __future__ import annotations

import time

import numpy as np

import autograd
import nn

from . import metrics as M
from .data import ZmumuData, load_zmumu, split_by_event
from .kinematics import muon_kinematics
from .tasks import SPLIT, SPLIT_SEED, TaskResult, _network_options, scale_inputs
from .training import fit, mlp, predict

FEATURE_NAMES = ("log_pt1", "log_pt2", "abs_deta", "q1q2")
CLASSES = ("below", "peak", "above")  # M < 81 GeV, 81 < M < 101 GeV, M > 101 GeV
PEAK_GEV = (81.0, 101.0)


def peak_features(data: ZmumuData) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """The network's inputs ``(rows, 4)`` (:data:`FEATURE_NAMES`) and the variables a single
    cut may use, from each muon's pt, η and charge; the muons' φ is never read.

    >>> x, cuts = peak_features(load_zmumu())
    >>> x.shape, sorted(cuts)[:3]
    ((2304, 4), ['abs_deta', 'abs_eta1', 'abs_eta2'])
    """
    pt1, eta1, _ = muon_kinematics(data, 1)
    pt2, eta2, _ = muon_kinematics(data, 2)
    deta = np.abs(eta1 - eta2)
    q = (data["Q1"] * data["Q2"]).astype(np.float64)
    x = np.stack([np.log(pt1), np.log(pt2), deta, q], axis=1)
    cuts = {"pt1": pt1, "pt2": pt2, "min_pt": np.minimum(pt1, pt2), "max_pt": np.maximum(pt1, pt2),
            "sum_pt": pt1 + pt2, "abs_eta1": np.abs(eta1), "abs_eta2": np.abs(eta2), "abs_deta": deta,
            "q1q2": q,
            # the largest mass the pair can have whatever its |Δφ| (back to back)
            "m_max": np.sqrt(2 * pt1 * pt2 * (np.cosh(deta) + 1))}
    return x, cuts


def peak_arrays() -> tuple[np.ndarray, np.ndarray, dict[str, np.ndarray], tuple[np.ndarray, ...]]:
    """``(inputs, mass region 0/1/2, cut variables, (train, val, test) rows)``; the split is the
    other Z->mumu tasks' one (by event, same seed).

    >>> x, region, cuts, (train, val, test) = peak_arrays()
    >>> x.shape, sorted(set(region.tolist())), len(train) + len(val) + len(test)
    ((2304, 4), [0, 1, 2], 2304)
    """
    data = load_zmumu()
    x, cuts = peak_features(data)
    region = np.digitize(data["M"], PEAK_GEV).astype(np.int64)  # 0 below, 1 peak, 2 above
    parts = split_by_event(data["Run"], data["Event"], SPLIT, seed=SPLIT_SEED)
    return x, region, cuts, parts


def best_single_cut(variables: dict[str, np.ndarray], y: np.ndarray, train: np.ndarray,
                    test: np.ndarray) -> dict:
    """The best one-sided cut on one variable: the variable and direction with the highest
    training AUC (an AUC is the cut's ROC curve over every threshold), with its test AUC.

    >>> y = np.array([0, 0, 1, 1])
    >>> best_single_cut({"a": np.array([4, 3, 2, 1]), "b": np.zeros(4)}, y, np.arange(4), np.arange(4))
    {'variable': 'a', 'keep': 'below', 'train_auc': 1.0, 'test_auc': 1.0}
    """
    best = None
    for name, v in variables.items():
        auc = M.roc_auc(y[train], v[train])
        sign = 1.0 if auc >= 0.5 else -1.0
        if best is None or max(auc, 1 - auc) > best[1]:
            best = (name, max(auc, 1 - auc), sign)
    name, train_auc, sign = best
    return {"variable": name, "keep": "above" if sign > 0 else "below", "train_auc": train_auc,
            "test_auc": M.roc_auc(y[test], sign * variables[name][test])}


def peak_score(logits: np.ndarray) -> np.ndarray:
    """log p(peak) − log(1 − p(peak)) from the three regions' logits (float64, stable).

    >>> round(float(peak_score(np.array([[0.0, 0.0, 0.0]]))[0]), 4)  # p = 1/3
    -0.6931
    """
    z = np.asarray(logits, dtype=np.float64)
    others = np.logaddexp(z[:, 0], z[:, 2])
    return z[:, 1] - others


def _peak_metrics(model: nn.Module, config: dict) -> tuple[dict, dict]:
    x, region, _, (_, _, test) = peak_arrays()
    logits = predict(model, scale_inputs(x[test], config))
    y = (region[test] == 1).astype(np.float64)
    score = peak_score(logits)
    fpr, tpr, _ = M.roc_curve(y, score)
    out = {"test_auc": M.roc_auc(y, score),
           "test_accuracy_3class": M.accuracy(region[test], logits.argmax(axis=1)),
           "n_test": len(test)}
    return out, {"fpr": fpr, "tpr": tpr, "score": score, "label": y}


def train_peak_classifier(epochs: int = 60, batch_size: int = 64, lr: float = 1e-2,
                          weight_decay: float = 1e-4, hidden=(64, 64), patience: int = 20,
                          seed: int = 0, verbose: bool = True, **training) -> TaskResult:
    """The Z peak against the continuum from single-muon pt, η and charge (no Δφ, no mass).

    Three mass regions (:data:`CLASSES`) with multi-class cross-entropy, early stopping on the
    validation cross-entropy. Metrics: test AUC of peak against continuum, beside the best
    single cut's; test accuracy over the three regions, beside always answering the training
    split's most common region. ``training`` passes options on to :func:`training.fit` and
    :func:`training.mlp` (the command line's optimizer, dropout, batch norm).
    """
    start = time.perf_counter()
    x, region, cuts, (train, val, test) = peak_arrays()
    config = {"task": "peak", "features": list(FEATURE_NAMES), "classes": list(CLASSES),
              "hidden": [int(h) for h in hidden], "n_in": len(FEATURE_NAMES), "n_out": len(CLASSES),
              "seed": seed, "split_seed": SPLIT_SEED, "split": list(SPLIT), "epochs": epochs,
              "batch_size": batch_size, "lr": lr, "weight_decay": weight_decay,
              "x_mean": x[train].mean(axis=0).tolist(), "x_std": x[train].std(axis=0).tolist()}
    net_opts = _network_options(training, config)
    xs = scale_inputs(x, config)
    onehot = np.eye(len(CLASSES))[region]
    autograd.manual_seed(seed)
    model = mlp(config["n_in"], config["hidden"], len(CLASSES), **net_opts)
    peak = (region == 1).astype(np.float64)

    def validate(m):
        logits = predict(m, xs[val])
        log_p = logits - np.logaddexp.reduce(logits, axis=1, keepdims=True)
        return {"loss": -np.mean(log_p[np.arange(len(val)), region[val]]),
                "AUC": M.roc_auc(peak[val], peak_score(logits))}

    history = fit(model, nn.functional.cross_entropy, xs[train], onehot[train], validate,
                  select="loss", higher_is_better=False, epochs=epochs, batch_size=batch_size,
                  lr=lr, weight_decay=weight_decay, patience=patience, seed=seed, task="peak",
                  verbose=verbose, **training)
    out, curves = _peak_metrics(model, config)
    cut = best_single_cut(cuts, peak, train, test)
    common = np.bincount(region[train], minlength=len(CLASSES)).argmax()
    out.update(cut_auc=cut["test_auc"], cut_variable=f"{cut['variable']} ({cut['keep']})",
               baseline_accuracy_3class=M.accuracy(region[test], np.full(len(test), common)),
               val_auc=history.epochs[history.best_epoch - 1]["val_AUC"],
               best_epoch=history.best_epoch, epochs_run=len(history.epochs),
               seconds=time.perf_counter() - start, n_train=len(train), n_val=len(val))
    fpr, tpr, _ = M.roc_curve(peak[test], (1.0 if cut["keep"] == "above" else -1.0)
                              * cuts[cut["variable"]][test])
    curves.update(cut_fpr=fpr, cut_tpr=tpr)
    return TaskResult("peak", model, out, history, config, curves)
