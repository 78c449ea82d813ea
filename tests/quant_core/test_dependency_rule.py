"""quant_core never imports orchestration or tracking code (ARCHITECTURE.md)."""

import pkgutil
import subprocess
import sys

import quant_core


def test_importing_every_quant_core_module_loads_neither_dagster_nor_mlflow():
    modules = [m.name for m in pkgutil.walk_packages(quant_core.__path__, "quant_core.")]
    assert len(modules) > 20
    code = (
        "import importlib, sys\n"
        f"for name in {modules!r}: importlib.import_module(name)\n"
        "bad = sorted(m for m in sys.modules if m.split('.')[0] in ('dagster', 'mlflow', 'dagster_project'))\n"
        "print(','.join(bad))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""
