"""Options shared by ``store build`` and ``run``: the server, and the protocol by which
branches are sampled, cut and probed. Precedence: defaults < the TOML config < flags."""

from __future__ import annotations

import sys

import click

from .common import UserError

SERVER_OPTIONS = [
    click.option("--config", "config_path", type=click.Path(dir_okay=False), default=None,
                 help="TOML config: top-level settings and a [protocol] table (docs/live.md)."),
    click.option("--endpoint", default=None, help="OpenAI-compatible base URL, e.g. http://127.0.0.1:8000/v1."),
    click.option("--model", "model_name", default=None, help="Model name the server serves."),
    click.option("--concurrency", type=click.IntRange(1, 1024), default=None, help="Requests in flight."),
    click.option("--retries", type=click.IntRange(0), default=None, help="Retries per request (default 5)."),
    click.option("--timeout", type=float, default=None, help="Seconds per request (default 600)."),
]
PROTOCOL_OPTIONS = [
    click.option("--interval", type=click.IntRange(1), default=None, help="Tokens per interval (default 500)."),
    click.option("--temperature", type=float, default=None, help="Sampling temperature (default 0.6)."),
    click.option("--top-p", type=float, default=None, help="Nucleus sampling (default 0.95)."),
    click.option("--max-tokens", type=click.IntRange(1), default=None, help="Tokens per branch (default 32768)."),
    click.option("--seed", type=click.IntRange(0), default=None, help="Branch i is sampled with seed+i (default 0)."),
    click.option("--probe-mode", type=click.Choice(["probe", "last"]), default=None,
                 help="probe: answer-forcing requests (default); last: the last answer in the prefix, no requests."),
    click.option("--probe-suffix", default=None, help="The answer-forcing continuation."),
    click.option("--probe-max-tokens", type=click.IntRange(1), default=None, help="Tokens per probe (default 32)."),
    click.option("--think-end", default=None, help="End of the reasoning (default </think>; '' = none)."),
    click.option("--prompt-template", default=None, help="Prompt with {question} (default: a Qwen chat prompt)."),
]
PROTOCOL_KEYS = ("interval", "temperature", "top_p", "max_tokens", "seed", "probe_mode", "probe_suffix",
                 "probe_max_tokens", "think_end", "prompt_template")


def with_options(options):
    def deco(f):
        for o in reversed(options):
            f = o(f)
        return f
    return deco


def settings(config_path, flags: dict) -> dict:
    """The merged settings: a TOML config (top level and ``[protocol]``), then the flags
    that were given. Returns a dict in the shape of :class:`tts_dsl.live.build.BuildConfig`."""
    from ..live.build import BuildError, load_config

    d: dict = {}
    if config_path:
        try:
            d = load_config(config_path)
        except BuildError as ex:
            raise UserError(str(ex)) from None
    proto = dict(d.pop("protocol", {}) or {})
    for k, v in flags.items():
        if v is None:
            continue
        if k in PROTOCOL_KEYS:
            proto[k] = v
        else:
            d[k] = v
    d["protocol"] = proto
    return d


def protocol(d: dict):
    from ..live.branch import Protocol

    try:
        p = Protocol(**d.get("protocol", {}))
        p.check()
    except (TypeError, ValueError) as ex:
        raise UserError(f"protocol: {ex}") from None
    return p


class Progress:
    """A one-line progress bar on stderr (a line per 10% when stderr is not a terminal)."""

    def __init__(self, what: str, quiet: bool = False):
        self.what, self.quiet = what, quiet
        self.tty = sys.stderr.isatty()
        self.last = -1

    def __call__(self, done, total, usage=None):
        if self.quiet or not total:
            return
        frac = done / total
        tok = f", {usage.prompt_tokens + usage.completion_tokens:,} tokens" if usage is not None else ""
        line = f"[{'#' * int(30 * frac):<30}] {done}/{total} {self.what}{tok}"
        if self.tty:
            click.echo("\r" + line, nl=done == total, err=True)
        elif int(10 * frac) > self.last or done == total:
            self.last = int(10 * frac)
            click.echo(line, err=True)


