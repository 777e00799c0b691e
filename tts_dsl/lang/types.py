"""The type system: int, float, bool, answer, branch, votes records, and lists."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Ty:
    name: str
    arg: "Ty | None" = None

    def __str__(self) -> str:
        if self.name == "list":
            return f"list[{self.arg}]"
        if self.name == "map":
            return f"map[answer, {self.arg}]"
        return self.name

    @property
    def is_list(self) -> bool:
        return self.name == "list"

    @property
    def is_map(self) -> bool:
        return self.name == "map"


INT = Ty("int")
FLOAT = Ty("float")
BOOL = Ty("bool")
ANSWER = Ty("answer")
BRANCH = Ty("branch")
VOTES = Ty("votes")
WVOTES = Ty("weighted_votes")
ANY = Ty("any")  # element type of an empty list literal
ERROR = Ty("<error>")  # after a reported error; suppresses cascades


def list_of(t: Ty) -> Ty:
    return Ty("list", t)


def map_of(t: Ty) -> Ty:
    """An answer-keyed map with values of type ``t`` (int or float; missing keys read 0)."""
    return Ty("map", t)


RECORDS = {
    VOTES: {"winner": (0, ANSWER), "top1": (1, INT), "top2": (2, INT)},
    WVOTES: {"winner": (0, ANSWER), "top1": (1, FLOAT), "top2": (2, FLOAT)},
}

SCALARS = {"int": INT, "float": FLOAT, "bool": BOOL, "answer": ANSWER, "branch": BRANCH,
           "votes": VOTES, "weighted_votes": WVOTES}


def is_num(t: Ty) -> bool:
    return t in (INT, FLOAT)


def assignable(src: Ty, dst: Ty) -> bool:
    if src == ERROR or dst == ERROR or src == dst:
        return True
    if src == INT and dst == FLOAT:
        return True
    if src.is_list and dst.is_list:
        return src.arg == ANY or assignable(src.arg, dst.arg) and not (src.arg == FLOAT and dst.arg == INT)
    return False


def join(a: Ty, b: Ty) -> Ty | None:
    """The common type of two values (for ternaries and list items), or None."""
    if a == ERROR:
        return b
    if b == ERROR or a == b:
        return a
    if is_num(a) and is_num(b):
        return FLOAT
    if a.is_list and b.is_list:
        if a.arg == ANY:
            return b
        if b.arg == ANY:
            return a
        j = join(a.arg, b.arg)
        return list_of(j) if j else None
    return None
