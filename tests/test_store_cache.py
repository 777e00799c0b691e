"""The binary store cache (tts_dsl.replay.binary): a store loaded from the cache is the
store parsing gives; a bad cache file is ignored; the cache can be turned off."""

from __future__ import annotations

import json

import pytest

from conftest import MODELS, REPLAY
from tts_dsl.replay import binary, store as store_mod
from tts_dsl.replay.store import load_file
from tts_dsl.replay.synthetic import synthetic_json


@pytest.fixture
def json_store(tmp_path, monkeypatch):
    monkeypatch.setenv("TTS_DSL_CACHE", str(tmp_path / "cache"))
    f = tmp_path / "m" / "d.json"
    f.parent.mkdir()
    f.write_text(json.dumps(synthetic_json(seed=3, n_questions=5, n_branches=9)))
    return f


def _same(a, b):
    assert (a.model, a.dataset, a.path, a.digest) == (b.model, b.dataset, b.path, b.digest)
    assert a.questions == b.questions  # dataclass equality: every array and the answer texts


def test_second_load_comes_from_the_cache_and_equals_the_first(json_store, tmp_path, monkeypatch):
    first = load_file(json_store)
    files = list((tmp_path / "cache").rglob("*.npz"))
    assert len(files) == 1 and files[0].name.startswith(first.digest)

    def no_parse(*a, **k):
        raise AssertionError("parsed again")

    monkeypatch.setattr(store_mod, "questions_from_json", no_parse)
    _same(load_file(json_store), first)


def test_changed_bytes_mean_a_new_entry(json_store, tmp_path):
    first = load_file(json_store)
    data = json.loads(json_store.read_text())
    data[0]["each_branch"][0][1] += 1
    json_store.write_text(json.dumps(data))
    second = load_file(json_store)
    assert second.digest != first.digest
    assert second.questions[0].tokens[0] == first.questions[0].tokens[0] + 1
    assert len(list((tmp_path / "cache").rglob("*.npz"))) == 2


@pytest.mark.parametrize("damage", [b"", b"not a zip file", None])
def test_a_bad_cache_file_is_ignored_and_rewritten(json_store, tmp_path, damage):
    first = load_file(json_store)
    (cached,) = (tmp_path / "cache").rglob("*.npz")
    if damage is None:  # another format version
        import numpy as np
        with np.load(cached) as z:
            arrays = dict(z)
        arrays["format"] = np.array([binary.FORMAT + 1])
        with open(cached, "wb") as f:
            np.savez(f, **arrays)
    else:
        cached.write_bytes(damage)
    _same(load_file(json_store), first)
    assert binary.load(cached, store_mod.Question) == (first.questions, first.junk_answers)  # rewritten


def test_off_writes_nothing(json_store, tmp_path, monkeypatch):
    monkeypatch.setenv("TTS_DSL_CACHE", "off")
    load_file(json_store)
    assert not (tmp_path / "cache").exists()


def test_an_unwritable_cache_dir_is_ignored(json_store, tmp_path, monkeypatch):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    monkeypatch.setenv("TTS_DSL_CACHE", str(blocker / "sub"))
    a, b = load_file(json_store), load_file(json_store)
    _same(a, b)


def test_invalid_stores_are_never_cached(tmp_path, monkeypatch):
    monkeypatch.setenv("TTS_DSL_CACHE", str(tmp_path / "cache"))
    f = tmp_path / "bad.json"
    f.write_text('[{"gold_answer": "1", "probe_freq": 0, "each_branch": []}]')
    with pytest.raises(store_mod.StoreError):
        load_file(f)
    assert not list(tmp_path.rglob("*.npz"))


@pytest.mark.shared
@pytest.mark.parametrize("model", MODELS)
def test_real_stores_round_trip(model, tmp_path, monkeypatch):
    monkeypatch.setenv("TTS_DSL_CACHE", str(tmp_path / "cache"))
    parsed = load_file(REPLAY / model / "aime24.json")
    _same(load_file(REPLAY / model / "aime24.json"), parsed)
