"""Size of the generated Python per shipped program (characters), traces off and on, at
beta = 0, 0.5 and 1. Used to check that the code generator never grows the shipped
programs' code.

    python benchmarks/gen_sizes.py [--json FILE]
"""

from __future__ import annotations

import argparse
import json

from _common import PROGRAMS

from tts_dsl import api

BETAS = (0.0, 0.5, 1.0)


def sizes() -> dict:
    out = {}
    for path in sorted(PROGRAMS.glob("*.tts")):
        prog = api.load(path)
        row = {}
        for beta in BETAS:
            for traced in (False, True):
                exe = api.compile(prog, beta, traced=traced)
                row[f"{'on' if traced else 'off'}@{beta}"] = len(exe.source)
        out[path.stem] = row
    return out


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--json", default=None, help="also write the figures to this file")
    ap.add_argument("--compare", default=None, help="a JSON file written earlier: print old -> new")
    a = ap.parse_args(argv)
    s = sizes()
    old = json.loads(open(a.compare).read()) if a.compare else None
    cols = list(next(iter(s.values())))
    print(f"{'program':<20}" + "".join(f"{c:>16}" for c in cols))
    for name, row in s.items():
        cells = []
        for c in cols:
            cells.append(f"{old[name][c]}->{row[c]}" if old else str(row[c]))
        print(f"{name:<20}" + "".join(f"{x:>16}" for x in cells))
    if old:
        worse = [(n, c) for n, row in s.items() for c in cols if row[c] > old[n][c]]
        print("larger than before:", worse or "none")
    if a.json:
        with open(a.json, "w") as f:
            json.dump(s, f, indent=1)


if __name__ == "__main__":
    main()
