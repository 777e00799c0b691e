"""``tts-dsl discover``: search for controllers with a proposer (LLM endpoint, agent
command, offline evolution, or a recorded replay); see docs/discovery.md."""

from __future__ import annotations

from pathlib import Path

import click

from .common import UserError, terminal_safe


@click.command("discover")
@click.option("--config", "config_path", type=click.Path(dir_okay=False), default=None,
              help="TOML config (see docs/discovery.md and examples/).")
@click.option("--resume", "resume_dir", type=click.Path(file_okay=False), default=None,
              help="Continue the run in DIR after its last complete record.")
@click.option("--out", type=click.Path(file_okay=False), default=None,
              help="Output directory (default: the config's run.out, relative to the config file).")
@click.option("--max-rounds", type=click.IntRange(0), default=None, help="Override run.max_rounds.")
@click.option("--max-wall-s", type=float, default=None, help="Override run.max_wall_s.")
@click.option("--max-llm-calls", type=click.IntRange(0), default=None, help="Override run.max_llm_calls.")
@click.option("--max-usd", type=float, default=None, help="Override run.max_usd.")
@click.option("--jobs", "-j", type=click.IntRange(1, 256), default=None, help="Worker processes for evaluation.")
@click.option("--parallel", type=click.IntRange(1, 64), default=None,
              help="Override run.parallel (proposals in flight at once).")
@click.option("--print-prompt", is_flag=True, help="Print the first round's prompt and exit (no proposer call).")
@click.option("--quiet", "-q", is_flag=True, help="No progress lines.")
def discover(config_path, resume_dir, out, max_rounds, max_wall_s, max_llm_calls, max_usd, jobs, parallel,
             print_prompt, quiet):
    """Propose, validate (with repairs), evaluate and select .tts controllers.

    Start with --config FILE; continue an interrupted run with --resume DIR. Writes
    every candidate to DIR/candidates.jsonl and ends with DIR/report.md and DIR/best.tts.
    """
    from ..discovery.config import ConfigError, load_config
    from ..discovery.loop import Discovery

    if bool(config_path) == bool(resume_dir):
        raise UserError("give exactly one of --config FILE (a new run) or --resume DIR")
    overrides = {"max_rounds": max_rounds, "max_wall_s": max_wall_s, "max_llm_calls": max_llm_calls,
                 "max_usd": max_usd, "jobs": jobs, "parallel": parallel}
    log = (lambda m: None) if quiet else (lambda m: click.echo(m, err=True))
    try:
        if resume_dir:
            try:
                d = Discovery.resume(resume_dir, overrides, log=log)
            except FileNotFoundError as ex:
                raise UserError(str(ex)) from None
        else:
            cfg = load_config(config_path)
            for k, v in overrides.items():
                if v is not None:
                    setattr(cfg, k, v)
            target = Path(out) if out else cfg.path(cfg.out)
            if print_prompt:
                import tempfile

                with tempfile.TemporaryDirectory() as tmp:
                    d = Discovery(cfg, tmp, log=log)
                    d.setup()
                    click.echo(d.open_round(0, []).prompt)
                return
            try:
                d = Discovery.start(cfg, target, log=log)
            except FileExistsError as ex:
                raise UserError(str(ex)) from None
    except ConfigError as ex:
        raise UserError(f"config: {ex}") from None
    from ..discovery.proposers import ProposerError

    try:
        final = d.run()
    except ProposerError as ex:  # the pre-flight check: nothing was evaluated
        raise UserError(f"{ex}; nothing was evaluated") from None
    except KeyboardInterrupt:
        click.echo(f"interrupted; continue with: tts-dsl discover --resume {d.archive.root}", err=True)
        raise SystemExit(130) from None
    except ConfigError as ex:
        raise UserError(f"config: {ex}") from None
    root = d.archive.root
    click.echo(f"{final['rounds']} round(s), {final['valid']} valid; stopped: {final['stop_reason']}")
    sel = final.get("selected")
    if sel:
        e = final["programs"][sel]
        line = f"selected {sel} ({final['rule']} rule): search hv {e['search_score']['hv']:.3f}"
        if e.get("validation_score"):
            iv = e["validation_interval"]
            line += f", validation hv {e['validation_score']['hv']:.3f} [{iv['lo']:.2f}, {iv['hi']:.2f}]"
        if "beats_every_seed" in e:
            line += ("; beats every seed program significantly" if e["beats_every_seed"] else
                     "; does not beat every seed program significantly")
        click.echo(line)
    click.echo(f"report: {root / 'report.md'}; best program: {root / 'best.tts'}")
    if str(final.get("stop_reason") or "").startswith("proposer error"):
        click.echo(terminal_safe(f"error: the run stopped on a proposer failure: {final['stop_reason']}"), err=True)
        raise SystemExit(1)


COMMANDS = [discover]
