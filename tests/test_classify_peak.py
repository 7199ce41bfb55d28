"""The honest classification task (graphgrad_physics.classify_peak), the reference script
scripts/reference_sklearn.py, and the training options the command line passes on (issue 15,
parts 4 and 6)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from graphgrad_physics import classify_peak, cli, metrics
from graphgrad_physics.data import load_zmumu
from graphgrad_physics.training import mlp

ROOT = Path(__file__).resolve().parent.parent


def test_the_inputs_cannot_rebuild_the_mass():
    """Turning muon 2 about the beam changes M (and the mass-window label) but none of the
    inputs: the label is not a function of what the network sees."""
    data = load_zmumu()
    cols = dict(data.columns)
    angle = 0.7
    c, s = np.cos(angle), np.sin(angle)
    cols["px2"], cols["py2"] = c * data["px2"] - s * data["py2"], s * data["px2"] + c * data["py2"]
    turned = type(data)(cols, data.provenance)
    x, cuts = classify_peak.peak_features(data)
    x2, cuts2 = classify_peak.peak_features(turned)
    np.testing.assert_allclose(x2, x, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(cuts2["m_max"], cuts["m_max"], rtol=1e-12)
    # the masses the two tables imply differ, and so do the labels of some pairs
    def mass(d):
        e = lambda i: np.sqrt(d[f"px{i}"] ** 2 + d[f"py{i}"] ** 2 + d[f"pz{i}"] ** 2)  # noqa: E731
        p2 = sum((d[f"{k}1"] + d[f"{k}2"]) ** 2 for k in ("px", "py", "pz"))
        return np.sqrt(np.maximum((e(1) + e(2)) ** 2 - p2, 0))
    m, m2 = mass(data), mass(turned)
    lo, hi = classify_peak.PEAK_GEV
    assert np.mean(((m > lo) & (m < hi)) != ((m2 > lo) & (m2 < hi))) > 0.1
    # and M is never above the largest mass the inputs allow
    assert np.all(data["M"] <= cuts["m_max"] * (1 + 1e-3) + 0.2)


def test_the_best_single_cut_is_chosen_on_the_training_split():
    rng = np.random.default_rng(0)
    y = rng.integers(0, 2, 400).astype(float)
    good = y + rng.normal(0, 1.0, 400)
    variables = {"noise": rng.normal(size=400), "good_reversed": -good}
    cut = classify_peak.best_single_cut(variables, y, np.arange(200), np.arange(200, 400))
    assert cut["variable"] == "good_reversed" and cut["keep"] == "below"
    assert cut["test_auc"] == pytest.approx(metrics.roc_auc(y[200:], good[200:]))


def test_the_network_beats_the_best_cut_without_reaching_1():
    r = classify_peak.train_peak_classifier(epochs=8, seed=0, verbose=False)
    m = r.metrics
    assert m["cut_variable"] == "m_max (above)"  # the physicist's best single variable
    assert m["cut_auc"] + 0.03 < m["test_auc"] < 0.999
    assert m["test_accuracy_3class"] > m["baseline_accuracy_3class"] + 0.05
    assert r.model[-1].out_features == 3 and r.config["classes"] == ["below", "peak", "above"]


def test_peak_score_is_the_log_odds_of_the_peak():
    logits = np.array([[1.0, 2.0, -1.0], [0.0, -3.0, 4.0]])
    p = np.exp(logits) / np.exp(logits).sum(1, keepdims=True)
    np.testing.assert_allclose(classify_peak.peak_score(logits), np.log(p[:, 1] / (1 - p[:, 1])))


def test_the_reference_script_says_why_it_skips(tmp_path):
    code = (f"import sys; sys.modules['sklearn'] = None; sys.path.insert(0, {str(ROOT)!r}); "
            f"sys.argv = ['x', '--out', {str(tmp_path / 'ref.json')!r}]; "
            "import runpy; runpy.run_path('scripts/reference_sklearn.py', run_name='__main__')")
    run = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr
    assert "skipped: scikit-learn is not installed" in run.stdout
    assert "skipped" in json.loads((tmp_path / "ref.json").read_text())


def test_the_reference_script_trains_the_same_task(tmp_path):
    pytest.importorskip("sklearn", reason="scikit-learn is optional (the reference models)")
    sys.path.insert(0, str(ROOT / "scripts"))
    try:
        import reference_sklearn
    finally:
        sys.path.remove(str(ROOT / "scripts"))
    ref = reference_sklearn.reference_peak([0], max_iter=30)  # short: a smoke test
    # on the same inputs and split the reference sits far above the cut and below 1
    assert 0.95 < ref["mlp_auc"][0] < 0.999 and 0.85 < ref["gbt_auc"] < 0.999
    rows = reference_sklearn.table({"peak": ref}, {"peak": {"metrics": {"test_auc": 0.98}}})
    assert rows[0][:3] == ("peak", "test AUC, MLP", "0.9800")


# ---------------------------------------------------------------- training options (part 6)
def test_mlp_without_batchnorm_and_with_dropout():
    names = [type(m).__name__ for m in mlp(4, (8, 8), 2, dropout=0.3, batchnorm=False)]
    assert names == ["Linear", "ReLU", "Dropout", "Linear", "ReLU", "Dropout", "Linear"]
    with pytest.raises(ValueError, match="dropout must be in"):
        mlp(4, (8,), 1, dropout=1.0)


@pytest.mark.parametrize("argv, message", [
    (["--weight-decay", "-1"], "--weight-decay: must be a non-negative finite number"),
    (["--dropout", "1"], "--dropout: must be at least 0 and below 1"),
    (["--optimizer", "lbfgs"], "invalid choice: 'lbfgs'"),
])
def test_bad_training_options_are_explained(argv, message, capsys):
    with pytest.raises(SystemExit) as e:
        cli.main(argv)
    assert e.value.code == 2 and message in capsys.readouterr().err


def test_the_options_reach_the_model_and_its_checkpoint(tmp_path):
    out = tmp_path / "report"
    assert cli.main(["--out", str(out), "--task", "peak", "--epochs", "2", "--quiet", "--no-graph",
                     "--optimizer", "sgd", "--dropout", "0.2", "--no-batchnorm",
                     "--weight-decay", "0"]) == 0
    config = json.loads((out / "checkpoints" / "peak.json").read_text())
    assert (config["optimizer"], config["dropout"], config["batchnorm"], config["weight_decay"]) == (
        "sgd", 0.2, False, 0.0)
    epochs = json.loads((out / "metrics.json").read_text())["tasks"]["peak"]["history"]["epochs"]
    assert all("loss" in e and "val_loss" in e for e in epochs)  # both go on the loss plot
    assert cli.main(["evaluate", "--out", str(out)]) == 0  # rebuilt without BatchNorm, with Dropout
