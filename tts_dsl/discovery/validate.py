"""Validation of a proposal, cheapest stage first: extract the fenced program, parse,
check, deduplicate, prove the beta schedule, smoke-run on a small synthetic store. (The
full sweep, the last stage, is run by the loop.) Every failure is a list of structured
diagnostics that goes back to the proposer."""

from __future__ import annotations

import dataclasses
import hashlib
import re
from dataclasses import dataclass, field

from ..lang.diagnostics import Diagnostic, DiagnosticsError

STAGES = ("extract", "apply", "parse", "check", "dedupe", "schedule", "smoke", "sweep")

_FENCE = re.compile(r"^[ \t]*```[ \t]*([A-Za-z0-9_+-]*)[ \t]*\n(.*?)^[ \t]*```[ \t]*$", re.S | re.M)


def extract_program(text: str) -> tuple[str | None, Diagnostic | None]:
    """The program in the reply's fenced ``tts`` block (the last one if several)."""
    blocks = [(lang.lower(), body) for lang, body in _FENCE.findall(text or "")]
    tts = [b for lang, b in blocks if lang == "tts"]
    if tts:
        return tts[-1], None
    other = [b for lang, b in blocks if b.lstrip().startswith("controller")]
    found = (f"{len(blocks)} fenced block(s) tagged {', '.join(repr(lang or '') for lang, _ in blocks)}"
             if blocks else "no fenced block")
    hint = ("tag the block: write ```tts on the line that opens it"
            if other else "put one whole program, starting with 'controller NAME', in a ```tts fenced block")
    return None, Diagnostic("X001", "the reply contains no ```tts fenced program", stage="extract",
                            file="<reply>", expected="one ```tts ... ``` block holding a whole program",
                            found=found, hint=hint)


_BLOCK = re.compile(r"^[ \t]*<{5,}[ \t]*SEARCH[ \t]*\n(.*?)^[ \t]*={5,}[ \t]*\n(.*?)^[ \t]*>{5,}[ \t]*REPLACE[ \t]*$",
                    re.S | re.M)
_PARENT = re.compile(r"^[ \t>*#-]*PARENT[ \t]*[:=][ \t]*[`'\"]?([A-Za-z0-9_:#.-]+)", re.I | re.M)


def is_diff(text: str) -> bool:
    """Does the reply hold SEARCH/REPLACE blocks (a diff edit) rather than a whole program?"""
    return bool(re.search(r"^[ \t]*<{5,}[ \t]*SEARCH[ \t]*$", text or "", re.M))


def diff_blocks(text: str) -> tuple[str | None, list[tuple[str, str]]]:
    """(the parent the reply names, or None; the (search, replace) blocks in order)."""
    m = _PARENT.search(text or "")
    return (m.group(1) if m else None), [(a, b) for a, b in _BLOCK.findall(text or "")]


def _apply_diag(code: str, message: str, hint: str, found: str | None = None) -> Diagnostic:
    return Diagnostic(code, message, stage="apply", file="<reply>", hint=hint, found=found,
                      expected="SEARCH text that occurs exactly once in the parent's source")


def _lines_match(text: str, search: str) -> list[tuple[int, int]]:
    """Line ranges [a, b) of ``text`` whose lines equal the search lines up to surrounding
    whitespace (blank lines at either end of the search ignored)."""
    want = [ln.strip() for ln in search.splitlines()]
    while want and not want[0]:
        want.pop(0)
    while want and not want[-1]:
        want.pop()
    lines = [ln.strip() for ln in text.splitlines()]
    if not want:
        return []
    return [(i, i + len(want)) for i in range(len(lines) - len(want) + 1) if lines[i:i + len(want)] == want]


def apply_diff(parent_source: str, blocks: list[tuple[str, str]], parent: str) -> tuple[str | None, list[Diagnostic]]:
    """Apply SEARCH/REPLACE blocks in order to ``parent_source``: each SEARCH text must occur
    exactly once (exactly, or else line by line up to indentation and trailing spaces; the
    replacement is then re-indented like the matched lines). Returns (the new source, []) or
    (None, diagnostics naming each block that did not apply)."""
    import difflib

    text = parent_source
    for k, (search, replace) in enumerate(blocks, 1):
        first = next((ln.strip() for ln in search.splitlines() if ln.strip()), "")
        if not first:
            return None, [_apply_diag("X002", f"SEARCH block {k} is empty", "quote the lines of the parent to "
                                      "replace, exactly as they appear, in the SEARCH part")]
        n = text.count(search)
        if n == 1:
            text = text.replace(search, replace, 1)
            continue
        if n > 1:
            return None, [_apply_diag("X003", f"SEARCH block {k} occurs {n} times in {parent}",
                                      "quote more lines around the place so that the SEARCH text is unique",
                                      found=first)]
        spans = _lines_match(text, search)
        if len(spans) > 1:
            return None, [_apply_diag("X003", f"SEARCH block {k} matches {len(spans)} places in {parent}",
                                      "quote more lines around the place so that the SEARCH text is unique",
                                      found=first)]
        if not spans:
            lines = text.splitlines()
            close = difflib.get_close_matches(first, [ln.strip() for ln in lines], n=1, cutoff=0.5)
            hint = "copy the SEARCH lines exactly from the parent's source shown in the prompt"
            if close:
                i = [ln.strip() for ln in lines].index(close[0])
                hint += f"; the closest line of {parent} is line {i + 1}: `{close[0]}`"
            return None, [_apply_diag("X002", f"SEARCH block {k} does not occur in {parent} "
                                      f"(first line: `{first[:80]}`)", hint, found=first[:80])]
        a, b = spans[0]
        lines = text.splitlines(keepends=True)
        old_ind = len(lines[a]) - len(lines[a].lstrip())
        rep = replace.splitlines()
        new_first = next((ln for ln in rep if ln.strip()), "")
        shift = old_ind - (len(new_first) - len(new_first.lstrip()))
        fixed = [(" " * shift + ln if shift > 0 else ln[min(-shift, len(ln) - len(ln.lstrip())):]) if ln.strip() else ""
                 for ln in rep]
        tail = "\n" if lines[b - 1].endswith("\n") else ""
        text = "".join(lines[:a]) + ("\n".join(fixed) + tail if fixed else "") + "".join(lines[b:])
    return text, []


def edit_summary(kind: str, parent: str | None, parent_source: str | None, source: str, blocks: int = 0) -> dict:
    """What a reply changed: its kind (whole | diff), the parent, the number of blocks, and
    the lines added and removed against the parent's source."""
    import difflib

    d = {"kind": kind, "parent": parent, "blocks": blocks}
    if parent_source is not None:
        added = removed = 0
        for ln in difflib.unified_diff(parent_source.splitlines(), source.splitlines(), lineterm="", n=0):
            if ln.startswith("+") and not ln.startswith("+++"):
                added += 1
            elif ln.startswith("-") and not ln.startswith("---"):
                removed += 1
        d["added"], d["removed"] = added, removed
    return d


def resolve_parent(name: str | None, parents: dict) -> str | None:
    """The pool key a parent name refers to (``c0012``, ``sc``, ``seed:sc``, case-insensitive)."""
    if name is None:
        return None
    for cand in (name, name.lower(), f"seed:{name}", name.split(":", 1)[-1]):
        if cand in parents:
            return cand
    low = {k.lower(): k for k in parents}
    return low.get(name.lower())


def canonical(program) -> tuple[str, str]:
    """Canonical text of a program AST for deduplication (the controller name is ignored):
    the formatter's output when available, else the AST's repr (which excludes spans)."""
    prog = dataclasses.replace(program, name="_", comments=[])
    try:
        from ..lang.formatter import format_program

        return format_program(prog), "format"
    except ImportError:
        return re.sub(r", text='[^']*'", "", repr(prog)), "repr"
    except Exception:  # a formatter bug must not stop discovery: fall back
        return re.sub(r", text='[^']*'", "", repr(prog)), "repr"


def program_hash(program) -> str:
    return hashlib.sha256(canonical(program)[0].encode("utf-8")).hexdigest()[:16]


def behaviour_key(checked, betas) -> str | None:
    """Programs with the same key score the same on any store: identical canonical text
    once param values are erased, and identical knob values at every beta of the grid.
    None if the params do not bind at some beta (the schedule stage reports that)."""
    from ..lang import ast as A
    from ..lang.schedule import bind

    prog = checked.program
    erased = dataclasses.replace(prog, params=[dataclasses.replace(p, value=A.Num(0, "0")) for p in prog.params])
    grid = list(betas) if checked.uses_beta else [None]
    try:
        values = [sorted(bind(checked, b).values.items()) for b in grid]
    except DiagnosticsError:
        return None
    raw = canonical(erased)[0] + "\n" + repr(values)
    return "b:" + hashlib.sha256(raw.encode("utf-8")).hexdigest()[:16]


@dataclass
class Validation:
    ok: bool
    stage: str | None = None  # the failing stage
    diagnostics: list = field(default_factory=list)  # dicts (Diagnostic.to_dict + rendered)
    source: str | None = None
    checked: object = None
    hash: str | None = None
    duplicate_of: object = None
    warnings: list = field(default_factory=list)
    edit: dict | None = None  # edit_summary(): whole program or diff, parent, lines changed

    def to_dict(self) -> dict:
        d = {"ok": self.ok, "stage": self.stage, "diagnostics": self.diagnostics, "hash": self.hash,
             "duplicate_of": self.duplicate_of, "warnings": self.warnings}
        if self.edit is not None:
            d["edit"] = self.edit
        return d


def diag_dicts(diags, source: str | None) -> list[dict]:
    out = []
    for d in diags:
        dd = d.to_dict()
        dd["rendered"] = d.render(source)
        out.append(dd)
    return out


def _fail(stage, diags, source, **kw) -> Validation:
    return Validation(False, stage, diag_dicts(diags, source), source=source, **kw)


def schedule_diagnostics(checked, betas, allow_unknown: bool = False) -> list[Diagnostic]:
    """The prover's gate diagnostics (``prover.schedule_gate``: a knob the prover cannot settle
    is an error unless ``allow_unknown``) if the prover is available; otherwise a sampled check:
    every knob is evaluated on a fine beta grid, ranges are checked at each point and
    declared directions between consecutive points."""
    try:
        from ..lang.prover import schedule_gate
    except ImportError:
        schedule_gate = None
    if schedule_gate is not None:
        return list(schedule_gate(checked, allow_unknown=allow_unknown))
    from ..lang.schedule import bind

    grid = sorted(set([round(i / 20, 4) for i in range(21)] + [float(b) for b in betas if b is not None]))
    diags: list[Diagnostic] = []
    values = []
    for b in grid:
        try:
            values.append((b, bind(checked, b).values))
        except DiagnosticsError as ex:
            for d in ex.diagnostics:
                diags.append(dataclasses.replace(d, stage="schedule"))
            return diags
    for p in checked.params:
        if not p.uses_beta or p.direction in (None,):
            continue
        for (b1, v1), (b2, v2) in zip(values, values[1:]):
            x1, x2 = v1[p.name], v2[p.name]
            bad = ((p.direction == "increasing" and x2 < x1) or (p.direction == "decreasing" and x2 > x1)
                   or (p.direction == "constant" and x2 != x1))
            if bad:
                diags.append(Diagnostic(
                    "S001", f"param '{p.name}' is declared {p.direction} but {p.name}({b1}) = {x1!r} and "
                    f"{p.name}({b2}) = {x2!r}", p.decl.name_span, stage="schedule", file=checked.file,
                    hint="fix the expression or the declared direction"))
                break
    return diags


def smoke(checked, cfg_smoke: dict, outcomes: list | None = None) -> list[Diagnostic]:
    """Run the program on a small synthetic store at a few betas; runtime errors and
    episodes cut off by a resource cap are failures. ``outcomes``: a list to fill with every
    smoke episode's (beta, question, seed, answer, cost) -- the program's behaviour there
    (the evolve proposer's repair compares it with the rejected program's)."""
    from ..evaluation.runner import run
    from ..engines.python import compile_program
    from ..lang.limits import Limits
    from ..lang.schedule import bind
    from ..replay.synthetic import synthetic_store

    store = synthetic_store(int(cfg_smoke["seed"]), int(cfg_smoke["questions"]), int(cfg_smoke["branches"]))
    limits = Limits().with_(max_seconds=float(cfg_smoke["max_seconds"]))
    betas = list(cfg_smoke["betas"]) if checked.uses_beta else [None]
    diags: list[Diagnostic] = []
    accs: list = []
    for b in betas:
        try:
            exe = compile_program(checked, bind(checked, b), limits)
        except DiagnosticsError as ex:
            return [dataclasses.replace(d, stage="smoke") for d in ex.diagnostics]
        tracer = None
        if outcomes is not None:
            def tracer(q, s, ev, ans, cost, why, b=b):
                outcomes.append((b, q.index, s, ans, cost))
        res = run(exe, store, range(int(cfg_smoke["seeds"])), limits, keep_episodes=False, tracer=tracer)
        if res.error is not None:
            d = dataclasses.replace(res.error, stage="smoke")
            d.message = f"{d.message} (smoke run at beta={b} on a synthetic store)"
            return [d]
        accs.append(res.accuracy)
        for why, code in (("action_cap", "L006"), ("step_cap", "L007")):
            n = res.ended.get(why, 0)
            if n:
                diags.append(Diagnostic(code, f"{n} of {res.episodes} smoke episodes at beta={b} were cut off "
                                        f"by the {why.replace('_', ' ')} ({limits.max_actions if why == 'action_cap' else limits.max_steps})",
                                        stage="smoke", file=checked.file,
                                        hint="make sure every loop ends: break when nothing is left to advance"))
                return diags
    if accs and all(a == 0 for a in accs):
        diags.append(Diagnostic("S101", f"the program answered no smoke question correctly at any beta "
                                f"({', '.join(str(b) for b in betas)}): it probably never answers, or answers too early",
                                checked.program.name_span, stage="smoke", file=checked.file,
                                hint="make sure the answer statement is reached with a real answer "
                                     "(e.g. majority(completed) once some branches finished)"))
    return diags


def extract_source(reply_text: str, parents: dict | None = None,
                   default_parent: str | None = None) -> tuple[str | None, dict | None, list]:
    """The program a reply proposes: a whole program in a ```tts block, or SEARCH/REPLACE
    blocks applied to the parent the reply names (``PARENT: id``; else ``default_parent``).
    Returns (source, edit summary, diagnostics of the extract or apply stage)."""
    parents = parents or {}
    if is_diff(reply_text):
        named, blocks = diff_blocks(reply_text)
        if not blocks:
            return None, None, [_apply_diag("X002", "the reply opens a SEARCH block but no complete "
                                            "<<<<<<< SEARCH / ======= / >>>>>>> REPLACE block was found",
                                            "write each edit as the three marker lines around the old and new text")]
        key = resolve_parent(named or default_parent, parents)
        if key is None:
            names = ", ".join(sorted(parents)[:12])
            msg = (f"the diff names parent {named!r}, which is not a program shown to you" if named
                   else "the diff names no parent (write a line `PARENT: <id>` before the blocks)")
            return None, {"kind": "diff", "parent": named, "blocks": len(blocks)}, [
                _apply_diag("X004", msg, f"name one of: {names}", found=named)]
        src, diags = apply_diff(parents[key], blocks, key)
        edit = {"kind": "diff", "parent": key, "blocks": len(blocks), "applied": src is not None}
        if src is None:
            return None, edit, diags
        edit.update(edit_summary("diff", key, parents[key], src, len(blocks)))
        edit["applied"] = True
        return src, edit, []
    source, d = extract_program(reply_text)
    if source is None:
        return None, None, [d]
    key = resolve_parent(default_parent, parents)
    return source, edit_summary("whole", key, parents.get(key) if key else None, source), []


def validate(reply_text: str, file: str, known: dict, cfg, parents: dict | None = None,
             default_parent: str | None = None) -> Validation:
    """Stages extract (or apply, for a diff) .. smoke. ``known`` maps canonical hashes of
    programs already seen (evaluated or seeds) to their ids; ``parents`` maps the ids a diff
    may name to their sources."""
    from ..api import check as api_check

    source, edit, ds = extract_source(reply_text, parents, default_parent)
    if source is None:
        v = _fail(ds[0].stage if ds else "extract", ds, None)
        v.edit = edit
        return v
    v = _validate_source(source, file, known, cfg, api_check)
    v.edit = edit
    return v


def _validate_source(source, file, known, cfg, api_check) -> Validation:
    try:
        checked = api_check(source, file)
    except DiagnosticsError as ex:
        stage = ex.diagnostics[0].stage if ex.diagnostics and ex.diagnostics[0].stage == "parse" else "check"
        return _fail(stage, ex.errors or ex.diagnostics, source)
    warnings = diag_dicts(checked.warnings, source)
    h = program_hash(checked.program)
    if h in known:
        d = Diagnostic("D001", f"this program is identical (up to formatting, comments and the controller "
                       f"name) to {known[h]}, which was already evaluated", checked.program.name_span,
                       stage="dedupe", file=file, hint="propose a program that behaves differently")
        return _fail("dedupe", [d], source, hash=h, duplicate_of=known[h], warnings=warnings)
    sd = schedule_diagnostics(checked, cfg.betas, allow_unknown=bool(getattr(cfg, "allow_unknown_schedules", False)))
    errs = [x for x in sd if x.severity == "error"]
    warnings += diag_dicts([x for x in sd if x.severity != "error"], source)
    if errs:
        return _fail("schedule", errs, source, hash=h, warnings=warnings)
    bk = behaviour_key(checked, cfg.betas)
    if bk is not None and bk in known:
        d = Diagnostic("D002", f"this program would score exactly like {known[bk]}: the same statements and the "
                       f"same knob values at every beta of the grid ({', '.join(f'{b:g}' for b in cfg.betas)})",
                       checked.program.name_span, stage="dedupe", file=file,
                       hint="change the mechanism, or a schedule so that some knob differs on the grid")
        return _fail("dedupe", [d], source, hash=h, duplicate_of=known[bk], warnings=warnings)
    sm = smoke(checked, cfg.smoke)
    if sm:
        return _fail("smoke", sm, source, hash=h, warnings=warnings)
    return Validation(True, None, [], source=source, checked=checked, hash=h, warnings=warnings)
