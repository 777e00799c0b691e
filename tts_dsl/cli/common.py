"""Shared CLI plumbing: error rendering (never a traceback for bad input), tables, stores."""

from __future__ import annotations

import sys

import click

from ..evaluation.executors import ExecutorError
from ..evaluation.sweep import Terminated, terminate_on_sigterm
from ..lang.diagnostics import DiagnosticsError
from ..replay.store import StoreError


class UserError(click.ClickException):
    exit_code = 2

    def show(self, file=None):
        click.echo(terminal_safe(f"error: {self.message}"), file=file, err=file is None)


SIGPIPE_STATUS = 141  # 128 + SIGPIPE, what a Unix tool killed by a closed pipe reports


def _quiet_pipe() -> int:
    """The reader of stdout went away (``tts-dsl check ... | head``): say nothing more and
    point stdout at /dev/null so the interpreter's final flush cannot complain."""
    import os

    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError, AttributeError):
        pass
    return SIGPIPE_STATUS


def show_click_error(ex: click.ClickException) -> None:
    """Click's own errors (usage, bad parameters) in the house style: ``error: ...``."""
    import io

    buf = io.StringIO()
    ex.show(file=buf)
    text = buf.getvalue()
    click.echo("\n".join("error: " + line[len("Error: "):] if line.startswith("Error: ") else line
                         for line in text.rstrip("\n").split("\n")), err=True)


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
    terminate_on_sigterm()
    try:
        cli.main(args=argv, prog_name="tts-dsl", standalone_mode=False)
    except click.exceptions.Abort:
        click.echo("interrupted", err=True)
        return 130
    except click.ClickException as ex:
        show_click_error(ex)
        return ex.exit_code
    except DiagnosticsError as ex:
        click.echo(terminal_safe(ex.render()), err=True)
        return 2 if unreadable_only(ex.diagnostics) else 1
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
    except Terminated:
        click.echo("terminated", err=True)
        return 143
    except BrokenPipeError:
        return _quiet_pipe()
    except SystemExit as ex:
        # click's answer to EPIPE is exit(1) with stdout wrapped in its PacifyFlushWrapper
        # (recognised by name, not imported: click 8.3 made it _PacifyFlushWrapper and
        # deprecates the public name)
        if type(sys.stdout).__name__.endswith("PacifyFlushWrapper"):
            return _quiet_pipe()
        if ex.code is None or isinstance(ex.code, int):  # a command's exit status
            return ex.code or 0
        raise
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


def unreadable_only(diagnostics) -> bool:
    """Every diagnostic says a file could not be read (F001): bad command-line input, exit 2."""
    codes = [d["code"] if isinstance(d, dict) else d.code for d in diagnostics]
    return bool(codes) and all(c == "F001" for c in codes)


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
    from ..evaluation.sweep import resolve_stores

    try:
        return resolve_stores(store, model, dataset, synthetic_seed)
    except ValueError as ex:
        raise UserError(str(ex)) from None


def with_cache(executor, no_cache: bool):
    """The executor behind the evaluation cache (``--no-cache``: the executor itself)."""
    if no_cache:
        return executor
    from ..evaluation.cache import CachedExecutor, EvalCache, default_cache_path

    return CachedExecutor(executor, EvalCache(default_cache_path()))


def report_cache(executor) -> None:
    hits = getattr(executor, "hits", 0)
    if hits:
        click.echo(f"{hits} row{'s' if hits != 1 else ''} from the cache {executor.cache.path or ''} "
                   f"(--no-cache evaluates again)".replace("  ", " "), err=True)


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


FIGURE_FORMATS = (".png", ".svg", ".pdf")


def figure_options(f):
    """``--dpi`` and ``--size`` for the commands that draw."""
    f = click.option("--size", default=None, metavar="WxH",
                     help="Figure size in inches, e.g. 7x4 (default: fitted to the panels).")(f)
    f = click.option("--dpi", default=200, show_default=True, type=click.IntRange(30, 1200),
                     help="Resolution of PNG figures (SVG and PDF are vector).")(f)
    return f


def parse_size(spec: str | None):
    if spec is None:
        return None
    try:
        w, h = (float(x) for x in spec.lower().split("x"))
    except ValueError:
        raise UserError(f"bad --size {spec!r}: use WIDTHxHEIGHT in inches, e.g. 7x4") from None
    if not (0.5 <= w <= 100 and 0.5 <= h <= 100):
        raise UserError(f"bad --size {spec!r}: width and height must be between 0.5 and 100 inches")
    return (w, h)


def check_figure_path(path: str | None, option: str):
    from pathlib import Path

    if path and Path(path).suffix.lower() not in FIGURE_FORMATS:
        raise UserError(f"{option} {path}: the file name must end in .png, .svg or .pdf")


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
