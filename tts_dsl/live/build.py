"""``tts-dsl store build``: sample branches from a completions endpoint, cut and probe them
(:mod:`.branch`), and write a store in the AutoTTS layout with its metadata block.

Durability: every finished branch is appended (one fsynced line) to
``<store>.partial.jsonl`` beside the store; a rerun with the same settings skips the
branches already there (a torn last line is dropped, a branch recorded twice counts
once). The store file is written atomically once every branch is in, then the metadata
block, then the partial file is removed. An interrupted build never leaves a store file.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import threading
import time
from concurrent.futures import FIRST_EXCEPTION, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from pathlib import Path

from .. import __version__
from ..files import append_line, atomic_write, read_jsonl
from ..replay.meta import write_meta
from .answers import canonical_answers, have_math_verify
from .branch import Branch, Protocol
from .client import CompletionsClient, ServerError
from .questions import Item, load_questions


class BuildError(Exception):
    pass


@dataclass
class BuildConfig:
    endpoint: str = "http://127.0.0.1:8000/v1"
    model: str = ""
    questions: str = ""
    out: str = ""  # the store file, ROOT/<model>/<dataset>.json
    branches: int = 128
    limit: int | None = None  # only the first N questions
    concurrency: int = 16
    retries: int = 5
    timeout: float = 600.0
    api_key_env: str = "OPENAI_API_KEY"
    price_in: float = 0.0  # dollars per million prompt tokens (for the cost report)
    price_out: float = 0.0  # dollars per million completion tokens
    protocol: Protocol = field(default_factory=Protocol)

    @classmethod
    def from_dict(cls, d: dict) -> "BuildConfig":
        d = dict(d)
        proto = Protocol(**{k: v for k, v in d.pop("protocol", {}).items()})
        known = set(cls.__dataclass_fields__)
        unknown = sorted(set(d) - known)
        if unknown:
            raise BuildError(f"unknown build setting{'s' if len(unknown) > 1 else ''}: {', '.join(unknown)}")
        return cls(**d, protocol=proto)

    def fingerprint(self) -> dict:
        """What must not change between a build and its resumption."""
        return {"model": self.model, "questions": _file_hash(self.questions), "branches": self.branches,
                "limit": self.limit, "protocol": self.protocol.to_dict()}


def load_config(path: str | Path) -> dict:
    """A TOML file: top-level build settings and a ``[protocol]`` table (see docs/live.md)."""
    import tomllib

    try:
        with open(path, "rb") as f:
            return tomllib.load(f)
    except (OSError, tomllib.TOMLDecodeError) as ex:
        raise BuildError(f"{path}: {ex}") from None


def _file_hash(path) -> str:
    try:
        return "sha256:" + hashlib.sha256(Path(path).read_bytes()).hexdigest()
    except OSError:
        return ""


def partial_path(out: str | Path) -> Path:
    p = Path(out)
    return p.with_name(p.name + ".partial.jsonl")


def plan(cfg: BuildConfig, items: list[Item]) -> dict:
    """The request plan and token estimate of a build (``--dry-run``): upper bounds, since
    branch lengths are unknown before sampling. Prompt tokens are estimated at 4 characters
    a token; each interval resends the prompt and the text so far."""
    p = cfg.protocol
    n_b = len(items) * cfg.branches
    intervals = math.ceil(p.max_tokens / p.interval)
    prompt_tok = sum(len(p.prompt(it.question)) for it in items) / 4 * cfg.branches
    gen_req = n_b * (intervals + 1)
    probe_req = n_b * intervals if p.probe_mode == "probe" else 0
    # prompt tokens of interval c: prompt + (c-1) * interval; probes resend prompt + c * interval
    resend = p.interval * intervals * (intervals - 1) / 2
    prompt_total = prompt_tok * (intervals + 1) + n_b * resend
    if probe_req:
        prompt_total += prompt_tok * intervals + n_b * (resend + p.interval * intervals)
    completion = n_b * p.max_tokens + probe_req * p.probe_max_tokens
    return {"questions": len(items), "branches": n_b, "max_intervals_per_branch": intervals,
            "generation_requests_max": gen_req, "probe_requests_max": probe_req,
            "completion_tokens_max": int(completion), "prompt_tokens_max": int(prompt_total),
            "cost_max_usd": round((prompt_total * cfg.price_in + completion * cfg.price_out) / 1e6, 2)}


def _read_partial(path: Path, fp: dict) -> dict:
    """Branches already built: ``{(question, branch): record}``; drops a torn tail."""
    recs, good = read_jsonl(path)
    if not recs:
        if path.exists():
            path.unlink()
        return {}
    head = recs[0]
    if head.get("kind") != "header" or head.get("fingerprint") != json.loads(json.dumps(fp)):
        raise BuildError(f"{path}: partial results of a build with other settings (model, questions, "
                         "branches or protocol differ); remove it or build to another file")
    if good < path.stat().st_size:
        with open(path, "r+b") as f:
            f.truncate(good)
    done = {}
    for r in recs[1:]:
        done.setdefault((r["q"], r["b"]), r)
    return done


def build(cfg: BuildConfig, progress=None, client: CompletionsClient | None = None) -> dict:
    """Build the store ``cfg.out``; returns a report (usage, cost, counts, paths).

    ``progress(done, total, usage)`` is called after each branch. Raises
    :class:`BuildError` or :class:`~.client.ServerError`; finished branches stay in the
    partial file for the next run."""
    cfg.protocol.check()
    if not cfg.model or not cfg.questions or not cfg.out:
        raise BuildError("a build needs a model, a question file and an output store file")
    out = Path(cfg.out)
    if out.suffix != ".json":
        raise BuildError(f"{out}: the store file must end in .json (ROOT/<model>/<dataset>.json)")
    items = load_questions(cfg.questions, cfg.limit)
    out.parent.mkdir(parents=True, exist_ok=True)
    part = partial_path(out)
    fp = cfg.fingerprint()
    done = _read_partial(part, fp)
    if not part.exists():
        append_line(part, json.dumps({"kind": "header", "fingerprint": fp}) + "\n")
    resumed = len(done)
    todo = [(qi, b) for qi in range(len(items)) for b in range(cfg.branches) if (qi, b) not in done]
    own = client is None
    if own:
        client = CompletionsClient(cfg.endpoint, cfg.model, os.environ.get(cfg.api_key_env),
                                   timeout=cfg.timeout, retries=cfg.retries)
    total = len(items) * cfg.branches
    t0 = time.perf_counter()
    lock = threading.Lock()

    def one(qi, b):
        br = Branch(client, cfg.protocol, items[qi].question, cfg.protocol.seed + b, f"question {qi} branch {b}")
        probes, tokens, final = br.run_whole()
        rec = {"q": qi, "b": b, "probes": probes, "tokens": tokens, "final": final, "truncated": br.truncated}
        with lock:  # one writer at a time: whole lines only
            append_line(part, json.dumps(rec) + "\n")
            done[(qi, b)] = rec
            if progress is not None:
                progress(len(done), total, client.usage)

    pool = ThreadPoolExecutor(max(1, cfg.concurrency))
    futs = [pool.submit(one, qi, b) for qi, b in todo]
    try:
        wait(futs, return_when=FIRST_EXCEPTION)
        errors = [f.exception() for f in futs if f.done() and not f.cancelled() and f.exception() is not None]
        if errors:
            raise errors[0]
    finally:  # on an error or Ctrl-C: start nothing new; branches in flight finish and are kept
        for f in futs:
            f.cancel()
        pool.shutdown(wait=True)
        if own:
            client.close()
    data = []
    n_trunc = 0
    for qi, it in enumerate(items):
        recs = [done[(qi, b)] for b in range(cfg.branches)]
        n_trunc += sum(1 for r in recs if r.get("truncated"))
        seen = [a for r in recs for a in (*r["probes"], r["final"])]
        canon = canonical_answers(it.gold, seen)
        branches = [[[canon.get(a, a) for a in r["probes"]], r["tokens"], canon.get(r["final"], r["final"])]
                    for r in recs]
        data.append({"question": it.question, "gold_answer": it.gold, "probe_freq": cfg.protocol.interval,
                     "each_branch": branches, "final_answers_trace": [br[2] for br in branches]})
    atomic_write(out, json.dumps(data) + "\n")
    usage = client.usage.to_dict()
    meta = {
        "tool": "tts-dsl", "tool_version": __version__,
        "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "model": cfg.model, "endpoint": cfg.endpoint,
        "questions_file": str(cfg.questions), "questions_hash": fp["questions"],
        "branches": cfg.branches, "protocol": cfg.protocol.to_dict(),
        "probe_approximation": cfg.protocol.probe_mode == "last",
        "answers": {"extraction": "last \\boxed{} (else the word after 'answer is'; 'ERR' when none)",
                    "normalisation": "strip whitespace and one pair of enclosing $",
                    "gold_match": _gold_matcher()},
        "truncated_branches": n_trunc,
        "usage": usage if not resumed else {**usage, "note": f"this run only; {resumed} branches were resumed"},
    }
    mp = write_meta(out, meta)
    part.unlink()
    return {"store": str(out), "meta": str(mp), "questions": len(items), "branches": total,
            "built": total - resumed, "resumed": resumed, "truncated": n_trunc, "usage": usage,
            "cost_usd": round(client.usage.cost(cfg.price_in, cfg.price_out), 4),
            "wall_s": round(time.perf_counter() - t0, 3)}


def _gold_matcher() -> str:
    if have_math_verify():
        from importlib.metadata import version

        return f"math-verify {version('math-verify')}"
    return "exact (math-verify not installed)"


__all__ = ["BuildConfig", "BuildError", "ServerError", "build", "plan", "load_config", "partial_path"]
