"""One reasoning branch on a live model, cut into intervals: the construction shared by the
store builder and live runs, so a built store replays what a live run would see.

A branch is generated ``interval`` tokens at a time (one completion request per interval,
the prompt being the question's prompt plus the text so far). After an interval that
*started* inside the reasoning (before ``think_end``, e.g. ``</think>``; an empty
``think_end`` means the whole branch), the prefix is probed: in ``probe`` mode by an
answer-forcing continuation (prefix + ``suffix``, greedy, a few tokens), in ``last`` mode
(no requests) by the last answer already written in the prefix. Intervals after the
reasoning are not probed: finishing the branch generates the rest in one request. So a
branch has ``ceil(reasoning length / interval)`` probes, at least one.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

from .answers import extract_answer
from .client import CompletionsClient, Usage

# Dynasor-CoT's probe: the model is told it has the answer and opens a box
DEFAULT_SUFFIX = "\n\n... Oh, I suddenly got the answer to the whole problem, **Final Answer**\n\n\\[ \\boxed{"
DEFAULT_TEMPLATE = ("<|im_start|>user\n{question}\nPlease reason step by step, and put your final answer "
                    "within \\boxed{{}}.<|im_end|>\n<|im_start|>assistant\n")


@dataclass
class Protocol:
    """How branches are sampled, cut and probed (recorded in the store's metadata)."""

    interval: int = 500
    temperature: float = 0.6
    top_p: float = 0.95
    max_tokens: int = 32768
    seed: int = 0  # branch b is sampled with seed + b
    probe_mode: str = "probe"  # "probe" | "last"
    probe_suffix: str = DEFAULT_SUFFIX
    probe_max_tokens: int = 32
    think_end: str = "</think>"
    prompt_template: str = DEFAULT_TEMPLATE  # {question} is replaced; {{ and }} are braces

    def prompt(self, question: str) -> str:
        return self.prompt_template.replace("{question}", "\0").replace("{{", "{").replace("}}", "}") \
            .replace("\0", question)

    def to_dict(self) -> dict:
        return asdict(self)

    def check(self):
        if self.interval <= 0 or self.max_tokens <= 0 or self.probe_max_tokens <= 0:
            raise ValueError("interval, max_tokens and probe_max_tokens must be positive")
        if self.probe_mode not in ("probe", "last"):
            raise ValueError(f"probe_mode must be 'probe' or 'last', not {self.probe_mode!r}")
        if "{question}" not in self.prompt_template:
            raise ValueError("prompt_template must contain {question}")


class Branch:
    def __init__(self, client: CompletionsClient, proto: Protocol, question: str, seed: int, label: str,
                 usage: Usage | None = None):
        self.client = client
        self.usage = usage  # an extra counter (a live episode's)
        self.proto = proto
        self.prompt = proto.prompt(question)
        self.seed = seed
        self.label = label
        self.text = ""
        self.tokens = 0
        self.intervals = 0
        self.finished = False
        self.probes: list[str] = []
        self.final: str | None = None
        self.truncated = False  # ended by max_tokens, not by the model

    def _budget(self) -> int:
        return self.proto.max_tokens - self.tokens

    def _generate(self, max_tokens: int, what: str):
        p = self.proto
        c = self.client.complete(self.prompt + self.text, max_tokens=max_tokens, temperature=p.temperature,
                                 top_p=p.top_p, seed=self.seed, label=f"{self.label} {what}", usage=self.usage)
        self.text += c.text
        self.tokens += c.completion_tokens
        if c.finish_reason != "length" or c.completion_tokens == 0:
            self.finished = True
        elif self._budget() <= 0:
            self.finished = self.truncated = True

    def has_next_probe(self) -> bool:
        """Would one more interval be probed? (Not finished, and still reasoning.)"""
        te = self.proto.think_end
        return not self.finished and not (te and te in self.text)

    def advance(self) -> str:
        """Generate one interval and reveal the answer at its end (a probe)."""
        self.intervals += 1
        self._generate(min(self.proto.interval, self._budget()), f"interval {self.intervals}")
        self.probes.append(self._probe())
        return self.probes[-1]

    def _probe(self) -> str:
        p = self.proto
        if p.probe_mode == "last":
            return extract_answer(self.text)
        c = self.client.complete(self.prompt + self.text + p.probe_suffix, max_tokens=p.probe_max_tokens,
                                 temperature=0.0, top_p=1.0, seed=self.seed,
                                 label=f"{self.label} probe {len(self.probes) + 1}", usage=self.usage)
        return extract_answer(p.probe_suffix + c.text)

    def finish(self) -> str:
        """Generate the rest in one request; the final answer is the last one in the text."""
        if not self.finished:
            self._generate(self._budget(), "to the end")
        if self.final is None:
            self.final = extract_answer(self.text)
        return self.final

    def run_whole(self) -> tuple[list, int, str]:
        """The store record ``[probes, tokens, final]`` of the whole branch."""
        while self.has_next_probe():
            self.advance()
        final = self.finish()
        if not self.probes:  # only when the prompt is already past the reasoning
            self.probes.append(final)
        return [list(self.probes), self.tokens, final]
