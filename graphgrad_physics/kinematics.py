"""What the Z->mumu networks see: the pair's kinematics, computed from the row's own momenta.

Two choices, both physical, both measured (see the README's "The demo application"):

- **The row's own fit.** ``pt``, ``eta``, ``phi`` are recomputed from ``px``, ``py``, ``pz``,
  the momenta of the fit (``Type``) that also gave ``M``. The table's ``pt``/``eta``/``phi``
  columns are one fixed measurement per muon and are up to ~30 % off in ``GT``/``GG`` rows, so
  they would leave the target partly unpredictable; the momenta are the same measurement the
  experiment reports for that row. ``E`` and ``M`` are never used.
- **Only what the mass can depend on.** An invariant mass does not change when the pair is
  rotated about the beam or boosted along it, so absolute ``phi`` and ``eta`` carry no
  information about it; with 500 events a network fed them overfits (test AUC ~0.90 with
  absolute angles against ~0.995 without, same network). The inputs are therefore
  ``log pt1, log pt2, |delta eta|, |delta phi|`` and the charge product ``Q1 * Q2``; the network
  still has to learn ``M = sqrt(2 pt1 pt2 (cosh deta - cos dphi))`` from them.
"""

from __future__ import annotations

import numpy as np

from .data import ZmumuData

FEATURE_NAMES = ("log_pt1", "log_pt2", "abs_deta", "abs_dphi", "q1q2")


def muon_kinematics(data: ZmumuData, i: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(pt, eta, phi)`` of muon ``i`` (1 or 2) from the row's ``px, py, pz``.

    >>> from graphgrad_physics.data import load_zmumu
    >>> d = load_zmumu()
    >>> pt, eta, phi = muon_kinematics(d, 1)
    >>> tt = d["Type"] == "TT"  # in TT rows the table's pt column is the same measurement
    >>> bool(np.allclose(pt[tt], d["pt1"][tt], rtol=1e-5))
    True
    """
    if i not in (1, 2):
        raise ValueError(f"muon_kinematics: muon must be 1 or 2; got {i!r}")
    px, py, pz = data[f"px{i}"], data[f"py{i}"], data[f"pz{i}"]
    pt = np.hypot(px, py)
    return pt, np.arcsinh(pz / pt), np.arctan2(py, px)


def pair_features(data: ZmumuData) -> np.ndarray:
    """Network inputs, ``(rows, 5)`` float64, columns :data:`FEATURE_NAMES`.

    >>> from graphgrad_physics.data import load_zmumu
    >>> x = pair_features(load_zmumu())
    >>> x.shape, bool(np.all(x[:, 3] <= np.pi))
    ((2304, 5), True)
    """
    pt1, eta1, phi1 = muon_kinematics(data, 1)
    pt2, eta2, phi2 = muon_kinematics(data, 2)
    dphi = np.abs(np.angle(np.exp(1j * (phi1 - phi2))))  # wrapped into [0, pi]
    q = (data["Q1"] * data["Q2"]).astype(np.float64)
    return np.stack([np.log(pt1), np.log(pt2), np.abs(eta1 - eta2), dphi, q], axis=1)
