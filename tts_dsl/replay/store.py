"""Replay stores in the AutoTTS layout (``ROOT/<model>/<dataset>.json``), loaded into flat
per-question arrays with answers interned to small integers.

Loading validates everything a controller relies on and reports the first problems as
:class:`StoreError` naming the file, the question index and the field. Nothing is ever
written to a store; a valid store's arrays are kept in a binary cache in the user's cache
directory (:mod:`.binary`), keyed by the SHA-256 of its bytes, so it is parsed once.

A store file is a JSON list of questions (the AutoTTS layout) or an object
``{"junk_answers": [...], "questions": [...]}``. ``junk_answers`` lists the revealed
answers that are not answers (extractor failures); without it they are
:data:`DEFAULT_JUNK`, AutoTTS's extractor failure values. Junk answers stay answers (votes
count them, as AutoTTS does); programs can ask ``valid(a)`` and filter with ``real(xs)``.
"""

from __future__ import annotations

import hashlib
import json
import math
import random
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

from . import binary


DEFAULT_JUNK = ("ERR", "?", "")  # what AutoTTS's answer extractor gives when it finds no answer


class StoreError(Exception):
    """A store that cannot be used, with a message naming file, question and field."""

    def __init__(self, message: str, problems: list[str] | None = None):
        self.problems = problems or [message]
        super().__init__(message)


@dataclass
class Question:
    """One question's branches as arrays. ``answers[i]`` is the text of answer id ``i``."""

    index: int
    probes: list  # list[list[int]]: revealed answer ids per interval, per branch
    nprobes: list  # list[int]
    tokens: list  # list[int]
    final: list  # list[int]
    probe_freq: int
    gold: int  # answer id of the gold answer (may be an id no branch uses)
    answers: list  # id -> answer text
    junk: frozenset = frozenset()  # ids of the answers that are junk (the store's junk_answers)

    @property
    def n_branches(self) -> int:
        return len(self.tokens)

    def text(self, aid):
        return None if aid is None else self.answers[aid]

    def __repr__(self) -> str:
        return f"Question({self.index}, {self.n_branches} branches, gold={self.text(self.gold)!r})"


@dataclass
class Store:
    model: str
    dataset: str
    path: str
    questions: list
    digest: str = ""
    meta: dict = field(default_factory=dict)
    junk_answers: tuple = DEFAULT_JUNK  # the answer texts that are junk (see the module doc)

    @property
    def label(self) -> str:
        return f"{self.model}/{self.dataset}"

    def __len__(self):
        return len(self.questions)

    def __repr__(self) -> str:  # short: the questions are megabytes
        return (f"Store({self.label!r}, {len(self.questions)} questions, "
                f"{max((q.n_branches for q in self.questions), default=0)} branches max, digest={self.digest!r})")


@lru_cache(maxsize=100_000)
def permutation(n: int, seed: int) -> tuple:
    """Branch order for an episode: ``random.Random(seed).shuffle`` of ``n`` branches.

    Cached for the life of the process: a sweep evaluates the same seeds for every task,
    so each shuffle is done once per worker."""
    order = list(range(n))
    random.Random(seed).shuffle(order)
    return tuple(order)


@dataclass(frozen=True)
class StoreLimits:
    """What one store may hold; checked while loading, before any episode runs. Real stores
    are far inside (AIME24: 30 questions, 128 branches, at most 80 probes and 41,470 tokens
    per branch). Override in Python (``load_file(..., limits=StoreLimits(...))``) or with
    ``TTS_DSL_STORE_LIMITS="max_branches=2000000,max_questions=..."`` in the environment."""

    max_questions: int = 100_000
    max_branches: int = 4_096          # per question
    max_probes: int = 100_000          # per branch
    max_tokens: int = 1_000_000_000_000  # per branch (10**12; above, sums lose float precision)
    max_bytes: int = 2_000_000_000     # the file

    @classmethod
    def from_env(cls) -> "StoreLimits":
        import os

        spec = os.environ.get("TTS_DSL_STORE_LIMITS", "").strip()
        kw = {}
        for item in filter(None, (x.strip() for x in spec.split(","))):
            k, _, v = item.partition("=")
            k = k.strip()
            if k not in cls.__dataclass_fields__:
                raise StoreError(f"TTS_DSL_STORE_LIMITS: unknown limit {k!r} "
                                 f"(one of {', '.join(cls.__dataclass_fields__)})")
            try:
                kw[k] = int(v)
            except ValueError:
                raise StoreError(f"TTS_DSL_STORE_LIMITS: {k} must be an integer, found {v.strip()!r}") from None
            if kw[k] <= 0:
                raise StoreError(f"TTS_DSL_STORE_LIMITS: {k} must be positive")
        return cls(**kw)


def _is_int(x) -> bool:
    return isinstance(x, int) and not isinstance(x, bool)


def _problem(file, qi, fieldname, msg):
    where = f"{file}: question {qi}" if qi is not None else f"{file}"
    if fieldname:
        where += f", field '{fieldname}'"
    return f"{where}: {msg}"


def junk_answers_of(data, file: str) -> tuple:
    """The junk answer texts of a parsed store: its ``junk_answers`` field when it is an
    object, else :data:`DEFAULT_JUNK`."""
    if not isinstance(data, dict):
        return DEFAULT_JUNK
    junk = data.get("junk_answers", list(DEFAULT_JUNK))
    if not isinstance(junk, list) or not all(isinstance(j, str) for j in junk):
        raise StoreError(_problem(file, None, "junk_answers", "expected a list of strings"))
    return tuple(junk)


def questions_from_json(data, file: str, max_problems: int = 10, limits: StoreLimits | None = None) -> list[Question]:
    """Validate and convert parsed JSON (a list of question objects, or an object with
    ``questions`` and optionally ``junk_answers``) within ``limits``."""
    problems: list[str] = []
    lim = limits or StoreLimits.from_env()
    junk_texts = frozenset(junk_answers_of(data, file))
    if isinstance(data, dict):
        unknown = sorted(set(data) - {"questions", "junk_answers"})
        if "questions" not in data:
            raise StoreError(_problem(file, None, "questions", "missing (a store object holds its questions there)"))
        if unknown:
            raise StoreError(_problem(file, None, unknown[0], "unknown store field (known: questions, junk_answers)"))
        data = data["questions"]

    def bad(qi, fld, msg):
        problems.append(_problem(file, qi, fld, msg))
        if len(problems) >= max_problems:
            raise StoreError(problems[0], problems)

    if not isinstance(data, list):
        raise StoreError(_problem(file, None, None, f"expected a JSON list of questions, found {type(data).__name__}"))
    if not data:
        raise StoreError(_problem(file, None, None, "the store has no questions"))
    if len(data) > lim.max_questions:
        raise StoreError(_problem(file, None, None, f"{len(data):,} questions; the limit is {lim.max_questions:,} "
                                  "(TTS_DSL_STORE_LIMITS=max_questions=N to raise it)"))
    out = []
    freq0 = None
    for qi, q in enumerate(data):
        if not isinstance(q, dict):
            bad(qi, None, f"expected an object, found {type(q).__name__}")
            continue
        missing = [k for k in ("gold_answer", "probe_freq", "each_branch") if k not in q]
        if missing:
            bad(qi, missing[0], "missing")
            continue
        gold = q["gold_answer"]
        if not isinstance(gold, str):
            bad(qi, "gold_answer", f"expected a string, found {type(gold).__name__}")
            continue
        pf = q["probe_freq"]
        if not _is_int(pf) or pf <= 0:
            bad(qi, "probe_freq", f"expected a positive integer, found {pf!r}")
            continue
        if freq0 is None:
            freq0 = pf
        elif pf != freq0:
            bad(qi, "probe_freq", f"{pf} differs from question 0's {freq0}: a store has one interval size")
            continue
        branches = q["each_branch"]
        if not isinstance(branches, list) or not branches:
            bad(qi, "each_branch", "expected a non-empty list of branches")
            continue
        if len(branches) > lim.max_branches:
            bad(qi, "each_branch", f"{len(branches):,} branches; the limit is {lim.max_branches:,} "
                "(TTS_DSL_STORE_LIMITS=max_branches=N to raise it)")
            continue
        intern: dict = {}
        answers: list = []

        def aid(s):
            i = intern.get(s)
            if i is None:
                i = intern[s] = len(answers)
                answers.append(s)
            return i

        P, NP, T, F = [], [], [], []
        ok = True
        for bi, br in enumerate(branches):
            fld = f"each_branch[{bi}]"
            if not isinstance(br, list) or len(br) != 3:
                bad(qi, fld, "expected [probes, tokens, final]")
                ok = False
                break
            probes, tokens, final = br
            if not isinstance(probes, list) or not probes:
                bad(qi, fld + "[0]", "probes must be a non-empty list of strings")
                ok = False
                break
            if len(probes) > lim.max_probes:
                bad(qi, fld + "[0]", f"{len(probes):,} probes; the limit is {lim.max_probes:,} "
                    "(TTS_DSL_STORE_LIMITS=max_probes=N to raise it)")
                ok = False
                break
            if not all(isinstance(p, str) for p in probes):
                badp = next(p for p in probes if not isinstance(p, str))
                bad(qi, fld + "[0]", f"probes must be strings, found {type(badp).__name__} {badp!r}"[:200])
                ok = False
                break
            if not _is_int(tokens) or tokens < 0:
                if isinstance(tokens, float) and tokens.is_integer() and tokens >= 0 and math.isfinite(tokens):
                    tokens = int(tokens)
                else:
                    bad(qi, fld + "[1]", f"tokens must be a non-negative integer, found {tokens!r}"[:200])
                    ok = False
                    break
            if tokens > lim.max_tokens:
                bad(qi, fld + "[1]", f"{str(tokens)[:40]}{'...' if len(str(tokens)) > 40 else ''} tokens; "
                    f"the limit is {lim.max_tokens:,} per branch")
                ok = False
                break
            if not isinstance(final, str):
                bad(qi, fld + "[2]", f"the final answer must be a string, found {type(final).__name__}")
                ok = False
                break
            P.append([aid(p) for p in probes])
            NP.append(len(probes))
            T.append(tokens)
            F.append(aid(final))
        if not ok:
            continue
        g = aid(gold)
        out.append(Question(qi, P, NP, T, F, pf, g, answers,
                            frozenset(i for i, a in enumerate(answers) if a in junk_texts)))
    if problems:
        raise StoreError(problems[0], problems)
    return out


def load_file(path: str | Path, model: str | None = None, dataset: str | None = None,
              limits: StoreLimits | None = None) -> Store:
    p = Path(path)
    lim = limits or StoreLimits.from_env()
    if not p.exists():
        raise StoreError(f"{p}: no such file")
    if p.is_dir():
        raise StoreError(f"{p}: is a directory; give --model and --dataset, or the path of one .json file")
    with open(p, "rb") as fh:  # at most the limit + 1 bytes: /dev/zero or a huge file is refused, not read
        raw = fh.read(lim.max_bytes + 1)
    if len(raw) > lim.max_bytes:
        raise StoreError(f"{p}: more than {lim.max_bytes:,} bytes; the limit is {lim.max_bytes:,} "
                         "(TTS_DSL_STORE_LIMITS=max_bytes=N to raise it)")
    sha = hashlib.sha256(raw).hexdigest()
    cached = binary.cache_path(sha)
    hit = binary.load(cached, Question) if cached is not None and cached.is_file() else None
    if hit is not None:  # parsed and validated before: the same bytes give the same questions
        qs, junk = hit
        return Store(model or p.parent.name, dataset or p.stem, str(p), qs, sha[:16], junk_answers=junk)
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as ex:
        raise StoreError(f"{p}: not UTF-8 text (byte {ex.start})") from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as ex:
        raise StoreError(f"{p}: invalid JSON at line {ex.lineno} column {ex.colno}: {ex.msg}") from None
    except RecursionError:
        raise StoreError(f"{p}: invalid store: JSON nested too deeply") from None
    except ValueError as ex:  # e.g. an integer with more digits than Python converts
        raise StoreError(f"{p}: invalid JSON: {ex}"[:300]) from None
    qs = questions_from_json(data, str(p), limits=lim)
    junk = junk_answers_of(data, str(p))
    if cached is not None:
        binary.save(cached, qs, junk)
    return Store(model or p.parent.name, dataset or p.stem, str(p), qs, sha[:16], junk_answers=junk)


def list_models(root: str | Path) -> list[str]:
    r = Path(root)
    if not r.is_dir():
        raise StoreError(f"{r}: no such directory")
    return sorted(d.name for d in r.iterdir() if d.is_dir() and any(d.glob("*.json")))


def list_datasets(root: str | Path, model: str) -> list[str]:
    return sorted(f.stem for f in (Path(root) / model).glob("*.json"))


def load_store(root: str | Path, model: str | None = None, dataset: str | None = None) -> Store:
    """Load ``ROOT/<model>/<dataset>.json`` or a single ``.json`` file."""
    r = Path(root)
    if r.is_file():
        return load_file(r, model, dataset)
    if not r.exists():
        raise StoreError(f"{r}: no such store (expected a directory ROOT/<model>/<dataset>.json or a .json file)")
    if model is None or dataset is None:
        models = list_models(r)
        raise StoreError(f"{r}: a store directory needs --model and --dataset"
                         + (f" (models here: {', '.join(models)})" if models else
                            " (no <model>/<dataset>.json files found here)"))
    f = r / model / f"{dataset}.json"
    if not f.is_file():
        models = list_models(r)
        if model not in models:
            raise StoreError(f"{r}: no model '{model}'" + (f"; models here: {', '.join(models)}" if models
                                                         else "; no <model>/<dataset>.json files here"))
        raise StoreError(f"{r}/{model}: no dataset '{dataset}'; datasets: {', '.join(list_datasets(r, model))}")
    return load_file(f, model, dataset)
