"""The VM's fused instructions (engines/bytecode.py emits them, engines/vm.py runs them): each
construct compiles to its one op, and the VM agrees with the reference and compiled engines
episode for episode, with the step and action caps met inside the fused op too."""

from __future__ import annotations

import os

import pytest

from tts_dsl import api
from tts_dsl.engines import bytecode, fast
from tts_dsl.lang.limits import Limits
from tts_dsl.lang.schedule import bind
from tts_dsl.replay.synthetic import synthetic_store

needs_numba = pytest.mark.skipif(not os.environ.get("TTS_DSL_CI") and fast.available() is not None,
                                 reason="needs numba (pip install -e '.[fast]')")

HEAD = "controller f\nbranch var s: float = 0.5\nbranch var k: int = 0\nrepeat 6 { open else break }\n"
CASES = [  # (op it must compile to, the program's body after HEAD)
    ("ADVL", "for i in range(40) {\n  for b in [c for c in branches where not c.finished] { advance b }\n}\n"),
    ("ADVN", "for i in range(40) {\n  for b in branches where not b.pruned {\n"
             "    if b.k > 3 { b.k = 0 } else { b.k = b.k + 1 }\n    advance b\n  }\n}\n"),
    ("ANYM", "for i in range(40) {\n  for b in branches where not b.finished { advance b }\n"
             "  if all([b.finished or b.pruned for b in branches]) { break }\n}\n"),
    ("ANYM", "for i in range(40) {\n  for b in branches where not b.finished { advance b }\n"
             "  if not any([not b.finished for b in branches]) { break }\n"
             "  if i == 3 { for b in branches where b.k == 0 take 1 { prune b } }\n}\n"),
    ("ANYM", "for i in range(40) {\n  for b in branches where not b.finished and not b.pruned { advance b }\n"
             "  if any([b.pruned for b in branches]) { break }\n"
             "  if i == 5 { for b in branches where not b.finished take 1 { prune b } }\n}\n"),
    ("GATHER", "for i in range(30) {\n  let live = [b for b in branches where not b.finished]\n"
               "  for b in live { advance b }\n  let xs = [b.latest for b in live]\n"
               "  if len(xs) > 0 and count(xs, xs[0]) > 3 { answer xs[0] }\n}\n"),
    ("GATHERF", "for i in range(30) {\n  let live = [b for b in branches where not b.finished]\n"
                "  for b in live { b.s = b.s * 0.5 + 0.25 if b.steps % 2 == 1 else b.s * 0.9\n    advance b }\n"
                "  let ss = [b.s for b in live]\n  if len(ss) > 1 and mean(ss) > 0.6 { break }\n}\n"),
    ("LI2F", "for i in range(30) {\n  for b in branches where not b.finished { advance b }\n"
             "  let cs = [b.cost for b in branches]\n  let fs = [float(c) for c in cs]\n"
             "  if len(fs) > 0 and mean(fs) > 2000.0 { break }\n}\n"),
    ("BVINC", "for i in range(30) {\n  for b in branches where not b.finished { advance b }\n"
              "  let w = majority([b.latest for b in branches])\n"
              "  for b in branches where not b.finished {\n    b.k = 0 if b.latest == w else b.k + 1\n  }\n"
              "  for b in branches where b.k >= 3 and not b.pruned take 1 { prune b }\n}\n"),
    ("BVINC", "for i in range(30) {\n  for b in branches where not b.pruned {\n    advance b\n"
              "    b.k = 2 + b.k\n  }\n  if any([b.k > 20 for b in branches]) { break }\n}\n"),
    ("BVINC", "for i in range(20) {\n  for b in branches { b.k = 999999999999999 if b.k == 0 else b.k + b.k }\n"  # a bail
              "  for b in branches where not b.finished { advance b }\n}\n"),
]


def _source(body):
    return HEAD + body + "answer majority(completed)\n"


@pytest.mark.parametrize("op,body", CASES, ids=[f"{c[0]}-{i}" for i, c in enumerate(CASES)])
def test_the_construct_compiles_to_its_fused_op(op, body):
    checked = api.check(_source(body), "f.tts")
    bc = bytecode.compile_bytecode(checked, bind(checked, None), Limits())
    ops = [bytecode.OPS[o] for o in bc.code[:, 0].tolist()]
    assert op in ops, bc.listing()
    if op == "LI2F":  # no work charge: d = 1, as the loop it replaces
        assert [r[4] for r in bc.code.tolist() if r[0] == bytecode.OP["LI2F"]] == [1]


def test_an_if_expression_into_a_branch_var_stores_in_each_arm_and_jumps_from_the_store():
    checked = api.check(_source(CASES[8][1]), "f.tts")
    bc = bytecode.compile_bytecode(checked, bind(checked, None), Limits())
    code = bc.code.tolist()
    [inc] = [pc for pc, r in enumerate(code) if r[0] == bytecode.OP["BVINC"]]
    # the loop body is the test, the then-arm's store of the constant (then on to the loop's bottom
    # test itself, d = its pc + 1: the JMP after it is never run) and the else-arm's add in place
    assert [bytecode.OPS[r[0]] for r in code[inc - 3:inc + 2]] == ["JBA", "BVSI", "JMP", "BVINC", "NEXTLF"], \
        bc.listing()
    test, store = code[inc - 3], code[inc - 2]
    assert test[3] == inc and bc.i0[store[3]] == 0 and store[4] == inc + 2, bc.listing()


@needs_numba
@pytest.mark.parametrize("caps", [(50_000, 2_000_000), (9, 60), (40, 25)])
@pytest.mark.parametrize("op,body", CASES, ids=[f"{c[0]}-{i}" for i, c in enumerate(CASES)])
def test_the_fused_ops_agree_with_the_other_engines(op, body, caps):
    from test_differential import _three_way

    limits = Limits(max_actions=caps[0], max_steps=caps[1])
    for seed, nb in ((1, 6), (2, 12)):
        store = synthetic_store(seed, n_questions=3, n_branches=nb)
        _, took, _ = _three_way(_source(body), store, None, range(3), limits, specialised=False)
        assert took
