"""Proposers: one interface, four kinds.

``propose(messages, ctx) -> Reply``: ``messages`` is the conversation so far
(chat-completions style ``{"role", "content"}`` dicts: the prompt, then for repairs the
previous reply and the diagnostics); ``ctx`` carries the round, the attempt and a view of
the archive (which the offline ``evolve`` proposer uses instead of the text).

* ``openai``: any OpenAI-compatible chat-completions endpoint (hosted APIs, OpenRouter,
  vLLM, Ollama); retries with exponential backoff on 429, 5xx, timeouts and connection
  errors; token usage captured; cost from configured prices.
* ``command``: any command line; the conversation goes to its stdin as text, the reply
  is its stdout; with a timeout.
* ``replay``: serves recorded replies keyed by a hash of the conversation; ``record``
  mode wraps another proposer and writes its replies.
* ``evolve``: see :mod:`tts_dsl.discovery.evolve`.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

from .config import ProposerConfig


class ProposerError(Exception):
    """A proposer could not produce a reply. ``fatal`` errors stop the run cleanly
    (bad credentials, a replay that diverged); others count as a failed attempt."""

    def __init__(self, message: str, fatal: bool = False, calls: int = 1):
        super().__init__(message)
        self.fatal = fatal
        self.calls = calls


@dataclass
class Reply:
    text: str
    tokens_in: int = 0
    tokens_out: int = 0
    usd: float = 0.0
    llm_calls: int = 1  # HTTP calls / command runs made (retries included); 0 for evolve
    parents: list | None = None
    meta: dict = field(default_factory=dict)

    def to_dict(self) -> dict:
        return {"text": self.text, "tokens_in": self.tokens_in, "tokens_out": self.tokens_out, "usd": self.usd,
                "llm_calls": self.llm_calls, "parents": self.parents, "meta": self.meta}

    @classmethod
    def from_dict(cls, d: dict) -> "Reply":
        return cls(d["text"], d.get("tokens_in", 0), d.get("tokens_out", 0), d.get("usd", 0.0),
                   d.get("llm_calls", 1), d.get("parents"), d.get("meta", {}))


@dataclass
class Context:
    round: int
    attempt: int
    seed: int
    pool: list  # [{"id", "source", "area", "hash"}], best first: seeds and valid candidates
    known: dict  # canonical hash -> id
    smoke: dict = field(default_factory=dict)


def conversation_key(messages: list[dict]) -> str:
    raw = json.dumps([[m["role"], m["content"]] for m in messages], ensure_ascii=False)
    return hashlib.sha256(raw.encode("utf-8")).hexdigest()


def render_conversation(messages: list[dict]) -> str:
    """The conversation as plain text (for command-line agents)."""
    if len(messages) == 1:
        return messages[0]["content"]
    if len(messages) == 2 and messages[0]["role"] == "system":
        return messages[0]["content"] + "\n\n" + messages[1]["content"]
    parts = []
    for m in messages:
        parts.append(f"=== {m['role']} ===\n{m['content']}")
    parts.append("=== assistant ===\n(reply with the whole corrected program in one ```tts block)")
    return "\n\n".join(parts)


class Proposer:
    kind = "base"
    is_llm = True

    def propose(self, messages: list[dict], ctx: Context) -> Reply:  # pragma: no cover - interface
        raise NotImplementedError

    def close(self):
        pass


# ------------------------------------------------------------------- openai
class OpenAIProposer(Proposer):
    kind = "openai"

    def __init__(self, cfg: ProposerConfig, sleep=time.sleep):
        self.cfg = cfg
        self.sleep = sleep
        self._client = None

    def _http(self):
        if self._client is None:
            try:
                import httpx
            except ImportError:
                raise ProposerError("the openai proposer needs httpx: pip install httpx", fatal=True) from None
            self._client = httpx.Client(timeout=self.cfg.timeout_s)
        return self._client

    def close(self):
        if self._client is not None:
            self._client.close()
            self._client = None

    def propose(self, messages, ctx):
        import httpx

        c = self.cfg
        url = c.base_url.rstrip("/") + "/chat/completions"
        headers = {"Content-Type": "application/json"}
        key = os.environ.get(c.api_key_env) if c.api_key_env else None
        if key:
            headers["Authorization"] = f"Bearer {key}"
        body = {"model": c.model, "messages": messages, "temperature": c.temperature, "max_tokens": c.max_tokens,
                **(c.extra or {})}
        calls = 0
        last = "no attempt made"
        for i in range(c.max_retries + 1):
            if i:
                self.sleep(min(60.0, c.backoff_s * 2 ** (i - 1)))
            calls += 1
            try:
                r = self._http().post(url, json=body, headers=headers)
            except httpx.TimeoutException:
                last = f"timed out after {c.timeout_s:g} s"
                continue
            except httpx.HTTPError as ex:
                last = f"connection error: {ex}"
                continue
            if r.status_code == 429 or r.status_code >= 500:
                last = f"HTTP {r.status_code}: {r.text[:200]}"
                ra = r.headers.get("retry-after")
                if ra and i < c.max_retries:
                    try:
                        self.sleep(min(30.0, float(ra)))
                    except ValueError:
                        pass
                continue
            if r.status_code in (401, 403):
                raise ProposerError(f"{url}: HTTP {r.status_code} (check the key in ${c.api_key_env})", fatal=True,
                                    calls=calls)
            if r.status_code >= 400:
                raise ProposerError(f"{url}: HTTP {r.status_code}: {r.text[:300]}", fatal=True, calls=calls)
            try:
                d = r.json()
                text = d["choices"][0]["message"]["content"] or ""
            except (ValueError, KeyError, IndexError, TypeError):
                last = f"malformed response: {r.text[:200]}"
                continue
            usage = d.get("usage") or {}
            tin = int(usage.get("prompt_tokens") or 0)
            tout = int(usage.get("completion_tokens") or 0)
            usd = tin * c.price_in_per_mtok / 1e6 + tout * c.price_out_per_mtok / 1e6
            return Reply(text, tin, tout, usd, calls, meta={"model": d.get("model", c.model), "retries": calls - 1})
        raise ProposerError(f"{url}: gave up after {calls} call(s): {last}", calls=calls)


# ------------------------------------------------------------------ command
class CommandProposer(Proposer):
    kind = "command"

    def __init__(self, cfg: ProposerConfig, base_dir: str = "."):
        self.cfg = cfg
        self.base_dir = base_dir

    def propose(self, messages, ctx):
        text = render_conversation(messages)
        try:
            p = subprocess.run(self.cfg.command, input=text, capture_output=True, text=True,
                               timeout=self.cfg.timeout_s, cwd=self.base_dir)
        except subprocess.TimeoutExpired:
            raise ProposerError(f"command timed out after {self.cfg.timeout_s:g} s: {self.cfg.command[0]}") from None
        except OSError as ex:
            raise ProposerError(f"cannot run {self.cfg.command[0]!r}: {ex.strerror}", fatal=True) from None
        if p.returncode != 0:
            raise ProposerError(f"command exited with status {p.returncode}: {p.stderr.strip()[-300:]}")
        # token counts are not reported by a command; estimate at 4 characters a token
        return Reply(p.stdout, len(text) // 4, len(p.stdout) // 4, 0.0, 1, meta={"estimated_tokens": True})


# ------------------------------------------------------------------- replay
class ReplayProposer(Proposer):
    kind = "replay"

    def __init__(self, path: Path):
        self.path = Path(path)
        from .archive import read_jsonl

        if not self.path.exists():
            raise ProposerError(f"replay: no such responses file {self.path}", fatal=True)
        recs, _ = read_jsonl(self.path)
        self.table: dict = {}
        for r in recs:
            self.table.setdefault(r["key"], []).append(r["reply"])
        self.used: dict = {}

    def propose(self, messages, ctx):
        k = conversation_key(messages)
        replies = self.table.get(k)
        if not replies:
            raise ProposerError(f"replay: no recorded reply for this conversation (key {k[:12]}); "
                                "the run diverged from the recording", fatal=True, calls=0)
        i = self.used.get(k, 0)
        self.used[k] = i + 1
        return Reply.from_dict(replies[min(i, len(replies) - 1)])


class RecordingProposer(Proposer):
    kind = "record"

    def __init__(self, inner: Proposer, path: Path):
        self.inner = inner
        self.path = Path(path)
        self.is_llm = inner.is_llm

    def propose(self, messages, ctx):
        from .scoring import append_line

        r = self.inner.propose(messages, ctx)
        append_line(self.path, json.dumps({"key": conversation_key(messages), "reply": r.to_dict()}) + "\n")
        return r

    def close(self):
        self.inner.close()


def make_proposer(cfg: ProposerConfig, base_dir: str, out_dir: Path, table: dict | None = None) -> Proposer:
    if cfg.record:
        from .config import _take

        inner_cfg = _take(dict(cfg.inner or {}), ProposerConfig, "proposer.inner")
        path = Path(cfg.responses) if cfg.responses else out_dir / "responses.jsonl"
        if not path.is_absolute():
            path = Path(base_dir) / path
        return RecordingProposer(make_proposer(inner_cfg, base_dir, out_dir), path)
    if cfg.kind == "openai":
        return OpenAIProposer(cfg)
    if cfg.kind == "command":
        return CommandProposer(cfg, base_dir)
    if cfg.kind == "replay":
        p = Path(cfg.responses)
        return ReplayProposer(p if p.is_absolute() else Path(base_dir) / p)
    if cfg.kind == "evolve":
        from .evolve import EvolveProposer

        return EvolveProposer(cfg)
    raise ProposerError(f"unknown proposer kind {cfg.kind!r}", fatal=True)
