"""Import ``shap`` lazily (1-2 s) and quietly (it warns about matplotlib colormap APIs)."""

from __future__ import annotations

import warnings
from typing import Any


def import_shap() -> Any:
    """Return the ``shap`` module, silencing its import-time PendingDeprecationWarnings."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", PendingDeprecationWarning)
        import shap
    return shap
