"""``tts-dsl discover``: search for controllers with a proposer (LLM endpoint, agent
command, offline evolution, or a recorded replay); see docs/discovery.md."""

from __future__ import annotations

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
    from ..api import DiscoveryResult, discovery_config, open_discovery, preflight_message
    from ..discovery.config import ConfigError
    from ..discovery.loop import Discovery

    if bool(config_path) == bool(resume_dir):
        raise UserError("give exactly one of --config FILE (a new run) or --resume DIR")
    overrides = {"max_rounds": max_rounds, "max_wall_s": max_wall_s, "max_llm_calls": max_llm_calls,
                 "max_usd": max_usd, "jobs": jobs, "parallel": parallel}
    log = (lambda m: None) if quiet else (lambda m: click.echo(m, err=True))
    try:
        if print_prompt and config_path:
            import tempfile

            with tempfile.TemporaryDirectory() as tmp:
                d = Discovery(discovery_config(config_path, overrides), tmp, log=log)
                try:
                    d.setup()
                    click.echo(d.open_round(0, []).prompt)
                finally:
                    d.close()
            return
        try:
            d = open_discovery(config_path, resume_dir, out, overrides, log)
        except (FileNotFoundError, FileExistsError) as ex:
            raise UserError(str(ex)) from None
    except ConfigError as ex:
        raise UserError(f"config: {ex}") from None
    from ..discovery.proposers import ProposerError

    try:
        final = d.run()
    except ProposerError as ex:  # the pre-flight check: nothing was evaluated
        raise UserError(preflight_message(ex)) from None
    except KeyboardInterrupt:
        click.echo(f"interrupted; continue with: tts-dsl discover --resume {d.archive.root}", err=True)
        raise SystemExit(130) from None
    except ConfigError as ex:
        raise UserError(f"config: {ex}") from None
    res = DiscoveryResult(d.archive.root, final)
    click.echo(res.summary())
    if res.failed:
        click.echo(terminal_safe(f"error: the run stopped on a proposer failure: {res.stop_reason}"), err=True)
        raise SystemExit(1)


COMMANDS = [discover]
