"""Store validation: check a replay store (one file or a ``ROOT/<model>/<dataset>.json``
tree) and summarise it, without ever writing to it.

Structural validation is the loader's (:func:`tts_dsl.replay.store.questions_from_json`):
whatever it rejects, a replay could not use. This module adds the summary (questions,
branches, probe and length statistics, answer diversity, the share of branches whose probes
outrun their token length) and warnings for things a replay can use but that are likely
mistakes in the pipeline that produced the store (uneven branch counts, absurd lengths,
answers with surrounding whitespace, unknown keys).
"""

from __future__ import annotations

import json
import statistics
from dataclasses import asdict, dataclass, field
from pathlib import Path

from .meta import read_meta
from .store import StoreError, load_file

KNOWN_KEYS = {"question", "gold_answer", "probe_freq", "each_branch", "final_answers_trace"}
MAX_SANE_TOKENS = 10_000_000  # one branch longer than this is almost certainly a unit error


@dataclass
class StoreSummary:
    path: str
    model: str
    dataset: str
    ok: bool
    errors: list = field(default_factory=list)  # each names file, question index and field
    warnings: list = field(default_factory=list)
    questions: int = 0
    branches_total: int = 0
    branches_min: int = 0
    branches_max: int = 0
    probe_freq: int | None = None
    probes_min: int = 0
    probes_mean: float = 0.0
    probes_max: int = 0
    tokens_min: int = 0
    tokens_mean: float = 0.0
    tokens_max: int = 0
    distinct_finals_mean: float = 0.0  # distinct final answers per question
    distinct_finals_max: int = 0
    distinct_probe_answers_mean: float = 0.0  # distinct revealed answers per question
    gold_in_finals: float = 0.0  # share of questions where some branch ends on the gold answer
    finals_correct: float = 0.0  # share of all branches whose final answer is the gold one
    outrun_share: float = 0.0  # share of branches with len(probes) * probe_freq > tokens
    junk_answers: list = field(default_factory=list)  # the answer texts the store counts as junk
    junk_probe_share: float = 0.0  # share of revealed probe answers that are junk
    junk_final_share: float = 0.0  # share of branches whose final answer is junk
    digest: str = ""
    meta: dict | None = None  # the metadata block (``<file>.meta``), when there is one

    def to_dict(self) -> dict:
        return asdict(self)


def _raw_warnings(path: Path, max_warnings: int = 20) -> list[str]:
    """Warnings that need the raw JSON (the loader interns answers and drops unknown keys)."""
    out: list[str] = []
    try:
        data = json.loads(path.read_bytes().decode("utf-8"))
    except Exception:  # the loader already accepted it; be defensive anyway
        return out

    def warn(msg):
        if len(out) < max_warnings:
            out.append(msg)

    if isinstance(data, dict):  # the object form: {"junk_answers": [...], "questions": [...]}
        data = data["questions"]
    for qi, q in enumerate(data):
        extra = sorted(set(q) - KNOWN_KEYS)
        if extra:
            warn(f"{path}: question {qi}: unknown key{'s' if len(extra) > 1 else ''} "
                 f"{', '.join(repr(k) for k in extra[:5])} (ignored)")
        if "question" in q and not isinstance(q["question"], str):
            warn(f"{path}: question {qi}, field 'question': expected a string, found "
                 f"{type(q['question']).__name__} (never shown to controllers; ignored)")
        gold = q["gold_answer"]
        if gold != gold.strip():
            warn(f"{path}: question {qi}, field 'gold_answer': {gold!r} has surrounding whitespace; "
                 "answers are compared as exact strings")
        for bi, (probes, tokens, final) in enumerate(q["each_branch"]):
            if final != final.strip():
                warn(f"{path}: question {qi}, field 'each_branch[{bi}][2]': final answer {final!r} has "
                     "surrounding whitespace; answers are compared as exact strings")
                break
    return out


def validate_file(path: str | Path, model: str | None = None, dataset: str | None = None,
                  max_problems: int = 10) -> StoreSummary:
    """Validate one store file and summarise it. Never raises for a bad store: the
    problems are in ``summary.errors`` (``ok`` is False)."""
    p = Path(path)
    s = StoreSummary(str(p), model or p.parent.name, dataset or p.stem, ok=False)
    try:
        store = load_file(p, s.model, s.dataset)
    except StoreError as ex:
        s.errors = list(ex.problems)[:max_problems]
        return s
    except OSError as ex:
        s.errors = [f"{p}: cannot read: {ex.strerror or ex}"]
        return s
    s.ok = True
    s.digest = store.digest
    qs = store.questions
    s.questions = len(qs)
    nb = [q.n_branches for q in qs]
    s.branches_total = sum(nb)
    s.branches_min, s.branches_max = min(nb), max(nb)
    s.probe_freq = qs[0].probe_freq
    nprobes = [n for q in qs for n in q.nprobes]
    tokens = [t for q in qs for t in q.tokens]
    s.probes_min, s.probes_max = min(nprobes), max(nprobes)
    s.probes_mean = statistics.fmean(nprobes)
    s.tokens_min, s.tokens_max = min(tokens), max(tokens)
    s.tokens_mean = statistics.fmean(tokens)
    finals_distinct = [len(set(q.final)) for q in qs]
    s.distinct_finals_mean = statistics.fmean(finals_distinct)
    s.distinct_finals_max = max(finals_distinct)
    s.distinct_probe_answers_mean = statistics.fmean(
        len({a for row in q.probes for a in row} | set(q.final)) for q in qs)
    s.gold_in_finals = sum(1 for q in qs if q.gold in q.final) / len(qs)
    s.finals_correct = sum(sum(1 for f in q.final if f == q.gold) for q in qs) / s.branches_total
    outrun = sum(1 for q in qs for n, t in zip(q.nprobes, q.tokens) if n * q.probe_freq > t)
    s.outrun_share = outrun / s.branches_total
    s.junk_answers = list(store.junk_answers)
    s.junk_probe_share = sum(sum(a in q.junk for a in row) for q in qs for row in q.probes) / sum(nprobes)
    s.junk_final_share = sum(sum(f in q.junk for f in q.final) for q in qs) / s.branches_total

    if s.branches_min != s.branches_max:
        s.warnings.append(f"{p}: questions have between {s.branches_min} and {s.branches_max} branches; "
                          "the AutoTTS protocol assumes the same count for every question")
    for q in qs:
        big = [i for i, t in enumerate(q.tokens) if t > MAX_SANE_TOKENS]
        if big:
            s.warnings.append(f"{p}: question {q.index}, field 'each_branch[{big[0]}][1]': "
                              f"{q.tokens[big[0]]:,} tokens is implausibly long")
            break
    for q in qs:
        zero = [i for i, t in enumerate(q.tokens) if t == 0]
        if zero:
            s.warnings.append(f"{p}: question {q.index}, field 'each_branch[{zero[0]}][1]': a branch of 0 tokens")
            break
    s.warnings.extend(_raw_warnings(p))
    s.meta, meta_warnings = read_meta(p)
    s.warnings.extend(meta_warnings)
    return s


def find_store_files(path: str | Path) -> list[tuple[Path, str, str]]:
    """``(file, model, dataset)`` for a file, a ``ROOT`` directory or a ``ROOT/<model>`` directory.

    Raises :class:`StoreError` for a path that is neither.
    """
    p = Path(path)
    if not p.exists():
        raise StoreError(f"{p}: no such file or directory")
    if p.is_file():
        if p.suffix != ".json":
            raise StoreError(f"{p}: not a store file (expected a .json file)")
        return [(p, p.parent.name, p.stem)]
    if not p.is_dir():
        raise StoreError(f"{p}: not a file or a directory")
    out = []
    try:
        models = sorted(d for d in p.iterdir() if d.is_dir())
    except OSError as ex:
        raise StoreError(f"{p}: cannot list: {ex.strerror or ex}") from None
    for m in models:
        for f in sorted(m.glob("*.json")):
            if f.is_file():
                out.append((f, m.name, f.stem))
    if out:
        return out
    direct = sorted(f for f in p.glob("*.json") if f.is_file())
    if direct:  # a ROOT/<model> directory
        return [(f, p.name, f.stem) for f in direct]
    raise StoreError(f"{p}: not a store: expected ROOT/<model>/<dataset>.json files "
                     "(or a .json file); found none")


def validate_path(path: str | Path, max_problems: int = 10) -> list[StoreSummary]:
    """Validate every store file under ``path`` (see :func:`find_store_files`)."""
    return [validate_file(f, m, d, max_problems) for f, m, d in find_store_files(path)]


__all__ = ["StoreSummary", "validate_file", "validate_path", "find_store_files"]
