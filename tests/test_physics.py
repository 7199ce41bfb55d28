"""The demo application (graphgrad_physics): metrics, the template fit, the Z->mumu inputs, each
task beating a trivial baseline after a few epochs, the command line end to end (its report
folder swapped in whole, its refusals of a bad --out), and checkpoint reloading.

Loaders and the event split are tested in test_datasets.py; the docstring examples run with
the suite (pytest's --doctest-modules over graphgrad_physics/, see pyproject.toml)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import autograd
from graphgrad_physics import cli, kinematics, metrics, report, spectra, staging, tasks
from graphgrad_physics.data import load_dayabay, load_zmumu


@pytest.fixture(scope="module")
def templates():
    return spectra.templates(load_dayabay())


# ---------------------------------------------------------------- metrics
def test_roc_auc_limits_and_ties():
    y = np.array([0, 0, 1, 1, 1])
    assert metrics.roc_auc(y, [0.1, 0.2, 0.3, 0.4, 0.5]) == 1.0
    assert metrics.roc_auc(y, [0.5, 0.4, 0.3, 0.2, 0.1]) == 0.0
    assert metrics.roc_auc(y, np.zeros(5)) == 0.5  # one tie: the diagonal
    # the AUC is the probability that a random signal outscores a random background
    rng = np.random.default_rng(0)
    t = rng.integers(0, 2, 400)
    s = np.round(rng.normal(size=400) + t, 1)
    pos, neg = s[t == 1], s[t == 0]
    pairwise = np.mean((pos[:, None] > neg) + 0.5 * (pos[:, None] == neg))
    assert metrics.roc_auc(t, s) == pytest.approx(pairwise, abs=1e-12)


def test_metric_errors_are_clear():
    with pytest.raises(ValueError, match="needs both classes"):
        metrics.roc_auc([1, 1], [0.2, 0.3])
    with pytest.raises(ValueError, match="differ in length"):
        metrics.r2_score([1.0, 2.0], [1.0])
    with pytest.raises(ValueError, match="NaN"):
        metrics.mean_absolute_error([1.0], [np.nan])


def test_r2_and_mae():
    t = np.array([1.0, 2.0, 3.0, 4.0])
    assert metrics.r2_score(t, np.full(4, t.mean())) == 0.0
    assert metrics.mean_absolute_error(t, t + 0.5) == 0.5


# ---------------------------------------------------------------- Daya Bay synthesis and fit
def test_template_fit_is_exact_without_fluctuations(templates):
    s = spectra.synthesize(templates, 20, np.random.default_rng(3))
    exact = spectra.Spectra(s.signal + s.background, s.signal, s.background, s.source,
                            s.exposure_days, s.sources)
    fit, subtracted = spectra.template_fit(exact, templates)
    np.testing.assert_allclose(fit, s.signal, rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(subtracted, s.signal, rtol=1e-6, atol=1e-6)


def test_synthesis_follows_the_measured_rates(templates):
    s = spectra.synthesize(templates, 3000, np.random.default_rng(0))
    # backgrounds vary around the measured rates (median factor 1), the signal dominates
    measured = np.einsum("nb,n->n", templates.rates[s.source], s.exposure_days)
    ratio = s.background.sum(1) / measured
    assert 0.8 < np.median(ratio) < 1.25 and ratio.std() > 0.2
    assert np.all(s.background.sum(1) < 0.3 * s.signal.sum(1))
    lo, hi = spectra.EXPOSURE_DAYS
    assert s.exposure_days.min() >= lo and s.exposure_days.max() <= hi
    # Poisson counts: mean matches the expectation to within its error
    total_obs, total_exp = s.observed.sum(), (s.signal + s.background).sum()
    assert abs(total_obs - total_exp) < 5 * np.sqrt(total_exp)


# ---------------------------------------------------------------- Z->mumu inputs
def test_pair_features_carry_the_mass_without_m_or_e():
    data = load_zmumu()
    x = kinematics.pair_features(data)
    pt1, pt2, deta, dphi = np.exp(x[:, 0]), np.exp(x[:, 1]), x[:, 2], x[:, 3]
    mass = np.sqrt(2 * pt1 * pt2 * (np.cosh(deta) - np.cos(dphi)))  # massless muons
    np.testing.assert_allclose(mass, data["M"], rtol=1e-3, atol=0.1)  # mu mass: 0.106 GeV
    # changing M and E changes nothing the network sees
    cols = dict(data.columns)
    for name in ("M", "E1", "E2"):
        cols[name] = cols[name] * 0 + 1.0
    np.testing.assert_array_equal(kinematics.pair_features(type(data)(cols, data.provenance)), x)


# ---------------------------------------------------------------- each task beats a baseline
def test_classifier_beats_the_majority_class():
    r = tasks.train_classifier(epochs=15, seed=1, verbose=False)
    assert r.metrics["test_auc"] > 0.95
    assert r.metrics["test_accuracy"] > r.metrics["baseline_accuracy"] + 0.1
    assert 1 <= r.history.best_epoch <= 15 and not r.model.training


def test_regressor_beats_the_median():
    r = tasks.train_regressor(epochs=8, seed=1, verbose=False)
    assert r.metrics["test_r2"] > 0.8
    assert r.metrics["test_mae_gev"] < r.metrics["baseline_mae_gev"] / 3


def test_denoiser_beats_the_raw_spectrum():
    r = tasks.train_denoiser(epochs=4, seed=1, verbose=False)
    assert r.metrics["network_error"] < 0.5 * r.metrics["raw_error"]
    assert r.metrics["template_fit_error"] < r.metrics["raw_error"]


def test_the_best_epoch_is_the_model_returned():
    r = tasks.train_regressor(epochs=30, patience=4, seed=0, verbose=False)
    x, m, (_, val, _) = tasks.zmumu_arrays("mass")
    c = r.config
    pred = np.exp(tasks.predict(r.model, tasks.scale_inputs(x[val], c))[:, 0] * c["y_std"] + c["y_mean"])
    assert metrics.r2_score(m[val], pred) == r.history.best_val
    assert len(r.history.epochs) - r.history.best_epoch <= 4


def test_same_seed_same_numbers():
    a = tasks.train_classifier(epochs=2, seed=5, verbose=False)
    b = tasks.train_classifier(epochs=2, seed=5, verbose=False)
    c = tasks.train_classifier(epochs=2, seed=6, verbose=False)
    assert a.metrics["test_auc"] == b.metrics["test_auc"]
    assert [e["loss"] for e in a.history.epochs] == [e["loss"] for e in b.history.epochs]
    assert [e["loss"] for e in a.history.epochs] != [e["loss"] for e in c.history.epochs]


def test_training_rejects_bad_settings():
    with pytest.raises(ValueError, match="classify: epochs must be at least 1"):
        tasks.train_classifier(epochs=0, verbose=False)


# ---------------------------------------------------------------- the command line
@pytest.fixture(scope="module")
def report_dir(tmp_path_factory):
    out = tmp_path_factory.mktemp("report")
    assert cli.main(["--out", str(out), "--epochs", "2", "--quiet", "--seed", "3"]) == 0
    return out


def test_cli_writes_the_report(report_dir):
    for name in ("metrics.json", "loss_curves.png", "roc_curve.png", "peak_roc_curve.png", "mass_regression.png",
                 "denoised_spectrum.png", "classifier_graph.svg"):
        assert (report_dir / name).stat().st_size > 0, name
    for task in cli.TASK_NAMES:
        assert (report_dir / "checkpoints" / f"{task}.npz").exists()
        assert (report_dir / "checkpoints" / f"{task}.json").exists()
    doc = json.loads((report_dir / "metrics.json").read_text())
    assert doc["seed"] == 3 and set(doc["tasks"]) == set(cli.TASK_NAMES)
    assert len(doc["tasks"]["classify"]["history"]["epochs"]) == 2
    svg = (report_dir / "classifier_graph.svg").read_text()
    assert "0.weight" in svg and "grad" in svg
    # the staging folder was swapped in: nothing of it is left beside the report
    assert [p.name for p in report_dir.parent.glob(f".{report_dir.name}.*")] == []


def test_reloaded_checkpoints_reproduce_the_metrics(report_dir, capsys):
    doc = json.loads((report_dir / "metrics.json").read_text())
    for task in cli.TASK_NAMES:
        model, config = report.load_checkpoint(report_dir, task)
        fresh = tasks.test_metrics(model, config)
        saved = doc["tasks"][task]["metrics"]
        assert {k: saved[k] for k in fresh} == fresh
    assert cli.main(["evaluate", "--out", str(report_dir)]) == 0
    assert "all 24 test metrics reproduced" in capsys.readouterr().out


def test_evaluate_notices_a_changed_metric(report_dir, tmp_path, capsys):
    copy = tmp_path / "copy"
    shutil.copytree(report_dir, copy)
    doc = json.loads((copy / "metrics.json").read_text())
    doc["tasks"]["regress"]["metrics"]["test_r2"] += 0.01
    (copy / "metrics.json").write_text(json.dumps(doc))
    assert cli.main(["evaluate", "--out", str(copy), "--task", "regress"]) == 1
    assert "differ" in capsys.readouterr().err


def test_evaluate_without_a_report_says_what_to_run(tmp_path, capsys):
    assert cli.main(["evaluate", "--out", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert "holds no report" in err and f"train first: graphgrad-demo --out {tmp_path}" in err


# ---------------------------------------------------------------- the report folder, whole or not at all
def files_of(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.fixture
def no_training(monkeypatch):
    """Any task that starts training fails the test."""
    def refuse(**_):
        raise AssertionError("training started")

    for name in cli.TASK_NAMES:
        monkeypatch.setitem(tasks.TASKS, name, refuse)


@pytest.fixture
def unwritable(monkeypatch):
    """Make folders unwritable: chmod 0o555, and os.access says so also to root (who may write
    anyway, so the chmod alone would not show the check works)."""
    locked, real_access = [], os.access

    def access(path, mode, **kw):
        if mode & os.W_OK and Path(os.path.realpath(path)) in locked:
            return False
        return real_access(path, mode, **kw)

    monkeypatch.setattr(os, "access", access)

    def lock(folder: Path) -> Path:
        folder.mkdir(exist_ok=True)
        folder.chmod(0o555)
        locked.append(Path(os.path.realpath(folder)))
        return folder

    yield lock
    for folder in locked:
        folder.chmod(0o755)


@pytest.mark.parametrize("case, message", [
    ("file", "is a file, not a folder"),
    ("empty", "the path is empty"),
    ("unwritable parent", "is not writable"),
    ("unwritable report", "is not writable"),
    ("under a file", "is a file, not a folder"),
    ("not a report", "holds files but no report"),
    ("evaluate missing", "does not exist; train first: graphgrad-demo --out"),
    ("evaluate file", "is a file, not a report folder"),
])
def test_a_bad_out_is_one_line_and_exit_2_before_training(case, message, report_dir, tmp_path,
                                                           capsys, no_training, unwritable):
    (tmp_path / "a.txt").write_text("not a folder")
    if case == "unwritable parent":
        out = unwritable(tmp_path / "locked") / "report"
    elif case == "unwritable report":
        out = tmp_path / "report"
        shutil.copytree(report_dir, out)
        unwritable(out)
    else:
        out = {"file": tmp_path / "a.txt", "empty": "", "under a file": tmp_path / "a.txt" / "report",
               "not a report": tmp_path, "evaluate missing": tmp_path / "missing",
               "evaluate file": tmp_path / "a.txt"}[case]
    before = files_of(tmp_path)
    argv = ["evaluate", "--out", str(out)] if case.startswith("evaluate") else ["--out", str(out), "--quiet"]
    assert cli.main(argv) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("graphgrad-demo: error: --out: ") and message in err
    assert files_of(tmp_path) == before and not list(tmp_path.rglob(".*staging*"))


@pytest.mark.parametrize("interruption", [KeyboardInterrupt, RuntimeError])
def test_an_interrupted_run_leaves_the_previous_report(interruption, report_dir, tmp_path,
                                                        monkeypatch, capsys):
    out = tmp_path / "report"
    shutil.copytree(report_dir, out)
    before = files_of(out)

    def interrupted(**_):
        raise interruption("stop")

    monkeypatch.setitem(tasks.TASKS, "regress", interrupted)
    argv = ["--out", str(out), "--task", "classify", "regress", "--epochs", "1", "--quiet",
            "--no-graph", "--seed", "9"]
    if interruption is KeyboardInterrupt:  # Ctrl-C: a message, exit code 130, no traceback
        assert cli.main(argv) == 130
        assert "is as it was before this run" in capsys.readouterr().err
    else:
        with pytest.raises(RuntimeError, match="stop"):
            cli.main(argv)
    # classify had finished and written its checkpoint, but only into the staging folder
    assert files_of(out) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["report"]


def test_a_run_of_some_tasks_keeps_the_others(report_dir, tmp_path, capsys):
    out = tmp_path / "report"
    shutil.copytree(report_dir, out)
    before = files_of(out)
    assert cli.main(["--out", str(out), "--task", "classify", "--epochs", "1", "--quiet",
                     "--no-graph", "--seed", "9"]) == 0
    after = files_of(out)
    assert after["checkpoints/classify.npz"] != before["checkpoints/classify.npz"]
    for name in ("checkpoints/regress.npz", "checkpoints/denoise.npz", "mass_regression.png"):
        assert after[name] == before[name], name
    doc = json.loads(after["metrics.json"])
    assert doc["seed"] == 9 and set(doc["tasks"]) == set(cli.TASK_NAMES)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["report"]
    assert cli.main(["evaluate", "--out", str(out)]) == 0


def test_a_killed_runs_leftovers_are_cleaned_up(tmp_path):
    out = tmp_path / "report"
    # killed between the two renames of the swap: the previous report was moved aside
    (tmp_path / ".report.previous-1234abcd").mkdir()
    (tmp_path / ".report.previous-1234abcd" / "metrics.json").write_text("{}")
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True).stdout.strip()
    (tmp_path / f".report.staging-{dead}-00000000").mkdir()  # its process is gone
    live = tmp_path / f".report.staging-{os.getpid()}-11111111"  # a run still going
    live.mkdir()
    stage = staging.begin(out)
    assert (stage / "metrics.json").read_text() == "{}" and (out / "metrics.json").exists()
    staging.abandon(stage)
    assert sorted(p.name for p in tmp_path.iterdir()) == [live.name, "report"]


def test_the_app_says_how_to_install_what_it_needs():
    code = "import sys; sys.modules['tqdm'] = None; import graphgrad_physics"
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert run.returncode == 1
    assert "needs tqdm, which is not installed: pip install 'graphgrad[demo]'" in run.stderr


def test_the_library_never_imports_the_app():
    code = "import sys, autograd, nn, nn.data; print(sorted(m for m in sys.modules if 'physics' in m))"
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert run.stdout.strip() == "[]"


@pytest.mark.parametrize("argv, message", [
    (["--epochs", "0"], "--epochs: must be at least 1"),
    (["--batch-size", "1"], "--batch-size: must be at least 2"),
    (["--lr", "-0.1"], "--lr: must be a positive finite number"),
    (["--lr", "fast"], "--lr: expected a number"),
    (["--task", "unfold"], "invalid choice: 'unfold'"),
])
def test_bad_options_are_explained(argv, message, capsys):
    with pytest.raises(SystemExit) as e:
        cli.main(argv)
    assert e.value.code == 2
    assert message in capsys.readouterr().err


def test_help_lists_the_commands_under_the_scripts_name(capsys):
    with pytest.raises(SystemExit) as e:
        cli.main(["--help"])
    assert e.value.code == 0
    out = capsys.readouterr().out
    assert out.startswith("usage: graphgrad-demo ") and "graphgrad-demo evaluate --out" in out
    assert "evaluate" in out and "classify" in out
    run = subprocess.run([sys.executable, "-m", "graphgrad_physics", "--help"], capture_output=True,
                         text=True, check=True)
    assert run.stdout.startswith("usage: python -m graphgrad_physics ")


def test_graph_drawing_leaves_the_model_unchanged(report_dir, tmp_path):
    model, config = report.load_checkpoint(report_dir, "classify")
    before = {k: np.array(getattr(v, "data", v)) for k, v in model.state_dict().items()}
    r = tasks.TaskResult("classify", model, {}, tasks.History("AUC"), config)
    x = autograd.random.generator().normal(size=(4, config["n_in"]))
    report.draw_classifier_graph(r, x, np.array([[1.0], [0.0], [1.0], [0.0]]),
                                 tmp_path / "g.svg")
    after = model.state_dict()
    for k, v in before.items():
        np.testing.assert_array_equal(np.asarray(getattr(after[k], "data", after[k])), v)
    assert all(p.grad is None for p in model.parameters())
