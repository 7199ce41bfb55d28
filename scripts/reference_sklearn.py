"""Reference models for the Z->mumu tasks, trained with scikit-learn on the same inputs and the
same split by event as graphgrad's networks, so that the demo's comparisons are reproduced here
rather than copied from somewhere.

    python scripts/reference_sklearn.py [--out report/reference_sklearn.json] [--tasks peak ...]
                                        [--seeds 3]

- ``peak``: Z peak against continuum without Δφ (graphgrad_physics.classify_peak): an MLP
  (64, 64) on the three mass regions and a gradient-boosted tree model; test AUC of the peak.
- ``classify``: the mass-window label from the full pair kinematics: MLP test AUC.
- ``regress``: the pair mass: MLP on standardised log M; test R² and MAE in GeV.

Writes a JSON file and prints a table beside graphgrad's numbers when ``<out folder>/metrics.json``
exists (what ``make demo`` wrote). scikit-learn is optional (``pip install scikit-learn``):
without it the script says so, writes ``{"skipped": reason}`` and exits 0.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

TASKS = ("peak", "classify", "regress")


def _mlp_options(seed: int, max_iter: int = 300) -> dict:
    # the demo's network shape; Adam at 1e-2 with sklearn's L2 (alpha 1e-4), fixed iterations
    return dict(hidden_layer_sizes=(64, 64), learning_rate_init=1e-2, alpha=1e-4, batch_size=64,
                max_iter=max_iter, random_state=seed)


def reference_peak(seeds, max_iter: int = 300) -> dict:
    from sklearn.ensemble import HistGradientBoostingClassifier
    from sklearn.neural_network import MLPClassifier
    from sklearn.preprocessing import StandardScaler

    from graphgrad_physics import metrics as M
    from graphgrad_physics.classify_peak import peak_arrays

    x, region, _, (train, _, test) = peak_arrays()
    y = (region[test] == 1).astype(np.float64)
    scale = StandardScaler().fit(x[train])
    mlp = []
    for seed in seeds:
        clf = MLPClassifier(**_mlp_options(seed, max_iter)).fit(scale.transform(x[train]), region[train])
        mlp.append(M.roc_auc(y, clf.predict_proba(scale.transform(x[test]))[:, 1]))
    from threadpoolctl import threadpool_limits  # comes with scikit-learn

    # one OpenMP thread: on a shared 2-core machine more made the fit 25x slower
    with threadpool_limits(1):
        gbt = HistGradientBoostingClassifier(random_state=0).fit(x[train], region[train])
    return {"mlp_auc": mlp, "gbt_auc": M.roc_auc(y, gbt.predict_proba(x[test])[:, 1])}


def reference_classify(seeds) -> dict:
    from sklearn.neural_network import MLPClassifier
    from sklearn.preprocessing import StandardScaler

    from graphgrad_physics import metrics as M
    from graphgrad_physics.tasks import zmumu_arrays

    x, y, (train, _, test) = zmumu_arrays("signal")
    scale = StandardScaler().fit(x[train])
    auc = []
    for seed in seeds:
        clf = MLPClassifier(**_mlp_options(seed)).fit(scale.transform(x[train]), y[train])
        auc.append(M.roc_auc(y[test], clf.predict_proba(scale.transform(x[test]))[:, 1]))
    return {"mlp_auc": auc}


def reference_regress(seeds) -> dict:
    from sklearn.neural_network import MLPRegressor
    from sklearn.preprocessing import StandardScaler

    from graphgrad_physics import metrics as M
    from graphgrad_physics.tasks import zmumu_arrays

    x, m, (train, _, test) = zmumu_arrays("mass")
    scale = StandardScaler().fit(x[train])
    log_m = np.log(m)
    mu, sd = log_m[train].mean(), log_m[train].std()
    r2, mae = [], []
    for seed in seeds:
        reg = MLPRegressor(**_mlp_options(seed)).fit(scale.transform(x[train]), (log_m[train] - mu) / sd)
        pred = np.exp(reg.predict(scale.transform(x[test])) * sd + mu)
        r2.append(M.r2_score(m[test], pred))
        mae.append(M.mean_absolute_error(m[test], pred))
    return {"mlp_r2": r2, "mlp_mae_gev": mae}


def _spread(values) -> str:
    v = np.atleast_1d(values)
    return f"{v.mean():.4f}" if v.size == 1 else f"{v.mean():.4f} ({v.min():.4f}–{v.max():.4f})"


def table(ref: dict, ours: dict) -> list[tuple[str, str, str, str]]:
    """(task, metric, graphgrad, scikit-learn) rows; graphgrad's from a metrics.json's tasks."""
    def got(task, key):
        value = ours.get(task, {}).get("metrics", {}).get(key)
        return "-" if value is None else f"{value:.4f}"

    rows = []
    if "peak" in ref:
        rows += [("peak", "test AUC, MLP", got("peak", "test_auc"), _spread(ref["peak"]["mlp_auc"])),
                 ("peak", "test AUC, boosted trees", "", _spread(ref["peak"]["gbt_auc"]))]
    if "classify" in ref:
        rows.append(("classify", "test AUC, MLP", got("classify", "test_auc"),
                     _spread(ref["classify"]["mlp_auc"])))
    if "regress" in ref:
        rows += [("regress", "test R², MLP", got("regress", "test_r2"), _spread(ref["regress"]["mlp_r2"])),
                 ("regress", "test MAE (GeV), MLP", got("regress", "test_mae_gev"),
                  _spread(ref["regress"]["mlp_mae_gev"]))]
    return rows


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--out", default="report/reference_sklearn.json", help="JSON file to write")
    p.add_argument("--tasks", nargs="+", choices=TASKS, default=list(TASKS))
    p.add_argument("--seeds", type=int, default=3, help="MLP seeds 0..N-1 (default 3)")
    args = p.parse_args(argv)
    out = Path(args.out)
    try:
        import sklearn
    except ImportError:
        reason = "scikit-learn is not installed (pip install scikit-learn)"
        print(f"reference_sklearn: skipped: {reason}")
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(json.dumps({"skipped": reason}) + "\n")
        return 0
    start = time.perf_counter()
    seeds = list(range(args.seeds))
    ref = {"sklearn_version": sklearn.__version__, "seeds": seeds}
    makers = {"peak": reference_peak, "classify": reference_classify, "regress": reference_regress}
    for task in args.tasks:
        ref[task] = makers[task](seeds)
    ref["seconds"] = time.perf_counter() - start
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(ref, indent=2) + "\n")
    metrics = out.parent / "metrics.json"
    ours = json.loads(metrics.read_text()).get("tasks", {}) if metrics.exists() else {}
    rows = table(ref, ours)
    widths = [max(len(r[i]) for r in rows + [("task", "metric", "graphgrad", "scikit-learn")])
              for i in range(4)]
    for r in [("task", "metric", "graphgrad", "scikit-learn"), *rows]:
        print("  ".join(c.ljust(w) for c, w in zip(r, widths)))
    print(f"\nscikit-learn {sklearn.__version__}, seeds {seeds}, {ref['seconds']:.1f} s; wrote {out}")
    return 0


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # run from a checkout
    sys.exit(main())
