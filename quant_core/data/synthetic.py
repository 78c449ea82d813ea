"""A seeded daily equity market with planted, documented alpha: a test bed for the model layer.

The simulator produces a long panel keyed by ``(date, asset)`` whose returns have a known
factor structure and a known predictable part, so that every downstream stage (targets, folds,
models, IC reports, ensembles) can be checked against a ground truth.

Model
-----
Indices: assets ``i = 0..N-1``, business days ``d = 0..T-1`` (``numpy`` busday calendar, first
business day on or after ``config.start``).  Return ``r[i, d]`` is close ``d-1`` -> close ``d``.

Regime
    ``g[d]`` in {calm, stressed} follows a two-state Markov chain started in calm with
    ``P(calm -> calm) = p_stay_calm`` and ``P(stressed -> stressed) = p_stay_stressed``.

Return decomposition
    ``r[i, d] = beta[i] * m[d] + f[s(i), d] + x1[i] * u1[d] + x2[i] * u2[d]
    + alpha[i, d] + sigma[i] * h[i, d] * k(g[d]) * e[i, d]``

    * market ``m[d] ~ N(market_drift(g), market_vol(g)^2)``; ``beta[i] = 1 + beta_dispersion * z``
      clipped to [0.2, 2.5];
    * sector ``f[s, d] ~ N(0, (sector_vol * k(g))^2)``, sector ``s(i)`` balanced at random;
    * two style factors ``u1, u2 ~ N(0, style_vol^2)`` with exposures ``x1, x2`` standardised
      across assets;
    * idiosyncratic: base vol ``sigma[i] = idio_vol * exp(idio_vol_dispersion * z)``, stochastic
      vol ``h = exp(vol_of_vol * v - vol_of_vol^2)`` with ``v`` a unit-variance AR(1) in time per
      asset (coefficient ``vol_persistence``; the ``- vol_of_vol^2`` keeps ``E[h^2] = 1``),
      stress multiplier ``k(calm) = 1``, ``k(stressed) = stress_vol_multiplier``, and
      ``e ~ N(0, 1)``.
    * ``r`` is floored at -0.95 so prices stay positive (the floor does not bind in practice).

Planted signals
    Each planted signal ``k`` has a latent ``s[k, i, t]``: a unit-variance AR(1) in time per
    asset with coefficient ``persistence``, standardised across assets on each date.  The value
    known at close ``t`` drives the return two days later (the default label window, close
    ``t+1`` -> close ``t+2``, i.e. ``lag_days=1, horizon_days=1``)::

        alpha[i, t+2] = sigma[i] * sum_k b_k(g[t+2]) * s[k, i, t]

    with ``b_k(calm) = strength_calm`` and ``b_k(stressed) = strength_stressed``.  Returns of days
    0 and 1 carry no alpha.  Because ``s`` is persistent, the value at ``t`` also predicts later
    windows, decaying at the signal's own speed.  The exposed feature column is
    ``s[k] + measurement_noise * N(0, 1)``, so features are noisy views, not the oracle.

    Defaults: ``sig_fast`` (persistence 0.5), ``sig_slow`` (0.95), ``sig_calm`` (predictive mainly
    in calm), ``sig_stress`` (predictive mainly in stress).  ``noise_1..noise_n`` are
    standardised AR(1) features with persistence spread over [0.5, 0.98]; they predict nothing.

Oracle
    ``oracle.oracle_alpha`` for the row dated ``t`` is ``alpha[i, t+2]`` computed with the
    realised regime path: the best possible forecast of the default label, a ceiling.  Rows dated
    on the last two dates have no label window and are **dropped** (``oracle`` has
    ``(T - 2) * N`` rows).  On the default config its mean per-date Spearman IC against the
    realised label is about 0.11-0.12 (0.116 at seed 7; ``truth["oracle_rank_ic_mean"]`` holds
    the exact value), and a single planted feature has a mean Rank IC of about 0.02-0.06
    (seed 7: sig_fast 0.058, sig_slow 0.056, sig_calm 0.062 = 0.073 calm / 0.007 stressed,
    sig_stress 0.023 = 0.012 calm / 0.080 stressed, by the regime of the label's return day).

Prices and volume
    ``close[d] = P0[i] * prod_{u <= d} (1 + r[i, u])`` with ``P0 ~ U(20, 200)`` the close before the
    first date.  ``open = close[d-1] * (1 + r[d])**w * exp(small noise)`` with ``w ~ U(0, 0.5)``
    (part of the move happens overnight); ``high``/``low`` extend ``max``/``min`` of open and close
    by a half-normal intraday range, so ``low <= min(open, close) <= max(open, close) <= high``.
    ``volume`` (shares, float64) is lognormal around a per-asset level and rises with
    ``|r| / sigma`` and in the stressed regime.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass, field
from datetime import date

import numpy as np
import polars as pl
from scipy.signal import lfilter

__all__ = ["PlantedSignal", "SyntheticMarket", "SyntheticMarketConfig", "simulate_market"]

_RESERVED = ("date", "asset", "open", "high", "low", "close", "volume", "sector")
_MIN_RETURN = -0.95


@dataclass(frozen=True)
class PlantedSignal:
    """One planted predictive signal.

    Parameters
    ----------
    name : str
        Feature column name in the panel.
    persistence : float
        Daily AR(1) coefficient of the latent signal, in [0, 1); higher means slower IC decay.
    strength_calm, strength_stressed : float
        Alpha loading ``b_k`` per regime, in units of the asset's base idiosyncratic vol per unit
        of standardised signal (roughly the Rank IC the signal alone would reach in that regime
        if idiosyncratic noise were the only noise).
    """

    name: str
    persistence: float
    strength_calm: float
    strength_stressed: float


DEFAULT_SIGNALS: tuple[PlantedSignal, ...] = (
    PlantedSignal("sig_fast", persistence=0.5, strength_calm=0.07, strength_stressed=0.07),
    PlantedSignal("sig_slow", persistence=0.95, strength_calm=0.065, strength_stressed=0.065),
    PlantedSignal("sig_calm", persistence=0.8, strength_calm=0.085, strength_stressed=0.01),
    PlantedSignal("sig_stress", persistence=0.8, strength_calm=0.015, strength_stressed=0.13),
)


@dataclass(frozen=True)
class SyntheticMarketConfig:
    """Parameters of the simulated market; all vols and drifts are daily, in return units.

    Parameters
    ----------
    n_assets, n_days, n_sectors : int
        Panel size: assets, business days, sectors.
    start : datetime.date
        The first date is the first business day on or after ``start``.
    seed : int
        Seed of ``numpy.random.default_rng``; the same config gives identical frames.
    signals : tuple of PlantedSignal
        The planted predictive signals (see the module docstring for how they enter returns).
    measurement_noise : float
        Std of the noise added to each standardised latent signal to form its feature column.
    n_noise_features : int
        Number of non-predictive AR(1) features ``noise_1..noise_n``.
    p_stay_calm, p_stay_stressed : float
        Diagonal of the regime transition matrix.
    market_vol_calm, market_vol_stressed, market_drift_calm, market_drift_stressed : float
        Market factor distribution per regime.
    beta_dispersion : float
        Cross-sectional std of market betas around 1.
    sector_vol, style_vol : float
        Calm-regime std of sector factor returns; std of the two style factor returns.
    idio_vol, idio_vol_dispersion : float
        Median base idiosyncratic vol and the std of its log across assets.
    vol_persistence, vol_of_vol : float
        AR(1) coefficient and stationary std of the log stochastic-vol multiplier.
    stress_vol_multiplier : float
        Scale of sector and idiosyncratic vol in the stressed regime.
    """

    n_assets: int = 300
    n_days: int = 1008
    n_sectors: int = 10
    start: datetime.date = date(2020, 1, 1)
    seed: int = 7
    signals: tuple[PlantedSignal, ...] = field(default=DEFAULT_SIGNALS)
    measurement_noise: float = 0.3
    n_noise_features: int = 4
    p_stay_calm: float = 0.98
    p_stay_stressed: float = 0.95
    market_vol_calm: float = 0.008
    market_vol_stressed: float = 0.02
    market_drift_calm: float = 0.0004
    market_drift_stressed: float = -0.001
    beta_dispersion: float = 0.3
    sector_vol: float = 0.005
    style_vol: float = 0.003
    idio_vol: float = 0.015
    idio_vol_dispersion: float = 0.3
    vol_persistence: float = 0.97
    vol_of_vol: float = 0.25
    stress_vol_multiplier: float = 1.4

    def __post_init__(self) -> None:
        if self.n_assets < 10:
            raise ValueError(f"n_assets must be >= 10, got {self.n_assets}")
        if self.n_days < 30:
            raise ValueError(f"n_days must be >= 30, got {self.n_days}")
        if not 1 <= self.n_sectors <= self.n_assets:
            raise ValueError(f"n_sectors must be in [1, n_assets], got {self.n_sectors}")
        if not isinstance(self.start, date):
            raise TypeError(f"start must be a datetime.date, got {self.start!r}")
        if self.seed < 0:
            raise ValueError(f"seed must be >= 0, got {self.seed}")
        if self.n_noise_features < 0:
            raise ValueError(f"n_noise_features must be >= 0, got {self.n_noise_features}")
        if self.measurement_noise < 0:
            raise ValueError(f"measurement_noise must be >= 0, got {self.measurement_noise}")
        for name in ("p_stay_calm", "p_stay_stressed"):
            p = getattr(self, name)
            if not 0 < p < 1:
                raise ValueError(f"{name} must be in (0, 1), got {p}")
        for name in (
            "market_vol_calm",
            "market_vol_stressed",
            "sector_vol",
            "style_vol",
            "idio_vol",
            "stress_vol_multiplier",
        ):
            v = getattr(self, name)
            if not v > 0:
                raise ValueError(f"{name} must be > 0, got {v}")
        for name in ("beta_dispersion", "idio_vol_dispersion", "vol_of_vol"):
            v = getattr(self, name)
            if not v >= 0:
                raise ValueError(f"{name} must be >= 0, got {v}")
        if not 0 <= self.vol_persistence < 1:
            raise ValueError(f"vol_persistence must be in [0, 1), got {self.vol_persistence}")
        if len(self.signals) == 0:
            raise ValueError("signals must hold at least one PlantedSignal, got ()")
        names = [s.name for s in self.signals]
        names += [f"noise_{j + 1}" for j in range(self.n_noise_features)]
        for s in self.signals:
            if not 0 <= s.persistence < 1:
                raise ValueError(
                    f"persistence of signal {s.name!r} must be in [0, 1), got {s.persistence}"
                )
            if s.name in _RESERVED:
                raise ValueError(f"signal name {s.name!r} clashes with a price column")
        dupes = sorted({n for n in names if names.count(n) > 1})
        if dupes:
            raise ValueError(f"feature names must be unique, got duplicates {dupes}")

    @property
    def transition_matrix(self) -> np.ndarray:
        """Regime transition matrix, rows = from (calm, stressed), columns = to."""
        return np.array(
            [
                [self.p_stay_calm, 1 - self.p_stay_calm],
                [1 - self.p_stay_stressed, self.p_stay_stressed],
            ]
        )


@dataclass(frozen=True)
class SyntheticMarket:
    """Output of :func:`simulate_market`.

    Attributes
    ----------
    panel : pl.DataFrame
        ``date, asset, open, high, low, close, volume, sector, <features...>`` sorted by
        ``(date, asset)``.
    oracle : pl.DataFrame
        ``date, asset, oracle_alpha``: expected return of close ``t+1`` -> close ``t+2`` for the
        row dated ``t`` under the realised regime path; the last two dates are dropped.
    regimes : pl.DataFrame
        ``date, regime`` with ``regime`` in {"calm", "stressed"}.
    feature_names, signal_names, noise_names : tuple of str
        All feature columns (planted first), the planted ones, the noise ones.
    truth : dict
        Documented ground truth: strengths, persistences, transition matrix, factor vols and the
        empirical oracle Rank IC.
    """

    panel: pl.DataFrame
    oracle: pl.DataFrame
    regimes: pl.DataFrame
    feature_names: tuple[str, ...]
    signal_names: tuple[str, ...]
    noise_names: tuple[str, ...]
    truth: dict


def _ar1(rng: np.random.Generator, n_days: int, n_cols: int, rho: float) -> np.ndarray:
    """Unit-variance stationary AR(1) paths along axis 0, shape ``(n_days, n_cols)``."""
    u = rng.standard_normal((n_days, n_cols))
    u[1:] *= np.sqrt(1.0 - rho * rho)
    return lfilter([1.0], [1.0, -rho], u, axis=0)


def _standardise_rows(x: np.ndarray) -> np.ndarray:
    """Cross-sectional z-score per date (row)."""
    return (x - x.mean(axis=1, keepdims=True)) / x.std(axis=1, keepdims=True)


def _regime_path(rng: np.random.Generator, n_days: int, p_stay: tuple[float, float]) -> np.ndarray:
    """Two-state Markov chain started calm; 0 = calm, 1 = stressed."""
    u = rng.random(n_days)
    path = np.zeros(n_days, dtype=np.int8)
    state = 0
    for d in range(1, n_days):
        if u[d] >= p_stay[state]:
            state = 1 - state
        path[d] = state
    return path


def _rank_ic(pred: np.ndarray, realised: np.ndarray) -> np.ndarray:
    """Per-date Rank IC of two dense ``(n_dates, n_assets)`` arrays (row ``i`` = date ``i``).

    The row-wise Spearman routine behind :func:`quant_core.validation.ic_series`, applied to a
    full matrix: every date has all ``n_assets`` values, so none is skipped for too few assets
    (no ``min_assets`` cut); a date whose prediction or return is constant gets NaN.
    """
    # lazy: importing the simulator must not load the validation package
    from quant_core.validation.cross_section import row_correlations

    pred = np.asarray(pred, dtype=np.float64)
    realised = np.asarray(realised, dtype=np.float64)
    counts = np.full(pred.shape[0], pred.shape[1], dtype=np.int64)
    return row_correlations(pred, realised, counts, "spearman")


def _nanmean(x: np.ndarray) -> float:
    """Mean over finite values; NaN when there are none (e.g. a regime never visited)."""
    x = x[np.isfinite(x)]
    return float(x.mean()) if x.size else float("nan")


def simulate_market(config: SyntheticMarketConfig | None = None) -> SyntheticMarket:
    """Simulate a daily equity market with planted signals, regimes and a known oracle.

    Parameters
    ----------
    config : SyntheticMarketConfig, optional
        Defaults to ``SyntheticMarketConfig()`` (300 assets, 1008 business days).

    Returns
    -------
    SyntheticMarket
        Panel, oracle, regime path, feature names and the ground truth (see module docstring).
    """
    cfg = config if config is not None else SyntheticMarketConfig()
    rng = np.random.default_rng(cfg.seed)
    n, t = cfg.n_assets, cfg.n_days

    first = np.busday_offset(np.datetime64(cfg.start, "D"), 0, roll="forward")
    dates = np.busday_offset(first, np.arange(t))

    # Regimes and per-date factor scales.
    regime = _regime_path(rng, t, (cfg.p_stay_calm, cfg.p_stay_stressed))
    stressed = regime == 1
    k = np.where(stressed, cfg.stress_vol_multiplier, 1.0)
    m_vol = np.where(stressed, cfg.market_vol_stressed, cfg.market_vol_calm)
    m_drift = np.where(stressed, cfg.market_drift_stressed, cfg.market_drift_calm)

    # Static asset characteristics.
    sector = rng.permutation(np.arange(n) % cfg.n_sectors)
    beta = np.clip(1.0 + cfg.beta_dispersion * rng.standard_normal(n), 0.2, 2.5)
    styles = _standardise_rows(rng.standard_normal((2, n)))
    sigma = cfg.idio_vol * np.exp(cfg.idio_vol_dispersion * rng.standard_normal(n))
    p0 = rng.uniform(20.0, 200.0, n)

    # Factor returns.
    market = m_drift + m_vol * rng.standard_normal(t)
    sector_ret = cfg.sector_vol * k[:, None] * rng.standard_normal((t, cfg.n_sectors))
    style_ret = cfg.style_vol * rng.standard_normal((t, 2))
    common = market[:, None] * beta[None, :] + sector_ret[:, sector] + style_ret @ styles

    # Idiosyncratic noise with stochastic volatility.
    v = _ar1(rng, t, n, cfg.vol_persistence)
    h = np.exp(cfg.vol_of_vol * v - cfg.vol_of_vol**2)
    idio = sigma[None, :] * h * k[:, None] * rng.standard_normal((t, n))

    # Planted signals: value at t drives alpha of day t+2.
    latents, features = [], {}
    for s in cfg.signals:
        z = _standardise_rows(_ar1(rng, t, n, s.persistence))
        latents.append(z)
        features[s.name] = z + cfg.measurement_noise * rng.standard_normal((t, n))
    noise_rhos = np.linspace(0.5, 0.98, cfg.n_noise_features)
    noise_names = tuple(f"noise_{j + 1}" for j in range(cfg.n_noise_features))
    for name, rho in zip(noise_names, noise_rhos, strict=True):
        features[name] = _standardise_rows(_ar1(rng, t, n, float(rho)))

    b_calm = np.array([s.strength_calm for s in cfg.signals])
    b_stress = np.array([s.strength_stressed for s in cfg.signals])
    b = np.where(stressed[:, None], b_stress[None, :], b_calm[None, :])  # (t, K) by return day
    alpha = np.zeros((t, n))
    for j, z in enumerate(latents):
        alpha[2:] += b[2:, j, None] * z[:-2]
    alpha *= sigma[None, :]

    r = np.maximum(common + idio + alpha, _MIN_RETURN)

    # Prices, OHLC, volume.
    close = p0[None, :] * np.cumprod(1.0 + r, axis=0)
    prev_close = np.vstack([p0[None, :], close[:-1]])
    day_vol = sigma[None, :] * h * k[:, None]
    w = rng.uniform(0.0, 0.5, (t, n))
    open_ = prev_close * (1.0 + r) ** w * np.exp(0.2 * day_vol * rng.standard_normal((t, n)))
    high = np.maximum(open_, close) * np.exp(0.5 * day_vol * np.abs(rng.standard_normal((t, n))))
    low = np.minimum(open_, close) * np.exp(-0.5 * day_vol * np.abs(rng.standard_normal((t, n))))
    log_level = np.log(1e6) + rng.standard_normal(n)
    log_vol = (
        log_level[None, :]
        + 0.3 * np.abs(r) / sigma[None, :]
        + 0.4 * stressed[:, None]
        + 0.25 * rng.standard_normal((t, n))
    )
    volume = np.round(np.exp(log_vol)) + 1.0

    # Frames.
    width = max(4, len(str(n)))
    assets = np.array([f"A{i + 1:0{width}d}" for i in range(n)])
    sector_names = np.array([f"S{s + 1:02d}" for s in range(cfg.n_sectors)])
    date_col = pl.Series("date", np.repeat(dates, n)).cast(pl.Date)
    asset_col = pl.Series("asset", np.tile(assets, t), dtype=pl.String)
    panel = pl.DataFrame(
        [
            date_col,
            asset_col,
            pl.Series("open", open_.ravel()),
            pl.Series("high", high.ravel()),
            pl.Series("low", low.ravel()),
            pl.Series("close", close.ravel()),
            pl.Series("volume", volume.ravel()),
            pl.Series("sector", np.tile(sector_names[sector], t), dtype=pl.String),
            *[pl.Series(name, x.ravel()) for name, x in features.items()],
        ]
    )
    oracle = pl.DataFrame(
        [
            date_col[: (t - 2) * n],
            asset_col[: (t - 2) * n],
            pl.Series("oracle_alpha", alpha[2:].ravel()),
        ]
    )
    regimes = pl.DataFrame(
        [
            pl.Series("date", dates).cast(pl.Date),
            pl.Series("regime", np.where(stressed, "stressed", "calm"), dtype=pl.String),
        ]
    )

    ic = _rank_ic(alpha[2:], r[2:])
    label_stressed = stressed[2:]
    signal_names = tuple(s.name for s in cfg.signals)
    truth = {
        "model": "r = beta*m + sector + styles + alpha + sigma*h*k(regime)*e; see module docstring",
        "label": {"lag_days": 1, "horizon_days": 1, "window": "close t+1 -> close t+2"},
        "signals": {
            s.name: {
                "persistence": s.persistence,
                "strength": {"calm": s.strength_calm, "stressed": s.strength_stressed},
            }
            for s in cfg.signals
        },
        "measurement_noise": cfg.measurement_noise,
        "noise_persistence": dict(zip(noise_names, noise_rhos.tolist(), strict=True)),
        "regimes": ("calm", "stressed"),
        "transition_matrix": cfg.transition_matrix.tolist(),
        "stationary_stressed_share": (1 - cfg.p_stay_calm)
        / ((1 - cfg.p_stay_calm) + (1 - cfg.p_stay_stressed)),
        "realised_stressed_share": float(stressed.mean()),
        "factor_vols": {
            "market": {"calm": cfg.market_vol_calm, "stressed": cfg.market_vol_stressed},
            "market_drift": {"calm": cfg.market_drift_calm, "stressed": cfg.market_drift_stressed},
            "sector": {
                "calm": cfg.sector_vol,
                "stressed": cfg.sector_vol * cfg.stress_vol_multiplier,
            },
            "style": cfg.style_vol,
            "idio_median": {
                "calm": cfg.idio_vol,
                "stressed": cfg.idio_vol * cfg.stress_vol_multiplier,
            },
        },
        "oracle_rank_ic_mean": _nanmean(ic),
        "oracle_rank_ic_by_regime": {  # by the regime of the label's return day (t+2)
            "calm": _nanmean(ic[~label_stressed]),
            "stressed": _nanmean(ic[label_stressed]),
        },
    }
    return SyntheticMarket(
        panel=panel,
        oracle=oracle,
        regimes=regimes,
        feature_names=signal_names + noise_names,
        signal_names=signal_names,
        noise_names=noise_names,
        truth=truth,
    )
