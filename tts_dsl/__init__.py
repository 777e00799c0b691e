"""tts-dsl: a small language for test-time-scaling controllers.

See :mod:`tts_dsl.api` for the Python API (``load``, ``check``, ``compile``,
``open_store``, ``evaluate``; ``sweep``, ``compare``, ``trace`` and ``discover`` mirror the
command line; docs/python.md) and ``docs/`` for the language reference.
"""

from .api import (Binding, CheckedProgram, Diagnostic, DiagnosticsError, DiscoveryResult, EvalResult, Executable,
                  Limits, Store, StoreError, check, compare, compile, discover, evaluate, evaluate_one, list_datasets,
                  list_models, load, open_store, parse, read_source, sweep, trace)

def _version() -> str:
    """The installed distribution's version; a checkout that is not installed says so."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("tts-dsl")
    except PackageNotFoundError:
        return "0.0.0+checkout"


__version__ = _version()

__all__ = [
    "parse", "check", "load", "compile", "open_store", "evaluate", "evaluate_one", "read_source",
    "sweep", "compare", "trace", "discover", "DiscoveryResult",
    "CheckedProgram", "Executable", "EvalResult", "Store", "StoreError", "Diagnostic", "DiagnosticsError",
    "Limits", "Binding", "list_models", "list_datasets", "__version__",
]
