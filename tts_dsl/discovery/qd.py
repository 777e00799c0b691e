"""The quality-diversity archive of a discovery run: MAP-Elites cells, islands, migration,
parent and inspiration sampling, and behavioural fingerprints (``docs/discovery.md``,
"The quality-diversity archive").

A program's search-part curves give one :class:`Point` per beta of the grid: its accuracy
and cost (means over the search stores), its *cost position* (where its cost falls in each
store's score window on a log axis, averaged over stores) and its *behaviour descriptor*.
The descriptor is **adaptivity**: per store, the coefficient of variation over questions of
the tokens spent on a question divided by that question's mean branch length (the number of
*branch-equivalents* the program spends on each question), averaged over stores. A
fixed-budget controller (SC: the same number of branches everywhere) scores about 0; a
controller that stops early on easy questions and spends on hard ones (ASC, ESC) scores high.

A *cell* is (cost band, behaviour band). Each island holds a grid of cells; each cell keeps
its elite: the point with the highest accuracy, ties to the lower cost, then to the earlier
entry. A program holds every cell one of its points is the best in. Every ``migrate_every``
added candidates, each island copies its best elite of every cost band (``migrants`` of them)
into the next island of the ring. Everything is a pure function of the sequence of calls, so
rebuilding the archive from the records gives the same archive.

Behavioural duplicates: :func:`fingerprint` hashes a screen evaluation's per-question
correct shares and costs on every screened (store, beta); two programs with the same
fingerprint behaved the same on every screened episode set (``D003``).
"""

from __future__ import annotations

import hashlib
import json
import math
import random
from dataclasses import dataclass
from pathlib import Path

DESCRIPTORS = ("adaptivity",)
POINTS_KEY = "qd_points"  # a record's (or, per seed label, the state's) archive points
DESCRIPTOR_TEXT = {
    "adaptivity": "adaptivity = coefficient of variation over questions of the branch-equivalents spent "
                  "per question (tokens on the question / its mean branch length), mean over stores: "
                  "about 0 for a fixed budget (SC), high when the spend follows the question (ASC, ESC)",
}


GRID_ROWS = {  # what a grid row is, in a prompt
    "adaptivity": "adaptivity, how unevenly a program spends over questions (coefficient of variation of the "
                  "tokens per question divided by the question's mean branch length; 0 = the same number of "
                  "branches on every question, like SC; 0.5 and more = stops early on easy questions and "
                  "spends on hard ones, like ASC and ESC)",
}


# ---------------------------------------------------------------------- points
@dataclass(frozen=True)
class Point:
    """One point of a program (one beta), summarised over the stores of a part."""

    beta: float | None
    accuracy: float  # percent, mean over stores
    cost: float  # tokens per question, mean over stores
    position: float  # mean over stores of log(cost / lo) / log(hi / lo) in the store's window
    descriptor: float | None  # the behaviour descriptor (None: no per-question arrays)

    @property
    def key(self) -> tuple:
        """The elite order: higher accuracy, then lower cost."""
        return (self.accuracy, -self.cost)

    def to_dict(self) -> dict:
        return {"beta": self.beta, "accuracy": self.accuracy, "cost": self.cost, "position": self.position,
                "descriptor": self.descriptor}

    @classmethod
    def from_dict(cls, d: dict) -> "Point":
        return cls(d.get("beta"), d["accuracy"], d["cost"], d["position"], d.get("descriptor"))


def _rows(curves) -> dict:
    """Per store label, the rows of a ``Curves`` (or of its dict form)."""
    return curves.stores if hasattr(curves, "stores") else dict(curves)


def _cv(xs: list[float]) -> float:
    m = sum(xs) / len(xs)
    if m <= 0:
        return 0.0
    return math.sqrt(sum((x - m) ** 2 for x in xs) / len(xs)) / m


def adaptivity(q_cost: list, scale: list | None = None) -> float | None:
    """Coefficient of variation of ``q_cost[i] / scale[i]`` over questions (``scale`` None:
    of the raw costs). None for fewer than two questions."""
    if not q_cost or len(q_cost) < 2:
        return None
    xs = [float(c) / s if s > 0 else float(c) for c, s in zip(q_cost, scale or [1.0] * len(q_cost))]
    return _cv(xs)


def question_scales(refs) -> dict:
    """Per store label: the mean branch length (tokens) of every question of the store, in
    file order; the divisor of the adaptivity descriptor."""
    from .splits import ref_label

    out = {}
    for ref in refs:
        st = ref.load()
        out[ref_label(ref)] = [round(sum(q.tokens) / len(q.tokens), 3) if q.tokens else 1.0
                               for q in st.questions]
    return out


def points_of(curves, windows: dict, scales: dict | None = None) -> list[Point]:
    """The points of ``curves`` (a part's ``Curves``): one per beta row that has a result on
    every store. ``windows``: store label -> (lo, hi) tokens (the score windows); ``scales``:
    :func:`question_scales` (missing: raw per-question costs)."""
    rows = _rows(curves)
    labels = [lb for lb in rows if lb in windows]
    if not labels:
        return []
    qidx = getattr(curves, "questions", None) or {}
    out = []
    for i in range(min(len(rows[lb]) for lb in labels)):
        rs = [rows[lb][i] for lb in labels]
        if any(r.get("error") or r.get("accuracy") is None or not r.get("avg_cost") for r in rs):
            continue
        pos, desc = [], []
        for lb, r in zip(labels, rs):
            lo, hi = windows[lb]
            pos.append(math.log(r["avg_cost"] / lo) / math.log(hi / lo) if hi > lo else 0.0)
            qc = r.get("q_cost")
            if qc is not None:
                sc = (scales or {}).get(lb)
                want = qidx.get(lb)
                idx = list(want) if want is not None else list(range(len(qc)))
                if sc is not None and len(idx) == len(qc) and all(0 <= q < len(sc) for q in idx):
                    sc = [sc[q] for q in idx]
                else:
                    sc = None
                desc.append(adaptivity(qc, sc))
        d = sum(desc) / len(desc) if desc and len(desc) == len(labels) and None not in desc else None
        out.append(Point(rs[0].get("beta"), round(sum(r["accuracy"] for r in rs) / len(rs), 4),
                         round(sum(r["avg_cost"] for r in rs) / len(rs), 3), round(sum(pos) / len(pos), 6),
                         None if d is None else round(d, 6)))
    return out


def quantile_edges(values: list[float], bands: int) -> list[float]:
    """``bands - 1`` edges at the quantiles of ``values`` (linear interpolation), rounded to
    4 decimals, strictly increasing (equal edges merge, giving fewer bands)."""
    vs = sorted(v for v in values if v is not None)
    if not vs or bands < 2:
        return []
    out: list[float] = []
    for k in range(1, bands):
        x = k / bands * (len(vs) - 1)
        lo = int(math.floor(x))
        hi = min(lo + 1, len(vs) - 1)
        e = round(vs[lo] + (vs[hi] - vs[lo]) * (x - lo), 4)
        if not out or e > out[-1]:
            out.append(e)
    return out


# ------------------------------------------------------------------ fingerprints
def fingerprint(curves) -> str:
    """A hash of a screen evaluation's behaviour: per store (sorted), per beta row in order,
    the per-question correct shares and mean costs (rounded to 6 decimals). Rows that are all
    the same for a store (a program that does not use beta, or does not change on the screened
    betas) count once, so a constant program and a beta program constant on the screen match.
    An error row hashes its error text."""
    rows = _rows(curves)
    canon = []
    for lb in sorted(rows):
        seq = []
        for r in rows[lb]:
            if r.get("error"):
                seq.append(["error", str(r["error"])])
                continue
            qc, qt = r.get("q_correct"), r.get("q_cost")
            if qc is None or qt is None:
                raise ValueError(f"{lb}: a fingerprint needs the per-question arrays (q_correct, q_cost)")
            seq.append([[round(float(x), 6) for x in qc], [round(float(x), 6) for x in qt]])
        if seq and all(s == seq[0] for s in seq):
            seq = seq[:1]
        canon.append([lb, seq])
    return hashlib.sha256(json.dumps(canon, separators=(",", ":")).encode()).hexdigest()[:20]


# ----------------------------------------------------------------------- archive
@dataclass
class Elite:
    """A cell's occupant: the program, its point there, when it entered (ties keep the
    earlier) and the island it was first added to (differs after a migration)."""

    program: str
    point: Point
    order: int
    origin: int

    def to_dict(self) -> dict:
        return {"program": self.program, **self.point.to_dict(), "order": self.order, "origin": self.origin}

    @classmethod
    def from_dict(cls, d: dict) -> "Elite":
        return cls(d["program"], Point.from_dict(d), d["order"], d["origin"])


def _key(cell: tuple) -> str:
    return f"{cell[0]},{cell[1]}"


def _cell(key: str) -> tuple:
    a, b = key.split(",")
    return (int(a), int(b))


def _tok(x: float) -> str:
    return f"{x / 1e6:.2f}M" if x >= 1e6 else f"{x / 1e3:.0f}k"


def _as_rng(rng) -> random.Random:
    return rng if isinstance(rng, random.Random) else random.Random(rng)


class QDArchive:
    """MAP-Elites with islands over (cost band, behaviour band) cells.

    ``windows``: store label -> (lo, hi) tokens, the score windows (cost bands split each
    window in ``cost_bands`` equal parts of log cost; a point's band is taken at its mean
    position over stores, clamped to the first and last band). ``behaviour_edges``: the
    descriptor's band edges (k edges, k + 1 bands)."""

    def __init__(self, windows: dict, *, islands: int = 2, migrate_every: int = 10, migrants: int = 1,
                 cost_bands: int = 4, behaviour_edges=(0.2, 0.5), descriptor: str = "adaptivity",
                 parent_bias: float = 2.0, admit_margin: float = 1.0, scales: dict | None = None):
        if islands < 1 or cost_bands < 1 or migrants < 0 or migrate_every < 0:
            raise ValueError("islands and cost_bands must be >= 1, migrants and migrate_every >= 0")
        if descriptor not in DESCRIPTORS:
            raise ValueError(f"descriptor must be one of {', '.join(DESCRIPTORS)}, not {descriptor!r}")
        edges = [float(e) for e in behaviour_edges]
        if any(b <= a for a, b in zip(edges, edges[1:])):
            raise ValueError(f"behaviour edges must increase strictly: {edges}")
        self.windows = {k: (float(v[0]), float(v[1])) for k, v in windows.items()}
        self.n_islands = islands
        self.migrate_every = migrate_every
        self.migrants = migrants
        self.cost_bands = cost_bands
        self.behaviour_edges = edges
        self.descriptor = descriptor
        self.parent_bias = float(parent_bias)
        self.admit_margin = float(admit_margin)
        self.scales = scales or {}
        self.grids: list[dict] = [{} for _ in range(islands)]  # island -> {(cb, bb): Elite}
        self.fingerprints: dict = {}  # fingerprint -> the program that had it first
        self.added = 0  # candidates added: the migration clock
        self.migrations = 0
        self.seq = 0  # entries so far (seeds, candidates, migrants): the tie order

    # ------------------------------------------------------------ construction
    @classmethod
    def from_settings(cls, settings: dict, windows: dict, scales: dict | None = None,
                      seed_points: list | None = None) -> "QDArchive":
        """From an ``[archive]`` table (``config.ARCHIVE_DEFAULTS`` filled in). An int
        ``behaviour_bands`` puts the edges at the quantiles of the seed programs' descriptors
        (``seed_points``: their :class:`Point` lists)."""
        bb = settings.get("behaviour_bands", [0.2, 0.5])
        if isinstance(bb, int):
            vals = [p.descriptor for pts in (seed_points or []) for p in pts]
            edges = quantile_edges(vals, bb)
        else:
            edges = list(bb)
        return cls(windows, islands=settings.get("islands", 2), migrate_every=settings.get("migrate_every", 10),
                   migrants=settings.get("migrants", 1), cost_bands=settings.get("cost_bands", 4),
                   behaviour_edges=edges, descriptor=settings.get("descriptor", "adaptivity"),
                   parent_bias=settings.get("parent_bias", 2.0), admit_margin=settings.get("admit_margin", 1.0),
                   scales=scales)

    @property
    def behaviour_bands(self) -> int:
        return len(self.behaviour_edges) + 1

    def points(self, curves) -> list[Point]:
        """The points of a part's curves (see :func:`points_of`)."""
        return points_of(curves, self.windows, self.scales)

    def _points(self, pts) -> list[Point]:
        if isinstance(pts, list) and all(isinstance(p, Point) for p in pts):
            return pts
        if isinstance(pts, list) and all(isinstance(p, dict) and "position" in p for p in pts):
            return [Point.from_dict(p) for p in pts]
        return self.points(pts)

    def cell(self, p: Point) -> tuple | None:
        """(cost band, behaviour band) of a point; None without a descriptor."""
        if p.descriptor is None or not math.isfinite(p.position):
            return None
        cb = min(self.cost_bands - 1, max(0, int(math.floor(p.position * self.cost_bands))))
        bb = sum(1 for e in self.behaviour_edges if p.descriptor >= e)
        return (cb, bb)

    def best_per_cell(self, pts) -> dict:
        """The best of the given points in each cell they fall in."""
        best: dict = {}
        for p in self._points(pts):
            c = self.cell(p)
            if c is not None and (c not in best or p.key > best[c].key):
                best[c] = p
        return best

    # --------------------------------------------------------------- insertion
    def _insert(self, island: int, c: tuple, e: Elite) -> bool:
        cur = self.grids[island].get(c)
        if cur is not None and not e.point.key > cur.point.key:
            return False
        self.grids[island][c] = e
        return True

    def add(self, program, points=None, island: int | None = None, seed: bool = False) -> list[tuple]:
        """Offer a program's points (a part's curves, or :class:`Point`\\ s); returns the cells
        it entered as ``(island, cost band, behaviour band)``. A seed program is offered to
        every island and does not advance the migration clock; a candidate goes to ``island``
        (default: round robin by the number of candidates added) and every ``migrate_every``
        candidates the islands migrate. ``program`` may also be a candidate record (see
        :meth:`add_record`)."""
        if points is None and hasattr(program, "curves"):
            return self.add_record(program)
        best = self.best_per_cell(points)
        if seed:
            islands = list(range(self.n_islands))
        else:
            islands = [self.added % self.n_islands if island is None else island]
            if not 0 <= islands[0] < self.n_islands:
                raise ValueError(f"island {islands[0]} out of range (0..{self.n_islands - 1})")
        entered = []
        for i in islands:
            for c in sorted(best):
                self.seq += 1
                if self._insert(i, c, Elite(program, best[c], self.seq, i)):
                    entered.append((i, c[0], c[1]))
        if not seed:
            self.added += 1
            if self.migrate_every and self.added % self.migrate_every == 0:
                self.migrate()
        return entered

    def add_record(self, rec) -> list[tuple]:
        """Add a valid candidate record (``records.Candidate``) to its island (``rec.island``;
        None: round robin). Its points are ``rec.extra["qd_points"]`` when the record has them
        (a record read back), else they are computed from its in-memory search curves and
        stored there, so the record written to ``candidates.jsonl`` rebuilds the archive."""
        pts = rec.extra.get(POINTS_KEY)
        if pts is None:
            pts = [p.to_dict() for p in self.points(rec.curves)]
            rec.extra[POINTS_KEY] = pts
        return self.add(rec.label, [Point.from_dict(p) for p in pts], island=rec.island)

    def admits(self, points, island: int | None = None, margin: float | None = None) -> bool:
        """Could a program with these (screen) points enter a cell? True if a point falls in
        an empty cell, or within ``margin`` accuracy points (default ``admit_margin``) of the
        cell's elite or better, on ``island`` (None: on any island). A point without a
        descriptor (no per-question arrays) admits: the screen cannot tell."""
        m = self.admit_margin if margin is None else margin
        isl = range(self.n_islands) if island is None else [island]
        for p in self._points(points):
            c = self.cell(p)
            if c is None:
                return True
            for i in isl:
                e = self.grids[i].get(c)
                if e is None or p.accuracy + m >= e.point.accuracy:
                    return True
        return False

    def migrate(self) -> int:
        """Ring migration: each island's best ``migrants`` elites of every cost band are
        offered to the next island (from a snapshot, so nothing moves twice in one
        migration). Returns the number of cells that changed."""
        self.migrations += 1
        if self.n_islands < 2 or not self.migrants:
            return 0
        moving = [self._best_elites(i) for i in range(self.n_islands)]
        changed = 0
        for i, elites in enumerate(moving):
            dst = (i + 1) % self.n_islands
            for c, e in elites:
                self.seq += 1
                changed += self._insert(dst, c, Elite(e.program, e.point, self.seq, e.origin))
        return changed

    def _best_elites(self, island: int) -> list[tuple]:
        by_band: dict = {}
        for c, e in self.grids[island].items():
            by_band.setdefault(c[0], []).append((c, e))
        out = []
        for cb in sorted(by_band):
            ranked = sorted(by_band[cb], key=lambda ce: (-ce[1].point.accuracy, ce[1].point.cost, ce[1].order))
            out += ranked[:self.migrants]
        return out

    # ------------------------------------------------------------------ duplicates
    def duplicate_of(self, fp: str) -> str | None:
        """The program that first had this fingerprint, or None."""
        return self.fingerprints.get(fp)

    def remember(self, fp: str, program: str) -> None:
        """Record a program's fingerprint (the first program keeps it)."""
        self.fingerprints.setdefault(fp, program)

    # ------------------------------------------------------------------- sampling
    def _weighted(self, cells: list[tuple], bias: float | None = None) -> list[float]:
        """A cell's weight: ``(1 + bias * z) / h``, where z is the elite's accuracy scaled to
        0..1 among the given cells of its cost band and h the number of the given cells its
        program holds (a program holding many cells is not drawn more often for it: without
        bias, every program is equally likely). ``bias`` defaults to ``parent_bias``."""
        bias = self.parent_bias if bias is None else bias
        band: dict = {}
        held: dict = {}
        for c, e in cells:
            lo, hi = band.get(c[0], (e.point.accuracy, e.point.accuracy))
            band[c[0]] = (min(lo, e.point.accuracy), max(hi, e.point.accuracy))
            held[e.program] = held.get(e.program, 0) + 1
        out = []
        for c, e in cells:
            lo, hi = band[c[0]]
            z = 1.0 if hi <= lo else (e.point.accuracy - lo) / (hi - lo)
            out.append((1.0 + bias * z) / held[e.program])
        return out

    @staticmethod
    def _draw(rng: random.Random, cells: list, k: int, weights) -> list:
        """Up to ``k`` cells of distinct programs, by weight, without replacement."""
        items = list(zip(cells, weights))
        out, seen = [], set()
        while items and len(out) < k:
            total = sum(w for _, w in items)
            x = rng.random() * total
            j = 0
            while j < len(items) - 1 and x >= items[j][1]:
                x -= items[j][1]
                j += 1
            (c, e), _ = items[j]
            out.append((c, e))
            seen.add(e.program)
            items = [it for it in items if it[0][1].program not in seen]
        return out

    def island_cells(self, island: int | None = None) -> list[tuple]:
        """``((cost band, behaviour band), Elite)`` of one island in cell order; None: every
        cell of every island, the best elite per cell (ties: the lower island)."""
        if island is not None:
            return sorted(self.grids[island].items())
        best: dict = {}
        for g in self.grids:
            for c, e in g.items():
                if c not in best or e.point.key > best[c].point.key:
                    best[c] = e
        return sorted(best.items())

    def sample_parents(self, rng, k: int = 1, island: int = 0) -> list[str]:
        """``k`` distinct parent programs from ``island``'s occupied cells (uniform over cells
        with a bias to fitness within the cost band, see :meth:`_weighted`); an empty island
        falls back to the whole archive. ``rng``: a ``random.Random`` or a seed."""
        rng = _as_rng(rng)
        cells = self.island_cells(island) or self.island_cells(None)
        return [e.program for _, e in self._draw(rng, cells, k, self._weighted(cells))]

    def inspirations(self, rng, k: int = 2, exclude=(), island: int | None = None) -> list[str]:
        """``k`` programs from distinct cells of the archive (all islands unless ``island``),
        none of them in ``exclude`` and, while there are enough, none in a cell an excluded
        program holds (inspirations show other behaviours than the parents'); every such
        program equally likely."""
        rng = _as_rng(rng)
        exclude = set(exclude)
        cells = self.island_cells(island)
        held = {c for g in self.grids for c, e in g.items() if e.program in exclude}
        pool = [(c, e) for c, e in cells if e.program not in exclude]
        other = [(c, e) for c, e in pool if c not in held]
        progs = {e.program for _, e in other}
        if len(progs) < k:
            other = pool
        return [e.program for _, e in self._draw(rng, other, k, self._weighted(other, 0.0))]

    # ------------------------------------------------------------------ tables
    def cost_band_edges(self) -> list[float]:
        """The cost band edges in tokens (``cost_bands + 1`` values): per band fraction of the
        log window, the geometric mean over stores."""
        if not self.windows:
            return []
        out = []
        for k in range(self.cost_bands + 1):
            u = k / self.cost_bands
            logs = [math.log(lo) + u * (math.log(hi) - math.log(lo)) for lo, hi in self.windows.values()]
            out.append(math.exp(sum(logs) / len(logs)))
        return out

    def cost_band_label(self, cb: int) -> str:
        e = self.cost_band_edges()
        if not e:
            return f"cost {cb}"
        lo = "" if cb == 0 else _tok(e[cb])
        hi = "" if cb == self.cost_bands - 1 else _tok(e[cb + 1])
        return f"<{hi}" if not lo else (f">={lo}" if not hi else f"{lo}-{hi}")

    def behaviour_band_label(self, bb: int) -> str:
        e = self.behaviour_edges
        if not e:
            return "all"
        if bb == 0:
            return f"<{e[0]:g}"
        if bb == len(e):
            return f">={e[-1]:g}"
        return f"{e[bb - 1]:g}-{e[bb]:g}"

    def cells_table(self, island: int | None = None) -> list[dict]:
        """One row per occupied cell (every island, or one): island, bands (indices and
        labels), program, beta, accuracy, cost, descriptor, whether it migrated there."""
        out = []
        for i in (range(self.n_islands) if island is None else [island]):
            for c, e in sorted(self.grids[i].items()):
                out.append({"island": i, "cost_band": c[0], "behaviour_band": c[1],
                            "cost_range": self.cost_band_label(c[0]),
                            "behaviour_range": self.behaviour_band_label(c[1]), "program": e.program,
                            "beta": e.point.beta, "accuracy": e.point.accuracy, "cost": e.point.cost,
                            "descriptor": e.point.descriptor, "migrated": e.origin != i})
        return out

    def render_table(self) -> str:
        """The archive as markdown: a grid per island (rows: behaviour bands, columns: cost
        bands; each cell its elite and accuracy) and the list of cells."""
        from .qd_report import render_markdown

        return render_markdown(self.to_dict())

    def render_grid(self, island: int | None = None) -> str:
        """A compact markdown grid for prompts, after a line saying what rows, columns and
        cells are: None merges the islands (the best elite per cell)."""
        from .qd_report import grid_text

        return (f"Columns: tokens per question (mean over stores). Rows: {GRID_ROWS[self.descriptor]}. "
                "A cell: its best program (seed:NAME or cNNNN) and that program's search accuracy there; "
                "- = empty: a program there enters the archive whatever its accuracy.\n\n"
                + grid_text(self.to_dict(), island))

    # -------------------------------------------------------------- persistence
    def to_dict(self) -> dict:
        return {"descriptor": self.descriptor, "islands": self.n_islands, "migrate_every": self.migrate_every,
                "migrants": self.migrants, "cost_bands": self.cost_bands,
                "behaviour_edges": self.behaviour_edges, "parent_bias": self.parent_bias,
                "admit_margin": self.admit_margin, "windows": {k: list(v) for k, v in self.windows.items()},
                "cost_band_edges": [round(x, 1) for x in self.cost_band_edges()],
                "added": self.added, "migrations": self.migrations, "seq": self.seq,
                "grids": [{_key(c): e.to_dict() for c, e in sorted(g.items())} for g in self.grids],
                "fingerprints": dict(self.fingerprints), "scales": self.scales}

    @classmethod
    def from_dict(cls, d: dict) -> "QDArchive":
        a = cls(d["windows"], islands=d["islands"], migrate_every=d["migrate_every"], migrants=d["migrants"],
                cost_bands=d["cost_bands"], behaviour_edges=d["behaviour_edges"], descriptor=d["descriptor"],
                parent_bias=d["parent_bias"], admit_margin=d["admit_margin"], scales=d.get("scales") or {})
        a.grids = [{_cell(k): Elite.from_dict(v) for k, v in g.items()} for g in d["grids"]]
        a.fingerprints = dict(d.get("fingerprints") or {})
        a.added, a.migrations, a.seq = d["added"], d["migrations"], d["seq"]
        return a

    def plot(self, path) -> Path | None:
        """The grid picture (PNG, one panel per island); None when matplotlib is missing."""
        from .qd_report import plot_archive

        return plot_archive(self.to_dict(), path)


# ------------------------------------------------------------------- a run's
def from_run(cfg, state, records, scales: dict | None = None) -> QDArchive:
    """The archive of a run, rebuilt from ``state.json`` and the records in order: the seed
    programs (seed=True) and their screen fingerprints, then every record: its screen
    fingerprint (valid and screened ones), and a valid one's points (:meth:`add_record`).
    The seed programs' points are kept in ``state.extra["qd_points"]`` (label -> points):
    computed here while their curves still have the per-question arrays (a fresh run), read
    back on resume; write the state after calling this. ``scales``: default
    :func:`question_scales` of the run's stores."""
    from .splits import store_refs

    windows = (state.scoring or {}).get("windows") or state.ranges
    if scales is None:
        scales = question_scales(store_refs(cfg))
    seed_pts = [] if isinstance(cfg.archive.get("behaviour_bands"), list) else None
    kept = state.extra.setdefault(POINTS_KEY, {})
    probe = QDArchive(windows, scales=scales)
    for s in state.seeds:
        if s.label not in kept and s.curves is not None and s.curves.has_per_question():
            kept[s.label] = [p.to_dict() for p in probe.points(s.curves)]
        if seed_pts is not None:
            seed_pts.append([Point.from_dict(p) for p in kept.get(s.label, [])])
    qd = QDArchive.from_settings(cfg.archive, windows, scales, seed_pts)
    for s in state.seeds:
        qd.add(s.label, [Point.from_dict(p) for p in kept.get(s.label, [])], seed=True)
        if s.screen and s.screen.get("fingerprint"):
            qd.remember(s.screen["fingerprint"], s.label)
    for r in records:
        if r.status not in ("ok", "screened"):
            continue
        if r.screen and r.screen.get("fingerprint"):
            qd.remember(r.screen["fingerprint"], r.label)
        if r.status == "ok" and POINTS_KEY in r.extra:
            qd.add_record(r)
    return qd
