"""quant_core: every calculation and validation rule of the model layer; no orchestration imports."""
