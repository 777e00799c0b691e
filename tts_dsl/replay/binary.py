"""A binary cache of parsed stores: the validated, interned arrays of a JSON store saved as
one numpy ``.npz`` file named by the SHA-256 of the JSON bytes, so a large store is parsed
and validated once per content, not once per run.

The cache lives in a user cache directory, never beside the store: ``$TTS_DSL_CACHE/stores``
if that variable is set (``off`` disables the cache), else ``$XDG_CACHE_HOME/tts-dsl/stores``,
else ``~/.cache/tts-dsl/stores``. A cache file that is missing, unreadable or of another format
version is ignored (the JSON is parsed again and the file rewritten); a cache directory
that cannot be written is ignored too. Loading from the cache gives exactly the questions
parsing gives (``tests/test_store_cache.py``).
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path

import numpy as np

from ..files import cache_root

FORMAT = 2  # bump when the saved arrays change meaning (2: the store's junk answers)


def cache_dir() -> Path | None:
    root = cache_root()
    return None if root is None else root / "stores"


def cache_path(sha256: str) -> Path | None:
    d = cache_dir()
    return None if d is None else d / f"{sha256}.v{FORMAT}.npz"


def save(path: Path, questions: list, junk_answers: tuple) -> None:
    """Write ``questions`` and the store's ``junk_answers`` (a validated store's) to ``path``
    atomically; errors are ignored."""
    nb = np.array([len(q.tokens) for q in questions], dtype=np.int64)
    nprobes = np.fromiter((n for q in questions for n in q.nprobes), dtype=np.int64, count=int(nb.sum()))
    flat = np.fromiter((a for q in questions for p in q.probes for a in p), dtype=np.int32,
                       count=int(nprobes.sum()))
    tokens = np.array([t for q in questions for t in q.tokens], dtype=np.int64)
    final = np.array([f for q in questions for f in q.final], dtype=np.int32)
    head = np.array([[q.index, q.probe_freq, q.gold] for q in questions], dtype=np.int64)
    answers = np.frombuffer(json.dumps([q.answers for q in questions]).encode("utf-8"), dtype=np.uint8)
    junk = np.frombuffer(json.dumps(list(junk_answers)).encode("utf-8"), dtype=np.uint8)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, suffix=".tmp")
        with os.fdopen(fd, "wb") as f:
            np.savez(f, format=np.array([FORMAT]), nb=nb, nprobes=nprobes, flat=flat, tokens=tokens,
                     final=final, head=head, answers=answers, junk=junk)
        os.replace(tmp, path)
    except OSError:
        try:
            os.unlink(tmp)
        except (OSError, UnboundLocalError):
            pass


def load(path: Path, question_cls) -> tuple[list, tuple] | None:
    """``(questions, junk_answers)`` saved at ``path``, or None when there is no usable cache file."""
    try:
        with np.load(path, allow_pickle=False) as z:
            if int(z["format"][0]) != FORMAT:
                return None
            nb, nprobes, flat = z["nb"].tolist(), z["nprobes"].tolist(), z["flat"].tolist()
            tokens, final, head = z["tokens"].tolist(), z["final"].tolist(), z["head"].tolist()
            answers = json.loads(z["answers"].tobytes().decode("utf-8"))
            junk_texts = tuple(json.loads(z["junk"].tobytes().decode("utf-8")))
    except (OSError, KeyError, ValueError, EOFError):
        return None
    out = []
    b = p = 0  # next branch, next probe
    for (index, pf, gold), n, ans in zip(head, nb, answers):
        NP = nprobes[b:b + n]
        P = []
        for k in NP:
            P.append(flat[p:p + k])
            p += k
        junk = frozenset(i for i, a in enumerate(ans) if a in junk_texts)
        out.append(question_cls(index, P, NP, tokens[b:b + n], final[b:b + n], pf, gold, ans, junk))
        b += n
    return out, junk_texts
