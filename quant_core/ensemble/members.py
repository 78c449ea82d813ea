"""Line up the out-of-fold predictions of several models as one wide frame."""

from collections.abc import Mapping

import polars as pl


def oof_wide(oofs: Mapping[str, pl.DataFrame], target: str = "target") -> pl.DataFrame:
    """``date, asset, target, <member>...`` from ``{member: oof frame (date, asset, prediction, target)}``.

    Rows are the (date, asset) pairs every member predicted (an inner join), so blends and
    routers compare members on exactly the same out-of-sample rows. A member tested more than
    once on a row (combinatorial CV) contributes its mean prediction.
    """
    if not oofs:
        raise ValueError("oof_wide needs at least one member")
    wide = None
    for name, oof in oofs.items():
        missing = [c for c in ("date", "asset", "prediction", target) if c not in oof.columns]
        if missing:
            raise ValueError(f"member {name!r} oof is missing columns {missing}")
        member = oof.group_by(["date", "asset"]).agg(
            pl.col("prediction").mean().alias(name), pl.col(target).first().alias(target)
        )
        wide = member if wide is None else wide.join(member.drop(target), on=["date", "asset"], how="inner")
    return wide.select(["date", "asset", target, *oofs]).sort(["date", "asset"])
