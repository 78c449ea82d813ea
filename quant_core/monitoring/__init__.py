"""Monitoring: Evidently drift reports, realised IC against validation, promotion rules.

Import the submodules directly (``quant_core.monitoring.evidently_drift``, ``.realized_ic``,
``.promotion``); importing this package loads none of them.
"""

__all__: list[str] = []
