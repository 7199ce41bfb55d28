"""The main job: the note's networks on real particle-physics data.

- `train_classifier`: Z-peak dimuon pairs against off-peak pairs (CMS open data).
- `train_regressor`: the pair's invariant mass from the muons' kinematics.
- `train_denoiser`: background-free Daya Bay antineutrino spectra, beside a template fit.

Each returns a `TaskResult` (model, test metrics, history, config). `python -m nn.physics`
runs them and writes a report folder; see :mod:`nn.physics.cli`.
"""

from .tasks import TASKS, TaskResult, test_metrics, train_classifier, train_denoiser, train_regressor

__all__ = ["TASKS", "TaskResult", "test_metrics", "train_classifier", "train_denoiser",
           "train_regressor"]
