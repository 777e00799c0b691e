"""The output directory of a discovery run: append-only candidate records, atomic file
writes, and recovery of the last complete state after a crash.

Layout (also in ``docs/discovery.md``)::

    config.json        the resolved configuration (absolute paths); --resume reads it
    state.json         seed-program results on the search split and the area ranges
    candidates.jsonl   one JSON record per candidate, appended; a torn last line is ignored
    cache.jsonl        evaluation cache (tts_dsl.evaluation.cache): provenance key -> rows
    programs/          every valid candidate as cNNNN-HASH.tts (each passes tts-dsl check)
    traces/            a trace sample per valid candidate (search split only)
    responses.jsonl    recorded proposer replies (record mode), keyed by prompt hash
    final.json         selection, held-out results (written once, at the end)
    report.md, frontier_search.png, frontier_heldout.png, best.tts
"""

from __future__ import annotations

import json
from pathlib import Path

from ..files import append_line, atomic_write, read_jsonl
from .records import Candidate, RunState


class Archive:
    def __init__(self, root: str | Path):
        self.root = Path(root)

    # ------------------------------------------------------------------ paths
    @property
    def records_path(self) -> Path:
        return self.root / "candidates.jsonl"

    @property
    def cache_path(self) -> Path:
        return self.root / "cache.jsonl"

    @property
    def config_path(self) -> Path:
        return self.root / "config.json"

    @property
    def state_path(self) -> Path:
        return self.root / "state.json"

    # ------------------------------------------------------------------- setup
    def create(self, config: dict) -> None:
        if self.records_path.exists() or self.config_path.exists():
            raise FileExistsError(f"{self.root} already holds a discovery run; use --resume {self.root} "
                                  "to continue it, or choose another --out")
        for d in ("", "programs", "traces"):
            (self.root / d).mkdir(parents=True, exist_ok=True)
        atomic_write(self.config_path, json.dumps(config, indent=2))

    def exists(self) -> bool:
        return self.config_path.exists()

    def load_config(self) -> dict:
        return json.loads(self.config_path.read_text(encoding="utf-8"))

    def read_state(self) -> RunState | None:
        if not self.state_path.exists():
            return None
        return RunState.from_dict(json.loads(self.state_path.read_text(encoding="utf-8")))

    def write_state(self, state: RunState) -> None:
        atomic_write(self.state_path, json.dumps(state.to_dict(), indent=2))

    # ----------------------------------------------------------------- records
    def records(self, repair: bool = False) -> list[Candidate]:
        """The complete records; with ``repair``, a torn last line is cut from the file."""
        recs, good = read_jsonl(self.records_path)
        if repair and self.records_path.exists() and good < self.records_path.stat().st_size:
            raw = self.records_path.read_bytes()[:good]
            atomic_write(self.records_path, raw.decode("utf-8"))
        return [Candidate.from_dict(r) for r in recs]

    def append(self, record: Candidate) -> None:
        append_line(self.records_path, json.dumps(record.to_dict(), sort_keys=True) + "\n")

    def write_program(self, name: str, source: str) -> str:
        rel = f"programs/{name}.tts"
        atomic_write(self.root / rel, source if source.endswith("\n") else source + "\n")
        return rel

    def write_trace(self, name: str, text: str) -> str:
        rel = f"traces/{name}.txt"
        atomic_write(self.root / rel, text)
        return rel

    def write_text(self, rel: str, text: str) -> Path:
        p = self.root / rel
        atomic_write(p, text)
        return p
