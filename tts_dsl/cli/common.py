"""Shared CLI plumbing: error rendering (never a traceback for bad input), tables, stores."""

from __future__ import annotations

import sys

import click

from ..evaluation.executors import ExecutorError
from ..lang.diagnostics import DiagnosticsError
from ..replay.store import StoreError


class UserError(click.ClickException):
    exit_code = 2

    def show(self, file=None):
        click.echo(terminal_safe(f"error: {self.message}"), err=True)


_BIDI = set(range(0x202A, 0x202F)) | set(range(0x2066, 0x206A)) | {0x200E, 0x200F, 0x061C}


def _escape(ch: str) -> str:
    o = ord(ch)
    return f"\\x{o:02x}" if o < 0x100 else f"\\u{o:04x}"


_UNSAFE = {c: _escape(chr(c)) for c in list(range(0x00, 0x20)) + list(range(0x7F, 0xA0)) + sorted(_BIDI)
           if chr(c) not in "\n\t"}


def terminal_safe(text: str) -> str:
    """``text`` with control characters (ESC, BEL, C1 controls, bidi overrides) written as
    escapes, so data (trace labels, store answers, program text) cannot drive the terminal:
    no title changes, screen clears or reordered text. Newlines and tabs stay."""
    return str(text).translate(_UNSAFE)


def echo_safe(text: str = "", **kw) -> None:
    click.echo(terminal_safe(text), **kw)


def run_guarded(cli, argv):
    try:
        cli.main(args=argv, prog_name="tts-dsl", standalone_mode=False)
    except click.exceptions.Abort:
        click.echo("aborted", err=True)
        return 130
    except click.ClickException as ex:
        ex.show()
        return ex.exit_code
    except DiagnosticsError as ex:
        click.echo(terminal_safe(ex.render()), err=True)
        return 1
    except ExecutorError as ex:
        click.echo(f"error: {ex}", err=True)
        return 2
    except StoreError as ex:
        click.echo(f"error: {ex}", err=True)
        for p in ex.problems[1:]:
            click.echo(f"error: {p}", err=True)
        return 2
    except KeyboardInterrupt:
        click.echo("interrupted", err=True)
        return 130
    except BrokenPipeError:
        return 0
    except OSError as ex:  # a full disk, a read-only file system: the user's to fix, not a bug
        where = f" {ex.filename}" if ex.filename else ""
        click.echo(f"error: cannot read or write{where}: {ex.strerror or ex}", err=True)
        return 2
    except Exception as ex:  # an internal error: short, with a pointer, no traceback
        click.echo(f"internal error: {type(ex).__name__}: {ex}", err=True)
        click.echo("this is a bug in tts-dsl; set TTS_DSL_DEBUG=1 for the traceback", err=True)
        import os

        if os.environ.get("TTS_DSL_DEBUG"):
            import traceback

            traceback.print_exc()
        return 3
    return 0


def fmt_value(v) -> str:
    if v is None:
        return "-"
    if isinstance(v, float):
        if v != v:
            return "nan"
        if abs(v) >= 1000:
            return f"{v:.1f}"
        return f"{v:g}" if abs(v) < 1e-3 and v != 0 else f"{round(v, 4):g}"
    return str(v)


def table(rows: list[dict], columns: list[str]) -> str:
    cells = [[c for c in columns]] + [[fmt_value(r.get(c)) for c in columns] for r in rows]
    widths = [max(len(row[i]) for row in cells) for i in range(len(columns))]
    lines = []
    for j, row in enumerate(cells):
        lines.append("  ".join(s.ljust(w) if i == 0 or j == 0 else s.rjust(w)
                               if _numeric(s) else s.ljust(w) for i, (s, w) in enumerate(zip(row, widths))).rstrip())
    return "\n".join(lines)


def _numeric(s: str) -> bool:
    try:
        float(s)
        return True
    except ValueError:
        return False


def parse_sets(values) -> dict:
    from ..lang.schedule import parse_override

    out = {}
    for v in values:
        try:
            k, x = parse_override(v)
        except ValueError as ex:
            raise UserError(str(ex)) from None
        out[k] = x
    return out


def store_refs(store: str | None, model: str | None, dataset: str | None, synthetic_seed: int = 0):
    """Resolve --store/--model/--dataset into StoreRefs (``all`` and comma lists allowed)."""
    from pathlib import Path

    from ..evaluation.sweep import StoreRef
    from ..replay.store import list_datasets, list_models

    if store is None:
        if model or dataset:
            raise UserError("--model/--dataset need --store (without --store the embedded synthetic store is used)")
        return [StoreRef(None, synthetic_seed=synthetic_seed)]
    root = Path(store)
    if root.is_file():
        return [StoreRef(str(root), model or root.parent.name, dataset or root.stem)]
    if not root.exists():
        raise StoreError(f"{root}: no such store (expected a directory ROOT/<model>/<dataset>.json or a .json file)")
    models_here = list_models(root)
    if not models_here:
        raise StoreError(f"{root}: not a store: no <model>/<dataset>.json files here")
    if model in (None, "all"):
        models = models_here
    else:
        models = [m.strip() for m in model.split(",") if m.strip()]
        for m in models:
            if m not in models_here:
                from ..lang.diagnostics import did_you_mean

                hint = did_you_mean(m, models_here)
                raise StoreError(f"{root}: no model '{m}'; models here: {', '.join(models_here)}"
                                 + (f" ({hint})" if hint else ""))
    refs = []
    for m in models:
        ds_here = list_datasets(root, m)
        ds = ds_here if dataset in (None, "all") else [d.strip() for d in dataset.split(",") if d.strip()]
        for d in ds:
            if d not in ds_here:
                if dataset not in (None, "all") and len(models) > 1:
                    continue  # a dataset some models lack: skip for those
                raise StoreError(f"{root}/{m}: no dataset '{d}'; datasets: {', '.join(ds_here) or 'none'}")
            refs.append(StoreRef(str(root), m, d))
    if not refs:
        raise StoreError(f"{root}: no store matches --model {model} --dataset {dataset}")
    return refs


def check_writable(path: str | None, force: bool = True):
    """Fail before a long evaluation if an output file cannot be created, or (without
    ``force``) already exists: data tools do not overwrite files silently."""
    if not path:
        return
    from pathlib import Path

    if not force and Path(path).is_file():
        raise UserError(f"{path} exists; use --force to overwrite it")

    parent = Path(path).resolve().parent
    if not parent.is_dir():
        raise UserError(f"cannot write {path}: no directory {parent}")
    if Path(path).is_dir():
        raise UserError(f"cannot write {path}: it is a directory")


def draw_png(draw, path: str, option: str):
    """Call ``draw()``, which writes a PNG at ``path``; a missing matplotlib or an unwritable
    path become clean errors naming ``option``."""
    try:
        draw()
    except ImportError:
        raise UserError(f"{option} needs matplotlib: pip install 'tts-dsl[plot]'") from None
    except OSError as ex:
        raise UserError(f"cannot write {path}: {ex.strerror}") from None


def echo_err(msg: str):
    click.echo(msg, err=True)


def is_tty() -> bool:
    return sys.stderr.isatty()
