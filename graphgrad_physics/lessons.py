"""The note's lessons as experiments: learning rate, batch normalization, regularization and
Adam, each measured over several seeds on real data, so that a lesson is not one lucky run.

``graphgrad-demo lessons --out lessons`` (or ``make lessons``) trains the honest Z->mumu task
(:mod:`graphgrad_physics.classify_peak`: three mass regions from single-muon pt, η, charge, with
multi-class cross-entropy) many times with the training loop the note writes, and writes
``lessons.json``, one plot per lesson and a printed table:

- **learning rate**: Adam from 1e-4 to 1: divergence at the top, crawling at the bottom;
- **batch normalization**: on and off at a learning rate where it matters: the epochs to reach
  a fixed validation loss, and the final validation loss;
- **regularization**: a small share of the events (enough to overfit), with and without weight
  decay and dropout: training and validation loss side by side;
- **Adam**: as the note writes it (no bias correction, ``nn.optim.Adam(bias_correction=False)``),
  with bias correction, and SGD with momentum: the first steps and the final loss.

Every configuration runs with seeds 0 .. n-1 (initialisation and shuffling); the table gives
the mean and the spread (min–max) over seeds.
"""

from __future__ import annotations

import argparse
import math
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

import autograd
import nn

from . import metrics as M
from .classify_peak import CLASSES, peak_arrays
from .training import mlp, predict

HIDDEN = (64, 64)
BATCH_SIZE = 64
EPOCHS = 15
LEARNING_RATES = (1e-4, 1e-3, 1e-2, 1e-1, 1.0)
BASE_LR = 1e-2
BATCHNORM_LRS = (1e-2, 1.0)  # where batch norm makes no difference, and where it does
SMALL_SHARE = 0.1  # of the training events, for the regularization lesson
SMALL_EPOCHS = 100
TARGET_LOSS = 0.10  # "epochs to reach a validation loss of 0.10"
EARLY_STEPS = 60
REGULARIZATION = {"none": {}, "weight decay": {"optimizer": "adamw", "weight_decay": 0.5},
                  "dropout": {"dropout": 0.3},
                  "both": {"optimizer": "adamw", "weight_decay": 0.5, "dropout": 0.3}}


@dataclass
class Data:
    """Standardised inputs, one-hot targets and mass regions of a training and a validation set."""

    x_train: np.ndarray
    y_train: np.ndarray
    x_val: np.ndarray
    y_val: np.ndarray
    region_train: np.ndarray = field(repr=False, default=None)
    region_val: np.ndarray = field(repr=False, default=None)


def load(share: float = 1.0, seed: int = 0) -> Data:
    """The peak task's training and validation rows (the test rows are never touched here);
    ``share`` < 1 keeps that fraction of the training *events* (all their rows).

    >>> d = load(0.1)
    >>> d.x_train.shape[1], d.y_train.shape[1], 100 < len(d.x_train) < 200
    (4, 3, True)
    """
    x, region, _, (train, val, _) = peak_arrays()
    if share < 1.0:
        from .data import load_zmumu

        data = load_zmumu()
        events = np.unique(data["Event"][train])
        keep = np.random.default_rng(seed).choice(events, max(2, round(share * events.size)), replace=False)
        train = train[np.isin(data["Event"][train], keep)]
    mean, std = x[train].mean(axis=0), x[train].std(axis=0)
    onehot = np.eye(len(CLASSES))
    return Data((x[train] - mean) / std, onehot[region[train]], (x[val] - mean) / std,
                onehot[region[val]], region[train], region[val])


def cross_entropy(logits: np.ndarray, onehot: np.ndarray) -> float:
    """Mean multi-class cross-entropy of logits against one-hot targets, in float64."""
    z = logits - logits.max(axis=1, keepdims=True)
    log_p = z - np.log(np.exp(z).sum(axis=1, keepdims=True))
    return float(-(onehot * log_p).sum(axis=1).mean())


def make_optimizer(name: str, params, lr: float, weight_decay: float = 0.0):
    """``adam`` (bias-corrected), ``adam-note`` (no bias correction), ``adamw``, ``sgd``
    (momentum 0.9)."""
    if name == "adam":
        return nn.optim.Adam(params, lr=lr, weight_decay=weight_decay)
    if name == "adam-note":
        return nn.optim.Adam(params, lr=lr, weight_decay=weight_decay, bias_correction=False)
    if name == "adamw":
        return nn.optim.AdamW(params, lr=lr, weight_decay=weight_decay)
    if name == "sgd":
        return nn.optim.SGD(params, lr=lr, momentum=0.9, weight_decay=weight_decay)
    raise ValueError(f"lessons: unknown optimizer {name!r}")


def train_run(data: Data, *, lr: float, seed: int, epochs: int = EPOCHS, optimizer: str = "adam",
              batchnorm: bool = True, dropout: float = 0.0, weight_decay: float = 0.0,
              early_steps: int = 0) -> dict:
    """One training run with the note's loop (forward, loss, zero_grad, backward, step) at a
    constant learning rate. Returns per-epoch ``train_loss`` and ``val_loss`` (both measured in
    eval mode after the epoch, so dropout does not inflate the training loss), ``val_auc`` of
    the peak, the first ``early_steps`` mini-batch losses, and ``diverged`` (a loss went
    non-finite; the run stops there).

    >>> r = train_run(load(0.1), lr=1e-2, seed=0, epochs=2)
    >>> len(r["val_loss"]), r["diverged"]
    (2, False)
    """
    autograd.manual_seed(seed)
    model = mlp(data.x_train.shape[1], HIDDEN, len(CLASSES), dropout=dropout, batchnorm=batchnorm)
    opt = make_optimizer(optimizer, model.parameters(), lr, weight_decay)
    loader = nn.data.DataLoader(
        nn.data.TensorDataset(data.x_train.astype(np.float32), data.y_train.astype(np.float32)),
        batch_size=BATCH_SIZE, shuffle=True, generator=np.random.default_rng(seed))
    out = {"train_loss": [], "val_loss": [], "val_auc": [], "steps": [], "diverged": False}
    peak_val = data.y_val[:, 1]
    for _ in range(epochs):
        model.train()
        for xb, yb in loader:
            if xb.shape[0] < 2:  # BatchNorm needs two samples
                continue
            loss = nn.functional.cross_entropy(model(xb), yb)
            opt.zero_grad()
            loss.backward()
            opt.step()
            if len(out["steps"]) < early_steps:
                out["steps"].append(float(loss.item()))
        with np.errstate(all="ignore"):
            logits_val = predict(model, data.x_val)
            logits_train = predict(model, data.x_train)
        if not (np.all(np.isfinite(logits_val)) and np.all(np.isfinite(logits_train))):
            out["diverged"] = True
            break
        out["train_loss"].append(cross_entropy(logits_train, data.y_train))
        out["val_loss"].append(cross_entropy(logits_val, data.y_val))
        z = logits_val
        out["val_auc"].append(M.roc_auc(peak_val, z[:, 1] - np.logaddexp(z[:, 0], z[:, 2])))
    return out


def epochs_to(curve: Sequence[float], target: float) -> int | None:
    """The first epoch (1-based) whose value is at or below ``target``; None if none is.

    >>> epochs_to([0.5, 0.3, 0.19, 0.25], 0.2), epochs_to([0.5], 0.2)
    (3, None)
    """
    for i, v in enumerate(curve, 1):
        if v <= target:
            return i
    return None


def _final(run: dict, key: str) -> float:
    return run[key][-1] if run[key] and not run["diverged"] else float("nan")


def _stats(values: Sequence[float | None]) -> dict:
    v = np.array([np.nan if x is None else x for x in values], dtype=np.float64)
    ok = v[np.isfinite(v)]
    if ok.size == 0:
        return {"mean": None, "min": None, "max": None, "n": 0, "values": v.tolist()}
    return {"mean": float(ok.mean()), "min": float(ok.min()), "max": float(ok.max()),
            "n": int(ok.size), "values": [None if not math.isfinite(x) else x for x in v.tolist()]}


def run_lessons(seeds: Sequence[int] = (0, 1, 2), epochs: int = EPOCHS,
                small_epochs: int = SMALL_EPOCHS, learning_rates: Sequence[float] = LEARNING_RATES,
                progress=print) -> dict:
    """Every lesson over ``seeds``; returns the JSON-able results (curves and summaries)."""
    start = time.perf_counter()
    full, small = load(), load(SMALL_SHARE)
    doc = {"task": "peak: three mass regions from single-muon pt, eta, charge (CMS Z->mumu)",
           "seeds": list(seeds), "epochs": epochs, "batch_size": BATCH_SIZE, "hidden": list(HIDDEN),
           "n_train": len(full.x_train), "n_val": len(full.x_val), "target_val_loss": TARGET_LOSS,
           "lessons": {}}

    def runs(data, label, **kw):
        t = time.perf_counter()
        out = [train_run(data, seed=s, **kw) for s in seeds]
        progress(f"  {label:<40} {time.perf_counter() - t:5.1f} s")
        return out

    progress("learning rate (Adam, batch norm)")
    lr_runs = {lr: runs(full, f"lr {lr:g}", lr=lr, epochs=epochs, early_steps=EARLY_STEPS)
               for lr in learning_rates}
    doc["lessons"]["learning_rate"] = {f"{lr:g}": _summary(rs) for lr, rs in lr_runs.items()}

    progress("batch normalization (Adam)")
    bn = {}
    for lr in BATCHNORM_LRS:
        on = lr_runs.get(lr) or runs(full, f"batch norm on, lr {lr:g}", lr=lr, epochs=epochs)
        off = runs(full, f"batch norm off, lr {lr:g}", lr=lr, epochs=epochs, batchnorm=False)
        bn[f"{lr:g}"] = {"on": _summary(on), "off": _summary(off)}
    doc["lessons"]["batchnorm"] = bn

    progress(f"regularization ({len(small.x_train)} training rows, {small_epochs} epochs)")
    reg = {k: runs(small, k, lr=BASE_LR, epochs=small_epochs, **kw) for k, kw in REGULARIZATION.items()}
    doc["lessons"]["regularization"] = {
        "share": SMALL_SHARE, "n_train": len(small.x_train), "epochs": small_epochs, "lr": BASE_LR,
        "configs": {k: {"options": REGULARIZATION[k], **_summary(rs)} for k, rs in reg.items()}}

    progress(f"optimizers (lr {BASE_LR:g})")
    opt = {"adam, bias-corrected": lr_runs.get(BASE_LR) or runs(full, "adam", lr=BASE_LR, epochs=epochs,
                                                                early_steps=EARLY_STEPS),
           "adam as the note writes it": runs(full, "adam without bias correction", lr=BASE_LR,
                                              epochs=epochs, optimizer="adam-note", early_steps=EARLY_STEPS),
           "sgd, momentum 0.9": runs(full, "sgd momentum 0.9", lr=BASE_LR, epochs=epochs, optimizer="sgd",
                                     early_steps=EARLY_STEPS)}
    doc["lessons"]["optimizers"] = {"lr": BASE_LR, "configs": {k: _summary(rs) for k, rs in opt.items()}}
    doc["seconds"] = time.perf_counter() - start
    return doc


def _summary(rs: list[dict]) -> dict:
    """Per-configuration curves (one per seed) and the seed statistics the table shows."""
    return {
        "final_val_loss": _stats([_final(r, "val_loss") for r in rs]),
        "final_train_loss": _stats([_final(r, "train_loss") for r in rs]),
        "best_val_loss": _stats([min(r["val_loss"]) if r["val_loss"] and not r["diverged"] else None
                                 for r in rs]),
        "early_loss": _stats([float(np.mean(r["steps"][:20])) if len(r["steps"]) >= 20 else None
                              for r in rs]),
        "final_val_auc": _stats([_final(r, "val_auc") for r in rs]),
        "epochs_to_target": _stats([epochs_to(r["val_loss"], TARGET_LOSS) for r in rs]),
        "diverged": sum(r["diverged"] for r in rs),
        "curves": {"train_loss": [r["train_loss"] for r in rs], "val_loss": [r["val_loss"] for r in rs],
                   "val_auc": [r["val_auc"] for r in rs], "steps": [r["steps"] for r in rs]},
    }


# ---------------------------------------------------------------- table, plots, command line
def _cell(stat: dict, digits: int = 3) -> str:
    if stat["mean"] is None:
        return "-"
    if stat["min"] == stat["max"]:
        return f"{stat['mean']:.{digits}f}"
    return f"{stat['mean']:.{digits}f} ({stat['min']:.{digits}f}–{stat['max']:.{digits}f})"


def _reached(stat: dict, n: int) -> str:
    if stat["n"] == 0:
        return "never"
    text = f"{stat['mean']:.1f}" if stat["min"] == stat["max"] else (
        f"{stat['mean']:.1f} ({stat['min']:.0f}–{stat['max']:.0f})")
    return text if stat["n"] == n else f"{text}, {n - stat['n']} of {n} never"


def table_rows(doc: dict) -> list[tuple[str, ...]]:
    """(lesson, setting, train loss, val loss, best val loss, val AUC, epochs to target) rows:
    means over seeds with (min–max)."""
    n = len(doc["seeds"])
    rows = []

    def row(lesson, setting, s):
        rows.append((lesson, setting, _cell(s["final_train_loss"]), _cell(s["final_val_loss"]),
                     _cell(s["best_val_loss"]), _cell(s["final_val_auc"], 4),
                     _reached(s["epochs_to_target"], n)
                     + (f"; {s['diverged']} diverged" if s["diverged"] else "")))

    les = doc["lessons"]
    for lr, s in les["learning_rate"].items():
        row("learning rate", f"adam lr {lr}", s)
    for lr, pair in les["batchnorm"].items():
        for k in ("on", "off"):
            row("batch norm", f"{k}, adam lr {lr}", pair[k])
    reg = les["regularization"]
    for k, s in reg["configs"].items():
        row(f"regularization ({reg['n_train']} rows)", k, s)
    for k, s in les["optimizers"]["configs"].items():
        row(f"optimizer (lr {les['optimizers']['lr']:g})", k, s)
    return rows


HEADER = ("lesson", "setting", "train loss", "val loss", "best val loss", "val AUC", "epochs to val loss")


def format_table(doc: dict) -> str:
    rows = [HEADER[:-1] + (f"{HEADER[-1]} {doc['target_val_loss']:g}",), *table_rows(doc)]
    widths = [max(len(r[i]) for r in rows) for i in range(len(HEADER))]
    lines = ["  ".join(c.ljust(w) for c, w in zip(r, widths)) for r in rows]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def _band(ax, curves, label, color, ls="-"):
    """Mean over seeds with a min–max band (curves cut to the shortest, e.g. a diverged run)."""
    curves = [c for c in curves if c]
    if not curves:
        return
    n = min(len(c) for c in curves)
    a = np.array([c[:n] for c in curves])
    x = np.arange(1, n + 1)
    ax.plot(x, a.mean(axis=0), color=color, ls=ls, label=label)
    if len(a) > 1:
        ax.fill_between(x, a.min(axis=0), a.max(axis=0), color=color, alpha=0.15, lw=0)


def plot_lessons(doc: dict, out: Path) -> list[Path]:
    """One picture per lesson into ``out``; returns their paths."""
    from .report import _pyplot, _save_figure

    plt = _pyplot()
    les, files = doc["lessons"], []
    colors = plt.get_cmap("viridis")

    fig, (a, b) = plt.subplots(1, 2, figsize=(10, 3.6))
    lrs = list(les["learning_rate"])
    for i, lr in enumerate(lrs):
        _band(a, les["learning_rate"][lr]["curves"]["val_loss"], f"lr {lr}", colors(i / max(1, len(lrs) - 1)))
    a.set(yscale="log", xlabel="epoch", ylabel="validation loss", title="learning rate: Adam, 3 regions")
    a.legend(fontsize=8)
    x = [float(lr) for lr in lrs]
    for key, color, label in (("final_val_loss", "tab:red", "final validation loss"),
                              ("final_train_loss", "tab:blue", "final training loss")):
        st = [les["learning_rate"][lr][key] for lr in lrs]
        mean = np.array([np.nan if s["mean"] is None else s["mean"] for s in st])
        lo = np.array([np.nan if s["min"] is None else s["min"] for s in st])
        hi = np.array([np.nan if s["max"] is None else s["max"] for s in st])
        b.errorbar(x, mean, yerr=[mean - lo, hi - mean], marker="o", color=color, label=label, capsize=3)
    b.set(xscale="log", yscale="log", xlabel="learning rate", ylabel="loss after the last epoch",
          title="too small crawls, too large is unstable")
    b.legend(fontsize=8)
    fig.tight_layout()
    files.append(_save_figure(fig, out / "lessons_learning_rate.png"))

    fig, axes = plt.subplots(1, len(les["batchnorm"]), figsize=(5 * len(les["batchnorm"]), 3.6), squeeze=False)
    for ax, (lr, pair) in zip(axes[0], les["batchnorm"].items()):
        _band(ax, pair["on"]["curves"]["val_loss"], "batch norm", "tab:blue")
        _band(ax, pair["off"]["curves"]["val_loss"], "no batch norm", "tab:orange")
        ax.axhline(doc["target_val_loss"], color="grey", ls=":", lw=1)
        ax.set(yscale="log", xlabel="epoch", ylabel="validation loss", title=f"batch norm, Adam lr {lr}")
        ax.legend(fontsize=8)
    fig.tight_layout()
    files.append(_save_figure(fig, out / "lessons_batchnorm.png"))

    reg = les["regularization"]
    fig, ax = plt.subplots(figsize=(6.4, 4.0))
    for (k, s), color in zip(reg["configs"].items(), ("tab:red", "tab:blue", "tab:green", "tab:purple")):
        _band(ax, s["curves"]["val_loss"], f"{k}: validation", color)
        _band(ax, s["curves"]["train_loss"], f"{k}: training", color, ls="--")
    ax.set(yscale="log", xlabel="epoch", ylabel="cross-entropy",
           title=f"regularization on {reg['n_train']} training rows: the gap")
    ax.legend(fontsize=7, ncol=2)
    fig.tight_layout()
    files.append(_save_figure(fig, out / "lessons_regularization.png"))

    opt = les["optimizers"]["configs"]
    fig, (a, b) = plt.subplots(1, 2, figsize=(10, 3.6))
    for (k, s), color in zip(opt.items(), ("tab:blue", "tab:red", "tab:green")):
        _band(a, s["curves"]["steps"], k, color)
        _band(b, s["curves"]["val_loss"], k, color)
    a.set(yscale="log", xlabel="mini-batch step", ylabel="mini-batch loss", title="the first steps")
    b.set(yscale="log", xlabel="epoch", ylabel="validation loss", title=f"lr {les['optimizers']['lr']:g}")
    a.legend(fontsize=8)
    fig.tight_layout()
    files.append(_save_figure(fig, out / "lessons_optimizers.png"))
    return files


def main(argv: Sequence[str] | None = None, prog: str = "graphgrad-demo lessons") -> int:
    """``graphgrad-demo lessons``: run every lesson, write plots and lessons.json, print the table."""
    p = argparse.ArgumentParser(prog=prog, description=__doc__.split("\n\n")[0])
    p.add_argument("--out", default="lessons", help="folder for lessons.json and the plots (default: lessons)")
    p.add_argument("--seeds", type=int, default=3, help="seeds per configuration (default: 3, at least 1)")
    p.add_argument("--epochs", type=int, default=EPOCHS, help=f"epochs on the full training set ({EPOCHS})")
    p.add_argument("--small-epochs", type=int, default=SMALL_EPOCHS,
                   help=f"epochs of the regularization lesson ({SMALL_EPOCHS})")
    p.add_argument("--quiet", action="store_true", help="no progress lines")
    args = p.parse_args(argv)
    if args.seeds < 1 or args.epochs < 1 or args.small_epochs < 1:
        p.error("--seeds, --epochs and --small-epochs must be at least 1")
    out = Path(args.out)
    if out.exists() and not out.is_dir():
        print(f"{prog}: error: --out: {out} is a file, not a folder", file=sys.stderr)
        return 2
    out.mkdir(parents=True, exist_ok=True)
    doc = run_lessons(range(args.seeds), args.epochs, args.small_epochs,
                      progress=(lambda *_: None) if args.quiet else lambda m: print(m, flush=True))
    from .report import write_json

    files = plot_lessons(doc, out)
    files.append(write_json(out / "lessons.json", doc))
    print()
    print(format_table(doc))
    print(f"\nmeans over seeds {list(doc['seeds'])}, (min–max) in brackets; {len(files)} files in "
          f"{out}/ after {doc['seconds']:.0f} s")
    return 0
