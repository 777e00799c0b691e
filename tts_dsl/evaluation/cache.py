"""An evaluation cache keyed by provenance: the result rows of one program on one store
over a beta grid, filed under a hash of everything that determines them (tool version,
program hash, store content hash, betas, seeds, the questions run, limits). Kept in memory and, optionally,
in a JSON-lines file that several runs (``discover``, later ``eval`` and ``compare``) share.

A row that ended on the wall-clock cap (``L009``) is never cached: it depends on the
machine's load, not on the program, so the next request evaluates again. Nor is a row that
ended on an internal error (a bug of the tool, not a result of the program).

The tool version alone does not identify the code that computed a row (an editable install
keeps its version while its sources change), so the key also holds :func:`code_digest`, a
hash of the sources that determine results: the language, the engines, the replay
environment, the runner and the grammar."""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import json
from pathlib import Path

from ..files import append_line
from ..lang.limits import Limits

TIMEOUT_CODE = "L009"
INTERNAL = "internal error ("
_RESULT_SOURCES = ("lang", "engines", "replay", "evaluation/runner.py")


def tool_version() -> str:
    from .. import __version__  # the package's version string (a constant, no layer above)

    return __version__


@functools.lru_cache(maxsize=1)
def code_digest() -> str:
    """A hash of the package sources that determine an evaluation's rows (read once)."""
    pkg = Path(__file__).resolve().parent.parent
    files: list[Path] = []
    for part in _RESULT_SOURCES:
        p = pkg / part
        files.extend(sorted(p.rglob("*.py")) if p.is_dir() else [p])
    from ..lang.parser import grammar_text

    h = hashlib.sha256(grammar_text().encode("utf-8"))
    for f in files:
        try:
            h.update(f.relative_to(pkg).as_posix().encode() + b"\0" + f.read_bytes() + b"\0")
        except OSError:
            h.update(f.name.encode() + b"\0?\0")
    return h.hexdigest()[:16]


def provenance(program: str, store: str, betas, seeds, limits: Limits, questions=None,
               per_question: bool = False) -> dict:
    """What determines an evaluation: ``program`` is a hash of the program's behaviour
    (discovery uses the canonical AST hash), ``store`` the store's content digest;
    ``questions`` the store's question indices run (None: all); ``per_question``: the rows
    carry per-question arrays (``q_correct``, ``q_cost``), so an entry written without them
    is never served for a request that needs them."""
    d = {"tool": tool_version(), "code": code_digest(), "program": program, "store": store, "betas": list(betas),
         "seeds": list(seeds), "limits": dataclasses.asdict(limits)}
    if questions is not None:
        d["questions"] = [int(q) for q in questions]
    if per_question:
        d["per_question"] = True
    return d


def cache_key(prov: dict) -> str:
    raw = json.dumps(prov, sort_keys=True)
    return hashlib.sha256(raw.encode("utf-8")).hexdigest()[:32]


def timed_out(row: dict) -> bool:
    """The row ended on the wall-clock cap (its error is a rendered ``L009`` diagnostic)."""
    return f"[{TIMEOUT_CODE}]" in (row.get("error") or "")


def cacheable(row: dict) -> bool:
    """False for a row that ended on the wall-clock cap or on an internal error of the tool."""
    return not timed_out(row) and INTERNAL not in (row.get("error") or "")


class EvalCache:
    """Rows by provenance key; ``path`` (optional) persists them, one line per entry:
    ``{"key", "provenance", "rows"}``. Lines that do not parse (a torn last line after a
    crash, or an entry of an older format) are skipped."""

    def __init__(self, path: Path | None = None):
        self.path = Path(path) if path is not None else None
        self.entries: dict[str, list[dict]] = {}
        if self.path is not None and self.path.exists():
            for line in self.path.read_text(encoding="utf-8").splitlines():
                try:
                    d = json.loads(line)
                    if "provenance" in d:
                        self.entries[d["key"]] = d["rows"]
                except (ValueError, KeyError, TypeError):
                    continue

    def get(self, key: str) -> list[dict] | None:
        return self.entries.get(key)

    def put(self, key: str, prov: dict, rows: list[dict]) -> bool:
        """File ``rows`` under ``key``; refused (False) when a row is not :func:`cacheable`."""
        if not all(cacheable(r) for r in rows):
            return False
        self.entries[key] = rows
        if self.path is not None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            append_line(self.path, json.dumps({"key": key, "provenance": prov, "rows": rows}) + "\n")
        return True


def default_cache_path() -> Path | None:
    """Where ``eval`` and ``compare`` keep their cache: ``eval.jsonl`` in tts-dsl's cache
    directory (``$TTS_DSL_CACHE``, else ``$XDG_CACHE_HOME/tts-dsl``, i.e. ``~/.cache/tts-dsl``,
    shared with the stores' binary cache); None when ``TTS_DSL_CACHE=off``."""
    from ..replay.binary import cache_root

    root = cache_root()
    return None if root is None else root / "eval.jsonl"


def task_key(task) -> tuple[str, dict]:
    """The cache key of one sweep task (:class:`tts_dsl.evaluation.sweep.Task`): the program
    text's hash with its param overrides, the store's content hash, beta, seeds, limits."""
    from .sweep import program_hash

    program = f"{program_hash(task.source)} params={list(task.params)} episodes={task.keep_episodes}"
    prov = provenance(program, task.store.load().digest, [task.beta], task.seeds, task.limits)
    return cache_key(prov), prov


class CachedExecutor:
    """Wraps an executor: tasks evaluated before (same key) come from ``cache``, the others
    run and are filed. ``hits`` counts the rows served from the cache by the last ``map``.
    On an interrupt the finished rows are filed before :class:`Interrupted` propagates."""

    def __init__(self, inner, cache: EvalCache):
        self.inner, self.cache = inner, cache
        self.name = getattr(inner, "name", "local")
        self.hits = 0

    def map(self, tasks: list, progress=None) -> list[dict]:
        from .sweep import Interrupted

        keys = [task_key(t) for t in tasks]
        hits = [self.cache.get(k) for k, _ in keys]
        rows: list = [dict(h[0]) if h else None for h in hits]
        todo = [i for i, r in enumerate(rows) if r is None]
        self.hits = len(tasks) - len(todo)
        if progress and self.hits:
            progress(self.hits)
        try:
            got = self.inner.map([tasks[i] for i in todo], progress) if todo else []
        except Interrupted as it:
            for i, r in zip(todo, it.rows):
                if r is not None:
                    self._file(keys[i], r)
                    rows[i] = r
            raise Interrupted(rows) from None
        for i, r in zip(todo, got):
            rows[i] = r
            self._file(keys[i], r)
        return rows

    def _file(self, key, row: dict) -> None:
        try:
            self.cache.put(*key, [row])
        except OSError:  # an unwritable cache file: keep going in memory
            self.cache.path = None
