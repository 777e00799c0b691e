"""Durable files: atomic whole-file writes, single-write appends, and JSON-lines reads that
stop at a torn last line. Standard library only, so every layer (evaluation, discovery)
can import it."""

from __future__ import annotations

import contextlib
import json
import os
import stat
import tempfile
from pathlib import Path


def cache_root() -> Path | None:
    """The root of tts-dsl's caches (``$TTS_DSL_CACHE``, else ``$XDG_CACHE_HOME/tts-dsl``, i.e.
    ``~/.cache/tts-dsl``): the stores' binary cache in ``stores/``, the native engine's code in
    ``fast/``, the grammar's parse tables in ``grammar/``; None when ``TTS_DSL_CACHE=off``."""
    env = os.environ.get("TTS_DSL_CACHE")
    if env is not None:
        return None if env.strip().lower() in ("off", "0", "") else Path(env)
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "tts-dsl"


def atomic_write(path: Path, text: str) -> None:
    """Write ``text`` to a temporary file beside ``path``, fsync it, then rename it over
    ``path``: readers see the old content or the new one, never a mix."""
    path = Path(path)
    tmp = path.with_name(f".{path.name}.tmp{os.getpid()}")
    with open(tmp, "w", encoding="utf-8") as f:
        f.write(text)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


@contextlib.contextmanager
def replacing(path, newline: str | None = None):
    """A text handle on a temporary file beside ``path`` (through a symlink: beside its
    target); on success the file is fsynced, given the mode of the file it replaces, and
    renamed over it. On an error or an interrupt the temporary file is removed and ``path``
    keeps its previous content. Devices (``/dev/null``, ``/dev/full``) are written directly."""
    target = Path(os.path.realpath(path))
    if target.exists() and not target.is_file():
        with open(target, "w", encoding="utf-8", newline=newline) as fh:
            yield fh
        return
    fd, tmp = tempfile.mkstemp(dir=str(target.parent), prefix=f".{target.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline=newline) as fh:
            yield fh
            fh.flush()
            os.fsync(fh.fileno())
        try:
            mode = stat.S_IMODE(os.stat(target).st_mode)
        except FileNotFoundError:  # a new file: what open() would have made (umask applied)
            umask = os.umask(0)
            os.umask(umask)
            mode = 0o666 & ~umask
        os.chmod(tmp, mode)
        os.replace(tmp, target)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def append_line(path: Path, line: str) -> None:
    """Append one complete line with a single write, then fsync (a crash leaves at most a
    torn last line, which readers skip)."""
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        os.write(fd, line.encode("utf-8"))
        os.fsync(fd)
    finally:
        os.close(fd)


def read_jsonl(path: Path) -> tuple[list[dict], int]:
    """Complete records and the byte length of the valid prefix (reading stops at the first
    line that is torn or not JSON)."""
    path = Path(path)
    if not path.exists():
        return [], 0
    raw = path.read_bytes()
    out, good = [], 0
    pos = 0
    while pos < len(raw):
        nl = raw.find(b"\n", pos)
        if nl < 0:
            break  # torn tail
        try:
            out.append(json.loads(raw[pos:nl].decode("utf-8")))
        except (ValueError, UnicodeDecodeError):
            break
        pos = nl + 1
        good = pos
    return out, good
