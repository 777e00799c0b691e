"""A deterministic OpenAI-compatible completions server backed by a replay store, for tests
and for trying the live path on a laptop without a GPU::

    python -m tts_dsl.live.fake_server --store ../shared/replay/Qwen3-8B/aime24.json \\
        --port 8000 --write-questions aime24.jsonl

Its "model" writes, for question ``q`` and seed ``s``, the store's branch ``s mod n`` of
``q`` (or ``order[s mod n]``), ``tokens`` tokens long: ``<think>``, one ``.`` per filler
token, the current probe answer boxed at the end of each interval (so ``last`` mode sees
it), ``</think>`` in the interval of the branch's last probe, and ``\\boxed{final}`` as
the last token. A probe request (the text so far followed by anything else, e.g. a
final-answer cue, which must not start with ``.``) is answered with the store's probe for
that prefix and a closing ``}``. So building a store from it with the default protocol
gives back the store it serves, and a live run on it replays the store.
The question is found by its text in the prompt; any prompt template works.
"""

from __future__ import annotations

import argparse
import bisect
import json
import math
import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

START, THINK_END = "<think>", "</think>"


class FakeModel:
    def __init__(self, data: list, order=None):
        self.data = data
        self.order = order  # None: branch = seed mod n; else order[seed mod n]
        self.by_text = {q["question"]: i for i, q in enumerate(data)}
        self._tokens: dict = {}
        self.lock = threading.Lock()

    def tokens(self, qi: int, bi: int) -> tuple[list[str], list[int]]:
        """The branch's token texts and their cumulative character offsets."""
        key = (qi, bi)
        got = self._tokens.get(key)
        if got is None:
            q = self.data[qi]
            probes, n_tok, final = q["each_branch"][bi]
            pf = q["probe_freq"]
            n = len(probes)
            m = max(1, min(n_tok, n * pf))  # </think> ends at token m: in interval n
            words = ["."] * n_tok  # a filler token is one character: prompts stay small
            words[0] = START
            for c in range(1, n):  # the model writes its current answer at the end of each interval
                if c * pf - 1 < m - 1:
                    words[c * pf - 1] = " \\boxed{" + probes[c - 1] + "} "
            words[m - 1] = " " + THINK_END
            last = " \\boxed{" + final + "}"
            words[n_tok - 1] = (" " + THINK_END + last) if n_tok == m else last
            cum = [0]
            for w in words:
                cum.append(cum[-1] + len(w))
            got = self._tokens[key] = (words, cum)
        return got

    def text(self, qi: int, bi: int) -> str:
        key = ("text", qi, bi)
        t = self._tokens.get(key)
        if t is None:
            t = self._tokens[key] = "".join(self.tokens(qi, bi)[0])
        return t

    def find(self, prompt: str):
        best = None
        for text, qi in self.by_text.items():
            if text in prompt and (best is None or len(text) > len(best[0])):
                best = (text, qi)
        if best is None:
            raise ValueError("no question of the store in the prompt")
        return best[1], prompt[prompt.rindex(best[0]) + len(best[0]):]

    def complete(self, body: dict) -> dict:
        prompt, max_tokens, seed = body.get("prompt"), body.get("max_tokens"), body.get("seed")
        if not isinstance(prompt, str) or not isinstance(max_tokens, int) or not isinstance(seed, int):
            raise ValueError("the fake model needs prompt (str), max_tokens (int) and seed (int)")
        qi, rest = self.find(prompt)
        q = self.data[qi]
        nb = len(q["each_branch"])
        bi = seed % nb if self.order is None else self.order[seed % nb]
        toks, cum = self.tokens(qi, bi)
        g = rest.find(START)
        pos = 0
        tail = ""
        if g >= 0:
            region = rest[g:]
            # the longest whole-token prefix of the branch's text that region starts with
            pos = bisect.bisect_right(cum, len(region)) - 1
            full = self.text(qi, bi)
            while pos > 0 and not region.startswith(full[:cum[pos]]):
                pos -= 1
            tail = region[cum[pos]:]
        if tail.strip():  # a probe of the prefix of `pos` tokens
            probes = q["each_branch"][bi][0]
            c = max(1, math.ceil(pos / q["probe_freq"]))
            ans = probes[c - 1] if c <= len(probes) else q["each_branch"][bi][2]
            text, n, finish = ans + "}", max(1, len(ans) // 4), "stop"
        else:
            end = min(len(toks), pos + max_tokens)
            text, n = "".join(toks[pos:end]), end - pos
            finish = "stop" if end == len(toks) else "length"
        return {"id": "cmpl-fake", "object": "text_completion", "created": 0, "model": body.get("model", "fake"),
                "choices": [{"index": 0, "text": text, "finish_reason": finish, "logprobs": None}],
                "usage": {"prompt_tokens": max(1, len(prompt) // 4), "completion_tokens": n,
                          "total_tokens": max(1, len(prompt) // 4) + n}}


class FakeServer:
    """The HTTP face of a :class:`FakeModel` on 127.0.0.1, in a background thread.

    ``fault(n)`` (settable) returns a fault for the n-th request (from 0) or None:
    ``"429"``, ``"500"``, ``"503"``, ``"drop"`` (close the connection without answering),
    ``"malformed"`` (a 200 response that is not a completion), ``"sleep:S"`` (answer after
    S seconds)."""

    def __init__(self, model: FakeModel, host: str = "127.0.0.1", port: int = 0):
        self.model = model
        self.fault = lambda n: None
        self.requests = 0
        self.inflight = self.max_inflight = 0  # concurrent requests, now and at most
        self.log: list = []  # (n, fault or "ok", body) of every request
        srv = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *a):
                pass

            def setup(self):
                super().setup()  # no Nagle delay between the header and body writes
                self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

            def _send(self, code, obj=None, raw=None):
                data = raw if raw is not None else json.dumps(obj).encode()
                self.send_response(code)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_GET(self):  # noqa: N802
                if self.path.rstrip("/").endswith("/models"):
                    self._send(200, {"object": "list", "data": [{"id": "fake", "object": "model"}]})
                else:
                    self._send(404, {"error": {"message": "not found"}})

            def do_POST(self):  # noqa: N802
                body = json.loads(self.rfile.read(int(self.headers.get("Content-Length") or 0)) or b"{}")
                with srv.model.lock:
                    n = srv.requests
                    srv.requests += 1
                    srv.inflight += 1
                    srv.max_inflight = max(srv.max_inflight, srv.inflight)
                try:
                    self._post(body, n)
                finally:
                    with srv.model.lock:
                        srv.inflight -= 1

            def _post(self, body, n):
                f = srv.fault(n)
                srv.log.append((n, f or "ok", body))
                if f in ("429", "500", "502", "503"):
                    return self._send(int(f), {"error": {"message": f"injected {f}"}})
                if f == "drop":
                    self.close_connection = True
                    self.connection.shutdown(2)
                    return
                if f == "malformed":
                    return self._send(200, raw=b'{"choices": "nope"}')
                if f and f.startswith("sleep:"):
                    time.sleep(float(f[6:]))
                if not self.path.rstrip("/").endswith("/completions"):
                    return self._send(404, {"error": {"message": "not found"}})
                try:
                    out = srv.model.complete(body)
                except ValueError as ex:
                    return self._send(400, {"error": {"message": str(ex)}})
                self._send(200, out)

        self.httpd = ThreadingHTTPServer((host, port), Handler)
        self.httpd.daemon_threads = True
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        h, p = self.httpd.server_address[:2]
        return f"http://{h}:{p}/v1"

    def start(self) -> "FakeServer":
        self.thread.start()
        return self

    def stop(self):
        self.httpd.shutdown()
        self.httpd.server_close()

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()


def write_questions(data: list, path: str):
    with open(path, "w", encoding="utf-8") as f:
        for q in data:
            f.write(json.dumps({"question": q["question"], "gold_answer": q["gold_answer"]}) + "\n")


def main(argv=None):
    ap = argparse.ArgumentParser(prog="python -m tts_dsl.live.fake_server", description=__doc__.split("\n\n")[0])
    ap.add_argument("--store", required=True, help="a replay store file (AutoTTS layout)")
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, default=8000)
    ap.add_argument("--questions", type=int, default=None, help="serve only the first N questions")
    ap.add_argument("--write-questions", metavar="FILE", help="write the served questions as JSONL and go on")
    a = ap.parse_args(argv)
    with open(a.store, encoding="utf-8") as f:
        data = json.load(f)
    if a.questions is not None:
        data = data[: a.questions]
    if a.write_questions:
        write_questions(data, a.write_questions)
    srv = FakeServer(FakeModel(data), a.host, a.port)
    print(f"fake completions server for {a.store} ({len(data)} questions) on {srv.url}", flush=True)
    try:
        srv.httpd.serve_forever()
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
