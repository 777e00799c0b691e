"""The embedded default store: a deterministic synthetic generator in the AutoTTS layout.

Questions have varied difficulty; each branch drifts among candidate answers and then
converges to its final answer; lengths are log-normal around real reasoning lengths and,
as in the real stores, some branches reveal one interval more than their length covers.
Same arguments, same store, on every machine (``random.Random`` only).
"""

from __future__ import annotations

import hashlib
import json
import math
import random

from .store import Store, questions_from_json


def synthetic_json(seed: int = 0, n_questions: int = 30, n_branches: int = 128,
                   probe_freq: int = 500, mean_tokens: float = 9000.0) -> list:
    rng = random.Random(seed)
    data = []
    for qi in range(n_questions):
        gold = str(rng.randint(0, 999))
        difficulty = rng.random()  # 0 easy .. 1 hard
        p_correct = max(0.02, min(0.97, 1.0 - difficulty + rng.uniform(-0.15, 0.15)))
        n_wrong = rng.randint(1, 6)
        wrong = []
        while len(wrong) < n_wrong:
            w = str(rng.randint(0, 999))
            if w != gold and w not in wrong:
                wrong.append(w)
        weights = [rng.random() ** 2 + 0.05 for _ in wrong]
        scale = mean_tokens * (0.6 + 0.8 * difficulty)
        branches = []
        finals = []
        for _ in range(n_branches):
            final = gold if rng.random() < p_correct else rng.choices(wrong, weights)[0]
            tokens = int(min(38000, max(200, rng.lognormvariate(math.log(scale), 0.45))))
            n = max(1, tokens // probe_freq)
            if rng.random() < 0.15:
                n += 1
            converge = int(n * rng.uniform(0.25, 0.95))
            cands = [gold] + wrong
            cur = rng.choice(cands)
            probes = []
            for i in range(n):
                if i >= converge:
                    cur = final
                elif rng.random() < 0.35:
                    cur = rng.choice(cands)
                probes.append(cur)
            branches.append([probes, tokens, final])
            finals.append(final)
        data.append({
            "question": f"synthetic question {qi}",
            "gold_answer": gold,
            "probe_freq": probe_freq,
            "each_branch": branches,
            "final_answers_trace": finals,
        })
    return data


def synthetic_store(seed: int = 0, n_questions: int = 30, n_branches: int = 128,
                    model: str = "synthetic", dataset: str = "default", **kw) -> Store:
    data = synthetic_json(seed, n_questions, n_branches, **kw)
    qs = questions_from_json(data, f"<synthetic seed={seed}>")
    digest = hashlib.sha256(json.dumps(data, sort_keys=True).encode()).hexdigest()[:16]
    return Store(model, dataset, f"synthetic:{seed}:{n_questions}:{n_branches}", qs, digest,
                 {"synthetic": True, "seed": seed})
