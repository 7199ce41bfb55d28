"""The note's lessons as a command (graphgrad_physics.lessons, `graphgrad-demo lessons`) and
Adam as the note writes it (issue 15, part 1). Miniature runs: a few epochs, two seeds."""

from __future__ import annotations

import json

import numpy as np
import pytest

import autograd
import nn
from graphgrad_physics import cli, lessons


def test_adam_without_bias_correction_is_the_notes_formula():
    rng = np.random.default_rng(0)
    w0 = rng.normal(size=5)
    w = nn.Parameter(autograd.tensor(w0.copy(), dtype="float64"))
    opt = nn.optim.Adam([w], lr=0.01, betas=(0.9, 0.999), eps=1e-8, bias_correction=False)
    ref, m, v = w0.copy(), np.zeros(5), np.zeros(5)
    for _ in range(5):
        g = rng.normal(size=5)
        w.grad = autograd.tensor(g, dtype="float64")
        opt.step()
        m = 0.9 * m + 0.1 * g
        v = 0.999 * v + 0.001 * g * g
        ref -= 0.01 * m / (np.sqrt(v) + 1e-8)  # the note: no 1/(1 - beta^t)
    np.testing.assert_allclose(w.data, ref, rtol=1e-12, atol=1e-15)
    # bias-corrected Adam's first step is lr per coordinate; the note's is lr (1-b1)/sqrt(1-b2)
    first = {}
    for corrected in (True, False):
        p = nn.Parameter(autograd.tensor([0.0], dtype="float64"))
        p.grad = autograd.tensor([2.0], dtype="float64")
        nn.optim.Adam([p], lr=0.01, bias_correction=corrected).step()
        first[corrected] = -p.item()
    assert first[True] == pytest.approx(0.01)
    assert first[False] == pytest.approx(0.01 * 0.1 / np.sqrt(0.001))
    # the default stays PyTorch's: the option is not among the defaults
    assert "bias_correction" not in nn.optim.Adam([w]).defaults


def test_epochs_to_and_seed_statistics():
    assert lessons.epochs_to([0.3, 0.09, 0.2], 0.1) == 2
    assert lessons.epochs_to([0.3], 0.1) is None
    s = lessons._stats([1.0, None, 3.0])
    assert (s["mean"], s["min"], s["max"], s["n"]) == (2.0, 1.0, 3.0, 2)
    assert lessons._reached(s, 3) == "2.0 (1–3), 1 of 3 never"


@pytest.fixture(scope="module")
def mini():
    return lessons.run_lessons(seeds=(0, 1), epochs=3, small_epochs=4, learning_rates=(1e-4, 1e-2, 1.0),
                               progress=lambda *_: None)


def test_every_lesson_over_every_seed(mini):
    les = mini["lessons"]
    assert set(les) == {"learning_rate", "batchnorm", "regularization", "optimizers"}
    assert set(les["learning_rate"]) == {"0.0001", "0.01", "1"}
    assert set(les["batchnorm"]) == {"0.01", "1"}
    assert set(les["regularization"]["configs"]) == {"none", "weight decay", "dropout", "both"}
    assert set(les["optimizers"]["configs"]) == {"adam, bias-corrected", "adam as the note writes it",
                                                 "sgd, momentum 0.9"}
    for s in les["learning_rate"].values():
        assert len(s["curves"]["val_loss"]) == 2 and s["final_val_loss"]["n"] == 2
    # the small share overfits: far fewer training rows than the full set
    assert les["regularization"]["n_train"] < mini["n_train"] / 5


def test_the_smallest_learning_rate_crawls(mini):
    lr = mini["lessons"]["learning_rate"]
    slow, good = lr["0.0001"]["final_val_loss"]["values"], lr["0.01"]["final_val_loss"]["values"]
    assert all(s > 2 * g for s, g in zip(slow, good))


def test_the_table(mini):
    rows = lessons.table_rows(mini)
    assert len(rows) == 3 + 4 + 4 + 3
    assert rows[0][:2] == ("learning rate", "adam lr 0.0001")
    text = lessons.format_table(mini)
    assert "epochs to val loss 0.1" in text and "(" in text  # a spread over the seeds


def test_the_lessons_subcommand(tmp_path, capsys):
    out = tmp_path / "lessons"
    assert cli.main(["lessons", "--out", str(out), "--seeds", "1", "--epochs", "1",
                     "--small-epochs", "1", "--quiet"]) == 0
    doc = json.loads((out / "lessons.json").read_text())
    assert doc["seeds"] == [0] and len(doc["lessons"]["learning_rate"]) == 5
    pictures = sorted(p.name for p in out.glob("*.png"))
    assert pictures == ["lessons_batchnorm.png", "lessons_learning_rate.png", "lessons_optimizers.png",
                        "lessons_regularization.png"]
    assert all((out / p).stat().st_size > 10_000 for p in pictures)
    printed = capsys.readouterr().out
    assert "regularization" in printed and "adam as the note writes it" in printed
    (tmp_path / "file").write_text("x")
    assert cli.main(["lessons", "--out", str(tmp_path / "file"), "--quiet"]) == 2
