"""Command line: `graphgrad-demo` (or `python -m graphgrad_physics`) trains the tasks and writes
the report; `graphgrad-demo evaluate` reloads the checkpoints and recomputes the test numbers.

A report folder always holds one whole run: each run writes into a staging folder that is
swapped in at the end (:mod:`graphgrad_physics.staging`). A bad ``--out`` is refused with one
line and exit code 2 before anything is trained.
"""

from __future__ import annotations

import argparse
import math
import os
import sys
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np

import autograd
import nn.distributed as dist

from . import parallel, staging

TASK_NAMES = ("classify", "peak", "regress", "denoise")
DESCRIPTION = """\
The note's three networks on real particle-physics data:
  classify  Z->mumu: Z-peak pairs against off-peak pairs (CMS open data, 2010)
  peak      Z->mumu: the same without the muons' azimuthal opening, so the mass is unknown:
            three mass regions, multi-class cross-entropy, beside the best single cut
  regress   Z->mumu: the pair's invariant mass from the muons' kinematics
  denoise   Daya Bay: background-free antineutrino spectra from observed ones

  {prog} [train] [options]      train, test, write the report (the default)
  {prog} evaluate --out DIR     reload the checkpoints, recompute the test metrics
  {prog} lessons [--out DIR]    the note's lessons measured over seeds: learning rate,
                                batch norm, regularization, Adam (about 2 minutes)

Options of each command: {prog} train --help (or evaluate --help).
"""


def _whole_number(text: str, least: int, why: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if value < least:
        raise argparse.ArgumentTypeError(f"{why}, got {value}")
    return value


def _positive_int(text: str) -> int:
    return _whole_number(text, 1, "must be at least 1")


def _batch_size(text: str) -> int:
    value = _positive_int(text)
    if value < 2:
        raise argparse.ArgumentTypeError("must be at least 2 (BatchNorm normalises over the batch)")
    return value


def _positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
    if not (value > 0 and math.isfinite(value)):
        raise argparse.ArgumentTypeError(f"must be a positive finite number, got {text}")
    return value


def _fraction(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
    if not 0.0 <= value < 1.0:
        raise argparse.ArgumentTypeError(f"must be at least 0 and below 1, got {text}")
    return value


def _non_negative_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
    if not (value >= 0 and math.isfinite(value)):
        raise argparse.ArgumentTypeError(f"must be a non-negative finite number, got {text}")
    return value


def _seed(text: str) -> int:
    return _whole_number(text, 0, "must be non-negative")


def _device(text: str) -> str:
    """"cpu", "cuda" or "cuda:<n>" (whether that device is there is checked before training)."""
    kind, _, index = text.partition(":")
    if text == "cpu" or (kind == "cuda" and (not index or index.isdigit())):
        return text
    raise argparse.ArgumentTypeError(f"expected cpu, cuda or cuda:<n>; got {text!r}")


def _add_tasks(p: argparse.ArgumentParser) -> None:
    p.add_argument("--task", "--tasks", dest="tasks", nargs="+", default=["all"], metavar="TASK",
                   choices=[*TASK_NAMES, "all"],
                   help="which tasks: classify, regress, denoise or all (default: all)")
    # a string, not a Path: Path("") would silently be the current folder
    p.add_argument("--out", default="report", help="report folder (default: report)")


def build_parser(prog: str = "graphgrad-demo") -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=prog, description=DESCRIPTION.format(prog=prog),
        formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", metavar="{train,evaluate}")
    train = sub.add_parser("train", help="train, test and write the report (default)",
                           description="Train the chosen tasks and write the report folder.")
    _add_tasks(train)
    train.add_argument("--epochs", type=_positive_int, default=None,
                       help="maximum epochs per task (default: each task's own: 60, 60, 40)")
    train.add_argument("--batch-size", type=_batch_size, default=None,
                       help="mini-batch size (default: 64, 64, 128)")
    train.add_argument("--lr", type=_positive_float, default=None,
                       help="peak learning rate (default: 0.01)")
    train.add_argument("--optimizer", choices=("adamw", "adam", "sgd"), default=None,
                       help="adamw (default), adam (L2 weight decay) or sgd (momentum 0.9)")
    train.add_argument("--weight-decay", type=_non_negative_float, default=None,
                       help="weight decay (default: 1e-4)")
    train.add_argument("--dropout", type=_fraction, default=None,
                       help="dropout probability after each hidden layer (default: 0)")
    train.add_argument("--no-batchnorm", dest="batchnorm", action="store_false",
                       help="leave out the BatchNorm1d layers")
    train.add_argument("--seed", type=_seed, default=0,
                       help="seeds initialisation, shuffling and the Daya Bay synthesis "
                       "(default: 0)")
    train.add_argument("--device", type=_device, default="cpu",
                       help="cpu (numpy, the default), or cuda / cuda:<n> to train on an NVIDIA GPU "
                       "through CuPy (pip install -e '.[gpu]')")
    train.add_argument("--no-graph", action="store_true",
                       help="skip drawing the classifier's backprop graph")
    train.add_argument("--quiet", action="store_true", help="no per-epoch lines or progress bars")
    ev = sub.add_parser("evaluate", help="reload checkpoints and recompute the test metrics",
                        description="Reload each task's checkpoint from the report folder, "
                        "recompute its test metrics and compare them with metrics.json.")
    _add_tasks(ev)
    return parser


def _chosen(tasks: Sequence[str]) -> list[str]:
    return list(TASK_NAMES) if "all" in tasks else [t for t in TASK_NAMES if t in tasks]


def _fmt(v) -> str:
    if v is None:
        return "-"
    if isinstance(v, str):
        return v
    if isinstance(v, int) or float(v).is_integer() and abs(v) >= 10:
        return str(int(v))
    return f"{v:.4f}" if abs(v) < 10 else f"{v:.1f}"


def _reference(ref: dict | None, task: str, key: str) -> str:
    """scikit-learn's figure from scripts/reference_sklearn.py's JSON (mean over its seeds)."""
    values = (ref or {}).get(task, {}).get(key)
    if values is None:
        return "sklearn: run scripts/reference_sklearn.py"
    return f"{_fmt(float(np.mean(values)))} (sklearn)"


def summary_rows(metrics: dict, ref: dict | None = None) -> list[tuple[str, str, str, str]]:
    """(task, metric, measured, reference) rows for the final table; ``ref`` is what
    scripts/reference_sklearn.py wrote (reference_sklearn.json in the report folder), if any."""
    rows = []
    c = metrics.get("classify")
    if c:
        rows += [("classify", "test ROC AUC", _fmt(c["test_auc"]), _reference(ref, "classify", "mlp_auc")),
                 ("classify", "test accuracy", _fmt(c["test_accuracy"]),
                  f"{_fmt(c['baseline_accuracy'])} (majority class)")]
    k = metrics.get("peak")
    if k:
        rows += [("peak", "test ROC AUC, peak vs rest", _fmt(k["test_auc"]),
                  f"{_fmt(k['cut_auc'])} (best cut: {k['cut_variable']}); "
                  + _reference(ref, "peak", "mlp_auc")),
                 ("peak", "test accuracy, 3 regions", _fmt(k["test_accuracy_3class"]),
                  f"{_fmt(k['baseline_accuracy_3class'])} (most common region)")]
    r = metrics.get("regress")
    if r:
        rows += [("regress", "test R²", _fmt(r["test_r2"]), _reference(ref, "regress", "mlp_r2")),
                 ("regress", "test MAE (GeV)", f"{r['test_mae_gev']:.2f}",
                  f"{_reference(ref, 'regress', 'mlp_mae_gev')}; {r['baseline_mae_gev']:.2f} (median)")]
    d = metrics.get("denoise")
    if d:
        rows += [("denoise", "spectrum error, network", _fmt(d["network_error"]),
                  f"raw {_fmt(d['raw_error'])}; likelihood fit {_fmt(d['template_fit_error'])}"),
                 ("denoise", "signal-count error, network", _fmt(d["network_count_error"]),
                  f"raw {_fmt(d['raw_count_error'])}; likelihood fit "
                  f"{_fmt(d['template_fit_count_error'])}"),
                 ("denoise", "signal count within fit's 1σ", _fmt(d["network_within_1sigma"]),
                  f"likelihood fit {_fmt(d['fit_within_1sigma'])} (pulls spread "
                  f"{_fmt(d['fit_pull_std'])}; network {_fmt(d['network_pull_std'])})")]
    return rows


def format_table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    widths = [max(len(str(x)) for x in col) for col in zip(header, *rows, strict=True)]
    line = lambda r: "  ".join(str(x).ljust(w) for x, w in zip(r, widths, strict=True))  # noqa: E731
    return "\n".join([line(header), line(["-" * w for w in widths]), *map(line, rows)])


def run_train(args: argparse.Namespace, prog: str = "graphgrad-demo") -> int:
    """Train into a staging folder (a copy of the previous report) and swap it in for ``--out``
    at the end; on any error or Ctrl-C the staging folder goes and ``--out`` stays as it was."""
    from . import report

    out = Path(args.out)
    try:
        stage = staging.begin(out)
    except OSError as e:
        print(f"{prog}: error: cannot prepare the report folder {out}: {e}", file=sys.stderr)
        return parallel.agree(2)
    # keep other tasks' entries from an earlier run into the same folder (their checkpoints stay)
    try:
        doc = report.read_json(stage / "metrics.json") if (stage / "metrics.json").exists() else {}
        if not isinstance(doc, dict):
            raise ValueError("it is not a JSON object")
    except ValueError as e:
        staging.abandon(stage)
        print(f"{prog}: error: {out}/metrics.json is unreadable: {e}", file=sys.stderr)
        return parallel.agree(2)
    parallel.agree(0)  # the other ranks wait for this before training
    try:
        written = _train_into(stage, doc, args)
        staging.commit(stage, out)
    except BaseException:
        staging.abandon(stage)
        raise
    files, checkpoints, seconds = written
    all_metrics = {k: v["metrics"] for k, v in doc["tasks"].items()}
    print()
    ref_file = out / "reference_sklearn.json"
    ref = report.read_json(ref_file) if ref_file.is_file() else None
    print(format_table(("task", "metric", "measured", "reference"), summary_rows(all_metrics, ref)))
    print(f"\nwrote {files} files and {checkpoints} checkpoints into {out}/ in {seconds:.1f} s; "
          f"check them with: {prog} evaluate --out {out}")
    return 0


def _train_into(out: Path | None, doc: dict, args: argparse.Namespace):
    """Train the chosen tasks, write their checkpoints, plots and ``doc`` into ``out``
    (ranks other than 0 pass None: they train alongside and write nothing; return 0)."""
    from . import report
    from .tasks import TASKS

    start = time.perf_counter()
    tasks = _chosen(args.tasks)
    overrides = {k: v for k, v in (("epochs", args.epochs), ("batch_size", args.batch_size),
                                   ("lr", args.lr), ("weight_decay", args.weight_decay),
                                   ("optimizer", args.optimizer), ("dropout", args.dropout))
                 if v is not None}
    if not args.batchnorm:
        overrides["batchnorm"] = False
    if args.device != "cpu":
        overrides["device"] = args.device
    doc.setdefault("tasks", {})
    results = []
    for name in tasks:
        if out is None:  # another rank than 0: the same training, quietly
            TASKS[name](seed=args.seed, verbose=False, **overrides)
            continue
        print(f"== {name} ==", flush=True)
        result = TASKS[name](seed=args.seed, verbose=not args.quiet, **overrides)
        results.append(result)
        report.save_checkpoint(result, out)
        doc["tasks"][name] = {"metrics": result.metrics, "history": result.history.as_dict(),
                              "config": {k: v for k, v in result.config.items()
                                         if k not in ("x_mean", "x_std", "y_mean")}}
        print(f"   {name}: " + ", ".join(f"{k} {_fmt(v)}" for k, v in result.metrics.items()
                                         if k.startswith(("test", "network", "raw", "template"))),
              flush=True)

    if out is None:
        return 0
    doc["ranks"] = dist.get_world_size()
    files = [report.plot_losses(results, out / "loss_curves.png")]
    for r in results:
        if r.name == "peak":
            files.append(report.plot_roc(r, out / "peak_roc_curve.png"))
        elif r.name == "classify":
            files.append(report.plot_roc(r, out / "roc_curve.png"))
            if not args.no_graph:
                files.append(_draw_graph(r, out / "classifier_graph.svg"))
        elif r.name == "regress":
            files.append(report.plot_mass(r, out / "mass_regression.png"))
        else:
            files.append(report.plot_spectrum(r, out / "denoised_spectrum.png"))
    doc["seed"] = args.seed
    doc["data"] = {"zmumu": "CMS open data (2010, runs 148029/148031) via scikit-hep-testdata "
                            "0.3.12, BSD-3-Clause",
                   "dayabay": "Daya Bay full data release, dayabay-data-official, CC BY 4.0"}
    files.append(report.write_json(out / "metrics.json", doc))
    return len(files), len(results), time.perf_counter() - start


def _draw_graph(result, path: Path) -> Path:
    from . import report
    from .tasks import scale_inputs, zmumu_arrays

    x, y, (train, _, _) = zmumu_arrays("signal")
    rows = train[:8]  # a small batch keeps the values in the picture readable
    return report.draw_classifier_graph(result, scale_inputs(x[rows], result.config), y[rows, None], path)


def run_evaluate(args: argparse.Namespace) -> int:
    from . import report
    from .tasks import test_metrics

    out = Path(args.out)
    doc = report.read_json(out / "metrics.json")
    tasks = [t for t in _chosen(args.tasks) if t in doc.get("tasks", {})]
    if not tasks:
        print(f"error: {out}/metrics.json holds none of the tasks {_chosen(args.tasks)}",
              file=sys.stderr)
        return 2
    rows, mismatches = [], 0
    for name in tasks:
        model, config = report.load_checkpoint(out, name)
        fresh = test_metrics(model, config)
        saved = doc["tasks"][name]["metrics"]
        for key, value in fresh.items():
            old = saved.get(key)
            same = old is not None and np.isclose(value, old, rtol=1e-9, atol=1e-12)
            mismatches += not same
            rows.append((name, key, _fmt(old), _fmt(value), "yes" if same else "NO"))
    print(format_table(("task", "metric", "at training", "re-evaluated", "same"), rows))
    if mismatches:
        print(f"\n{mismatches} metrics differ from metrics.json", file=sys.stderr)
        return 1
    print(f"\nall {len(rows)} test metrics reproduced from the checkpoints in "
          f"{out}/checkpoints")
    return 0


def main(argv: Sequence[str] | None = None, prog: str = "graphgrad-demo") -> int:
    """Entry point of the `graphgrad-demo` script and of `python -m graphgrad_physics`
    (``prog`` is the name the help and the messages give the command)."""
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["lessons"]:  # its own options: graphgrad_physics.lessons
        if dist.launcher_world_size() > 1:  # (read from mpiexec's environment: MPI is not started)
            if os.environ.get("PMI_RANK", os.environ.get("OMPI_COMM_WORLD_RANK", "0")) == "0":
                print(f"{prog} lessons: error: runs as one process; start it without mpiexec", file=sys.stderr)
            return 2
        from .lessons import main as lessons

        return lessons(argv[1:], f"{prog} lessons")
    if not argv or argv[0] not in ("train", "evaluate", "-h", "--help"):
        argv.insert(0, "train")  # training is the default command
    args = build_parser(prog).parse_args(argv)
    reading = args.command == "evaluate"
    if not reading and args.device != "cpu":
        try:  # before anything is trained: a GPU that isn't there is one line, exit code 2
            autograd.tensor(0.0, device=args.device)
        except RuntimeError as e:
            print(f"{prog}: error: --device {args.device}: {e}", file=sys.stderr)
            return 2
    try:
        dist.init()  # under mpiexec: this rank joins the others (alone: nothing happens)
    except RuntimeError as e:
        print(f"{prog}: error: {e}", file=sys.stderr)
        return 2
    main_rank = parallel.is_main()  # rank 0 checks, prints and writes; every rank trains
    problem = staging.check_folder(args.out, reading, f"train first: {prog} --out {args.out}") if main_rank else None
    if parallel.agree(problem):
        if main_rank:
            print(f"{prog}: error: --out: {problem}", file=sys.stderr)
        return 2
    if reading:
        return run_evaluate(args) if main_rank else 0
    try:
        if main_rank:
            return run_train(args, prog)
        code = parallel.agree(None)  # rank 0's: 0 once its staging folder is ready
        return code if code else _train_into(None, {}, args)
    except KeyboardInterrupt:
        if main_rank:
            print(f"\n{prog}: interrupted; {args.out} is as it was before this run", file=sys.stderr)
        if dist.get_world_size() > 1:  # the other ranks may wait for this one: end the job
            if not main_rank:
                time.sleep(2)  # rank 0 (interrupted too) puts the report folder back and aborts first
            dist.abort(130, f"{prog}: rank {dist.get_rank()} interrupted; ending the job")
        return 130
