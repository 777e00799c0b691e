"""The engines: each takes a checked program and a param binding and returns an
:class:`~tts_dsl.engines.executable.Executable` whose ``episode`` has one signature.

* :mod:`.python` -- generates and compiles a Python episode function (the fast path);
* :mod:`.fast` -- native code (numba, the ``fast`` extra) for the subset it takes, attached
  to the Python engine's executable (its helpers in :mod:`.native`), and the engine choice;
* :mod:`.bytecode` and :mod:`.vm` -- the same subset compiled to bytecode in milliseconds and
  run by one numba interpreter compiled once (no compilation per program: ``fast (vm)``);
* :mod:`.reference` -- a tree-walking evaluator that follows the replay spec literally
  (for differential testing);
* :mod:`.analysis` -- the pass over the checked AST both engines read first;
* :mod:`.runtime` -- the built-in functions' tables and the helpers every engine calls.
"""
