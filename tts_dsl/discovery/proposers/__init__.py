"""Proposers: one interface (:mod:`.base`), one module per kind, and this registry.

* ``openai`` (:mod:`.openai`): any OpenAI-compatible chat-completions endpoint.
* ``command`` (:mod:`.command`): any command line; conversation on stdin, reply on stdout.
* ``replay`` (:mod:`.replay`): recorded replies; ``record`` mode wraps another proposer.
* ``evolve`` (:mod:`.evolve`): offline grammar-aware mutation and crossover, no LLM.

The registry imports a kind's module only when that kind is made, so no kind imports the
registry and the registry imports no kind at load time.
"""

from __future__ import annotations

import importlib
from pathlib import Path

from ..config import ProposerConfig
from .base import Context, Proposer, ProposerError, Reply, conversation_key, render_conversation

__all__ = ["KINDS", "Context", "Proposer", "ProposerError", "Reply", "conversation_key", "make_proposer",
           "render_conversation"]

KINDS = {"openai": "OpenAIProposer", "command": "CommandProposer", "replay": "ReplayProposer",
         "evolve": "EvolveProposer"}  # kind -> class in the module of the same name


def proposer_class(kind: str) -> type:
    if kind not in KINDS:
        raise ProposerError(f"unknown proposer kind {kind!r}", fatal=True)
    return getattr(importlib.import_module(f".{kind}", __name__), KINDS[kind])


def make_proposer(cfg: ProposerConfig, base_dir: str, out_dir: Path, table: dict | None = None) -> Proposer:
    if cfg.record:
        from ..config import _take
        from .replay import RecordingProposer

        inner_cfg = _take(dict(cfg.inner or {}), ProposerConfig, "proposer.inner")
        path = Path(cfg.responses) if cfg.responses else out_dir / "responses.jsonl"
        if not path.is_absolute():
            path = Path(base_dir) / path
        return RecordingProposer(make_proposer(inner_cfg, base_dir, out_dir), path)
    return proposer_class(cfg.kind).from_config(cfg, base_dir)
