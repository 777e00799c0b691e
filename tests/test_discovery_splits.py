"""Discovery splits: questions are the unit of generalisation. The default split holds out
questions (never the same questions with new seeds), stratified by the seed programs'
per-question accuracy, seeded; k folds; whole models held out; a round trip through JSON."""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from tts_dsl.discovery.config import ConfigError, config_from_dict
from tts_dsl.discovery.curves import Curves
from tts_dsl.discovery.splits import (Split, groups_of, heldout_part, make_split, ref_label, store_refs,
                                      validation_questions)

ROOT = Path(__file__).resolve().parent.parent


def cfg_of(synthetic=None, root=None, split=None, heldout=None, seeds=4):
    search = {"seeds": seeds}
    if synthetic is not None:
        search["synthetic"] = synthetic
    if root is not None:
        search.update(root=str(root), models="all", datasets=["aime24"])
    t = {"run": {"jobs": 1}, "search": search, "split": split or {}}
    if heldout is not None:
        t["heldout"] = heldout
    return config_from_dict(t)


def fake_seed_curves(refs, rng_seed=0):
    """Per-question accuracies of made-up seed programs (no evaluation needed)."""
    rng = random.Random(rng_seed)
    out = []
    for _ in range(2):
        stores, qs = {}, {}
        for r in refs:
            n = len(r.load().questions)
            stores[ref_label(r)] = [{"beta": b, "accuracy": 0.0, "avg_cost": 1.0, "error": None,
                                     "q_correct": [rng.random() for _ in range(n)], "q_cost": [1.0] * n}
                                    for b in (0.0, 1.0)]
            qs[ref_label(r)] = None
        out.append(Curves(stores, qs))
    return out


SIZES = [2, 3, 5, 6, 7, 10, 13, 30]


def test_default_split_never_shares_a_question_between_search_and_validation():
    cfg = cfg_of([{"seed": i, "questions": n, "branches": 16} for i, n in enumerate(SIZES)])
    refs = store_refs(cfg)
    split = make_split(cfg, fake_seed_curves(refs))
    assert split.kind == "questions" and split.heldout is None
    search, val = split.questions("search"), split.questions("validation")
    assert set(search) == {ref_label(r) for r in refs}  # every store is searched
    for r in refs:
        lb, n = ref_label(r), len(r.load().questions)
        s, v = set(search[lb]), set(val.get(lb, ()))
        assert not s & v, lb  # never the same question in both parts
        assert s | v == set(range(n)) and s  # every question in one part; something to search on
        assert v, lb  # something held out (every store here has >= 2 questions)
        if n >= 6:
            assert abs(len(v) - n / 3) <= 1.5, (lb, len(v))
    # the same ordering seeds on both parts: the parts differ by questions only
    assert split.search.seeds == split.validation.seeds == tuple(range(4))


def test_the_split_is_stratified_by_accuracy_and_seeded():
    acc = [i / 30 for i in range(30)]  # distinct accuracies: strata are consecutive triples
    sp = {"kind": "questions", "validation_fraction": 1 / 3}
    v = validation_questions(acc, sp, random.Random(1))
    assert len(v) == 10 and sorted(q // 3 for q in v) == list(range(10))  # one per stratum
    assert validation_questions(acc, sp, random.Random(1)) == v
    assert any(validation_questions(acc, sp, random.Random(s)) != v for s in range(2, 6))
    cfg = cfg_of([{"seed": 1, "questions": 12, "branches": 16}], split={"seed": 7})
    refs = store_refs(cfg)
    a = make_split(cfg, fake_seed_curves(refs))
    assert make_split(cfg, fake_seed_curves(refs)).to_dict() == a.to_dict()
    b = make_split(cfg_of([{"seed": 1, "questions": 12, "branches": 16}], split={"seed": 8}), fake_seed_curves(refs))
    c = make_split(cfg, fake_seed_curves(refs, rng_seed=5))  # other accuracies, other strata
    assert a.questions("validation") != b.questions("validation") or \
        a.questions("validation") != c.questions("validation")


def test_folds_partition_the_questions():
    acc = [random.Random(3).random() for _ in range(23)]
    got = [validation_questions(acc, {"kind": "folds", "folds": 4, "validation_fold": f}, random.Random(9))
           for f in range(4)]
    assert sorted(q for v in got for q in v) == list(range(23))  # disjoint and complete
    assert max(map(len, got)) - min(map(len, got)) <= 1
    cfg = cfg_of([{"seed": 2, "questions": 10, "branches": 16}], split={"kind": "folds", "folds": 5,
                                                                       "validation_fold": 2})
    split = make_split(cfg, fake_seed_curves(store_refs(cfg)))
    lb = ref_label(store_refs(cfg)[0])
    assert len(split.questions("validation")[lb]) == 2 and len(split.questions("search")[lb]) == 8
    assert "5 stratified folds" in split.describe()


def test_split_round_trips_and_says_what_it_can_tell():
    cfg = cfg_of([{"seed": 1, "questions": 9, "branches": 16}],
                 heldout={"synthetic": [{"seed": 5, "questions": 4, "branches": 16}], "seeds": 2})
    split = make_split(cfg, fake_seed_curves(store_refs(cfg)))
    d = split.to_dict()
    back = Split.from_dict(d)
    assert back == split and back.to_dict() == d
    assert split.heldout is not None and split.heldout.labels == ["synthetic5/q4b16"]
    assert split.refs == store_refs(cfg)  # the held-out stores are not evaluated every round
    text = split.describe()
    assert "cannot tell" in text and "search" in text and "validation" in text


def test_heldout_is_optional_and_warns_when_it_reuses_search_stores():
    cfg = cfg_of([{"seed": 1, "questions": 5, "branches": 16}])
    assert heldout_part(cfg) is None  # no more "the same questions with fresh seeds" default
    same = cfg_of([{"seed": 1, "questions": 5, "branches": 16}],
                  heldout={"synthetic": [{"seed": 1, "questions": 5, "branches": 16}], "seeds": 4, "seed_start": 4})
    assert "ordering noise" in heldout_part(same).note


def test_split_config_errors():
    for bad, msg in (({"kind": "seeds"}, "kind"), ({"validation_fraction": 0.9}, "validation_fraction"),
                     ({"folds": 1}, "folds"), ({"kind": "folds", "folds": 3, "validation_fold": 3}, "validation_fold"),
                     ({"holdout_model": ["x"]}, "unknown key")):
        with pytest.raises(ConfigError, match=msg):
            cfg_of([{"seed": 1}], split=bad)
    with pytest.raises(ConfigError, match="window"):
        config_from_dict({"search": {"synthetic": [{"seed": 1}]}, "score": {"window": [10, 5]}})
    with pytest.raises(ConfigError, match="bootstrap"):
        config_from_dict({"search": {"synthetic": [{"seed": 1}]}, "select": {"bootstrap": 5}})
    c = config_from_dict({"search": {"synthetic": [{"seed": 1}]}, "select": {"rule": "hv", "require_significant": True}})
    assert c.select == "frontier" and c.selection["require_significant"] is True
    old = config_from_dict({"run": {"select": "accuracy"}, "search": {"synthetic": [{"seed": 1}]}})
    assert old.select == "accuracy"  # the old string keeps working


@pytest.mark.shared
def test_aime_models_share_their_held_out_questions_and_a_model_can_be_held_out(replay_root):
    cfg = cfg_of(root=replay_root)
    refs = store_refs(cfg)
    assert len(groups_of(refs)) == 1  # the same 30 questions under four models
    split = make_split(cfg, fake_seed_curves(refs))
    val = split.questions("validation")
    assert len({tuple(v) for v in val.values()}) == 1  # held out on every model alike
    assert all(len(v) == 10 for v in val.values()) and all(len(s) == 20 for s in split.questions("search").values())
    held = cfg_of(root=replay_root, split={"holdout_models": ["Qwen3-8B"]})
    hs = make_split(held, fake_seed_curves(store_refs(held)))
    assert "Qwen3-8B/aime24" not in hs.questions("search")
    assert hs.questions("validation")["Qwen3-8B/aime24"] == tuple(range(30))
    assert "held out whole: Qwen3-8B/aime24" in hs.describe()
    with pytest.raises(ValueError, match="no search store of model"):
        store_refs(cfg_of(root=replay_root, split={"holdout_models": ["Qwen9"]}))


def test_one_evaluation_serves_both_parts_and_agrees_with_a_subset_run(tmp_path):
    from tts_dsl.discovery.evaluator import Evaluator
    from tts_dsl.evaluation.sweep import LocalExecutor

    cfg = config_from_dict({"run": {"jobs": 1, "betas": [0.0, 1.0]},
                            "search": {"synthetic": [{"seed": 4, "questions": 6, "branches": 16}], "seeds": 3}})
    src = (ROOT / "programs" / "first_finish.tts").read_text()
    lb = "synthetic4/q6b16"
    ev = Evaluator(cfg, tmp_path / "cache.jsonl", LocalExecutor(1))
    full = ev.evaluate(src, "ff.tts", "h", True, store_refs(cfg), (0, 1, 2))
    assert all(len(r["q_correct"]) == 6 and len(r["q_cost"]) == 6 for r in full.stores[lb])
    sub = ev.evaluate(src, "ff.tts", "h", True, store_refs(cfg), (0, 1, 2), questions={lb: (1, 4)})
    part = full.restrict({lb: (1, 4)})
    assert sub.questions == part.questions == {lb: (1, 4)}
    for a, b in zip(sub.stores[lb], part.stores[lb]):
        assert a["accuracy"] == pytest.approx(b["accuracy"], abs=0.006)
        assert a["avg_cost"] == pytest.approx(b["avg_cost"]) and a["q_correct"] == pytest.approx(b["q_correct"])

    class Refuse(LocalExecutor):
        def map(self, tasks, progress=None):
            raise AssertionError("served from the cache")

    again = Evaluator(cfg, tmp_path / "cache.jsonl", Refuse(1))  # a resumed run: per-question arrays cached
    assert again.evaluate(src, "ff.tts", "h", True, store_refs(cfg), (0, 1, 2)) == full
