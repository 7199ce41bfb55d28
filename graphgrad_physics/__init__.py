"""The demo application: the note's networks on real particle-physics data, built on graphgrad's
`autograd` and `nn` the way any user would build on them (nothing in the library imports it).

- `train_classifier`: Z-peak dimuon pairs against off-peak pairs (CMS open data).
- `train_regressor`: the pair's invariant mass from the muons' kinematics.
- `train_denoiser`: background-free Daya Bay antineutrino spectra, beside a template fit.

Each returns a `TaskResult` (model, test metrics, history, config). `python -m graphgrad_physics`
(or the `graphgrad-demo` script) runs them and writes a report folder; see
:mod:`graphgrad_physics.cli`. Its extra needs (progress bars, plots, the Daya Bay data) come with
``pip install 'graphgrad[demo]'``.
"""

import importlib.util


def _check_demo_extra() -> None:
    # find_spec only looks the packages up (importing matplotlib here would slow every start)
    missing = [name for name in ("tqdm", "matplotlib") if importlib.util.find_spec(name) is None]
    if missing:
        raise ModuleNotFoundError(
            f"graphgrad_physics (the demo application) needs {' and '.join(missing)}, which "
            f"{'is' if len(missing) == 1 else 'are'} not installed: pip install 'graphgrad[demo]'",
            name=missing[0],
        )


_check_demo_extra()

from .tasks import TASKS, TaskResult, test_metrics, train_classifier, train_denoiser, train_regressor  # noqa: E402

__all__ = ["TASKS", "TaskResult", "test_metrics", "train_classifier", "train_denoiser",
           "train_regressor"]
