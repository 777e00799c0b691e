"""Live episodes: the executable of a program runs unchanged on a live model.

An executable consumes a question as arrays (``PROBES, NPROBES, TOK, FINAL`` indexed by
branch, ``ORDER`` the opening order; see :mod:`tts_dsl.engines.python`). Here they are
lazy views over :class:`~.branch.Branch` objects that generate on first access, with the
replay semantics of docs/live.md:

- ``k < NPROBES[j]`` (is there another probe?) asks whether branch ``j`` is unfinished and
  still reasoning, from the text already generated (no request);
- ``PROBES[j][k]`` generates the branch's next interval and probes the new prefix;
- ``FINAL[j]`` and ``TOK[j]`` generate the rest of the branch in one request.

So ``open`` starts a branch and generates one interval, ``advance`` one more, ``read``
generates a fresh branch whole, and the charges (interval size per probe, the remaining
length at the end) are computed by the executable exactly as in replay. Branch ``i``
(in opening order) is sampled with seed ``seed + i``. Answers are interned to small ints
as in a replay store, so traces decode the same way.
"""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

from ..engines.executable import REASONS, Executable
from ..lang.limits import Limits
from ..replay.store import DEFAULT_JUNK, Question, permutation
from .branch import Branch, Protocol
from .client import CompletionsClient, Usage


class _HasProbe:
    """``NPROBES[j]``: compared as ``k < NPROBES[j]`` by the engines."""

    __slots__ = ("env", "j")

    def __init__(self, env, j):
        self.env, self.j = env, j

    def __gt__(self, k):
        b = self.env.branch(self.j)
        return k < len(b.probes) or b.has_next_probe()


class _Probes:
    """``PROBES[j]``: probe ``k`` generates the interval it needs; slices are what is revealed."""

    __slots__ = ("env", "j")

    def __init__(self, env, j):
        self.env, self.j = env, j

    def __getitem__(self, k):
        env, j = self.env, self.j
        b = env.branch(j)
        if isinstance(k, slice):
            return [env.aid(a) for a in b.probes[k]]
        while len(b.probes) <= k:
            b.advance()
        env.revealed[j] = max(env.revealed.get(j, 0), k + 1)
        env.after_probe(j, b)
        return env.aid(b.probes[k])


class _View:
    def __init__(self, get):
        self.get = get

    def __getitem__(self, j):
        return self.get(j)


class _Junk:
    """The question's junk answer ids for ``valid``/``real``. Ids are minted as answers are
    revealed, so membership is decided by the answer's text (the default junk answers of a
    store, :data:`tts_dsl.replay.store.DEFAULT_JUNK`)."""

    def __init__(self, lq: "LiveQuestion"):
        self.lq = lq

    def __contains__(self, aid) -> bool:
        return 0 <= aid < len(self.lq.answers) and self.lq.answers[aid] in DEFAULT_JUNK


class LiveQuestion:
    """One question on a live model, in the array shape of a replay question."""

    def __init__(self, client: CompletionsClient, proto: Protocol, question: str, n_branches: int = 128,
                 seed: int = 0, label: str = "question"):
        self.client, self.proto, self.question = client, proto, question
        self.nb, self.seed, self.label = n_branches, seed, label
        self.usage = Usage()
        self.branches: dict[int, Branch] = {}
        self.answers: list[str] = []
        self._ids: dict[str, int] = {}
        self.PROBES = _View(lambda j: _Probes(self, j))
        self.NPROBES = _View(lambda j: _HasProbe(self, j))
        self.FINAL = _View(lambda j: self.aid(self.finish(j).final))
        self.TOK = _View(lambda j: self.finish(j).tokens)
        self.ORDER = range(n_branches)
        self.JUNK = _Junk(self)
        self.revealed: dict[int, int] = {}  # branch -> probes the program has seen
        self.read: set = set()  # branches whose end the program has seen
        self.lookahead = 0
        self.pool = None
        self.pending: dict = {}  # branch -> future of its speculative next interval (or whole branch)

    def start_lookahead(self, pool, n: int):
        """Speculate: keep the next interval of every branch the program advanced in flight, and
        the next ``n`` fresh branches beyond the newest one opened (or read), so the actions
        of one step find their requests done or running. Answers and charges are unchanged;
        unused speculative work is counted in :meth:`speculative`."""
        self.pool, self.lookahead = pool, n

    def after_probe(self, j: int, b: Branch):
        if not self.lookahead:
            return
        if b.has_next_probe() and j not in self.pending:
            self.pending[j] = self.pool.submit(b.advance)
        if self.revealed.get(j) == 1:  # an open: prefetch the next fresh branches' first interval
            self._prefetch_fresh(j, lambda nb: nb.advance())

    def _prefetch_fresh(self, j: int, work):
        for jj in range(j + 1, min(self.nb, j + 1 + self.lookahead)):
            if jj not in self.branches:
                nb = self._new(jj)
                self.pending[jj] = self.pool.submit(work, nb)

    def finish(self, j: int) -> Branch:
        b = self.branch(j)
        fresh = j not in self.revealed and j not in self.read
        b.finish()
        self.read.add(j)
        if fresh and self.lookahead:  # a read: prefetch the next fresh branches whole
            self._prefetch_fresh(j, lambda nb: nb.finish())
        return b

    def close(self):
        """Cancel speculative work not started, wait for the rest (errors in it are moot)."""
        for f in self.pending.values():
            f.cancel()
        for f in self.pending.values():
            if not f.cancelled():
                f.exception()
        self.pending.clear()

    def speculative(self) -> int:
        """Intervals generated (and probed) that the program never saw, plus whole branches
        generated that it never read."""
        n = 0
        for j, b in self.branches.items():
            seen = self.revealed.get(j, 0)
            if j in self.read:
                n += b.intervals if not seen else 0  # opened ahead, then read whole
            elif b.intervals > seen:
                n += b.intervals - seen
            elif not seen and b.tokens:
                n += 1  # read ahead, never read
        return n

    def aid(self, text: str) -> int:
        i = self._ids.get(text)
        if i is None:
            i = self._ids[text] = len(self.answers)
            self.answers.append(text)
        return i

    def _new(self, j: int) -> Branch:
        b = self.branches[j] = Branch(self.client, self.proto, self.question, self.seed + j,
                                      f"{self.label} branch {j}", self.usage)
        return b

    def branch(self, j: int) -> Branch:
        """Branch ``j``, once any speculative work on it is done (its errors surface here)."""
        f = self.pending.pop(j, None)
        if f is not None:
            f.result()
        b = self.branches.get(j)
        return b if b is not None else self._new(j)

    def snapshot(self, index: int, gold: str | None, order_seed: int = 0) -> Question:
        """A replay :class:`Question` of what was generated (for trace decoding): branch ``i``
        sits where ``permutation(n, order_seed)`` puts it, so decoding finds it there."""
        order = permutation(self.nb, order_seed)
        probes, nprobes, tokens, final = ([[]] * self.nb, [0] * self.nb, [0] * self.nb, [None] * self.nb)
        for i, b in self.branches.items():
            if i not in self.revealed and i not in self.read:
                continue  # speculative only: the program never opened it
            src = order[i]
            probes[src] = [self.aid(a) for a in b.probes[: self.revealed.get(i, 0)]]
            nprobes[src] = len(probes[src])
            tokens[src] = b.tokens
            final[src] = self.aid(b.final) if b.final is not None else None
        g = self.aid(gold) if gold is not None else -1
        junk = frozenset(i for i, a in enumerate(self.answers) if a in DEFAULT_JUNK)
        return Question(index, probes, nprobes, tokens, final, self.proto.interval, g, self.answers, junk)


@dataclass
class LiveResult:
    answer: str | None
    cost: int  # replay charges (interval per probe, the rest at the end)
    reason: str
    usage: dict  # the server's token counts for this episode
    wall_s: float
    branches: int
    answer_id: int | None = None  # the answer's id in ``snapshot.answers``
    speculative: int = 0  # intervals or branches generated ahead and never used (lookahead)
    events: list | None = field(default=None, repr=False)  # raw trace events (traced executables)
    snapshot: Question | None = field(default=None, repr=False)  # what was generated, as a replay question


def run_episode(exe: Executable, client: CompletionsClient, proto: Protocol, question: str,
                gold: str | None = None, n_branches: int = 128, seed: int = 0, limits: Limits | None = None,
                index: int = 0, lookahead: int = 0) -> LiveResult:
    """One episode of ``exe`` on the live model (any thread). With a traced executable,
    ``events`` and ``snapshot`` decode to a trace record (``reporting.traces``). With
    ``lookahead > 0``, requests run ahead of the program (:meth:`LiveQuestion.start_lookahead`)."""
    limits = limits or Limits()
    lq = LiveQuestion(client, proto, question, n_branches, seed, f"question {index}")
    tr = [] if exe.traced else None
    t0 = time.perf_counter()
    pool = ThreadPoolExecutor(max(4, 4 * lookahead)) if lookahead else None
    try:
        if pool is not None:
            lq.start_lookahead(pool, lookahead)
        ans, cost, why = exe.episode(lq.PROBES, lq.NPROBES, lq.TOK, lq.FINAL, proto.interval, n_branches,
                                     lq.ORDER, limits.max_actions, limits.max_steps, tr, lq.JUNK)
    finally:
        lq.close()
        if pool is not None:
            pool.shutdown()
    wall = time.perf_counter() - t0
    text = lq.answers[ans] if ans is not None else None
    res = LiveResult(text, cost, REASONS[why], lq.usage.to_dict(), wall, len(lq.revealed.keys() | lq.read), ans,
                     lq.speculative(), tr)
    if tr is not None:
        res.snapshot = lq.snapshot(index, gold)
    return res
