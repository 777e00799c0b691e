"""Loading one replay store (parse JSON, validate, intern answers): each of the four
models, 5 runs each, min/median/max.

    python benchmarks/bench_store.py [--runs 5]
"""

from __future__ import annotations

import argparse

from _common import REPLAY, fmt, machine, timed

from tts_dsl.replay.store import list_models, load_store


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--dataset", default="aime24")
    a = ap.parse_args(argv)
    print(f"# store loading; {machine()}")
    for m in list_models(REPLAY):
        ts, st = timed(lambda: load_store(REPLAY, m, a.dataset), a.runs)
        size = (REPLAY / m / f"{a.dataset}.json").stat().st_size / 1e6
        print(f"{m:<12} {size:4.1f} MB, {len(st.questions)} questions: {fmt(ts, 0.3)}")


if __name__ == "__main__":
    main()
