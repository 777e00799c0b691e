"""Progress on stderr for long commands: a bar on a terminal; off a terminal (a pipe, a batch
job's log) a line with counts, elapsed time and an ETA every ``TTS_DSL_PROGRESS_EVERY``
seconds (default 10; 0 prints a line for every finished unit)."""

from __future__ import annotations

import os
import sys
import time

import click


def _every() -> float:
    try:
        return max(0.0, float(os.environ.get("TTS_DSL_PROGRESS_EVERY", "10")))
    except ValueError:
        return 10.0


def fmt_seconds(s: float) -> str:
    s = max(0, int(round(s)))
    if s < 60:
        return f"{s} s"
    if s < 3600:
        return f"{s // 60} min {s % 60:02d} s"
    return f"{s // 3600} h {s % 3600 // 60:02d} min"


class Progress:
    """``with Progress(total, "evaluating") as p: ... p.update(1)``. ``enabled=False`` (``-q``,
    a single unit) shows nothing."""

    def __init__(self, total: int, label: str, enabled: bool = True, stream=None):
        self.total, self.label = total, label
        self.stream = stream if stream is not None else sys.stderr
        self.enabled = enabled and total > 0
        self.tty = self.enabled and self.stream.isatty()
        self.done = 0
        self._bar = None

    def __enter__(self):
        self.t0 = self._last = time.monotonic()
        if self.tty:
            self._bar = click.progressbar(length=self.total, label=self.label, file=self.stream,
                                          show_eta=True, show_pos=True)
            self._bar.__enter__()
        elif self.enabled:
            self._line(f"{self.label}: {self.total} tasks")
        return self

    def update(self, n: int = 1) -> None:
        self.done += n
        if self._bar is not None:
            self._bar.update(n)
            return
        if not self.enabled:
            return
        now = time.monotonic()
        if self.done >= self.total or now - self._last >= _every():
            self._last = now
            self._line(self.status(now))

    def status(self, now: float | None = None) -> str:
        el = (now if now is not None else time.monotonic()) - self.t0
        pct = 100.0 * self.done / self.total if self.total else 100.0
        msg = f"{self.label}: {self.done}/{self.total} ({pct:.0f}%), {fmt_seconds(el)} elapsed"
        if 0 < self.done < self.total:
            msg += f", ETA {fmt_seconds(el / self.done * (self.total - self.done))}"
        return msg

    def _line(self, msg: str) -> None:
        try:
            self.stream.write(msg + "\n")
            self.stream.flush()
        except (OSError, ValueError):
            pass

    def __exit__(self, *exc):
        if self._bar is not None:
            self._bar.__exit__(*exc)
        return False
