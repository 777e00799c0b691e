"""A client for OpenAI-compatible ``/v1/completions`` endpoints (vLLM, SGLang, Ollama,
llama.cpp server, hosted APIs), with retries and token accounting.

Thread-safe: one :class:`CompletionsClient` serves every worker thread of a build or a run.
Retried with exponential backoff: HTTP 429 and 5xx, timeouts, refused and dropped
connections. A response that is not a completion is a :class:`ServerError` naming the
request (its label), never a retry.
"""

from __future__ import annotations

import random
import threading
import time
from dataclasses import dataclass, field

import httpx

RETRY_STATUS = {408, 409, 425, 429, 500, 502, 503, 504}


class ServerError(Exception):
    """A request that failed for good (after retries, or a malformed response)."""


@dataclass
class Completion:
    text: str
    finish_reason: str  # "stop" (the model ended) or "length" (max_tokens reached)
    prompt_tokens: int
    completion_tokens: int


@dataclass
class Usage:
    requests: int = 0
    retries: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)

    def add(self, c: Completion):
        with self.lock:
            self.requests += 1
            self.prompt_tokens += c.prompt_tokens
            self.completion_tokens += c.completion_tokens

    def to_dict(self) -> dict:
        return {"requests": self.requests, "retries": self.retries,
                "prompt_tokens": self.prompt_tokens, "completion_tokens": self.completion_tokens}

    def cost(self, price_in: float, price_out: float) -> float:
        """Dollars, given prices per million prompt and completion tokens."""
        return (self.prompt_tokens * price_in + self.completion_tokens * price_out) / 1e6


class CompletionsClient:
    def __init__(self, endpoint: str, model: str, api_key: str | None = None, timeout: float = 600.0,
                 retries: int = 5, backoff: float = 1.0, max_backoff: float = 60.0):
        base = endpoint.rstrip("/")
        if not base.endswith("/completions"):
            base = base + ("/completions" if base.endswith("/v1") else "/v1/completions")
        self.url = base
        self.model = model
        self.retries = retries
        self.backoff = backoff
        self.max_backoff = max_backoff
        headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
        self.http = httpx.Client(timeout=timeout, headers=headers)
        self.usage = Usage()
        self._sleep = time.sleep

    def close(self):
        self.http.close()

    def complete(self, prompt: str, *, max_tokens: int, temperature: float = 0.0, top_p: float = 1.0,
                 seed: int | None = None, label: str = "request", usage: Usage | None = None,
                 **extra) -> Completion:
        """One completion; ``usage`` (besides the client's own) also counts its tokens."""
        body = {"model": self.model, "prompt": prompt, "max_tokens": max_tokens,
                "temperature": temperature, "top_p": top_p, **extra}
        if seed is not None:
            body["seed"] = seed
        attempt = 0
        while True:
            why = None
            try:
                r = self.http.post(self.url, json=body)
                if r.status_code in RETRY_STATUS:
                    why = f"HTTP {r.status_code}"
                elif r.status_code >= 400:
                    raise ServerError(f"{label}: HTTP {r.status_code} from {self.url}: {r.text[:300]}")
            except httpx.TimeoutException:
                why = "timed out"
            except httpx.TransportError as ex:  # refused, reset, dropped mid-response
                why = f"connection error ({type(ex).__name__})"
            if why is None:
                c = self._parse(r, label)
                self.usage.add(c)
                if usage is not None:
                    usage.add(c)
                return c
            if attempt >= self.retries:
                raise ServerError(f"{label}: {why} from {self.url}, {attempt + 1} attempts")
            with self.usage.lock:
                self.usage.retries += 1
            delay = min(self.max_backoff, self.backoff * 2 ** attempt) * (0.5 + random.random() / 2)
            if why == "HTTP 429":
                ra = r.headers.get("retry-after", "")
                if ra.replace(".", "", 1).isdigit():
                    delay = min(self.max_backoff, float(ra))
            self._sleep(delay)
            attempt += 1

    def _parse(self, r: httpx.Response, label: str) -> Completion:
        def bad(msg):
            return ServerError(f"{label}: malformed response from {self.url}: {msg}; body: {r.text[:200]!r}")

        try:
            d = r.json()
        except ValueError:
            raise bad("not JSON") from None
        if not isinstance(d, dict):
            raise bad("not a JSON object")
        ch = d.get("choices")
        if not isinstance(ch, list) or not ch or not isinstance(ch[0], dict):
            raise bad("no 'choices'")
        text = ch[0].get("text")
        if not isinstance(text, str):
            raise bad("choices[0].text is not a string")
        fr = ch[0].get("finish_reason") or "stop"
        u = d.get("usage")
        if not isinstance(u, dict) or not isinstance(u.get("completion_tokens"), int):
            raise bad("no usage.completion_tokens (token counts are needed for charges)")
        return Completion(text, str(fr), int(u.get("prompt_tokens") or 0), u["completion_tokens"])
