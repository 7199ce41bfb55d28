"""The report folder: metrics.json, plots (matplotlib, Agg), the classifier's backprop graph
(SVG) and checkpoints. The command line writes them into a staging folder and swaps the whole
folder in at the end (see :mod:`graphgrad_physics.cli`), so the files here are plain writes."""

from __future__ import annotations

import io
import json
import os
from pathlib import Path

import numpy as np

import autograd
import nn

from .tasks import TaskResult, build_model
from .training import device_of


def write_bytes(path: str | os.PathLike, data: bytes) -> Path:
    """Write ``data`` to ``path``, making its folder if needed."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path


def write_json(path: str | os.PathLike, obj) -> Path:
    """Write ``obj`` as indented JSON (numpy scalars become plain numbers)."""
    def plain(o):
        if isinstance(o, np.generic):
            return o.item()
        if isinstance(o, np.ndarray):
            return o.tolist()
        raise TypeError(f"write_json: cannot store {type(o).__name__}")

    text = json.dumps(obj, indent=2, default=plain, allow_nan=True) + "\n"
    return write_bytes(path, text.encode("utf-8"))


def read_json(path: str | os.PathLike) -> dict:
    """Read a JSON file written by :func:`write_json`, naming the file in any error."""
    path = Path(path)
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise FileNotFoundError(f"{path} does not exist: run `python -m graphgrad_physics --out "
                                f"{path.parent}` first") from None
    except json.JSONDecodeError as e:
        raise ValueError(f"{path} is not valid JSON ({e})") from None


# ---------------------------------------------------------------- checkpoints
def checkpoint_paths(out: str | os.PathLike, task: str) -> tuple[Path, Path]:
    folder = Path(out) / "checkpoints"
    return folder / f"{task}.npz", folder / f"{task}.json"


def save_checkpoint(result: TaskResult, out: str | os.PathLike) -> Path:
    """The model's state dict via ``nn.save`` and its config beside it as JSON."""
    weights, config = checkpoint_paths(out, result.name)
    weights.parent.mkdir(parents=True, exist_ok=True)
    nn.save(result.model.state_dict(), weights)
    write_json(config, result.config)
    return weights


def load_checkpoint(out: str | os.PathLike, task: str) -> tuple[nn.Module, dict]:
    """Rebuild a task's trained model (eval mode) and its config from the report folder."""
    weights, config_path = checkpoint_paths(out, task)
    if not weights.exists():
        raise FileNotFoundError(f"no checkpoint for task {task!r}: {weights} does not exist; "
                                f"train it first: python -m graphgrad_physics --task {task} --out {out}")
    config = read_json(config_path)
    model = build_model(config)
    model.load_state_dict(nn.load(weights))
    model.eval()
    return model, config


# ---------------------------------------------------------------- plots
def _pyplot():
    import matplotlib

    matplotlib.use("Agg")  # files only, also where a display exists
    import matplotlib.pyplot as plt

    return plt


def _save_figure(fig, path: Path) -> Path:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=110, bbox_inches="tight")
    _pyplot().close(fig)
    return write_bytes(path, buf.getvalue())


def plot_losses(results: list[TaskResult], path: Path) -> Path:
    """One panel per task: training and validation loss on the same axis (the gap between them
    is overfitting), the validation metric on the right-hand axis."""
    plt = _pyplot()
    fig, axes = plt.subplots(1, len(results), figsize=(4.6 * len(results), 3.4), squeeze=False)
    for ax, r in zip(axes[0], results, strict=True):
        ep = [e["epoch"] for e in r.history.epochs]
        ax.plot(ep, [e["loss"] for e in r.history.epochs], color="tab:blue", label="training loss")
        if "val_loss" in r.history.epochs[0]:
            ax.plot(ep, [e["val_loss"] for e in r.history.epochs], color="tab:red",
                    label="validation loss")
        ax.set_yscale("log")
        ax.set_xlabel("epoch")
        ax.set_ylabel("loss")
        ax2 = ax.twinx()
        # the quality metric (AUC, R2, error) even where the loss picked the epoch
        keys = [k for k in r.history.epochs[0] if k.startswith("val_") and k != "val_loss"]
        key = keys[0] if keys else "val"
        ax2.plot(ep, [e[key] for e in r.history.epochs], color="tab:orange", lw=1, alpha=0.7)
        ax2.set_ylabel(f"validation {key.removeprefix('val_')}", color="tab:orange")
        ax.axvline(r.history.best_epoch, color="grey", ls=":", lw=1)
        ax.legend(fontsize=8, loc="upper right")
        ax.set_title(f"{r.name} (best epoch {r.history.best_epoch})")
    fig.tight_layout()
    return _save_figure(fig, path)


def plot_roc(result: TaskResult, path: Path) -> Path:
    """The network's test ROC curve, and the best single cut's where the task has one."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(4.2, 4.0))
    ax.plot(result.curves["fpr"], result.curves["tpr"],
            label=f"network, AUC {result.metrics['test_auc']:.4f}")
    if "cut_fpr" in result.curves:
        ax.plot(result.curves["cut_fpr"], result.curves["cut_tpr"], color="tab:green",
                label=f"cut on {result.metrics['cut_variable']}, AUC {result.metrics['cut_auc']:.4f}")
    ax.plot([0, 1], [0, 1], color="grey", ls="--", lw=1, label="chance")
    ax.set_xlabel("false-positive rate (off-peak pairs)")
    ax.set_ylabel("true-positive rate (Z-peak pairs)")
    ax.set_title("Z→μμ peak without Δφ, test split" if result.name == "peak"
                 else "Z→μμ signal classification, test split")
    ax.legend(loc="lower right")
    return _save_figure(fig, path)


def plot_mass(result: TaskResult, path: Path) -> Path:
    plt = _pyplot()
    true, pred = result.curves["true_mass"], result.curves["predicted_mass"]
    fig, ax = plt.subplots(figsize=(4.2, 4.0))
    ax.scatter(true, pred, s=6, alpha=0.5)
    top = float(max(true.max(), pred.max())) * 1.05
    ax.plot([0, top], [0, top], color="grey", ls="--", lw=1)
    ax.set_xlabel("true pair mass M (GeV)")
    ax.set_ylabel("network's M (GeV)")
    ax.set_title(f"mass regression: R² {result.metrics['test_r2']:.4f}, "
                 f"MAE {result.metrics['test_mae_gev']:.2f} GeV", fontsize=9)
    return _save_figure(fig, path)


def plot_spectrum(result: TaskResult, path: Path) -> Path:
    plt = _pyplot()
    c = result.curves
    centres = (c["bin_edges"][1:] + c["bin_edges"][:-1]) / 2
    fig, ax = plt.subplots(figsize=(6.0, 3.8))
    ax.step(centres, c["observed"], where="mid", color="lightgrey", label="observed (Poisson)")
    ax.plot(centres, c["signal"], color="black", lw=1.5, label="true signal")
    fit_label = "likelihood fit"
    if "fit_sigma" in c:
        fit_label += f": {c['fit_count']:.0f} ± {c['fit_sigma']:.0f} events"
    ax.plot(centres, c["template_fit"], color="tab:green", lw=1, ls="--", label=fit_label)
    ax.plot(centres, c["network"], color="tab:red", lw=1,
            label=f"network: {c['network'].sum():.0f} events (true {c['signal'].sum():.0f})")
    ax.set_xlim(0, 12)
    ax.set_xlabel("prompt energy (MeV)")
    ax.set_ylabel("counts per 50 keV")
    ax.set_title(f"Daya Bay {c['source']}, {c['exposure_days']:.0f} days (test spectrum)",
                 fontsize=9)
    ax.legend(fontsize=8)
    return _save_figure(fig, path)


# ---------------------------------------------------------------- the backprop graph
def draw_classifier_graph(result: TaskResult, x: np.ndarray, y: np.ndarray, path: Path) -> Path:
    """The classifier's graph for one small batch after backward, as SVG: parameter names,
    values and gradients. Runs in eval mode so BatchNorm's running statistics stay as trained;
    the gradients are cleared afterwards."""
    from autograd import viz

    model = result.model
    model.eval()
    device = device_of(model)  # (the batch goes where the model is: the GPU after --device cuda)
    logits = model(autograd.tensor(x.astype(np.float32), name="kinematics", device=device))
    target = autograd.tensor(y.astype(np.float32), device=device)
    loss = nn.functional.binary_cross_entropy_with_logits(logits, target)
    loss.name = "loss"
    with viz.record_grads():
        loss.backward()
    try:
        return viz.render(loss, path, params=model, rankdir="TB")
    finally:
        model.zero_grad()
