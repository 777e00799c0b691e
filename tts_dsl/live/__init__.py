"""Bring your own model: an inference-server client, a store builder, and a live
environment that offers the executable the same arrays as a replay store.

Layer: beside :mod:`tts_dsl.replay` (it imports ``replay`` and ``engines``; nothing below
imports it). Modules: ``answers`` (extraction, normalisation, gold matching), ``client``
(OpenAI-compatible completions with retries), ``questions`` (question files), ``build``
(the store builder), ``environment`` (live episodes), ``fake_server`` (a deterministic
server backed by a replay store, for tests and demos).
"""
