"""Splits: which stores, questions and ordering seeds each part of a run uses. The
``search`` part is what candidates are evaluated and ranked on (and all prompts see);
the ``heldout`` part judges the winners at the end and never reaches a prompt.

A part is a list of slices, each one store with its questions (all of them today) and
its ordering seeds."""

from __future__ import annotations

from dataclasses import dataclass

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
    """A named part of the run: its slices, and the ordering seeds of the part (today every
    slice uses them all; question-level splits will give slices their own)."""

    name: str  # "search" | "heldout"
    slices: tuple
    seeds: tuple
    note: str = ""

    @property
    def refs(self) -> list[StoreRef]:
        return [s.ref for s in self.slices]

    @property
    def labels(self) -> list[str]:
        return [s.label for s in self.slices]

    def seeds_summary(self) -> list:
        """``[first seed, count]``, as records and ``final.json`` write it."""
        return [self.seeds[0], len(self.seeds)]


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


def part_of(name: str, spec: StoreSpec, cfg: DiscoverConfig, note: str = "") -> Part:
    seeds = seeds_of(spec)
    return Part(name, tuple(Slice(ref, seeds) for ref in resolve_stores(spec, cfg)), seeds, note)


def search_part(cfg: DiscoverConfig) -> Part:
    return part_of("search", cfg.search, cfg)


def heldout_spec(cfg: DiscoverConfig) -> tuple[StoreSpec, str]:
    """The configured ``[heldout]`` stores, or the search stores with the next ordering seeds."""
    if cfg.heldout is not None:
        return cfg.heldout, "configured [heldout] stores"
    s = cfg.search
    spec = StoreSpec(root=s.root, models=list(s.models), datasets=list(s.datasets), synthetic=list(s.synthetic),
                     seeds=s.seeds, seed_start=s.seed_start + s.seeds)
    return spec, (f"no [heldout] configured: the search stores with fresh ordering seeds "
                  f"{spec.seed_start}..{spec.seed_start + spec.seeds - 1} (a weak split; configure [heldout])")


def heldout_part(cfg: DiscoverConfig) -> Part:
    spec, note = heldout_spec(cfg)
    return part_of("heldout", spec, cfg, note)
