"""The offline datasets: CMS Z->mumu (packaged npz) and Daya Bay (dayabay-data-official)."""

import hashlib
from importlib import resources

import numpy as np
import pytest

import graphgrad_physics.data as ds
from graphgrad_physics.data import dayabay

# ---------------------------------------------------------------- CMS Z->mumu


@pytest.fixture(scope="module")
def zmumu():
    return ds.load_zmumu()


def test_zmumu_columns_shapes_dtypes(zmumu):
    assert tuple(zmumu.keys()) == ds.COLUMNS and len(ds.COLUMNS) == 20
    assert len(zmumu) == 2304
    for name in ds.COLUMNS:
        col = zmumu[name]
        assert col.shape == (2304,), name
        if name == "Type":
            assert col.dtype.kind == "U"
        elif name in ("Run", "Event", "Q1", "Q2"):
            assert col.dtype == np.int64, name
        else:
            assert col.dtype == np.float64 and np.all(np.isfinite(col)), name
    assert set(zmumu["Type"].tolist()) == {"GT", "TT", "GG"}
    assert set(np.unique(zmumu["Run"]).tolist()) == {148029, 148031}
    assert set(np.unique(np.concatenate([zmumu["Q1"], zmumu["Q2"]])).tolist()) == {-1, 1}


def test_zmumu_npz_needs_no_pickle_and_matches_provenance(zmumu):
    path = resources.files("graphgrad_physics.data").joinpath("zmumu.npz")
    blob = path.read_bytes()
    with path.open("rb") as f, np.load(f, allow_pickle=False) as npz:
        assert sorted(npz.files) == sorted(ds.COLUMNS)
        assert all(npz[n].dtype != object for n in npz.files)
    prov = zmumu.provenance
    assert prov["npz_sha256"] == hashlib.sha256(blob).hexdigest()
    assert prov["source"]["package"] == "scikit-hep-testdata==0.3.12"
    assert prov["source"]["member"].endswith("uproot-Zmumu.root")
    assert len(prov["source"]["root_sha256"]) == 64
    assert prov["source"]["tree"] == "events"
    assert prov["rows"] == 2304 and prov["distinct_events"] == 500
    assert "CMS open data" in prov["licence"] and "BSD-3" in prov["licence"]
    assert list(prov["columns"]) == list(ds.COLUMNS)


def test_zmumu_mass_is_the_invariant_mass_of_the_two_muons(zmumu):
    e = zmumu["E1"] + zmumu["E2"]
    p = [zmumu[f"p{c}1"] + zmumu[f"p{c}2"] for c in "xyz"]
    mass = np.sqrt(e**2 - p[0] ** 2 - p[1] ** 2 - p[2] ** 2)
    np.testing.assert_allclose(mass, zmumu["M"], rtol=1e-7, atol=0)
    # pt, eta, phi are one fixed (rounded) measurement per muon; px, py, pz follow the row's fit
    # Type. They agree in TT rows (both muons) and for muon 1 in GT rows, and differ elsewhere.
    for i in (1, 2):
        px, py, pz = zmumu[f"px{i}"], zmumu[f"py{i}"], zmumu[f"pz{i}"]
        pt = np.hypot(px, py)
        agree = (
            np.isclose(pt, zmumu[f"pt{i}"], rtol=1e-5)
            & np.isclose(np.arcsinh(pz / pt), zmumu[f"eta{i}"], atol=1e-5)
            & (np.abs(np.angle(np.exp(1j * (np.arctan2(py, px) - zmumu[f"phi{i}"])))) < 1e-5)
        )
        fits = {"TT"} if i == 2 else {"TT", "GT"}
        np.testing.assert_array_equal(agree, np.isin(zmumu["Type"], list(fits)))


def test_zmumu_facts(zmumu):
    events = np.unique(np.stack([zmumu["Run"], zmumu["Event"]], axis=1), axis=0)
    assert len(events) == 500
    m = zmumu["M"]
    assert 80 < np.median(m) < 100 and m.min() > 0
    assert 0.7 < np.mean((m > 80) & (m < 100)) < 0.85
    assert 0.9 < np.mean(zmumu["Q1"] * zmumu["Q2"] == -1) < 0.97
    # one feature vector per unordered muon pair: 643 of them in 2304 rows
    x = ds.zmumu_features(zmumu)
    ordered = np.where((x[:, 0] >= x[:, 4])[:, None], x, np.roll(x, 4, axis=1))
    assert len(np.unique(ordered, axis=0)) == 643 == np.sum(zmumu["Type"] == "TT")


def test_zmumu_features_and_targets(zmumu):
    x = ds.zmumu_features(zmumu)
    assert x.shape == (2304, 8) and x.dtype == np.float64
    assert ds.FEATURES == ("pt1", "eta1", "phi1", "Q1", "pt2", "eta2", "phi2", "Q2")
    assert not any(n.startswith(("E", "M")) for n in ds.FEATURES)
    np.testing.assert_array_equal(x[:, 3], zmumu["Q1"])
    np.testing.assert_array_equal(x[:, 4], zmumu["pt2"])

    y = ds.zmumu_signal(zmumu)
    m = zmumu["M"]
    assert y.dtype == np.float64
    np.testing.assert_array_equal(y == 1.0, (m > 81) & (m < 101))
    assert 0.5 < y.mean() < 0.9  # both classes well populated
    np.testing.assert_array_equal(ds.zmumu_signal(zmumu, window=(0, 1000)), 1.0)

    target = ds.zmumu_mass(zmumu)
    np.testing.assert_array_equal(target, m)
    target[0] = -1.0  # a copy: the loaded data stays intact
    assert zmumu["M"][0] > 0


# ---------------------------------------------------------------- split by event


def test_split_covers_all_rows_without_event_leakage(zmumu):
    run, event = zmumu["Run"], zmumu["Event"]
    parts = ds.split_by_event(run, event, (0.6, 0.2, 0.2), seed=0)
    assert len(parts) == 3
    everything = np.concatenate(parts)
    assert len(everything) == len(zmumu)
    np.testing.assert_array_equal(np.sort(everything), np.arange(len(zmumu)))
    keys = [set(zip(run[p].tolist(), event[p].tolist(), strict=True)) for p in parts]
    assert not (keys[0] & keys[1]) and not (keys[0] & keys[2]) and not (keys[1] & keys[2])
    assert [len(k) for k in keys] == [300, 100, 100]  # fractions are of events
    for p in parts:
        assert p.dtype == np.int64 and np.all(np.diff(p) > 0)


def test_split_is_deterministic_per_seed(zmumu):
    run, event = zmumu["Run"], zmumu["Event"]
    a = ds.split_by_event(run, event, seed=3)
    b = ds.split_by_event(run, event, seed=3)
    c = ds.split_by_event(run, event, seed=4)
    for x, y in zip(a, b, strict=True):
        np.testing.assert_array_equal(x, y)
    assert not np.array_equal(a[0], c[0])


def test_split_ignores_row_order():
    run = np.array([1, 1, 2, 2, 2, 3, 3, 4])
    event = np.array([5, 5, 5, 6, 6, 7, 8, 9])
    perm = np.random.default_rng(1).permutation(len(run))
    first = ds.split_by_event(run, event, (0.5, 0.5), seed=7)
    shuffled = ds.split_by_event(run[perm], event[perm], (0.5, 0.5), seed=7)
    for rows, rows_shuffled in zip(first, shuffled, strict=True):
        events = set(zip(run[rows].tolist(), event[rows].tolist(), strict=True))
        events_shuffled = set(
            zip(run[perm][rows_shuffled].tolist(), event[perm][rows_shuffled].tolist(), strict=True)
        )
        assert events == events_shuffled


@pytest.mark.parametrize(
    "args, error",
    [
        (([1, 2], [1, 2], (0.5, 0.4)), "sum to 1"),
        (([1, 2], [1, 2], (1.5, -0.5)), "non-negative"),
        (([1, 2], [1], (0.5, 0.5)), "one length"),
        (([1.0, 2.0], [1, 2], (0.5, 0.5)), "integers"),
    ],
)
def test_split_rejects_bad_input(args, error):
    with pytest.raises((ValueError, TypeError), match=error):
        ds.split_by_event(*args)


# ---------------------------------------------------------------- Daya Bay


@pytest.fixture(scope="module")
def db():
    return ds.load_dayabay()


def test_dayabay_structure(db):
    np.testing.assert_allclose(db.bin_edges, np.linspace(0, 12, 241), atol=1e-9)
    assert db.detectors == {
        "6AD": ("AD11", "AD12", "AD21", "AD31", "AD32", "AD33"),
        "8AD": ("AD11", "AD12", "AD21", "AD22", "AD31", "AD32", "AD33", "AD34"),
        "7AD": ("AD12", "AD21", "AD22", "AD31", "AD32", "AD33", "AD34"),
    }
    for period, dets in db.detectors.items():
        assert set(db.ibd_counts[period]) == set(dets)
        for d in dets:
            counts = db.ibd_counts[period][d]
            assert counts.shape == (240,) and counts.dtype == np.float64
            assert np.all(counts >= 0) and np.array_equal(counts, np.round(counts))
            assert counts.sum() > 10_000
            for b in ds.BACKGROUNDS:
                shape = db.background_shapes[period][d][b]
                assert shape.shape == (240,) and np.all(shape >= 0)
                assert shape.sum() == pytest.approx(1.0, abs=1e-9)


def test_dayabay_rates_and_exposure(db):
    for period, dets in db.detectors.items():
        for d in dets:
            rates = db.background_rates[period][d]
            sigmas = db.background_rate_uncertainties[period][d]
            assert set(rates) == set(ds.BACKGROUNDS) == set(sigmas)
            assert all(isinstance(v, float) and v > 0 for v in rates.values())
            assert all(isinstance(v, float) and v > 0 for v in sigmas.values())
            live, eff_live = db.livetime_days[period][d], db.eff_livetime_days[period][d]
            assert 100 < eff_live < live < 1500
            # backgrounds are a small part of the candidates; the IBD rate matches the published
            # ~650/day near (EH1, EH2) and ~74/day far (EH3) per detector.
            expected = sum(db.expected_background(period, d).values())
            assert expected.shape == (240,)
            assert 0 < expected.sum() < 0.05 * db.ibd_counts[period][d].sum()
            ibd_per_day = (db.ibd_counts[period][d].sum() - expected.sum()) / eff_live
            assert (500 < ibd_per_day < 750) if d < "AD3" else (65 < ibd_per_day < 85)
    assert db.background_rates["8AD"]["AD11"]["lithium_helium"] == pytest.approx(2.92)
    assert db.livetime_days["6AD"]["AD11"] == pytest.approx(186.6, abs=0.1)


def test_dayabay_provenance(db):
    prov = db.provenance
    assert prov["package"] == "dayabay-data-official" and prov["version"]
    assert prov["licence"] == "CC BY 4.0"
    assert "10.5281/zenodo.17587229" in prov["citation"]


def test_dayabay_missing_package_names_the_pip_command(monkeypatch):
    monkeypatch.setattr(dayabay, "PACKAGE", "dayabay_data_official_not_installed")
    with pytest.raises(ModuleNotFoundError, match=r"pip install .graphgrad\[demo\]. \(or dayabay-data-official\)"):
        ds.load_dayabay()
