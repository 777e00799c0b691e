"""The proposer interface every kind implements: ``propose(messages, ctx) -> Reply``.

``messages`` is the conversation so far (chat-completions style ``{"role", "content"}``
dicts: the prompt, then for repairs the previous reply and the diagnostics); ``ctx``
carries the round, the attempt and a view of the archive (which the offline ``evolve``
proposer uses instead of the text)."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field


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
    last: dict | None = None  # on a repair: {"source": the previous program, "validation": its Validation.to_dict()}
    betas: list | None = None  # the run's beta grid
    parents: list | None = None  # the loop's parent pick (pool entries), sampled across archive cells and islands
    inspirations: list | None = None  # further pool entries from other cells
    island: int | None = None
    proposer: str = ""  # the proposer's name in this run


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

    @classmethod
    def from_config(cls, cfg, base_dir: str) -> "Proposer":
        """The proposer a ``[proposer]`` table describes (relative paths against ``base_dir``)."""
        return cls(cfg)

    def propose(self, messages: list[dict], ctx: Context) -> Reply:  # pragma: no cover - interface
        raise NotImplementedError

    def close(self):
        pass
