"""The Daya Bay template fit as a binned Poisson likelihood (graphgrad_physics.likelihood):
Newton on the engine's Hessian against iminuit's MIGRAD + HESSE, the batched fit against the
one-spectrum fit, and uncertainties that cover (issue 15, part 5)."""

from __future__ import annotations

import numpy as np
import pytest

from graphgrad_physics import likelihood as L
from graphgrad_physics import spectra
from graphgrad_physics.data import load_dayabay


@pytest.fixture(scope="module")
def templates():
    return spectra.templates(load_dayabay())


def nll_numpy(theta, observed, design):
    """The same likelihood written independently, for MINUIT."""
    mu = design @ theta
    if np.any(mu[observed > 0] <= 0):
        return np.inf
    return float(np.sum(mu) - np.sum(observed[observed > 0] * np.log(mu[observed > 0])))


def minuit_fit(observed, design):
    iminuit = pytest.importorskip("iminuit", reason="iminuit is the reference fitter (dev extra)")
    start = L.fit_spectrum(observed, design).theta * 1.05 + 10  # near, not at, our minimum
    m = iminuit.Minuit(lambda th: nll_numpy(th, observed, design), start, name=L.NAMES)
    m.errordef = iminuit.Minuit.LIKELIHOOD  # 0.5: an NLL
    m.limits = [(0, None)] * len(L.NAMES)
    m.strategy = 2
    m.tol = 1e-7
    m.migrad()
    m.hesse()
    assert m.valid and m.accurate
    return np.array(m.values), np.array(m.errors)


def test_newton_on_the_engines_hessian_matches_migrad_and_hesse(templates):
    """Every yield well away from zero: estimates and errors agree within 1 % of the error."""
    design = np.column_stack([templates.signal[4], templates.shapes[4].T])
    truth = np.array([30000.0, 3000.0, 1500.0, 1500.0, 1500.0, 1500.0])
    observed = np.random.default_rng(7).poisson(design @ truth).astype(float)
    fit = L.fit_spectrum(observed, design)
    assert fit.converged and not fit.at_bound.any()
    values, errors = minuit_fit(observed, design)
    np.testing.assert_array_less(np.abs(fit.theta - values), 0.01 * errors)
    np.testing.assert_array_less(np.abs(fit.errors / errors - 1), 0.01)
    assert nll_numpy(fit.theta, observed, design) <= nll_numpy(values, observed, design) + 1e-6


def test_yields_held_at_zero_match_migrad_with_limits(templates):
    """Realistic spectra, where small backgrounds fit to zero: the same minimum as MIGRAD's."""
    s = spectra.synthesize(templates, 4, np.random.default_rng(11))
    a = L.designs(s, templates)
    seen_bound = 0
    for i in range(len(s)):
        fit = L.fit_spectrum(s.observed[i], a[i])
        values, errors = minuit_fit(s.observed[i], a[i])
        assert fit.converged and np.all(fit.theta >= 0)
        np.testing.assert_array_less(np.abs(fit.theta - values), 0.01 * fit.errors)
        seen_bound += int(fit.at_bound.sum())
        assert np.all(fit.theta[fit.at_bound] == 0)
    assert seen_bound > 0  # the case this test is about did occur


def test_the_batched_fit_is_the_one_spectrum_fit(templates):
    s = spectra.synthesize(templates, 6, np.random.default_rng(3))
    a = L.designs(s, templates)
    batch = L.fit_spectra(s.observed, a)
    for i in range(len(s)):
        one = L.fit_spectrum(s.observed[i], a[i])
        np.testing.assert_allclose(batch.theta[i], one.theta, rtol=1e-9, atol=1e-9 * one.errors.max())
        np.testing.assert_allclose(batch.covariance[i], one.covariance, rtol=1e-8)
        np.testing.assert_array_equal(batch.at_bound[i], one.at_bound)


def test_the_engines_hessian_is_the_poisson_information(templates):
    """H = Aᵀ diag(n / μ²) A, the textbook second derivative of the Poisson NLL."""
    from autograd.functional import hessian

    design = np.column_stack([templates.signal[0], templates.shapes[0].T])
    theta = np.array([5000.0, 300.0, 40.0, 30.0, 20.0, 10.0])
    observed = np.random.default_rng(0).poisson(design @ theta).astype(float)
    h = hessian(lambda t: L.poisson_nll(t, observed, design), theta).data
    mu = design @ theta
    weight = np.divide(observed, mu**2, out=np.zeros_like(mu), where=observed > 0)  # μ = 0 only where n = 0
    np.testing.assert_allclose(h, design.T @ (design * weight[:, None]), rtol=1e-10)


def test_the_errors_cover_the_truth(templates):
    """Over many spectra the signal's pulls (fit − truth) / σ spread by 1 and 68 % lie within 1σ."""
    s = spectra.synthesize(templates, 300, np.random.default_rng(5))
    fit, signal, subtracted = L.likelihood_fit(s, templates)
    assert fit.converged
    pull = (fit.theta[:, 0] - s.signal.sum(axis=1)) / fit.errors[:, 0]
    assert 0.9 < pull.std() < 1.1 and abs(pull.mean()) < 0.25
    assert 0.6 < np.mean(np.abs(pull) < 1) < 0.76
    np.testing.assert_allclose(signal.sum(axis=1), fit.theta[:, 0], rtol=1e-12)
    assert spectra.spectrum_error(signal, s.signal) < spectra.spectrum_error(s.observed, s.signal)
    assert subtracted.shape == s.observed.shape
