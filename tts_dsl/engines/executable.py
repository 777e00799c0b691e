"""What an engine returns: a program compiled (or prepared) for one param binding."""

from __future__ import annotations

from dataclasses import dataclass, field

from ..lang.checker import CheckedProgram
from ..lang.schedule import Binding

# the third element of an episode's result
REASONS = {0: "answer", 1: "action_cap", 2: "step_cap", 3: "end"}


@dataclass
class Executable:
    """A program prepared for one param binding.

    ``episode(PROBES, NPROBES, TOK, FINAL, PF, NB, ORDER, CAP, FUEL, TR, JUNK=None) -> (answer, cost, reason)``
    """

    checked: CheckedProgram
    binding: Binding
    source: str
    episode: object
    line_map: dict = field(default_factory=dict)  # generated line -> source span
    traced: bool = False
    # the native batch (engines.fast.FastEpisodes) when the fast engine took the program;
    # ``engine`` says which engine runs it: "fast", or "python (reason)"
    fast: object = None
    engine: str = "python"

    @property
    def name(self) -> str:
        return self.checked.name
