"""Discovery: proposers (LLMs, agent CLIs, or offline evolution) write ``.tts`` programs;
the checker and the other validation stages drive repair; replay on the search split
decides; the winner is judged on a held-out split no prompt ever saw.

Uses only the public language API (parse, check, format, evaluate); see
``docs/discovery.md``.
"""

from .config import ConfigError, DiscoverConfig, config_from_dict, load_config
from .loop import Discovery

__all__ = ["ConfigError", "DiscoverConfig", "Discovery", "config_from_dict", "load_config", "run_config"]


def run_config(cfg: DiscoverConfig, out=None, log=None, proposer=None, executor=None) -> dict:
    """Start a run from a config and go to the end; returns ``final.json``'s content."""
    d = Discovery.start(cfg, out or cfg.path(cfg.out), log=log, proposer=proposer, executor=executor)
    return d.run()
