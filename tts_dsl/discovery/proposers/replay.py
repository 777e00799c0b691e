"""``replay``: serves recorded replies keyed by a hash of the conversation; ``record`` mode
wraps another proposer and appends its replies to a responses file."""

from __future__ import annotations

import json
from pathlib import Path

from ...files import append_line, read_jsonl
from .base import Proposer, ProposerError, Reply, conversation_key


class ReplayProposer(Proposer):
    kind = "replay"

    def __init__(self, path: Path):
        self.path = Path(path)
        if not self.path.exists():
            raise ProposerError(f"replay: no such responses file {self.path}", fatal=True)
        recs, _ = read_jsonl(self.path)
        self.table: dict = {}
        for r in recs:
            self.table.setdefault(r["key"], []).append(r["reply"])
        self.used: dict = {}

    @classmethod
    def from_config(cls, cfg, base_dir: str) -> "ReplayProposer":
        p = Path(cfg.responses)
        return cls(p if p.is_absolute() else Path(base_dir) / p)

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
        r = self.inner.propose(messages, ctx)
        append_line(self.path, json.dumps({"key": conversation_key(messages), "reply": r.to_dict()}) + "\n")
        return r

    def close(self):
        self.inner.close()
