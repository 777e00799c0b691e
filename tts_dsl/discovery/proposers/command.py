"""``command``: any command line (agent CLIs run headless); the conversation goes to its
stdin as text, the reply is its stdout; with a timeout."""

from __future__ import annotations

import subprocess

from ..config import ProposerConfig
from .base import Proposer, ProposerError, Reply, render_conversation


class CommandProposer(Proposer):
    kind = "command"

    def __init__(self, cfg: ProposerConfig, base_dir: str = "."):
        self.cfg = cfg
        self.base_dir = base_dir

    @classmethod
    def from_config(cls, cfg: ProposerConfig, base_dir: str) -> "CommandProposer":
        return cls(cfg, base_dir)

    def preflight(self) -> None:
        """Before any evaluation: the command's executable exists (on PATH, or as a path
        relative to the config's directory). A fatal ProposerError otherwise."""
        import os
        import shutil

        exe = self.cfg.command[0] if self.cfg.command else ""
        found = (shutil.which(exe, path=os.environ.get("PATH")) if os.sep not in exe
                 else shutil.which(exe if os.path.isabs(exe) else os.path.join(self.base_dir, exe)))
        if not found:
            raise ProposerError(f"cannot run {exe!r}: no such executable (on PATH or relative to {self.base_dir})",
                                fatal=True)

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
