"""``openai``: any OpenAI-compatible chat-completions endpoint (hosted APIs, OpenRouter, vLLM,
Ollama); retries with exponential backoff on 429, 5xx, timeouts and connection errors; token
usage captured; cost from configured prices. Needs ``httpx``."""

from __future__ import annotations

import os
import time

from ..config import ProposerConfig
from .base import Proposer, ProposerError, Reply


class OpenAIProposer(Proposer):
    kind = "openai"

    def __init__(self, cfg: ProposerConfig, sleep=time.sleep):
        self.cfg = cfg
        self.sleep = sleep
        self._client = None

    def _http(self):
        if self._client is None:
            try:
                import httpx
            except ImportError:
                raise ProposerError("the openai proposer needs httpx: pip install httpx", fatal=True) from None
            self._client = httpx.Client(timeout=self.cfg.timeout_s)
        return self._client

    def close(self):
        if self._client is not None:
            self._client.close()
            self._client = None

    def preflight(self) -> None:
        """One cheap request (GET {base_url}/models) before any evaluation: a fatal
        ProposerError if the endpoint cannot be reached or refuses the key. Any other answer
        (even 404: some servers have no /models) shows that something is listening."""
        import httpx

        c = self.cfg
        url = c.base_url.rstrip("/") + "/models"
        headers = {}
        key = os.environ.get(c.api_key_env) if c.api_key_env else None
        if key:
            headers["Authorization"] = f"Bearer {key}"
        try:
            r = self._http().get(url, headers=headers, timeout=min(float(c.timeout_s), 15.0))
        except httpx.TimeoutException:
            raise ProposerError(f"{c.base_url}: no answer within {min(float(c.timeout_s), 15.0):g} s "
                                "(pre-flight GET /models)", fatal=True) from None
        except httpx.HTTPError as ex:
            raise ProposerError(f"{c.base_url}: unreachable: {ex}", fatal=True) from None
        if r.status_code in (401, 403):
            raise ProposerError(f"{url}: HTTP {r.status_code} (check the key in ${c.api_key_env})", fatal=True)

    def propose(self, messages, ctx):
        import httpx

        c = self.cfg
        url = c.base_url.rstrip("/") + "/chat/completions"
        headers = {"Content-Type": "application/json"}
        key = os.environ.get(c.api_key_env) if c.api_key_env else None
        if key:
            headers["Authorization"] = f"Bearer {key}"
        body = {"model": c.model, "messages": messages, "temperature": c.temperature, "max_tokens": c.max_tokens,
                **(c.extra or {})}
        calls = 0
        last = "no attempt made"
        for i in range(c.max_retries + 1):
            if i:
                self.sleep(min(60.0, c.backoff_s * 2 ** (i - 1)))
            calls += 1
            try:
                r = self._http().post(url, json=body, headers=headers)
            except httpx.TimeoutException:
                last = f"timed out after {c.timeout_s:g} s"
                continue
            except httpx.HTTPError as ex:
                last = f"connection error: {ex}"
                continue
            if r.status_code == 429 or r.status_code >= 500:
                last = f"HTTP {r.status_code}: {r.text[:200]}"
                ra = r.headers.get("retry-after")
                if ra and i < c.max_retries:
                    try:
                        self.sleep(min(30.0, float(ra)))
                    except ValueError:
                        pass
                continue
            if r.status_code in (401, 403):
                raise ProposerError(f"{url}: HTTP {r.status_code} (check the key in ${c.api_key_env})", fatal=True,
                                    calls=calls)
            if r.status_code >= 400:
                raise ProposerError(f"{url}: HTTP {r.status_code}: {r.text[:300]}", fatal=True, calls=calls)
            try:
                d = r.json()
                text = d["choices"][0]["message"]["content"] or ""
            except (ValueError, KeyError, IndexError, TypeError):
                last = f"malformed response: {r.text[:200]}"
                continue
            usage = d.get("usage") or {}
            tin = int(usage.get("prompt_tokens") or 0)
            tout = int(usage.get("completion_tokens") or 0)
            usd = tin * c.price_in_per_mtok / 1e6 + tout * c.price_out_per_mtok / 1e6
            return Reply(text, tin, tout, usd, calls, meta={"model": d.get("model", c.model), "retries": calls - 1})
        raise ProposerError(f"{url}: gave up after {calls} call(s): {last}", calls=calls)
