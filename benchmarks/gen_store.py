"""A synthetic replay store at scale, written straight to JSON in the AutoTTS layout
(default 500 questions x 512 branches x up to 64 probes, about 100 MB), for the scale
benchmark. Deterministic for a seed (numpy's PCG64); vectorised, so it takes seconds.

    python benchmarks/gen_store.py OUT.json [--questions 500 --branches 512 --probes 64 --seed 0]
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np


def write_store(out: Path, n_questions=500, n_branches=512, n_probes=64, probe_freq=500, seed=0) -> Path:
    """Each question: gold answer 0 of up to 8 candidates; a branch's probes drift among the
    candidates, then settle on its final answer; ``nprobes`` in [n_probes/2, n_probes] and
    ``tokens`` consistent with it (some branches reveal one interval more, as real ones do)."""
    rng = np.random.default_rng(seed)
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_suffix(".tmp")
    with open(tmp, "w") as f:
        f.write("[")
        for qi in range(n_questions):
            k = int(rng.integers(2, 9))
            names = rng.choice(1000, size=k, replace=False)
            quoted = [f'"{n}"' for n in names.tolist()]
            p_correct = float(rng.uniform(0.05, 0.95))
            final = np.where(rng.random(n_branches) < p_correct, 0, rng.integers(1, k, n_branches))
            nprobes = rng.integers(max(1, n_probes // 2), n_probes + 1, n_branches)
            tokens = nprobes * probe_freq - rng.integers(0, probe_freq, n_branches)
            tokens -= np.where(rng.random(n_branches) < 0.15, probe_freq, 0)
            tokens = np.maximum(tokens, 1)
            settle = (nprobes * rng.uniform(0.25, 0.95, n_branches)).astype(np.int64)
            drift = rng.integers(0, k, (n_branches, n_probes))
            cols = np.arange(n_probes)[None, :]
            probes = np.where(cols >= settle[:, None], final[:, None], drift)
            branches = []
            for row, n, t, fa in zip(probes.tolist(), nprobes.tolist(), tokens.tolist(), final.tolist()):
                branches.append(f"[[{','.join(map(quoted.__getitem__, row[:n]))}],{t},{quoted[fa]}]")
            f.write("," if qi else "")
            f.write(f'{{"question":"synthetic {qi}","gold_answer":{quoted[0]},"probe_freq":{probe_freq},'
                    f'"each_branch":[{",".join(branches)}]}}')
        f.write("]")
    tmp.replace(out)
    return out


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("out", type=Path)
    ap.add_argument("--questions", type=int, default=500)
    ap.add_argument("--branches", type=int, default=512)
    ap.add_argument("--probes", type=int, default=64)
    ap.add_argument("--seed", type=int, default=0)
    a = ap.parse_args(argv)
    p = write_store(a.out, a.questions, a.branches, a.probes, seed=a.seed)
    print(f"{p}: {p.stat().st_size / 1e6:.1f} MB")


if __name__ == "__main__":
    main()
