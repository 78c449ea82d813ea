"""A registry of point-in-time features, each one polars expression, and the function that
builds them for a panel.

A feature is written as a time-series expression over *one asset's* rows in date order, e.g.::

    register_feature("mom_12_1", pl.col("close").shift(21) / pl.col("close").shift(252) - 1)

:func:`build_features` evaluates it per asset, so it can only see that asset's own past; casts
inputs to float (NaN read as missing); turns non-finite results into missing values; and returns
the panel sorted by ``(date, asset)`` with one column per feature. A LazyFrame in gives a
LazyFrame out: nothing runs until the caller collects.

A feature may declare ``warmup_rows`` (how many earlier rows of its asset a value needs) when it
uses only exact operations (shifts, arithmetic, rolling max/min/quantile/rank): it is then
evaluated over the whole column in one pass, rows with too little history blanked, which gives
the same bits faster (see :mod:`quant_core.features.engine`). Running sums (rolling mean, sum,
std, var, correlation) must stay per asset (``warmup_rows=None``, the default). The built-in set
keeps its running sums in per-asset *helper* columns shared by several features.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import polars as pl

from quant_core.features.engine import evaluate
from quant_core.features.operators import POSITION
from quant_core.features.price import RESERVED_COLUMNS

KEYS = ("date", "asset")


@dataclass(frozen=True)
class FeatureSpec:
    """One registered feature: its expression, the columns it reads and how it is evaluated."""

    name: str
    expr: pl.Expr
    inputs: tuple[str, ...]
    warmup_rows: int | None = None
    """Earlier rows of the same asset the value needs; None: evaluated per asset (``over``)."""
    group: str = "custom"
    description: str = ""
    batch: str | None = None
    """Features with the same batch key are evaluated in one pass, sharing their helpers."""
    helpers: tuple[tuple[str, pl.Expr, int, int | None], ...] = ()
    """``(name, expression, level, warmup_rows)`` of the private helper columns it reads,
    dependencies first; a helper of level k reads helpers of lower levels only."""

    def available(self, columns: Iterable[str]) -> bool:
        """Whether a panel with ``columns`` has every input of this feature."""
        return set(self.inputs) <= set(columns)


class FeatureRegistry:
    """Named feature expressions; :data:`DEFAULT_REGISTRY` holds Alpha158 and user features."""

    def __init__(self) -> None:
        self._specs: dict[str, FeatureSpec] = {}
        # helper name -> (expression, raw inputs, helpers it needs (dependencies first), level,
        # warmup_rows)
        self._helpers: dict[str, tuple] = {}

    def _resolve(self, expr: pl.Expr) -> tuple[tuple[str, ...], tuple[str, ...]]:
        """Raw panel columns and helpers (dependencies first) an expression reads."""
        raw: dict[str, None] = {}
        needed: dict[str, None] = {}
        for root in dict.fromkeys(expr.meta.root_names()):
            if root == POSITION:
                continue
            if root in self._helpers:
                _, inputs, deps, _, _ = self._helpers[root]
                raw.update(dict.fromkeys(inputs))
                needed.update(dict.fromkeys(deps))
                needed[root] = None
            elif root.startswith("__"):
                raise ValueError(f"unknown helper column {root!r}: register it first")
            else:
                raw[root] = None
        return tuple(raw), tuple(needed)

    def register_helper(self, name: str, expr: pl.Expr, *,
                        warmup_rows: int | None = None) -> None:
        """Add a private intermediate column (name starts with ``__``) that features may read;
        it is computed once per batch and never returned. ``warmup_rows`` as for features."""
        if not name.startswith("__"):
            raise ValueError(f"helper names start with '__', got {name!r}")
        inputs, deps = self._resolve(expr)
        level = 1 + max((self._helpers[d][3] for d in deps), default=-1)
        self._helpers[name] = (expr, inputs, deps, level, warmup_rows)

    def register(self, name: str, expr: pl.Expr, *, warmup_rows: int | None = None,
                 group: str = "custom", description: str = "", batch: str | None = None,
                 overwrite: bool = False) -> FeatureSpec:
        """Add a feature; ``expr`` reads panel columns of one asset in date order."""
        if not isinstance(name, str) or not name or name.startswith("__"):
            raise ValueError(f"feature name must be a non-empty string not starting with '__', "
                             f"got {name!r}")
        if name in RESERVED_COLUMNS:
            raise ValueError(f"feature name {name!r} is a reserved panel column")
        if not isinstance(expr, pl.Expr):
            raise TypeError(f"feature {name!r} must be a polars expression, got "
                            f"{type(expr).__name__}")
        if warmup_rows is not None and warmup_rows < 0:
            raise ValueError(f"warmup_rows must be >= 0 or None, got {warmup_rows}")
        if name in self._specs and not overwrite:
            raise ValueError(f"feature {name!r} is already registered (pass overwrite=True)")
        inputs, helper_names = self._resolve(expr)
        if not inputs:
            raise ValueError(f"feature {name!r} reads no column: {expr}")
        helpers = tuple((h, self._helpers[h][0], self._helpers[h][3], self._helpers[h][4])
                        for h in helper_names)
        spec = FeatureSpec(name, expr, inputs, warmup_rows, group, description, batch, helpers)
        self._specs[name] = spec
        return spec

    def unregister(self, name: str) -> None:
        self._specs.pop(name, None)

    def __contains__(self, name: object) -> bool:
        return name in self._specs

    def __len__(self) -> int:
        return len(self._specs)

    def get(self, name: str) -> FeatureSpec:
        try:
            return self._specs[name]
        except KeyError:
            raise KeyError(f"unknown feature {name!r}; registered: {len(self._specs)} "
                           f"(e.g. {list(self._specs)[:5]})") from None

    def names(self, group: str | None = None) -> list[str]:
        """Registered names in registration order, optionally those whose group starts with
        ``group`` (e.g. ``"alpha158"``)."""
        return [n for n, s in self._specs.items() if group is None or s.group.startswith(group)]

    def available(self, columns: Iterable[str], group: str | None = None) -> list[str]:
        """Names whose inputs are all among ``columns``."""
        columns = set(columns)
        return [n for n in self.names(group) if self._specs[n].available(columns)]


def _alpha158_registry() -> FeatureRegistry:
    from quant_core.features.alpha158 import alpha158_definitions, alpha158_helpers

    registry = FeatureRegistry()
    for name, (expr, warmup) in alpha158_helpers().items():
        registry.register_helper(name, expr, warmup_rows=warmup)
    for name, expr, warmup, group, batch in alpha158_definitions():
        registry.register(name, expr, warmup_rows=warmup, group=group, batch=batch)
    return registry


#: The process-wide registry: the Alpha158-style set plus whatever users register.
DEFAULT_REGISTRY = _alpha158_registry()


def register_feature(name: str, expr: pl.Expr, *, warmup_rows: int | None = None,
                     description: str = "", overwrite: bool = False) -> FeatureSpec:
    """Register a feature in :data:`DEFAULT_REGISTRY` (see :meth:`FeatureRegistry.register`)."""
    return DEFAULT_REGISTRY.register(name, expr, warmup_rows=warmup_rows, group="custom",
                                     description=description, batch="custom",
                                     overwrite=overwrite)


def _columns(panel: pl.DataFrame | pl.LazyFrame) -> list[str]:
    return panel.collect_schema().names() if isinstance(panel, pl.LazyFrame) else panel.columns


def default_feature_set(panel: pl.DataFrame | pl.LazyFrame | Sequence[str]) -> list[str]:
    """The Alpha158-style features a panel's columns support (158 with OHLCV and ``vwap``, 157
    with OHLCV, 75 with ``close`` only), in Qlib's order."""
    columns = panel if isinstance(panel, Sequence) and not isinstance(panel, str) \
        else _columns(panel)
    return DEFAULT_REGISTRY.available(columns, group="alpha158")


def build_features(panel: pl.DataFrame | pl.LazyFrame, names: Sequence[str] | None = None, *,
                   registry: FeatureRegistry | None = None,
                   dtype: pl.DataType = pl.Float32) -> pl.DataFrame | pl.LazyFrame:
    """Return ``panel`` sorted by ``(date, asset)`` with the named features added.

    Parameters
    ----------
    panel : a long panel keyed by ``(date, asset)`` (eager or lazy; any row order).
    names : features to build; None builds every registered feature the panel's columns allow.
    registry : where names are looked up (default :data:`DEFAULT_REGISTRY`).
    dtype : the features' dtype. Float32 (Qlib's choice) halves memory: 158 features of 3,000
        assets x 2,500 days are 4.7 GB in float32.

    Raises
    ------
    ValueError
        A name is unknown, its inputs are missing from the panel, or it is already a column.
    """
    registry = registry or DEFAULT_REGISTRY
    columns = _columns(panel)
    missing_keys = [c for c in KEYS if c not in columns]
    if missing_keys:
        raise ValueError(f"panel is missing key columns {missing_keys}")
    names = registry.available(columns) if names is None else list(names)
    specs = [registry.get(n) for n in names]
    for spec in specs:
        absent = [c for c in spec.inputs if c not in columns]
        if absent:
            raise ValueError(f"feature {spec.name!r} needs columns {absent} the panel lacks")
    clash = [s.name for s in specs if s.name in columns]
    if clash:
        raise ValueError(f"panel already has columns named like features {clash[:5]}")
    if isinstance(panel, pl.LazyFrame):
        schema = dict(panel.collect_schema()) | {s.name: dtype for s in specs}
        return panel.map_batches(lambda frame: evaluate(frame, specs, dtype), schema=schema)
    return evaluate(panel, specs, dtype)
