"""Shared fixtures. Tests marked ``shared`` need ../shared/replay (present in CI; .ci/run fails
without it). Locally, without it, they are skipped with a clear reason."""

from __future__ import annotations

import importlib
import os
import sys
import tempfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PROGRAMS = ROOT / "programs"
SHARED = ROOT.parent / "shared"
REPLAY = SHARED / "replay"
REFERENCE = SHARED / "reference" / "aime24.csv"
MODELS = ["Qwen3-0.6B", "Qwen3-1.7B", "Qwen3-4B", "Qwen3-8B"]

# The suite starts many Python processes (two xdist workers, CLI and Ray subprocesses): where
# the environment turns bytecode caching off (PYTHONDONTWRITEBYTECODE), each of them would
# compile tts_dsl and the test modules from source again (10-25 s of a run). The .pyc files
# go to the checkout's __pycache__ directories, which git ignores.
if os.environ.pop("PYTHONDONTWRITEBYTECODE", None) is not None:
    sys.dont_write_bytecode = False

# tts-dsl's cache directory (the stores' binary cache, the fast engine's code, the evaluation
# cache of eval/compare): one fresh directory per test session, also for the CLI subprocesses
# the tests start, never the user's ~/.cache. Under pytest-xdist the workers share the
# controller's (they inherit its environment), so a program is compiled natively once.
if os.environ.get("PYTEST_XDIST_WORKER") and os.environ.get("TTS_DSL_TEST_CACHE"):
    os.environ["TTS_DSL_CACHE"] = os.environ["TTS_DSL_TEST_CACHE"]
else:
    os.environ["TTS_DSL_CACHE"] = os.environ["TTS_DSL_TEST_CACHE"] = tempfile.mkdtemp(prefix="tts-dsl-test-cache-")


def pytest_collection_modifyitems(config, items):
    if REPLAY.is_dir():
        return
    if os.environ.get("CI"):
        raise pytest.UsageError(f"CI needs the shared replay stores at {REPLAY}")
    skip = pytest.mark.skip(reason=f"needs {REPLAY}")
    for item in items:
        if "shared" in item.keywords:
            item.add_marker(skip)


@pytest.fixture(scope="session")
def replay_root() -> Path:
    return REPLAY


@pytest.fixture(scope="session")
def small_store():
    from tts_dsl.replay.synthetic import synthetic_store

    return synthetic_store(seed=7, n_questions=6, n_branches=32)


def program_path(name: str) -> Path:
    return PROGRAMS / name


def default_and_slow(prop, given_, default: int, slow: int, **settings_kw):
    """One hypothesis property as two tests: ``default`` examples in the default suite, and a
    twin with ``slow`` (more) examples marked slow, which CI runs after the default suite
    (``python -m pytest -q -m slow``). Use: ``test_x, test_x_more = default_and_slow(_x,
    given(...), 40, 150)``; ``_x`` is the undecorated property, ``given_`` its strategies."""
    from hypothesis import settings

    def make(n):
        return settings(max_examples=n, deadline=None, **settings_kw)(given_(prop))

    return make(default), pytest.mark.slow(make(slow))


def require(module: str, extra: str):
    """Import an optional dependency, or skip the test without it; except under CI
    (``.ci/run`` sets TTS_DSL_CI and installs every extra), where a missing one fails."""
    if os.environ.get("TTS_DSL_CI"):
        return importlib.import_module(module)
    return pytest.importorskip(module, reason=f"needs {module} (pip install -e '.[{extra}]')")
