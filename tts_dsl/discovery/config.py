"""Discovery configuration: a TOML file (documented in ``docs/discovery.md``) loaded into
plain dataclasses, with every problem reported as a :class:`ConfigError` naming the key."""

from __future__ import annotations

import glob
import tomllib
from dataclasses import asdict, dataclass, field
from pathlib import Path


class ConfigError(Exception):
    pass


@dataclass
class StoreSpec:
    """A set of stores: a replay root with model/dataset lists, or synthetic stores."""

    root: str | None = None
    models: list = field(default_factory=lambda: ["all"])
    datasets: list = field(default_factory=lambda: ["aime24"])
    synthetic: list = field(default_factory=list)  # [{seed, questions, branches}]
    seeds: int = 100          # ordering seeds seed_start .. seed_start + seeds - 1
    seed_start: int = 0


@dataclass
class ProposerConfig:
    kind: str = "evolve"  # evolve | openai | command | replay
    name: str = ""             # [[proposers]]: the name records use (default: the kind, made unique)
    weight: float = 1.0        # [[proposers]]: share of proposals (choose = "weights"; the bandit's prior)
    # openai
    base_url: str = "https://api.openai.com/v1"
    model: str = ""
    api_key_env: str = "OPENAI_API_KEY"
    temperature: float = 0.7
    max_tokens: int = 4096
    extra: dict = field(default_factory=dict)  # merged into the request body
    max_retries: int = 4
    backoff_s: float = 2.0
    price_in_per_mtok: float = 0.0
    price_out_per_mtok: float = 0.0
    # command
    command: list = field(default_factory=list)
    # openai and command
    timeout_s: float = 300.0
    # replay
    responses: str = ""        # responses.jsonl to serve (replay) or to write (record)
    record: bool = False       # record mode: wrap [proposer.inner] and write responses
    inner: dict | None = None  # the wrapped proposer's table (record mode)
    # evolve
    tries: int = 40            # mutations tried per proposal until one checks and is new
    elite: int = 6             # parents drawn from the best this many programs
    operators: dict = field(default_factory=dict)  # operator -> weight (overrides; 0 disables one)
    repair_steps: int = 3      # diagnostic-guided repairs per operator before it is reverted
    follow_pick: float = 0.6   # share of proposals from the loop's parent pick (else by rank on the score)


@dataclass
class DiscoverConfig:
    out: str = "discovery-run"
    seed: int = 0
    max_rounds: int = 20
    max_llm_calls: int = 200
    max_usd: float | None = None
    max_wall_s: float | None = None
    max_repairs: int = 3
    proposer_failures: int = 3  # consecutive proposer failures (no reply) that stop the run
    allow_unknown_schedules: bool = False  # admit knobs the schedule prover cannot settle ("unknown")
    parallel: int = 1  # proposals in flight at once (proposer calls overlap evaluation)
    choose: str = "weights"  # [[proposers]]: per proposal by "weights" or a "bandit" on archive entries
    select: str = "frontier"  # frontier (by hv) | accuracy; also [select] rule
    plots: bool = True  # frontier plots in the report (matplotlib)
    cache: str | None = None  # evaluation cache file shared between runs (default: OUT/cache.jsonl)
    seed_programs: list = field(default_factory=lambda: ["programs/*.tts"])
    betas: list = field(default_factory=lambda: [0.0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0])
    area_range: list | None = None  # [lo, hi] tokens; default: the seed programs' cost span per store
    executor: str = "local"
    jobs: int | None = None
    address: str | None = None
    max_seconds: float = 300.0  # per evaluation (one program, one store, one beta)
    search: StoreSpec = field(default_factory=StoreSpec)
    heldout: StoreSpec | None = None
    proposer: ProposerConfig = field(default_factory=ProposerConfig)
    proposers: list = field(default_factory=list)  # [[proposers]]: several ProposerConfig (proposer = the first)
    cascade: dict = field(default_factory=dict)  # [cascade]: screen before the full evaluation
    prompt: dict = field(default_factory=dict)
    smoke: dict = field(default_factory=dict)
    split: dict = field(default_factory=lambda: dict(SPLIT_DEFAULTS))  # [split]
    score: dict = field(default_factory=lambda: dict(SCORE_DEFAULTS))  # [score]
    selection: dict = field(default_factory=lambda: dict(SELECT_DEFAULTS))  # [select] (its rule: `select`)
    archive: dict = field(default_factory=lambda: dict(ARCHIVE_DEFAULTS))  # [archive]: the QD archive (qd.py)
    base_dir: str = "."  # directory the config's relative paths are resolved against

    def to_dict(self) -> dict:
        return asdict(self)

    # ----------------------------------------------------------------- helpers
    def path(self, p: str) -> Path:
        q = Path(p).expanduser()
        return q if q.is_absolute() else Path(self.base_dir) / q

    def seed_program_paths(self) -> list[Path]:
        out: list[Path] = []
        for pat in self.seed_programs:
            full = str(self.path(pat))
            hits = sorted(glob.glob(full)) if any(ch in pat for ch in "*?[") else [full]
            if not hits:
                raise ConfigError(f"seed_programs: nothing matches {pat!r} (relative to {self.base_dir})")
            for h in hits:
                if not Path(h).is_file():
                    raise ConfigError(f"seed_programs: no such file {h}")
                out.append(Path(h))
        return out


SPLIT_DEFAULTS = {"kind": "questions", "validation_fraction": 1 / 3, "folds": 5, "validation_fold": 0, "seed": 0,
                  "holdout_models": []}
SCORE_DEFAULTS = {"window": None, "extend": "none"}
SELECT_DEFAULTS = {"require_significant": False, "bootstrap": 1000, "seed": 0,
                   # the behavioural novelty check (novelty.py): verdicts for the winners, and with
                   # require_novel the best candidate that is not a schedule variant of a seed program
                   "require_novel": False, "novelty": True, "novelty_seeds": 3, "novelty_candidates": 25,
                   "novelty_max_s": 600}
SELECT_RULES = ("frontier", "hv", "accuracy")  # "hv" is a synonym of "frontier"


def _split_score_select(cfg: "DiscoverConfig", split, score, select) -> None:
    """The [split], [score] and [select] tables into ``cfg`` (checked, defaults filled)."""
    for name, t, defaults in (("split", split, SPLIT_DEFAULTS), ("score", score, SCORE_DEFAULTS),
                              ("select", select, {**SELECT_DEFAULTS, "rule": None})):
        if not isinstance(t, dict):
            raise ConfigError(f"[{name}] must be a table")
        for k in t:
            if k not in defaults:
                raise ConfigError(f"[{name}] unknown key '{k}' (keys: {', '.join(defaults)})")
    sp = {**SPLIT_DEFAULTS, **split}
    if sp["kind"] not in ("questions", "folds"):
        raise ConfigError(f"[split] kind must be 'questions' or 'folds', not {sp['kind']!r}")
    vf = sp["validation_fraction"]
    if isinstance(vf, bool) or not isinstance(vf, (int, float)) or not 0 < vf <= 0.5:
        raise ConfigError("[split] validation_fraction must be a number in (0, 0.5]")
    for k in ("folds", "validation_fold", "seed"):
        if isinstance(sp[k], bool) or not isinstance(sp[k], int):
            raise ConfigError(f"[split] {k} must be an integer")
    if sp["folds"] < 2 or not 0 <= sp["validation_fold"] < sp["folds"]:
        raise ConfigError("[split] folds must be >= 2 and 0 <= validation_fold < folds")
    hm = sp["holdout_models"]
    if isinstance(hm, str):
        hm = [x.strip() for x in hm.split(",") if x.strip()]
    if not isinstance(hm, list) or not all(isinstance(x, str) for x in hm):
        raise ConfigError("[split] holdout_models must be a list of model names")
    sp["holdout_models"] = hm
    sc = {**SCORE_DEFAULTS, **score}
    w = sc["window"] if sc["window"] is not None else cfg.area_range
    if w is not None and (not isinstance(w, list) or len(w) != 2
                          or any(isinstance(x, bool) or not isinstance(x, (int, float)) for x in w)
                          or not 0 < w[0] < w[1]):
        raise ConfigError(("[score] window" if sc["window"] is not None else "area_range")
                          + " must be [lo, hi] with 0 < lo < hi (tokens per question)")
    sc["window"] = w
    if sc["extend"] not in ("flat", "none"):
        raise ConfigError(f"[score] extend must be 'flat' or 'none', not {sc['extend']!r}")
    se = dict(select)
    rule = se.pop("rule", None)
    if rule is not None:
        cfg.select = rule
    if cfg.select not in SELECT_RULES:
        raise ConfigError(f"select must be 'frontier' (hv) or 'accuracy', not {cfg.select!r}")
    if cfg.select == "hv":
        cfg.select = "frontier"
    se = {**SELECT_DEFAULTS, **se}
    if not isinstance(se["require_significant"], bool):
        raise ConfigError("[select] require_significant must be true or false")
    for k in ("require_novel", "novelty"):
        if not isinstance(se[k], bool):
            raise ConfigError(f"[select] {k} must be true or false")
    for k, lo in (("novelty_seeds", 1), ("novelty_candidates", 1), ("novelty_max_s", 0)):
        if isinstance(se[k], bool) or not isinstance(se[k], (int, float)) or se[k] < lo \
                or (k != "novelty_max_s" and not isinstance(se[k], int)):
            raise ConfigError(f"[select] {k} must be {'an integer' if k != 'novelty_max_s' else 'a number'} >= {lo}")
    if isinstance(se["bootstrap"], bool) or not isinstance(se["bootstrap"], int) or se["bootstrap"] < 100:
        raise ConfigError("[select] bootstrap must be an integer >= 100 (resamples of the questions)")
    cfg.split, cfg.score, cfg.selection = sp, sc, se


PROMPT_DEFAULTS = {"budget_chars": 60_000, "top_k": 3, "recent": 2, "failures": 3, "trace_chars": 1_200,
                   "program_chars": 4_000, "seed_programs": True,
                   "edits": "both", "inspirations": 2, "note_lines": 12}  # edits: both | whole | diff
CASCADE_DEFAULTS = {"enabled": True, "seeds": 10, "betas": [0.25, 0.75], "questions": 0}
SMOKE_DEFAULTS = {"seed": 0, "questions": 6, "branches": 32, "seeds": 3, "betas": [0.0, 0.5, 1.0],
                  "max_seconds": 30.0}
# [archive]: the quality-diversity archive (tts_dsl/discovery/qd.py, docs/discovery.md)
ARCHIVE_DEFAULTS = {"islands": 2, "migrate_every": 10, "migrants": 1, "cost_bands": 4,
                    "behaviour_bands": [0.2, 0.5], "descriptor": "adaptivity", "parent_bias": 2.0,
                    "admit_margin": 1.0}


# ------------------------------------------------------------------ schema
# Every scalar key's type, checked up front so that a wrong type is a ConfigError naming the key
# (never a TypeError later). Kinds: int, num, bool, str, strlist (a list of strings; a string is
# split on commas where noted by the loaders), table; "?" admits none; lo is an inclusive minimum.
RUN_SCHEMA = {"out": ("str",), "seed": ("int",), "max_rounds": ("int", 0), "max_llm_calls": ("int", 0),
              "max_usd": ("num?", 0), "max_wall_s": ("num?", 0), "max_repairs": ("int", 0),
              "allow_unknown_schedules": ("bool",), "proposer_failures": ("int", 1), "parallel": ("int", 1),
              "choose": ("str",), "select": ("str",), "plots": ("bool",), "cache": ("str?",),
              "seed_programs": ("strlist",), "executor": ("str",), "jobs": ("int?", 1),
              "address": ("str?",), "max_seconds": ("num", 0)}
STORE_SCHEMA = {"root": ("str?",), "models": ("strlist",), "datasets": ("strlist",), "synthetic": ("list",),
                "seeds": ("int", 1), "seed_start": ("int", 0)}
PROPOSER_SCHEMA = {"kind": ("str",), "name": ("str",), "weight": ("num", 0), "base_url": ("str",),
                   "model": ("str",), "api_key_env": ("str",), "temperature": ("num", 0), "max_tokens": ("int", 1),
                   "extra": ("table",), "max_retries": ("int", 0), "backoff_s": ("num", 0),
                   "price_in_per_mtok": ("num", 0), "price_out_per_mtok": ("num", 0), "timeout_s": ("num", 0),
                   "responses": ("str",), "record": ("bool",), "inner": ("table?",), "tries": ("int", 1),
                   "elite": ("int", 1), "operators": ("table",), "repair_steps": ("int", 0),
                   "follow_pick": ("num", 0)}
SMOKE_SCHEMA = {"seed": ("int",), "questions": ("int", 1), "branches": ("int", 1), "seeds": ("int", 1),
                "max_seconds": ("num", 0)}
CASCADE_SCHEMA = {"enabled": ("bool",), "seeds": ("int", 1), "questions": ("int", 0)}
PROMPT_SCHEMA = {"budget_chars": ("int", 0), "top_k": ("int", 0), "recent": ("int", 0), "failures": ("int", 0),
                 "trace_chars": ("int", 0), "program_chars": ("int", 0), "seed_programs": ("bool",),
                 "edits": ("str",), "inspirations": ("int", 0), "note_lines": ("int", 0)}
_KIND_WORDS = {"int": "an integer", "num": "a number", "bool": "true or false", "str": "a string",
               "strlist": "a list of strings", "list": "a list", "table": "a table"}


def _short(v) -> str:
    import reprlib

    r = reprlib.Repr()
    r.maxstring, r.maxother, r.maxlist = 40, 40, 4
    return r.repr(v)


def check_schema(table: dict, schema: dict, where: str) -> None:
    """Raise ConfigError naming ``[where] key`` for the first value of the wrong type or range."""
    import math

    for k, spec in schema.items():
        if k not in table:
            continue
        v, kind, lo = table[k], spec[0].rstrip("?"), spec[1] if len(spec) > 1 else None
        if v is None and spec[0].endswith("?"):
            continue
        ok = {"int": lambda x: isinstance(x, int) and not isinstance(x, bool),
              "num": lambda x: isinstance(x, (int, float)) and not isinstance(x, bool) and not math.isnan(x),
              "bool": lambda x: isinstance(x, bool), "str": lambda x: isinstance(x, str),
              "strlist": lambda x: isinstance(x, list) and all(isinstance(y, str) for y in x),
              "list": lambda x: isinstance(x, list), "table": lambda x: isinstance(x, dict)}[kind](v)
        if not ok:
            raise ConfigError(f"[{where}] {k} must be {_KIND_WORDS[kind]}, not {_short(v)}")
        if lo is not None and v < lo:
            raise ConfigError(f"[{where}] {k} must be >= {lo}, not {_short(v)}")


def _take(table: dict, cls, where: str, schema: dict | None = None):
    known = set(cls.__dataclass_fields__)
    for k in table:
        if k not in known:
            import difflib

            close = difflib.get_close_matches(k, known, n=1)
            raise ConfigError(f"[{where}] unknown key '{k}'" + (f" (did you mean '{close[0]}'?)" if close else ""))
    if schema is not None:
        check_schema(table, schema, where)
    return cls(**table)


def _store_spec(t, where: str) -> StoreSpec:
    if not isinstance(t, dict):
        raise ConfigError(f"[{where}] must be a table")
    t = dict(t)
    for k in ("models", "datasets"):
        if isinstance(t.get(k), str):
            t[k] = [x.strip() for x in t[k].split(",") if x.strip()]
    s = _take(t, StoreSpec, where, STORE_SCHEMA)
    if s.root is None and not s.synthetic:
        raise ConfigError(f"[{where}] needs 'root' (a replay store directory) or 'synthetic' stores")
    if not isinstance(s.seeds, int) or s.seeds < 1:
        raise ConfigError(f"[{where}] seeds must be a positive int")
    for i, sy in enumerate(s.synthetic):
        if (not isinstance(sy, dict) or set(sy) - {"seed", "questions", "branches"}
                or any(isinstance(x, bool) or not isinstance(x, int) or x < 0 for x in sy.values())):
            raise ConfigError(f"[{where}] synthetic[{i}] must be a table with seed, questions, branches (integers)")
    return s


def parse_betas(v) -> list[float]:
    from ..evaluation.sweep import parse_beta_spec

    if isinstance(v, str):
        try:
            return parse_beta_spec(v)
        except ValueError as ex:
            raise ConfigError(f"betas: {ex}") from None
    if not isinstance(v, list) or not v:
        raise ConfigError("betas must be a list of numbers or a spec string like '0:1:0.1'")
    out = []
    for x in v:
        if not isinstance(x, (int, float)) or isinstance(x, bool) or not 0 <= x <= 1:
            raise ConfigError(f"betas: {x!r} is not a number in [0, 1]")
        out.append(float(x))
    return out


def config_from_dict(d: dict, base_dir: str = ".") -> DiscoverConfig:
    d = dict(d)
    run = dict(d.pop("run", {}))
    search = d.pop("search", None)
    heldout = d.pop("heldout", None)
    proposer = d.pop("proposer", None)
    proposers = d.pop("proposers", None)
    cascade = d.pop("cascade", {})
    prompt = d.pop("prompt", {})
    smoke = d.pop("smoke", {})
    evaluation = d.pop("evaluation", {})
    split_t, score_t, select_t = d.pop("split", {}), d.pop("score", {}), d.pop("select", {})
    archive_t = d.pop("archive", {})
    if d:
        raise ConfigError(f"unknown section(s): {', '.join(sorted(d))} "
                          "(sections: run, search, heldout, proposer, proposers, cascade, prompt, smoke, evaluation, split, score, select, archive)")
    for k in ("betas", "area_range", "executor", "jobs", "address", "max_seconds"):
        if k in evaluation:
            run[k] = evaluation.pop(k)
    if evaluation:
        raise ConfigError(f"[evaluation] unknown key(s): {', '.join(sorted(evaluation))}")
    for name, t in (("run", run), ("cascade", cascade), ("prompt", prompt), ("smoke", smoke)):
        if not isinstance(t, dict):
            raise ConfigError(f"[{name}] must be a table")
    if isinstance(run.get("seed_programs"), str):
        run["seed_programs"] = [run["seed_programs"]]
    cfg = _take(run, DiscoverConfig, "run", RUN_SCHEMA)
    if cfg.cache is not None and cfg.path(cfg.cache).is_dir():
        raise ConfigError(f"[run] cache names a directory ({cfg.cache}); give a file, e.g. {cfg.cache}/cache.jsonl")
    cfg.base_dir = str(base_dir)
    cfg.betas = parse_betas(cfg.betas)
    if search is None:
        raise ConfigError("missing [search]: the stores candidates are evaluated on")
    cfg.search = _store_spec(search, "search")
    cfg.heldout = _store_spec(heldout, "heldout") if heldout is not None else None
    if proposer is not None and proposers:
        raise ConfigError("give either [proposer] or [[proposers]], not both")
    if proposers:
        if not isinstance(proposers, list) or not all(isinstance(t, dict) for t in proposers):
            raise ConfigError("[[proposers]] must be an array of tables")
        cfg.proposers = [_proposer(t, f"proposers[{i}]") for i, t in enumerate(proposers)]
        seen: dict = {}
        for pc in cfg.proposers:
            base = pc.name or pc.kind
            seen[base] = seen.get(base, 0) + 1
            pc.name = base if seen[base] == 1 else f"{base}#{seen[base]}"
        cfg.proposer = cfg.proposers[0]
    else:
        cfg.proposer = _proposer(proposer or {}, "proposer")
    if cfg.choose not in ("weights", "bandit"):
        raise ConfigError(f"choose must be 'weights' or 'bandit', not {cfg.choose!r}")
    if not isinstance(cfg.parallel, int) or cfg.parallel < 1:
        raise ConfigError("parallel must be an int >= 1 (proposals in flight)")
    if not isinstance(cascade, dict):
        raise ConfigError("[cascade] must be a table")
    for k in cascade:
        if k not in CASCADE_DEFAULTS:
            raise ConfigError(f"[cascade] unknown key '{k}' (keys: {', '.join(CASCADE_DEFAULTS)})")
    check_schema(cascade, CASCADE_SCHEMA, "cascade")
    cfg.cascade = {**CASCADE_DEFAULTS, **cascade}
    try:
        cfg.cascade["betas"] = parse_betas(cfg.cascade["betas"])
    except ConfigError as ex:
        raise ConfigError(f"[cascade] {ex}") from None
    for k in prompt:
        if k not in PROMPT_DEFAULTS:
            raise ConfigError(f"[prompt] unknown key '{k}' (keys: {', '.join(PROMPT_DEFAULTS)})")
    check_schema(prompt, PROMPT_SCHEMA, "prompt")
    cfg.prompt = {**PROMPT_DEFAULTS, **prompt}
    if cfg.prompt["edits"] not in ("both", "whole", "diff"):
        raise ConfigError(f"[prompt] edits must be 'both', 'whole' or 'diff', not {cfg.prompt['edits']!r}")
    for k in smoke:
        if k not in SMOKE_DEFAULTS:
            raise ConfigError(f"[smoke] unknown key '{k}' (keys: {', '.join(SMOKE_DEFAULTS)})")
    check_schema(smoke, SMOKE_SCHEMA, "smoke")
    cfg.smoke = {**SMOKE_DEFAULTS, **smoke}
    try:
        cfg.smoke["betas"] = parse_betas(cfg.smoke["betas"])
    except ConfigError as ex:
        raise ConfigError(f"[smoke] {ex}") from None
    _split_score_select(cfg, split_t, score_t, select_t)
    cfg.archive = _archive(archive_t)
    if cfg.area_range is not None:
        if (not isinstance(cfg.area_range, list) or len(cfg.area_range) != 2
                or any(isinstance(x, bool) or not isinstance(x, (int, float)) for x in cfg.area_range)
                or not 0 < cfg.area_range[0] < cfg.area_range[1]):
            raise ConfigError("area_range must be [lo, hi] with 0 < lo < hi (tokens per question)")
    if cfg.max_repairs < 0 or cfg.max_rounds < 0:
        raise ConfigError("max_repairs and max_rounds must be >= 0")
    return cfg


def _archive(t) -> dict:
    """The [archive] table checked, with the defaults filled in."""
    if not isinstance(t, dict):
        raise ConfigError("[archive] must be a table")
    for k in t:
        if k not in ARCHIVE_DEFAULTS:
            raise ConfigError(f"[archive] unknown key '{k}' (keys: {', '.join(ARCHIVE_DEFAULTS)})")
    a = {**ARCHIVE_DEFAULTS, **t}

    def whole(k, lo):
        if isinstance(a[k], bool) or not isinstance(a[k], int) or a[k] < lo:
            raise ConfigError(f"[archive] {k} must be an integer >= {lo}")

    whole("islands", 1)
    whole("migrate_every", 0)
    whole("migrants", 0)
    whole("cost_bands", 1)
    bb = a["behaviour_bands"]
    if isinstance(bb, int) and not isinstance(bb, bool):
        whole("behaviour_bands", 1)
    elif (not isinstance(bb, list) or any(isinstance(x, bool) or not isinstance(x, (int, float)) for x in bb)
          or any(y <= x for x, y in zip(bb, bb[1:]))):
        raise ConfigError("[archive] behaviour_bands must be a list of increasing band edges, or the number "
                          "of bands (edges at the seed programs' quantiles)")
    if a["descriptor"] != "adaptivity":
        raise ConfigError(f"[archive] descriptor must be 'adaptivity', not {a['descriptor']!r}")
    for k in ("parent_bias", "admit_margin"):
        if isinstance(a[k], bool) or not isinstance(a[k], (int, float)) or a[k] < 0:
            raise ConfigError(f"[archive] {k} must be a number >= 0")
    return a


def _proposer(table, where: str) -> ProposerConfig:
    """One proposer table ([proposer] or an entry of [[proposers]]), checked."""
    if not isinstance(table, dict):
        raise ConfigError(f"[{where}] must be a table")
    table = dict(table)
    if isinstance(table.get("command"), str):
        import shlex

        table["command"] = shlex.split(table["command"])
    if "command" in table and (not isinstance(table["command"], list)
                               or not all(isinstance(x, str) for x in table["command"])):
        raise ConfigError(f"[{where}] command must be a list of strings or a command line, not {_short(table['command'])}")
    pc = _take(table, ProposerConfig, where, PROPOSER_SCHEMA)
    if pc.kind not in ("evolve", "openai", "command", "replay"):
        raise ConfigError(f"[{where}] kind must be evolve, openai, command or replay, not {pc.kind!r}")
    if pc.kind == "command" and not pc.command:
        raise ConfigError(f"[{where}] kind = 'command' needs command = [\"prog\", \"arg\", ...]")
    if isinstance(pc.command, str):
        import shlex

        pc.command = shlex.split(pc.command)
    if pc.kind == "openai" and not pc.model:
        raise ConfigError(f"[{where}] kind = 'openai' needs model = \"...\"")
    if pc.kind == "replay" and not pc.record and not pc.responses:
        raise ConfigError(f"[{where}] kind = 'replay' needs responses = \"path/to/responses.jsonl\"")
    if pc.record and not pc.inner:
        raise ConfigError(f"[{where}] record = true needs a [{where}.inner] table (the proposer to record)")
    if not isinstance(pc.weight, (int, float)) or isinstance(pc.weight, bool) or pc.weight < 0:
        raise ConfigError(f"[{where}] weight must be a number >= 0")
    return pc


def load_config(path: str | Path) -> DiscoverConfig:
    p = Path(path)
    try:
        raw = p.read_bytes()
    except OSError as ex:
        raise ConfigError(f"{p}: cannot read config ({ex.strerror})") from None
    try:
        d = tomllib.loads(raw.decode("utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as ex:
        raise ConfigError(f"{p}: invalid TOML: {ex}") from None
    return config_from_dict(d, str(p.resolve().parent))


def saved_config(cfg: DiscoverConfig) -> dict:
    """The config as ``config.json`` holds it (``base_dir`` made absolute)."""
    d = cfg.to_dict()
    d["base_dir"] = str(Path(cfg.base_dir).resolve())
    return d


def config_from_saved(d: dict) -> DiscoverConfig:
    """Rebuild a config from ``config.json`` (its own serialisation, :func:`saved_config`)."""
    d = dict(d)
    base = d.pop("base_dir", ".")
    run = {k: d.pop(k) for k in list(d) if k not in ("search", "heldout", "proposer", "prompt", "smoke",
                                                     "proposers", "cascade", "split", "score", "selection", "archive")}
    table = {"run": run, "search": d["search"], "proposer": d["proposer"], "prompt": d.get("prompt", {}),
             "smoke": d.get("smoke", {}), "cascade": d.get("cascade", {}), "split": d.get("split") or {},
             "score": d.get("score") or {}, "select": d.get("selection") or {},
             "archive": d.get("archive") or {}}
    if d.get("proposers"):
        del table["proposer"]
        table["proposers"] = [{k: v for k, v in t.items() if v is not None} for t in d["proposers"]]
    if d.get("heldout") is not None:
        table["heldout"] = d["heldout"]
    if "proposer" in table:
        table["proposer"] = {k: v for k, v in table["proposer"].items() if v is not None}
    return config_from_dict(table, base)
