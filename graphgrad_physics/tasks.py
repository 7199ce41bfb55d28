"""The three jobs of the note on real data, each one function that trains, tests and returns
the model with its metrics: `train_classifier` (Z-peak signal against off-peak pairs),
`train_regressor` (the pair mass), `train_denoiser` (background-free Daya Bay spectra).

Each result carries a JSON-able ``config`` (sizes, seed, input scaling) so that
`test_metrics` can rebuild the model from a checkpoint and recompute the same test numbers.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np

import autograd
import nn

from . import metrics as M
from . import spectra as S
from .data import load_dayabay, load_zmumu, split_by_event, zmumu_mass, zmumu_signal
from .kinematics import FEATURE_NAMES, pair_features
from .likelihood import likelihood_fit
from .training import History, fit, mlp, predict

SPLIT_SEED = 0  # one fixed event split, so runs with different seeds share a test set
SPLIT = (0.6, 0.2, 0.2)
DENOISE_SIZES = {"train": 4000, "val": 500, "test": 1000}


@dataclass
class TaskResult:
    """What a task returns: the trained ``model`` (best validation epoch, eval mode), test
    ``metrics`` (floats), the training ``history``, the ``config`` to rebuild the model, and
    ``curves`` (arrays for the plots)."""

    name: str
    model: nn.Module
    metrics: dict
    history: History
    config: dict
    curves: dict = field(default_factory=dict)


# ---------------------------------------------------------------- Z->mumu: data and metrics
def zmumu_arrays(target: str) -> tuple[np.ndarray, np.ndarray, tuple[np.ndarray, ...]]:
    """``(inputs, target, (train, val, test) row indices)`` of the Z->mumu table; ``target`` is
    ``"signal"`` (0/1, the Z peak) or ``"mass"`` (M in GeV).

    >>> x, y, (train, val, test) = zmumu_arrays("signal")
    >>> x.shape, len(train) + len(val) + len(test)
    ((2304, 5), 2304)
    """
    data = load_zmumu()
    x = pair_features(data)
    y = zmumu_signal(data) if target == "signal" else zmumu_mass(data)
    parts = split_by_event(data["Run"], data["Event"], SPLIT, seed=SPLIT_SEED)
    return x, y, parts


def scale_inputs(x: np.ndarray, config: dict) -> np.ndarray:
    """Standardise ``x`` with the training split's mean and std stored in ``config``."""
    return (x - np.array(config["x_mean"])) / np.array(config["x_std"])


def _fit_scaling(x_train: np.ndarray) -> dict:
    return {"x_mean": x_train.mean(axis=0).tolist(), "x_std": x_train.std(axis=0).tolist()}


def _classifier_metrics(model: nn.Module, config: dict) -> tuple[dict, dict]:
    x, y, (train, _, test) = zmumu_arrays("signal")
    logit = predict(model, scale_inputs(x[test], config))[:, 0]
    fpr, tpr, _ = M.roc_curve(y[test], logit)
    majority = float(y[train].mean() >= 0.5)
    out = {
        "test_auc": M.roc_auc(y[test], logit),
        "test_accuracy": M.accuracy(y[test], (logit > 0).astype(np.float64)),
        "baseline_accuracy": M.accuracy(y[test], np.full(len(test), majority)),
        "n_test": len(test),
    }
    return out, {"fpr": fpr, "tpr": tpr}


def _regressor_metrics(model: nn.Module, config: dict) -> tuple[dict, dict]:
    x, m, (train, _, test) = zmumu_arrays("mass")
    scaled = predict(model, scale_inputs(x[test], config))[:, 0]
    pred = np.exp(scaled * config["y_std"] + config["y_mean"])
    baseline = np.full(len(test), np.median(m[train]))
    out = {
        "test_r2": M.r2_score(m[test], pred),
        "test_mae_gev": M.mean_absolute_error(m[test], pred),
        "baseline_r2": M.r2_score(m[test], baseline),
        "baseline_mae_gev": M.mean_absolute_error(m[test], baseline),
        "n_test": len(test),
    }
    return out, {"true_mass": m[test], "predicted_mass": pred}


def _zmumu_config(kind: str, hidden, x_train, seed, epochs, batch_size, lr, weight_decay) -> dict:
    return {"task": kind, "features": list(FEATURE_NAMES), "hidden": [int(h) for h in hidden],
            "n_in": len(FEATURE_NAMES), "n_out": 1, "seed": seed, "split_seed": SPLIT_SEED,
            "split": list(SPLIT), "epochs": epochs, "batch_size": batch_size, "lr": lr,
            "weight_decay": weight_decay, **_fit_scaling(x_train)}


def train_classifier(epochs: int = 60, batch_size: int = 64, lr: float = 1e-2,
                     weight_decay: float = 1e-4, hidden=(64, 64), patience: int = 20,
                     seed: int = 0, verbose: bool = True, **training) -> TaskResult:
    """Z-peak pairs (81 < M < 101 GeV) against off-peak pairs from the muons' kinematics.

    BCE with logits, AdamW, cosine learning rate, early stopping on the validation log-loss.
    Metrics: test ROC AUC and accuracy (logit > 0), beside the majority-class accuracy.
    """
    start = time.perf_counter()
    x, y, (train, val, _) = zmumu_arrays("signal")
    config = _zmumu_config("classify", hidden, x[train], seed, epochs, batch_size, lr, weight_decay)
    net_opts = _network_options(training, config)
    xs = scale_inputs(x, config)
    autograd.manual_seed(seed)
    model = mlp(config["n_in"], config["hidden"], 1, **net_opts)

    def validate(m):
        logit = predict(m, xs[val])[:, 0]
        # the log-loss picks the epoch: the validation AUC saturates near 1 early
        loss = np.mean(np.logaddexp(0.0, logit) - y[val] * logit)
        return {"loss": loss, "AUC": M.roc_auc(y[val], logit)}

    history = fit(model, nn.functional.binary_cross_entropy_with_logits, xs[train], y[train, None],
                  validate, select="loss", higher_is_better=False, epochs=epochs,
                  batch_size=batch_size, lr=lr, weight_decay=weight_decay, patience=patience,
                  seed=seed, task="classify", verbose=verbose, **training)
    out, curves = _classifier_metrics(model, config)
    out.update(val_auc=history.epochs[history.best_epoch - 1]["val_AUC"],
               best_epoch=history.best_epoch, epochs_run=len(history.epochs),
               seconds=time.perf_counter() - start, n_train=len(train), n_val=len(val))
    return TaskResult("classify", model, out, history, config, curves)


def train_regressor(epochs: int = 60, batch_size: int = 64, lr: float = 1e-2,
                    weight_decay: float = 1e-4, hidden=(64, 64), patience: int = 20,
                    seed: int = 0, verbose: bool = True, **training) -> TaskResult:
    """The pair mass M (GeV) from the same kinematics, without M or E among the inputs.

    The network fits standardised log M with MSE (the mass spans 0.4 to 170 GeV); early
    stopping on validation R². Metrics: test R² and mean absolute error in GeV, beside
    predicting the training median.
    """
    start = time.perf_counter()
    x, m, (train, val, _) = zmumu_arrays("mass")
    config = _zmumu_config("regress", hidden, x[train], seed, epochs, batch_size, lr, weight_decay)
    net_opts = _network_options(training, config)
    log_m = np.log(m)
    config.update(y_mean=float(log_m[train].mean()), y_std=float(log_m[train].std()))
    xs = scale_inputs(x, config)
    t = (log_m - config["y_mean"]) / config["y_std"]
    autograd.manual_seed(seed)
    model = mlp(config["n_in"], config["hidden"], 1, **net_opts)

    def validate(net):
        scaled = predict(net, xs[val])[:, 0]  # standardised log M, what the loss sees
        pred = np.exp(scaled * config["y_std"] + config["y_mean"])
        return {"loss": float(np.mean((scaled - t[val]) ** 2)), "R2": M.r2_score(m[val], pred)}

    history = fit(model, nn.functional.mse_loss, xs[train], t[train, None], validate,
                  select="R2", higher_is_better=True, epochs=epochs, batch_size=batch_size,
                  lr=lr, weight_decay=weight_decay, patience=patience, seed=seed,
                  task="regress", verbose=verbose, **training)
    out, curves = _regressor_metrics(model, config)
    out.update(val_r2=history.best_val, best_epoch=history.best_epoch,
               epochs_run=len(history.epochs), seconds=time.perf_counter() - start,
               n_train=len(train), n_val=len(val))
    return TaskResult("regress", model, out, history, config, curves)


# ---------------------------------------------------------------- Daya Bay: background filtering
def _denoise_inputs(observed: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Spectrum shape (bins scaled to mean 1) plus log total counts; returns (inputs, totals)."""
    total = observed.sum(axis=1, keepdims=True)
    n_bins = observed.shape[1]
    return np.hstack([observed / total * n_bins, np.log(total) / 10.0]), total


def _denoise_data(seed: int, part: str, t: S.Templates) -> S.Spectra:
    # one generator per part, so the test spectra don't depend on the training set's size
    index = {"train": 0, "val": 1, "test": 2}[part]
    return S.synthesize(t, DENOISE_SIZES[part], np.random.default_rng([seed, index]))


def _denoise_predict(model: nn.Module, observed: np.ndarray, config: dict) -> np.ndarray:
    x, total = _denoise_inputs(observed)
    x = (x - np.array(config["x_mean"])) / np.array(config["x_std"])
    y = predict(model, x) * config["y_std"] + np.array(config["y_mean"])
    return y * total / observed.shape[1]


def _denoiser_metrics(model: nn.Module, config: dict) -> tuple[dict, dict]:
    t = S.templates(load_dayabay())
    test = _denoise_data(config["seed"], "test", t)
    est = _denoise_predict(model, test.observed, config)
    # the template fit: binned Poisson likelihood, errors from the engine's Hessian
    fit, fit_signal, subtracted = likelihood_fit(test, t)
    true_count, sigma = test.signal.sum(axis=1), fit.errors[:, 0]
    fit_pull = (fit.theta[:, 0] - true_count) / sigma
    net_pull = (est.sum(axis=1) - true_count) / sigma
    out = {
        "network_error": S.spectrum_error(est, test.signal),
        "raw_error": S.spectrum_error(test.observed, test.signal),
        "template_fit_error": S.spectrum_error(fit_signal, test.signal),
        "template_subtracted_error": S.spectrum_error(subtracted, test.signal),
        "network_count_error": S.count_error(est, test.signal),
        "raw_count_error": S.count_error(test.observed, test.signal),
        "template_fit_count_error": S.count_error(fit_signal, test.signal),
        # signal counts in units of the fit's uncertainty σ: the fit's pulls should spread by 1
        "fit_pull_std": float(fit_pull.std()),
        "fit_within_1sigma": float(np.mean(np.abs(fit_pull) < 1)),
        "network_pull_std": float(net_pull.std()),
        "network_within_1sigma": float(np.mean(np.abs(net_pull) < 1)),
        "n_test": len(test),
    }
    # the plot shows one far-hall spectrum with a short exposure: where filtering matters most
    far = [i for i, (_, d) in enumerate(test.sources) if d.startswith("AD3")]
    pick = int(np.flatnonzero(np.isin(test.source, far))[0])
    curves = {"bin_edges": load_dayabay().bin_edges, "observed": test.observed[pick],
              "signal": test.signal[pick], "network": est[pick], "template_fit": fit_signal[pick],
              "fit_count": float(fit.theta[pick, 0]), "fit_sigma": float(sigma[pick]),
              "source": "/".join(test.sources[test.source[pick]]),
              "exposure_days": float(test.exposure_days[pick])}
    return out, curves


def train_denoiser(epochs: int = 40, batch_size: int = 128, lr: float = 1e-2,
                   weight_decay: float = 1e-4, hidden=(256, 256), patience: int = 10,
                   seed: int = 0, verbose: bool = True, **training) -> TaskResult:
    """A network that returns the expected background-free signal from an observed Daya Bay
    spectrum (see :mod:`graphgrad_physics.spectra` for the synthesis).

    Metrics on the test spectra: relative L1 error of the network, of the raw spectrum, and of
    the template fit (a binned Poisson likelihood fit, :mod:`graphgrad_physics.likelihood`: the
    fitted signal template, and observed minus fitted backgrounds), the error on the total
    signal count, and the signal counts of fit and network against the truth in units of the
    fit's uncertainty σ (spread of the pulls, share within 1σ).
    """
    start = time.perf_counter()
    t = S.templates(load_dayabay())
    train, val = _denoise_data(seed, "train", t), _denoise_data(seed, "val", t)
    x_train, total = _denoise_inputs(train.observed)
    n_bins = train.observed.shape[1]
    y_train = train.signal / total * n_bins
    y_mean = y_train.mean(axis=0)
    y_std = float((y_train - y_mean).std())
    config = {"task": "denoise", "n_in": x_train.shape[1], "n_out": n_bins,
              "hidden": [int(h) for h in hidden], "seed": seed, "sizes": dict(DENOISE_SIZES),
              "epochs": epochs, "batch_size": batch_size, "lr": lr, "weight_decay": weight_decay,
              "x_mean": x_train.mean(axis=0).tolist(),
              # bins that never vary (none today) would divide by zero
              "x_std": np.maximum(x_train.std(axis=0), 1e-6).tolist(),
              "y_mean": y_mean.tolist(), "y_std": y_std}
    net_opts = _network_options(training, config)
    xs = (x_train - np.array(config["x_mean"])) / np.array(config["x_std"])
    ys = (y_train - y_mean) / y_std
    autograd.manual_seed(seed)
    model = mlp(config["n_in"], config["hidden"], n_bins, **net_opts)

    x_val, total_val = _denoise_inputs(val.observed)
    x_val = (x_val - np.array(config["x_mean"])) / np.array(config["x_std"])
    y_val = (val.signal / total_val * n_bins - y_mean) / y_std

    def validate(net):
        pred = predict(net, x_val)  # the standardised target, what the loss sees
        est = (pred * y_std + y_mean) * total_val / n_bins
        return {"loss": float(np.mean((pred - y_val) ** 2)), "error": S.spectrum_error(est, val.signal)}

    history = fit(model, nn.functional.mse_loss, xs, ys, validate, select="error",
                  higher_is_better=False, epochs=epochs, batch_size=batch_size, lr=lr,
                  weight_decay=weight_decay, patience=patience, seed=seed, task="denoise",
                  verbose=verbose, **training)
    out, curves = _denoiser_metrics(model, config)
    out.update(val_error=history.best_val, best_epoch=history.best_epoch,
               epochs_run=len(history.epochs), seconds=time.perf_counter() - start,
               n_train=len(train), n_val=len(val))
    return TaskResult("denoise", model, out, history, config, curves)


def _network_options(training: dict, config: dict) -> dict:
    """Take the network's options (dropout, batchnorm) out of ``training`` into ``config``;
    what is left (the optimizer) goes to :func:`training.fit`."""
    opts = {k: training.pop(k) for k in ("dropout", "batchnorm") if k in training}
    config.update(opts, optimizer=training.get("optimizer", "adamw"))
    return opts


def build_model(config: dict) -> nn.Module:
    """An untrained network shaped as ``config`` says (to load a checkpoint into)."""
    return mlp(config["n_in"], config["hidden"], config["n_out"],
               dropout=config.get("dropout", 0.0), batchnorm=config.get("batchnorm", True))


def test_metrics(model: nn.Module, config: dict) -> dict:
    """The test-split metrics of a trained ``model`` (what ``evaluate`` recomputes)."""
    task = config.get("task")
    if task not in _METRICS:
        raise ValueError(f"test_metrics: unknown task {task!r} in the config; "
                         f"expected one of {sorted(_METRICS)}")
    return _METRICS[task](model, config)[0]


# the honest classification task builds on this module's helpers, so it is imported last
# (test_metrics reads _METRICS when called)
from .classify_peak import _peak_metrics, train_peak_classifier  # noqa: E402

TASKS = {"classify": train_classifier, "peak": train_peak_classifier, "regress": train_regressor,
         "denoise": train_denoiser}
_METRICS = {"classify": _classifier_metrics, "peak": _peak_metrics, "regress": _regressor_metrics,
            "denoise": _denoiser_metrics}
