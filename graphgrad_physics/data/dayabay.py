"""Daya Bay reactor-antineutrino final data release: prompt IBD spectra and backgrounds.

Read from the installed PyPI package ``dayabay-data-official`` (its ``data/npz/dayabay_dataset``
folder); nothing is downloaded. Licence: CC BY 4.0. Cite: Daya Bay Collaboration, "Full Data
Release of the Daya Bay Reactor Neutrino Experiment", v1.0.0, Zenodo, doi:10.5281/zenodo.17587229
(2025), and F. P. An et al., Phys. Rev. Lett. 130, 161802 (2023).

Data-taking periods: ``6AD`` (2011-12 to 2012-07), ``8AD`` (2012-10 to 2016-12), ``7AD`` (2017-01 to
2020-12; AD11 off). Detectors ``AD11 AD12`` (hall EH1), ``AD21 AD22`` (EH2), ``AD31``-``AD34`` (EH3,
far). Spectra have 240 bins of 50 keV from 0 to 12 MeV of prompt (reconstructed) energy.

Background rates are events per day of *efficiency-corrected* live time, so the expected background
count in a detector and period is ``rate * eff_livetime_days``
(see :meth:`DayaBayData.expected_background`).
"""

from __future__ import annotations

import importlib.metadata
import importlib.util
from dataclasses import dataclass
from pathlib import Path

import numpy as np

PACKAGE = "dayabay_data_official"
DISTRIBUTION = "dayabay-data-official"
PERIODS = ("6AD", "8AD", "7AD")  # in time order
N_DETECTORS = {"6AD": 6, "8AD": 8, "7AD": 7}
BACKGROUNDS = ("accidentals", "lithium_helium", "fast_neutrons", "alpha_neutron", "amc")
N_BINS = 240
SECONDS_PER_DAY = 86400.0


@dataclass(frozen=True)
class DayaBayData:
    """Daya Bay spectra and backgrounds, as plain float64 arrays and floats.

    Nested dicts are keyed ``[period][detector]`` (then ``[background]``), periods from
    :data:`PERIODS`, detectors as in ``detectors[period]``, backgrounds from :data:`BACKGROUNDS`.

    - ``bin_edges``: ``(241,)`` prompt-energy bin edges in MeV, 0 to 12.
    - ``ibd_counts[p][d]``: ``(240,)`` IBD candidate counts (signal plus backgrounds).
    - ``background_shapes[p][d][b]``: ``(240,)`` background spectrum shape, sums to 1.
    - ``background_rates[p][d][b]``: events per day of efficiency-corrected live time.
    - ``background_rate_uncertainties[p][d][b]``: absolute 1-sigma of the rate, same unit.
    - ``livetime_days[p][d]``: DAQ live time in days.
    - ``eff_livetime_days[p][d]``: live time times muon-veto and multiplicity efficiency, in days.
    - ``provenance``: source package, version, folder, licence, citation.
    """

    bin_edges: np.ndarray
    detectors: dict[str, tuple[str, ...]]
    ibd_counts: dict[str, dict[str, np.ndarray]]
    background_shapes: dict[str, dict[str, dict[str, np.ndarray]]]
    background_rates: dict[str, dict[str, dict[str, float]]]
    background_rate_uncertainties: dict[str, dict[str, dict[str, float]]]
    livetime_days: dict[str, dict[str, float]]
    eff_livetime_days: dict[str, dict[str, float]]
    provenance: dict

    def expected_background(self, period: str, detector: str) -> dict[str, np.ndarray]:
        """Expected background counts per bin: ``{background: (240,) array}``.

        Each is rate x efficiency-corrected live time x normalised shape.
        """
        exposure = self.eff_livetime_days[period][detector]
        rates = self.background_rates[period][detector]
        shapes = self.background_shapes[period][detector]
        return {b: rates[b] * exposure * shapes[b] for b in BACKGROUNDS}


def _data_dir() -> Path:
    spec = importlib.util.find_spec(PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise ModuleNotFoundError(
            f"load_dayabay() needs the '{DISTRIBUTION}' package (Daya Bay data, 5.5 MB, "
            f"CC BY 4.0), which is not installed: pip install 'graphgrad[demo]' (or {DISTRIBUTION})",
            name=PACKAGE,
        )
    folder = Path(spec.submodule_search_locations[0]) / "data" / "npz" / "dayabay_dataset"
    if not folder.is_dir():
        raise FileNotFoundError(f"{DISTRIBUTION} is installed but has no data folder {folder}")
    return folder


def _histograms(path: Path) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Histograms stored as records (E_min_MeV, E_max_MeV, N) -> {key: (edges, heights)}."""
    out = {}
    with np.load(path, allow_pickle=False) as npz:
        for key in npz.files:
            rec = npz[key]
            edges = np.append(rec["E_min_MeV"], rec["E_max_MeV"][-1]).astype(np.float64)
            out[key] = edges, np.array(rec["N"], dtype=np.float64)
    return out


def _rates(path: Path) -> dict[str, dict[str, dict[str, float]]]:
    """Background-rate tables -> {period: {label: {detector: value}}}.

    This is the one file that needs ``allow_pickle=True``: its ``Label`` column is an object array
    of Python strings, which numpy can only store as a pickle. Unpickling can run code, so it is
    confined to this file of the installed data package, and the result is turned into plain
    dicts of floats right away; nothing pickled leaves this function.
    """
    tables = {}
    with np.load(path, allow_pickle=True) as npz:
        for period in npz.files:
            rec = npz[period]
            detectors = [n for n in rec.dtype.names if n != "Label"]
            tables[period] = {
                str(row["Label"]): {d: float(row[d]) for d in detectors} for row in rec
            }
    return tables


def _livetimes(path: Path) -> tuple[dict, dict]:
    """Sum the daily live times of each detector over the days of each period (seconds -> days)."""
    live: dict[str, dict[str, float]] = {p: {} for p in PERIODS}
    eff_live: dict[str, dict[str, float]] = {p: {} for p in PERIODS}
    with np.load(path, allow_pickle=False) as npz:
        for detector in npz.files:
            daily = npz[detector]
            for period in PERIODS:
                days = daily["n_det"] == N_DETECTORS[period]
                live[period][detector] = float(daily["livetime"][days].sum()) / SECONDS_PER_DAY
                eff_live[period][detector] = (
                    float(daily["eff_livetime"][days].sum()) / SECONDS_PER_DAY
                )
    return live, eff_live


def load_dayabay() -> DayaBayData:
    """Load the Daya Bay prompt IBD spectra, background shapes, rates and exposures.

    >>> db = load_dayabay()
    >>> db.detectors["6AD"]
    ('AD11', 'AD12', 'AD21', 'AD31', 'AD32', 'AD33')
    >>> db.ibd_counts["8AD"]["AD34"].shape
    (240,)
    >>> db.background_rates["8AD"]["AD11"]["lithium_helium"]  # events per day
    2.92
    """
    folder = _data_dir()
    rate_tables = _rates(folder / "dayabay_background_rates.npz")
    live, eff_live = _livetimes(folder / "dayabay_daily_detector_data.npz")

    bin_edges = None
    detectors, ibd, shapes, rates, uncertainties = {}, {}, {}, {}, {}
    livetime, eff_livetime = {}, {}

    def check_edges(edges: np.ndarray, where: str) -> None:
        nonlocal bin_edges
        if bin_edges is None:
            bin_edges = edges
        if edges.shape != (N_BINS + 1,) or not np.allclose(edges, bin_edges, rtol=0, atol=1e-9):
            raise ValueError(
                f"Daya Bay histogram {where} has bins unlike the others "
                f"({edges.shape[0] - 1} bins, {edges[0]}..{edges[-1]} MeV)"
            )

    for period in PERIODS:
        spectra = _histograms(folder / f"dayabay_ibd_spectra_{period}.npz")
        dets = tuple(sorted(k.removeprefix("ibd_spectrum_") for k in spectra))
        bkg = _histograms(folder / f"dayabay_background_spectra_{period}.npz")
        detectors[period] = dets
        ibd[period], shapes[period], rates[period], uncertainties[period] = {}, {}, {}, {}
        for d in dets:
            edges, counts = spectra[f"ibd_spectrum_{d}"]
            check_edges(edges, f"ibd_spectrum_{d} ({period})")
            ibd[period][d] = counts
            shapes[period][d] = {}
            for b in BACKGROUNDS:
                edges, shape = bkg[f"spectrum_shape_{b}_{d}"]
                check_edges(edges, f"spectrum_shape_{b}_{d} ({period})")
                shapes[period][d][b] = shape
            table = rate_tables[period]
            rates[period][d] = {b: table[f"{b}_rate"][d] for b in BACKGROUNDS}
            uncertainties[period][d] = {b: table[f"{b}_uncertainty"][d] for b in BACKGROUNDS}
        livetime[period] = {d: live[period][d] for d in dets}
        eff_livetime[period] = {d: eff_live[period][d] for d in dets}

    provenance = {
        "name": "Daya Bay full data release, analysis dataset (npz)",
        "package": DISTRIBUTION,
        "version": importlib.metadata.version(DISTRIBUTION),
        "folder": str(folder),
        "licence": "CC BY 4.0",
        "citation": "Daya Bay Collaboration, Full Data Release of the Daya Bay Reactor Neutrino "
        "Experiment, v1.0.0, Zenodo, doi:10.5281/zenodo.17587229 (2025); "
        "F. P. An et al., Phys. Rev. Lett. 130, 161802 (2023)",
        "units": "energy MeV; background rates events/day of efficiency-corrected live time; "
        "live times in days",
    }
    return DayaBayData(
        bin_edges=bin_edges,
        detectors=detectors,
        ibd_counts=ibd,
        background_shapes=shapes,
        background_rates=rates,
        background_rate_uncertainties=uncertainties,
        livetime_days=livetime,
        eff_livetime_days=eff_livetime,
        provenance=provenance,
    )
