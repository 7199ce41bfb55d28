"""CMS Z->mumu dimuon candidates: 2,304 pairs from 500 events of 2010 (runs 148029, 148031).

Each row is one candidate pairing of two muons in an event, with the pair's invariant mass ``M``.
The table ships with the package as ``data/zmumu.npz`` (plain arrays, loads without pickle), built
by ``scripts/build_zmumu.py`` from ``uproot-Zmumu.root`` in ``scikit-hep-testdata==0.3.12``;
``data/zmumu.json`` records the source file's sha256 and the licence.

Licence: CMS open data, redistributed via scikit-hep-testdata under BSD-3-Clause. Units: GeV for
energies, momenta and masses; radians for phi; charge in units of e.

Several rows share one event: the same two muons appear with their momenta from different fits,
labelled by ``Type`` (``TT``, ``GT``, ``GG``), and sometimes in swapped order. ``E``, ``px``,
``py``, ``pz`` follow the row's ``Type`` and give ``M`` exactly; ``pt``, ``eta``, ``phi`` (rounded
to about 6 digits) are one fixed measurement per muon, equal to the momenta's in ``TT`` rows and
for muon 1 in ``GT`` rows but up to ~30 % off elsewhere. So the 2,304 rows hold only 643 distinct
(unordered) ``FEATURES`` vectors, whose rows differ in ``M`` by about 1 %. Split by event, see
:func:`graphgrad_physics.data.split_by_event`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from importlib import resources

import numpy as np

COLUMNS = (
    "Type", "Run", "Event",
    "E1", "px1", "py1", "pz1", "pt1", "eta1", "phi1", "Q1",
    "E2", "px2", "py2", "pz2", "pt2", "eta2", "phi2", "Q2",
    "M",
)  # fmt: skip
INT_COLUMNS = ("Run", "Event", "Q1", "Q2")
# What a network sees: the measured kinematics. M and E are left out so the mass must be learned.
FEATURES = ("pt1", "eta1", "phi1", "Q1", "pt2", "eta2", "phi2", "Q2")
Z_WINDOW_GEV = (81.0, 101.0)


@dataclass(frozen=True)
class ZmumuData:
    """The Z->mumu table: ``columns`` maps each name in :data:`COLUMNS` to a 1-D array.

    ``Type`` is a ``<U2`` string array (``"GT"``, ``"TT"``, ``"GG"``: which muon fits, global or
    tracker, gave the pair's momenta), ``Run``, ``Event``, ``Q1``, ``Q2`` are int64, everything else
    float64. ``provenance`` is the content of ``zmumu.json``. ``data["M"]`` and ``len(data)``
    work as for a dict of columns.
    """

    columns: dict[str, np.ndarray]
    provenance: dict

    def __getitem__(self, name: str) -> np.ndarray:
        return self.columns[name]

    def __len__(self) -> int:
        return len(self.columns["M"])

    def keys(self):
        return self.columns.keys()


def _data_file(name: str):
    return resources.files(__package__).joinpath(name)


def load_zmumu() -> ZmumuData:
    """Load the packaged CMS Z->mumu table (no network, no pickle).

    >>> data = load_zmumu()
    >>> len(data), data["M"].dtype, data.provenance["source"]["tree"]
    (2304, dtype('float64'), 'events')
    """
    provenance = json.loads(_data_file("zmumu.json").read_text(encoding="utf-8"))
    with _data_file("zmumu.npz").open("rb") as f, np.load(f, allow_pickle=False) as npz:
        missing = set(COLUMNS) - set(npz.files)
        if missing:
            raise ValueError(
                f"zmumu.npz lacks columns {sorted(missing)}; rebuild it with graphgrad_physics/data/build_zmumu.py"
            )
        columns = {}
        for name in COLUMNS:
            arr = npz[name]
            if name == "Type":
                columns[name] = arr.astype(str)
            elif name in INT_COLUMNS:
                columns[name] = arr.astype(np.int64, copy=False)
            else:
                columns[name] = arr.astype(np.float64, copy=False)
    return ZmumuData(columns=columns, provenance=provenance)


def zmumu_features(data: ZmumuData | None = None, names: tuple[str, ...] = FEATURES) -> np.ndarray:
    """Feature matrix, shape ``(rows, len(names))`` float64, columns in the order of ``names``.

    The default is :data:`FEATURES` (pt, eta, phi, charge of each muon), without M or E.

    >>> zmumu_features().shape
    (2304, 8)
    """
    data = load_zmumu() if data is None else data
    return np.stack([np.asarray(data[n], dtype=np.float64) for n in names], axis=1)


def zmumu_signal(
    data: ZmumuData | None = None, window: tuple[float, float] = Z_WINDOW_GEV
) -> np.ndarray:
    """Classification target: 1.0 where ``window[0] < M < window[1]`` (the Z peak), else 0.0.

    >>> y = zmumu_signal()
    >>> y.dtype, sorted(set(y.tolist()))
    (dtype('float64'), [0.0, 1.0])
    """
    data = load_zmumu() if data is None else data
    lo, hi = window
    m = data["M"]
    return ((m > lo) & (m < hi)).astype(np.float64)


def zmumu_mass(data: ZmumuData | None = None) -> np.ndarray:
    """Regression target: the pair's invariant mass M in GeV, float64, shape ``(rows,)``."""
    data = load_zmumu() if data is None else data
    return np.array(data["M"], dtype=np.float64)
