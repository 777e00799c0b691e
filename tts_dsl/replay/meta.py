"""The optional metadata block of a store: a JSON object in ``<store file>.meta`` beside
the store (``aime24.json`` -> ``aime24.json.meta``), so the store itself keeps the AutoTTS
layout that other tools read. ``tts-dsl store build`` writes it; ``store validate`` shows
it and checks its content hash. Stores without one (every AutoTTS store) work as before.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from ..files import atomic_write

META_FORMAT = "tts-dsl-store-meta"
META_VERSION = 1


def meta_path(store_file: str | Path) -> Path:
    p = Path(store_file)
    return p.with_name(p.name + ".meta")


def content_hash(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def read_meta(store_file: str | Path) -> tuple[dict | None, list[str]]:
    """``(meta, warnings)``: meta is None when there is no block; warnings name a block that
    cannot be read, a version this tool does not know, or a content hash that does not
    match the store (the store was changed after it was built)."""
    mp = meta_path(store_file)
    if not mp.is_file():
        return None, []
    try:
        meta = json.loads(mp.read_text(encoding="utf-8"))
    except (OSError, ValueError) as ex:
        return None, [f"{mp}: unreadable metadata block ({ex}); ignored"]
    if not isinstance(meta, dict) or meta.get("format") != META_FORMAT:
        return None, [f"{mp}: not a {META_FORMAT} block; ignored"]
    warnings = []
    v = meta.get("version")
    if v != META_VERSION:
        warnings.append(f"{mp}: metadata version {v!r}; this tool writes version {META_VERSION}")
    h = meta.get("content_hash")
    try:
        actual = content_hash(Path(store_file).read_bytes())
    except OSError:
        actual = None
    if h and actual and h != actual:
        warnings.append(f"{mp}: content_hash {h} does not match the store ({actual}): "
                        "the store was changed after it was built")
    return meta, warnings


def write_meta(store_file: str | Path, meta: dict) -> Path:
    """Write the block atomically; ``format``, ``version`` and ``content_hash`` are set here."""
    full = {"format": META_FORMAT, "version": META_VERSION,
            "content_hash": content_hash(Path(store_file).read_bytes()), **meta}
    mp = meta_path(store_file)
    atomic_write(mp, json.dumps(full, indent=2) + "\n")
    return mp
