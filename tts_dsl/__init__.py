"""tts-dsl: a small language for test-time-scaling controllers.

See :mod:`tts_dsl.api` for the Python API (``load``, ``check``, ``compile``,
``open_store``, ``evaluate``) and ``docs/`` for the language reference.
"""

from .api import (Binding, CheckedProgram, Diagnostic, DiagnosticsError, EvalResult, Executable, Limits, Store,
                  StoreError, check, compile, evaluate, evaluate_one, list_datasets, list_models, load, open_store,
                  parse, read_source)

__version__ = "0.1.0"

__all__ = [
    "parse", "check", "load", "compile", "open_store", "evaluate", "evaluate_one", "read_source",
    "CheckedProgram", "Executable", "EvalResult", "Store", "StoreError", "Diagnostic", "DiagnosticsError",
    "Limits", "Binding", "list_models", "list_datasets", "__version__",
]
