import itertools

import numpy as np
import pytest
from scipy import stats

from quant_core.ensemble import GaussianHMM


def set_params(hmm, start, trans, means, variances):
    hmm.startprob_ = np.asarray(start, dtype=float)
    hmm.transmat_ = np.asarray(trans, dtype=float)
    hmm.means_ = np.asarray(means, dtype=float).reshape(len(start), -1)
    hmm.variances_ = np.asarray(variances, dtype=float).reshape(len(start), -1)
    return hmm


def simulate(n=600, seed=0):
    rng = np.random.default_rng(seed)
    trans = np.array([[0.97, 0.03], [0.06, 0.94]])
    s = np.zeros(n, dtype=int)
    for t in range(1, n):
        s[t] = rng.choice(2, p=trans[s[t - 1]])
    x = np.where(s == 0, 0.05 + 0.5 * rng.standard_normal(n), -0.1 + 1.6 * rng.standard_normal(n))
    return x, s


def test_filter_matches_brute_force_enumeration():
    """P(s_t | x_1..t) by summing over all 2^T state paths, for every t."""
    hmm = set_params(GaussianHMM(), [0.6, 0.4], [[0.9, 0.1], [0.2, 0.8]], [0.0, 1.0], [1.0, 4.0])
    x = np.array([0.3, -1.2, 2.5, 3.1, 0.1, -0.4])
    dens = stats.norm.pdf(x[:, None], loc=[0.0, 1.0], scale=[1.0, 2.0])
    filtered = hmm.filter(x)
    loglik = None
    for t in range(len(x)):
        joint = np.zeros(2)
        for path in itertools.product([0, 1], repeat=t + 1):
            p = hmm.startprob_[path[0]] * dens[0, path[0]]
            for u in range(1, t + 1):
                p *= hmm.transmat_[path[u - 1], path[u]] * dens[u, path[u]]
            joint[path[-1]] += p
        np.testing.assert_allclose(filtered[t], joint / joint.sum(), rtol=1e-12)
        loglik = np.log(joint.sum())
    assert hmm.score(x) == pytest.approx(loglik, rel=1e-12)


def test_filtered_state_at_t_ignores_later_observations():
    x, _ = simulate(200)
    hmm = GaussianHMM().fit(x)
    base = hmm.filter(x)
    t = 120
    changed = x.copy()
    changed[t + 1 :] = np.random.default_rng(5).standard_normal(200 - t - 1) * 10
    np.testing.assert_array_equal(hmm.filter(changed)[: t + 1], base[: t + 1])
    np.testing.assert_array_equal(hmm.filter(x[: t + 1]), base[: t + 1])


def test_baum_welch_matches_statsmodels_markov_switching_mle():
    """Same model (switching mean and variance) fitted by statsmodels' EM + BFGS."""
    sm = pytest.importorskip("statsmodels.api")
    x, _ = simulate(600, seed=1)
    hmm = GaussianHMM().fit(x)
    hist = np.array(hmm.loglik_history_)
    assert hmm.converged_ and np.all(np.diff(hist) > -1e-8)  # EM never decreases it
    res = sm.tsa.MarkovRegression(x, k_regimes=2, trend="c", switching_variance=True).fit(
        disp=False
    )
    p = res.params  # p[0,0], p[1,0], const0, const1, sigma2_0, sigma2_1
    order = np.argsort(hmm.variances_[:, 0])
    np.testing.assert_allclose(hmm.means_[order, 0], p[2:4], atol=0.02)
    np.testing.assert_allclose(hmm.variances_[order, 0], p[4:6], rtol=0.02)
    np.testing.assert_allclose(hmm.transmat_[order[0], order[0]], p[0], atol=0.01)
    np.testing.assert_allclose(hmm.transmat_[order[1], order[0]], p[1], atol=0.01)
    # with statsmodels' own parameters and initial distribution, the filters agree exactly
    set_params(
        hmm,
        res.model.initial_probabilities(p),
        [[p[0], 1 - p[0]], [p[1], 1 - p[1]]],
        p[2:4],
        p[4:6],
    )
    np.testing.assert_allclose(hmm.filter(x), res.filtered_marginal_probabilities, atol=1e-8)
    assert hmm.score(x) == pytest.approx(res.llf, rel=1e-9)


def test_recovers_the_simulated_states_and_handles_missing_rows():
    x, s = simulate(800, seed=2)
    hmm = GaussianHMM().fit(x)
    calm = int(np.argmin(hmm.variances_[:, 0]))
    accuracy = np.mean((hmm.filter(x).argmax(axis=1) == calm) == (s == 0))
    assert accuracy > 0.85
    holed = x.copy()
    holed[[10, 11, 400]] = np.nan
    f = hmm.filter(holed)
    # a missing row carries no evidence: the state is just propagated by the transitions
    np.testing.assert_allclose(f[10], f[9] @ hmm.transmat_, rtol=1e-12)
    assert np.isfinite(GaussianHMM().fit(holed).score(holed))


def test_errors():
    with pytest.raises(RuntimeError, match="not fitted"):
        GaussianHMM().filter(np.zeros(3))
    with pytest.raises(ValueError, match="finite observations"):
        GaussianHMM().fit(np.array([1.0, np.nan, 2.0]))
    with pytest.raises(ValueError, match="n_states"):
        GaussianHMM(n_states=0).fit(np.zeros(10))
