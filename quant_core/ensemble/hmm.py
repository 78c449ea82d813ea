"""A small Gaussian hidden Markov model: Baum-Welch fit and forward (filtered) state probabilities.

Markets alternate between persistent states (quiet, trending; turbulent, falling) that are
not observed directly but show in the size of daily moves. A hidden Markov model infers the
probability of each state from the returns; the *filtered* probability at date t uses only
the returns up to t, so it is usable for trading at t (the smoothed one is not).
"""

from __future__ import annotations

import numpy as np

__all__ = ["GaussianHMM"]

_LOG_2PI = float(np.log(2.0 * np.pi))


class GaussianHMM:
    """Hidden Markov model with diagonal-covariance Gaussian emissions.

    Parameters
    ----------
    n_states : int, default 2
    n_iter : int, default 200
        Maximum Baum-Welch (EM) iterations.
    tol : float, default 1e-8
        Stop when the log-likelihood improves by less than ``tol`` per observation.
    min_variance : float, default 1e-6
        Floor on every state variance, in units of the data's overall variance (keeps a
        state from collapsing on a few identical points).

    Attributes
    ----------
    startprob_ : np.ndarray (K,)
    transmat_ : np.ndarray (K, K)
        ``transmat_[i, j] = P(s[t+1] = j | s[t] = i)``.
    means_, variances_ : np.ndarray (K, d)
    loglik_history_ : list of float
        Log-likelihood of the data before each M-step (non-decreasing up to rounding).
    n_iter_ : int
    converged_ : bool

    Notes
    -----
    Rows with a NaN observation carry no evidence: the filter only propagates the state
    through the transition matrix there. Initialisation is deterministic (states seeded by
    quantiles of the squared deviation from the mean), so fits are reproducible.
    """

    def __init__(
        self, n_states: int = 2, n_iter: int = 200, tol: float = 1e-8, min_variance: float = 1e-6
    ) -> None:
        self.n_states = n_states
        self.n_iter = n_iter
        self.tol = tol
        self.min_variance = min_variance

    # ------------------------------------------------------------------ helpers
    @staticmethod
    def _as_2d(X: np.ndarray) -> np.ndarray:
        X = np.asarray(X, dtype=np.float64)
        if X.ndim == 1:
            X = X[:, None]
        if X.ndim != 2 or X.shape[0] == 0:
            raise ValueError(f"X must be a non-empty (n_obs, n_dims) array, got shape {X.shape}")
        return X

    def _log_emission(self, X: np.ndarray) -> np.ndarray:
        """``log p(x_t | s_t = k)``, shape (T, K); 0 on rows with a NaN (no evidence)."""
        diff = X[:, None, :] - self.means_[None, :, :]
        ll = -0.5 * (
            _LOG_2PI + np.log(self.variances_)[None, :, :] + diff * diff / self.variances_[None]
        ).sum(axis=2)
        ll[~np.isfinite(X).all(axis=1)] = 0.0
        return ll

    def _forward(self, log_b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Scaled forward pass: filtered probabilities (T, K) and log scale factors (T,)."""
        T, K = log_b.shape
        alpha = np.empty((T, K))
        log_c = np.empty(T)
        shift = log_b.max(axis=1, keepdims=True)
        b = np.exp(log_b - shift)
        prior = self.startprob_
        for t in range(T):
            a = prior * b[t]
            c = a.sum()
            alpha[t] = a / c
            log_c[t] = np.log(c) + shift[t, 0]
            prior = alpha[t] @ self.transmat_
        return alpha, log_c

    def _check_fitted(self) -> None:
        if not hasattr(self, "transmat_"):
            raise RuntimeError("GaussianHMM is not fitted; call fit() first")

    # ------------------------------------------------------------------ API
    def fit(self, X: np.ndarray) -> GaussianHMM:
        """Baum-Welch maximum likelihood on the observation sequence ``X`` (T, d)."""
        if self.n_states < 1:
            raise ValueError(f"n_states must be >= 1, got {self.n_states}")
        if self.n_iter < 1:
            raise ValueError(f"n_iter must be >= 1, got {self.n_iter}")
        if not self.min_variance > 0:
            raise ValueError(f"min_variance must be > 0, got {self.min_variance}")
        X = self._as_2d(X)
        ok = np.isfinite(X).all(axis=1)
        K = self.n_states
        if ok.sum() < 2 * K:
            raise ValueError(
                f"need >= {2 * K} finite observations to fit {K} states, got {ok.sum()}"
            )
        Xf = X[ok]
        floor = self.min_variance * np.maximum(Xf.var(axis=0), 1e-300)

        # deterministic start: states = quantile bins of the squared deviation from the mean
        dev = ((Xf - Xf.mean(axis=0)) ** 2 / np.maximum(Xf.var(axis=0), 1e-300)).sum(axis=1)
        edges = np.quantile(dev, np.linspace(0, 1, K + 1))
        label = np.clip(np.searchsorted(edges, dev, side="right") - 1, 0, K - 1)
        self.means_ = np.empty((K, X.shape[1]))
        self.variances_ = np.empty((K, X.shape[1]))
        for k in range(K):
            part = Xf[label == k] if np.any(label == k) else Xf
            self.means_[k] = part.mean(axis=0)
            self.variances_[k] = np.maximum(part.var(axis=0), floor)
        self.startprob_ = np.full(K, 1.0 / K)
        self.transmat_ = np.full((K, K), 0.1 / max(K - 1, 1)) + np.eye(K) * (
            0.9 - 0.1 / max(K - 1, 1)
        )
        if K == 1:
            self.transmat_ = np.ones((1, 1))

        Xz = np.where(ok[:, None], X, 0.0)
        self.loglik_history_ = []
        self.converged_ = False
        for it in range(self.n_iter):
            log_b = self._log_emission(X)
            alpha, log_c = self._forward(log_b)
            loglik = float(log_c.sum())
            self.loglik_history_.append(loglik)
            self.n_iter_ = it + 1
            if it and loglik - self.loglik_history_[-2] < self.tol * ok.sum():
                self.converged_ = True
                break
            # backward pass with the forward scale factors
            T = X.shape[0]
            b = np.exp(log_b - log_b.max(axis=1, keepdims=True))
            c = np.exp(log_c - log_b.max(axis=1))  # scale of alpha in the shifted units
            beta = np.empty_like(alpha)
            beta[-1] = 1.0
            for t in range(T - 2, -1, -1):
                beta[t] = self.transmat_ @ (b[t + 1] * beta[t + 1]) / c[t + 1]
            gamma = alpha * beta
            gamma /= gamma.sum(axis=1, keepdims=True)
            xi = (
                alpha[:-1, :, None]
                * self.transmat_[None]
                * (b[1:] * beta[1:])[:, None, :]
                / c[1:, None, None]
            ).sum(axis=0)
            self.startprob_ = gamma[0] / gamma[0].sum()
            self.transmat_ = xi / xi.sum(axis=1, keepdims=True)
            w = gamma * ok[:, None]
            wsum = np.maximum(w.sum(axis=0), 1e-300)
            self.means_ = (w.T @ Xz) / wsum[:, None]
            sq = (w.T @ (Xz * Xz)) / wsum[:, None] - self.means_**2
            self.variances_ = np.maximum(sq, floor)
        return self

    def filter(self, X: np.ndarray) -> np.ndarray:
        """Filtered state probabilities ``P(s_t = k | x_1..x_t)``, shape (T, K).

        Row t depends only on rows 0..t of ``X``: appending or changing later observations
        never changes it (the forward pass alone; no smoothing).
        """
        self._check_fitted()
        alpha, _ = self._forward(self._log_emission(self._as_2d(X)))
        return alpha

    def score(self, X: np.ndarray) -> float:
        """Log-likelihood of ``X`` under the fitted parameters."""
        self._check_fitted()
        _, log_c = self._forward(self._log_emission(self._as_2d(X)))
        return float(log_c.sum())

    def __repr__(self) -> str:
        return f"GaussianHMM(n_states={self.n_states}, n_iter={self.n_iter}, tol={self.tol})"
