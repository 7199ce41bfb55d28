"""The training loop the three tasks share: mini-batches, AdamW with a cosine schedule, one
line per epoch, early stopping on the validation metric, and the best model kept.

The training step runs through `autograd.compile` when that is faster: the first epoch times a
few eager steps against a few replays of the compiled step and keeps the faster one (both give
the same numbers, bit for bit, so the choice never changes a result); each epoch line says
which ran.

`fit(..., device="cuda")` trains on a GPU through CuPy: the model moves there (in place) and
each batch follows; steps run eagerly there (compile records numpy calls). `predict` runs on
the device the model is on and returns host numpy arrays."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np

import autograd
import nn

from . import parallel


def mlp(n_in: int, hidden: Sequence[int], n_out: int, dropout: float = 0.0,
        batchnorm: bool = True) -> nn.Sequential:
    """Dense network: (Linear -> BatchNorm1d -> ReLU [-> Dropout]) per hidden width, then a
    Linear head. ``batchnorm=False`` leaves the BatchNorm1d layers out; ``dropout`` > 0 adds
    Dropout after each ReLU.

    >>> mlp(5, (8, 8), 1)[0]
    Linear(in_features=5, out_features=8, bias=True)
    >>> [type(m).__name__ for m in mlp(5, (8,), 1, dropout=0.2, batchnorm=False)]
    ['Linear', 'ReLU', 'Dropout', 'Linear']
    """
    if n_in < 1 or n_out < 1 or not hidden or any(int(h) < 1 for h in hidden):
        raise ValueError(f"mlp: sizes must be positive; got n_in={n_in}, hidden={hidden}, "
                         f"n_out={n_out}")
    if not 0.0 <= dropout < 1.0:
        raise ValueError(f"mlp: dropout must be in [0, 1); got {dropout}")
    layers: list[nn.Module] = []
    width = n_in
    for h in hidden:
        layers += [nn.Linear(width, int(h)), *([nn.BatchNorm1d(int(h))] if batchnorm else []), nn.ReLU()]
        if dropout:
            layers.append(nn.Dropout(dropout))
        width = int(h)
    layers.append(nn.Linear(width, n_out))
    return nn.Sequential(*layers)


OPTIMIZERS = ("adamw", "adam", "sgd")


def make_optimizer(name: str, params, lr: float, weight_decay: float) -> nn.optim.Optimizer:
    """``adamw`` (decoupled weight decay), ``adam`` (L2 weight decay added to the gradient) or
    ``sgd`` (momentum 0.9, L2 weight decay), PyTorch's formulas.

    >>> make_optimizer("sgd", [nn.Parameter(autograd.zeros(2))], 0.1, 0.0).defaults["momentum"]
    0.9
    """
    if name == "adamw":
        return nn.optim.AdamW(params, lr=lr, weight_decay=weight_decay)
    if name == "adam":
        return nn.optim.Adam(params, lr=lr, weight_decay=weight_decay)
    if name == "sgd":
        return nn.optim.SGD(params, lr=lr, momentum=0.9, weight_decay=weight_decay)
    raise ValueError(f"unknown optimizer {name!r}; expected one of {OPTIMIZERS}")


def device_of(model: nn.Module):
    """The device of the model's first parameter ("cpu" for a model without any)."""
    p = next(iter(model.parameters()), None)
    return autograd.device("cpu") if p is None else p.device


def predict(model: nn.Module, x: np.ndarray, batch_size: int = 4096) -> np.ndarray:
    """The model's outputs for ``x`` in eval mode without recording a graph, as float64 on the
    host (the batches go to the model's device)."""
    model.eval()
    where = device_of(model)
    loader = nn.data.DataLoader(x.astype(np.float32), batch_size, device=None if where == "cpu" else where)
    with autograd.no_grad():
        outs = [model(xb).numpy() for (xb,) in loader]
    return np.concatenate(outs).astype(np.float64)


@dataclass
class History:
    """Per-epoch records (``loss``, ``val``, ``lr``, ``seconds``), the best epoch (1-based) and
    its validation metric, and whether training stopped early."""

    metric: str
    epochs: list[dict] = field(default_factory=list)
    best_epoch: int = 0
    best_val: float = float("nan")
    stopped_early: bool = False
    steps: str = "eager"  # how the training steps ran: "compiled" or "eager"

    def as_dict(self) -> dict:
        return {"metric": self.metric, "epochs": self.epochs, "best_epoch": self.best_epoch,
                "best_val": self.best_val, "stopped_early": self.stopped_early, "steps": self.steps}


class _Steps:
    """The training step, eager or compiled, whichever the first steps show faster."""

    TRIALS = 3  # timed steps of each kind

    def __init__(self, model, loss_fn, opt, compiled: bool | None):
        def step(xb, yb):
            loss = loss_fn(model(xb), yb)
            opt.zero_grad()
            loss.backward()
            opt.step()
            return loss

        self.eager = step
        self.compiled = autograd.compile(step, fallback="eager")
        self.mode = None if compiled is None else ("compiled" if compiled else "eager")
        self.times: dict = {"eager": [], "compiled": []}
        self.speedup = None

    def __call__(self, xb, yb):
        if self.mode is not None:
            return (self.compiled if self.mode == "compiled" else self.eager)(xb, yb)
        trying = "eager" if len(self.times["eager"]) < self.TRIALS else "compiled"
        replays = self.compiled.stats["replays"]
        start = time.perf_counter()
        loss = (self.eager if trying == "eager" else self.compiled)(xb, yb)
        took = time.perf_counter() - start
        if trying == "eager" or self.compiled.stats["replays"] > replays:  # (captures are not timed)
            self.times[trying].append(took)
        if len(self.times["compiled"]) == self.TRIALS:
            e, c = (float(np.median(self.times[k])) for k in ("eager", "compiled"))
            self.mode, self.speedup = ("compiled" if c < e else "eager"), e / c
        return loss

    def describe(self) -> str:
        mode = self.mode or "eager"
        if self.speedup is None:
            return mode
        if mode == "compiled":
            return f"compiled ({self.speedup:.1f}x faster)"
        return f"eager (compiled {1 / self.speedup:.1f}x slower)"


def fit(
    model: nn.Module,
    loss_fn: Callable,
    x: np.ndarray,
    y: np.ndarray,
    validate: Callable[[nn.Module], dict[str, float]],
    *,
    select: str,
    higher_is_better: bool,
    epochs: int,
    batch_size: int,
    lr: float,
    weight_decay: float,
    patience: int,
    seed: int,
    task: str,
    verbose: bool = True,
    optimizer: str | Callable = "adamw",
    compiled: bool | None = None,
    device: str = "cpu",
) -> History:
    """Train ``model`` on ``(x, y)``; after each epoch ``validate(model)`` gives named
    validation metrics, of which ``select`` picks the best epoch.

    Stops after ``patience`` epochs without improvement and leaves the best model's state in
    ``model``. `nn.data.DataLoader` shuffles with ``numpy.random.default_rng(seed)`` (under
    mpiexec, each rank its shard: :mod:`graphgrad_physics.parallel`); parameters
    were drawn by the caller (``autograd.manual_seed``), so a seed fixes the whole run.
    ``optimizer`` is a name for :func:`make_optimizer` or a function ``(params, lr,
    weight_decay) -> Optimizer``; a cosine schedule runs the learning rate down over ``epochs``.
    ``compiled``: run the training steps through `autograd.compile` (True), eagerly (False), or
    whichever the first steps show faster (None); the numbers are the same either way.
    ``device``: "cpu" (numpy), or "cuda" / "cuda:<n>" to train on a GPU (CuPy): the model is
    moved there in place and stays there (RuntimeError, before any training, without CUDA).
    """
    for name, value in (("epochs", epochs), ("batch_size", batch_size), ("patience", patience)):
        if int(value) < 1:
            raise ValueError(f"{task}: {name} must be at least 1; got {value}")
    if not lr > 0:
        raise ValueError(f"{task}: learning rate must be positive; got {lr}")
    on_host = autograd.device(device) == "cpu"
    if not on_host:
        model.to(device)  # (raises, naming the device, when it is not available)
        compiled = False  # compile records numpy calls: device steps run eagerly
    data = nn.data.TensorDataset(x.astype(np.float32), y.astype(np.float32))
    net, batches, sampler = parallel.prepare(model, data, batch_size, seed,
                                             device=None if on_host else device)  # alone: net is model
    verbose = verbose and parallel.is_main()
    make = optimizer if callable(optimizer) else lambda *a: make_optimizer(optimizer, *a)
    opt = make(model.parameters(), lr, weight_decay)
    sched = nn.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=epochs)
    # (across MPI ranks the wrapper's hooks all-reduce gradients: those steps stay eager)
    step = _Steps(net, loss_fn, opt, compiled if net is model else False)
    history = History(metric=select)
    best_state, since_best = None, 0
    sign = 1.0 if higher_is_better else -1.0

    from tqdm.auto import tqdm  # imported here: only training needs it

    bar = tqdm(range(1, epochs + 1), desc=task, unit="epoch", disable=None if verbose else True,
               leave=False)
    for epoch in bar:
        start = time.perf_counter()
        lr_now = opt.param_groups[0]["lr"]
        model.train()
        if sampler is not None:
            sampler.set_epoch(epoch)
        total, seen = 0.0, 0
        for xb, yb in batches:
            n = xb.shape[0]
            if n < 2:  # BatchNorm needs two samples to normalise a batch
                continue
            loss = step(xb, yb)
            total += float(loss) * n
            seen += n
        total, seen = parallel.total(total, seen)  # over the ranks
        sched.step()
        vals = {k: float(v) for k, v in validate(model).items()}
        val = vals[select]
        seconds = time.perf_counter() - start
        history.epochs.append({"epoch": epoch, "loss": total / seen, "val": val,
                               **{f"val_{k}": v for k, v in vals.items()}, "lr": lr_now,
                               "seconds": seconds, "steps": step.mode or "eager"})
        history.steps = step.mode or "eager"
        improved = parallel.agree(best_state is None or sign * val > sign * history.best_val)
        if improved:  # (host copies: load_state_dict puts them back on the model's device)
            best_state = {k: v.numpy().copy() for k, v in model.state_dict().items()}
            history.best_epoch, history.best_val, since_best = epoch, val, 0
        else:
            since_best += 1
        if verbose:
            shown = "  ".join(f"val {k} {v:.4f}" for k, v in vals.items())
            bar.write(f"  {task:<9} epoch {epoch:3d}/{epochs}  loss {total / seen:.4f}  {shown}"
                      f"{' *' if improved else '  '}  lr {lr_now:.2e}  {seconds:.2f}s  steps {step.describe()}")
        if since_best >= patience:
            history.stopped_early = True
            break
    bar.close()
    model.load_state_dict(best_state)
    model.eval()
    return history
