"""Splits: which stores, questions and ordering seeds each part of a run uses.

Questions are the unit of generalisation. Every search store is split by question into a
``search`` part (what candidates are ranked on, and all that prompts, the archive and the
loop's selection pressure see) and a ``validation`` part (reported for every candidate,
never shown to a proposer), with the same ordering seeds: one evaluation of all questions
serves both parts (:meth:`tts_dsl.discovery.curves.Curves.restrict`).

* ``kind = "questions"`` (default): per group of stores, the questions are sorted by the seed
  programs' mean per-question accuracy (over seed programs, betas, ordering seeds and the
  group's stores) and cut into strata of ``round(1 / validation_fraction)`` consecutive
  questions; one random member of each stratum goes to validation (a last, partial stratum
  of ``r`` questions gives one with probability ``r / size``). Seeded by ``split.seed``.
* ``kind = "folds"``: the same strata, each dealt out at random over ``folds`` folds; the
  validation part is fold ``validation_fold``, the search part the others.
* ``holdout_models``: the stores of these models are validation only (every question).

A *group* is the stores of one dataset whose questions are the same (same count and gold
answers, e.g. AIME24 under four models): they share one split, so a validation question is
held out on every model. A synthetic store is a group of its own.

A configured ``[heldout]`` section adds a third part, ``heldout``: whole other stores (e.g.
another benchmark), evaluated only for the seed programs and the winners at the end."""

from __future__ import annotations

import random
from dataclasses import asdict, dataclass

from ..evaluation.sweep import StoreRef
from .config import DiscoverConfig, StoreSpec


@dataclass(frozen=True)
class Slice:
    """One store of a part: its questions (None: all) and its ordering seeds."""

    ref: StoreRef
    seeds: tuple
    questions: tuple | None = None

    @property
    def label(self) -> str:
        return ref_label(self.ref)


@dataclass(frozen=True)
class Part:
    """A named part of the run (``search``, ``validation`` or ``heldout``): its slices and
    its ordering seeds."""

    name: str
    slices: tuple
    seeds: tuple
    note: str = ""

    @property
    def refs(self) -> list[StoreRef]:
        return [s.ref for s in self.slices]

    @property
    def labels(self) -> list[str]:
        return [s.label for s in self.slices]

    def questions(self) -> dict:
        """Store label -> the part's question indices there (None: all)."""
        return {s.label: s.questions for s in self.slices}

    def seeds_summary(self) -> list:
        """``[first seed, count]``, as records and ``final.json`` write it."""
        return [self.seeds[0], len(self.seeds)]

    def to_dict(self) -> dict:
        return {"name": self.name, "seeds": self.seeds_summary(), "note": self.note,
                "slices": [{"ref": asdict(s.ref), "label": s.label,
                            "questions": None if s.questions is None else list(s.questions)} for s in self.slices]}

    @classmethod
    def from_dict(cls, d: dict) -> "Part":
        seeds = tuple(range(d["seeds"][0], d["seeds"][0] + d["seeds"][1]))
        return cls(d["name"], tuple(Slice(StoreRef(**s["ref"]), seeds, None if s["questions"] is None
                                          else tuple(s["questions"])) for s in d["slices"]), seeds, d.get("note", ""))


def resolve_stores(spec: StoreSpec, cfg: DiscoverConfig) -> list[StoreRef]:
    """The stores a spec names (replay root x models x datasets, then synthetic ones)."""
    from ..replay.store import StoreError, list_datasets, list_models

    refs: list[StoreRef] = []
    if spec.root is not None:
        root = cfg.path(spec.root)
        try:
            models_here = list_models(root)
        except StoreError as ex:
            raise StoreError(f"store root {root}: {ex}") from None
        models = models_here if spec.models in (["all"], []) else list(spec.models)
        for m in models:
            if m not in models_here:
                raise StoreError(f"{root}: no model '{m}' (models here: {', '.join(models_here)})")
            ds_here = list_datasets(root, m)
            for d in (ds_here if spec.datasets in (["all"], []) else spec.datasets):
                if d not in ds_here:
                    raise StoreError(f"{root}/{m}: no dataset '{d}' (datasets: {', '.join(ds_here)})")
                refs.append(StoreRef(str(root), m, d))
    for sy in spec.synthetic:
        refs.append(StoreRef(None, synthetic_seed=int(sy.get("seed", 0)),
                             synthetic_questions=int(sy.get("questions", 30)),
                             synthetic_branches=int(sy.get("branches", 128))))
    return refs


def ref_label(ref: StoreRef) -> str:
    if ref.root is None:
        return f"synthetic{ref.synthetic_seed}/q{ref.synthetic_questions}b{ref.synthetic_branches}"
    return ref.label


def seeds_of(spec: StoreSpec) -> tuple:
    return tuple(range(spec.seed_start, spec.seed_start + spec.seeds))


def store_refs(cfg: DiscoverConfig) -> list[StoreRef]:
    """Every store a candidate is evaluated on: the ``[search]`` stores (those of
    ``split.holdout_models`` included: they are its validation part)."""
    refs = resolve_stores(cfg.search, cfg)
    held = set(cfg.split.get("holdout_models") or [])
    models = {r.model for r in refs}
    for m in held:
        if m not in models:
            raise ValueError(f"[split] holdout_models: no search store of model '{m}' "
                             f"(models: {', '.join(sorted(x for x in models if x)) or 'none'})")
    if refs and all(r.model in held for r in refs):
        raise ValueError("[split] holdout_models holds out every search store: nothing is left to search on")
    return refs


def heldout_part(cfg: DiscoverConfig) -> Part | None:
    """The configured ``[heldout]`` stores as whole stores (None without the section)."""
    if cfg.heldout is None:
        return None
    seeds = seeds_of(cfg.heldout)
    refs = resolve_stores(cfg.heldout, cfg)
    search = set(resolve_stores(cfg.search, cfg))
    same = [ref_label(r) for r in refs if r in search]
    note = "configured [heldout] stores, judged at the end only"
    if same:
        note += (f"; {', '.join(same)} are search stores too: on them this part differs from the search "
                 f"only by ordering seeds, which measures ordering noise, not generalisation")
    return Part("heldout", tuple(Slice(r, seeds) for r in refs), seeds, note)


# ------------------------------------------------------------------ the split
@dataclass(frozen=True)
class Split:
    """The search and validation parts of a run (and the configured held-out stores)."""

    kind: str
    search: Part
    validation: Part
    heldout: Part | None = None
    settings: tuple = ()  # sorted (key, value) pairs of [split], for the record

    @property
    def refs(self) -> list[StoreRef]:
        """Every store evaluated for each candidate (search stores and stores held out whole)."""
        out = list(self.search.refs)
        out += [r for r in self.validation.refs if r not in out]
        return out

    @property
    def seeds(self) -> tuple:
        return self.search.seeds

    def part(self, name: str) -> Part:
        p = {"search": self.search, "validation": self.validation, "heldout": self.heldout}[name]
        if p is None:
            raise KeyError(f"no {name} part")
        return p

    def questions(self, name: str) -> dict:
        """Store label -> question indices of the part ``name``."""
        return self.part(name).questions()

    def describe(self) -> str:
        """One paragraph: what each part holds, and what the split can and cannot tell."""
        s = dict(self.settings)
        n_s = {sl.label: len(sl.questions) for sl in self.search.slices}
        n_v = {sl.label: len(sl.questions) for sl in self.validation.slices}
        counts = sorted({(n_s.get(lb, 0), n_v.get(lb, 0)) for lb in n_s})
        per = "; ".join(f"{a} search / {b} validation questions" for a, b in counts)
        how = (f"{s.get('folds')} stratified folds, validation = fold {s.get('validation_fold')}"
               if self.kind == "folds" else
               f"stratified, validation_fraction {float(s.get('validation_fraction', 0)):.3g}")
        whole = [lb for lb in n_v if lb not in n_s]
        seeds = self.seeds_summary_text()
        out = (f"split by question ({how}, split seed {s.get('seed')}): {per} per search store; "
               f"ordering seeds {seeds} on both parts")
        if whole:
            out += f"; held out whole: {', '.join(whole)}"
        out += (". The validation part tells how a program does on questions no proposal was ranked on "
                "(the same models); it cannot tell how it transfers to other models"
                + ("" if whole else " (hold one out with split.holdout_models)")
                + " or benchmarks, and with few questions its intervals are wide.")
        return out

    def seeds_summary_text(self) -> str:
        a, n = self.search.seeds_summary()
        return f"{a}..{a + n - 1}"

    def to_dict(self) -> dict:
        return {"kind": self.kind, "settings": dict(self.settings), "search": self.search.to_dict(),
                "validation": self.validation.to_dict(),
                "heldout": self.heldout.to_dict() if self.heldout is not None else None,
                "description": self.describe()}

    @classmethod
    def from_dict(cls, d: dict) -> "Split":
        return cls(d["kind"], Part.from_dict(d["search"]), Part.from_dict(d["validation"]),
                   Part.from_dict(d["heldout"]) if d.get("heldout") else None,
                   _settings(d["settings"]))


def _settings(d: dict) -> tuple:
    """The [split] table as sorted, hashable (key, value) pairs."""
    return tuple(sorted((k, tuple(v) if isinstance(v, list) else v) for k, v in d.items()))


def question_accuracy(seed_curves: list, label: str, n: int) -> list[float]:
    """Per question of a store: the seed programs' mean accuracy (over programs, betas and
    ordering seeds), from the per-question arrays of an all-questions evaluation."""
    tot, cnt = [0.0] * n, 0
    for cv in seed_curves:
        have = cv.questions.get(label)
        for r in cv.stores.get(label, []):
            qc = r.get("q_correct")
            if r.get("error") or qc is None:
                continue
            if have is not None and list(have) != list(range(n)) or len(qc) != n:
                raise ValueError(f"{label}: the seed programs must be evaluated on every question")
            for i, v in enumerate(qc):
                tot[i] += v
            cnt += 1
    return [t / cnt if cnt else 0.0 for t in tot]


def groups_of(refs: list[StoreRef]) -> list[list[StoreRef]]:
    """Stores that share their questions (one dataset, the same gold answers in order) form a
    group and share one split; a synthetic store is a group of its own."""
    groups: dict = {}
    for r in refs:
        if r.root is None:
            key = ("synthetic", ref_label(r))
        else:
            st = r.load()
            key = (r.dataset, tuple(q.text(q.gold) if q.gold < len(q.answers) else None for q in st.questions))
        groups.setdefault(key, []).append(r)
    return list(groups.values())


def stratified_assignment(acc: list[float], size: int, rng: random.Random) -> list[list[int]]:
    """The questions (indices into ``acc``) sorted by accuracy (ties in random order) and cut
    into strata of ``size`` consecutive questions."""
    order = list(range(len(acc)))
    rng.shuffle(order)
    order.sort(key=lambda i: acc[i])  # stable: ties keep the random order
    return [order[i:i + size] for i in range(0, len(order), size)]


def validation_questions(acc: list[float], cfg_split: dict, rng: random.Random) -> list[int]:
    """The question indices of the validation part for one group (see the module doc)."""
    n = len(acc)
    if cfg_split["kind"] == "folds":
        k = int(cfg_split["folds"])
        fold = [0] * n
        for stratum in stratified_assignment(acc, k, rng):
            labels = list(range(k))
            rng.shuffle(labels)
            for q, f in zip(stratum, labels):
                fold[q] = f
        return sorted(q for q in range(n) if fold[q] == cfg_split["validation_fold"])
    size = max(2, round(1 / float(cfg_split["validation_fraction"])))
    val = []
    for stratum in stratified_assignment(acc, size, rng):
        if len(stratum) == size or rng.random() < len(stratum) / size:
            val.append(rng.choice(stratum))
    if not val and n >= 2:
        val.append(rng.randrange(n))
    if len(val) >= n:  # keep at least one search question
        val = val[:n - 1]
    return sorted(val)


def make_split(cfg: DiscoverConfig, seed_curves: list, refs: list[StoreRef] | None = None) -> Split:
    """The run's split from the seed programs' all-questions curves (per-question arrays)."""
    refs = store_refs(cfg) if refs is None else refs
    sp = cfg.split
    seeds = seeds_of(cfg.search)
    held = set(sp.get("holdout_models") or [])
    val_q: dict = {}
    for group in groups_of([r for r in refs if r.model not in held]):
        labels = [ref_label(r) for r in group]
        n = len(group[0].load().questions)
        per = [question_accuracy(seed_curves, lb, n) for lb in labels]
        acc = [sum(p[i] for p in per) / len(per) for i in range(n)]
        rng = random.Random(f"split:{sp['seed']}:{'|'.join(labels)}")
        v = validation_questions(acc, sp, rng)
        for lb in labels:
            val_q[lb] = v
    search, validation = [], []
    for r in refs:
        n = len(r.load().questions)
        if r.model in held:
            validation.append(Slice(r, seeds, tuple(range(n))))
            continue
        v = set(val_q[ref_label(r)])
        search.append(Slice(r, seeds, tuple(q for q in range(n) if q not in v)))
        if v:
            validation.append(Slice(r, seeds, tuple(sorted(v))))
    settings = _settings(sp)
    return Split(sp["kind"], Part("search", tuple(search), seeds, "search questions of each search store"),
                 Part("validation", tuple(validation), seeds,
                      "held-out questions of each search store (and stores held out whole)"),
                 heldout_part(cfg), settings)

