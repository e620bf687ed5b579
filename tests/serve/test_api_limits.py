"""`musicflamingo serve` limits as a real process: the API key, the queue limit (429 with
Retry-After), clients that go away (their request stops at its next token or is dropped
from the queue, and the slot is free again), readiness while loading and after a failed
load, facts-only mode, and no open bind without a key."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
import openai
import pytest
from fastapi.testclient import TestClient
from mfapi import SONG, tiny_checkpoint, user

from musicflamingo.llm.server import API_KEY_ENV, Limits
from musicflamingo.serve.app import create_app, launch
from musicflamingo.serve.context import ServeContext

KEY = "k3y-for-tests"
AUTH = {"Authorization": f"Bearer {KEY}"}
# tokens a long request asks for (the tiny model has 65,536 positions): far more than any CPU
# makes while the test holds a stream open (about 1,000 on CI's), so it is always cancelled first
LONG = 60_000


@pytest.fixture(scope="module")
def guarded(tmp_path_factory: pytest.TempPathFactory):
    """A server with a key, two places in flight and one request decoded at a time."""
    ckpt = tiny_checkpoint(tmp_path_factory)
    args = ("--max-pending", "2", "--max-batch", "1", "--max-tokens", str(LONG))
    with launch(str(ckpt), api_key=KEY, args=args) as s:
        yield s


def _health(url: str) -> dict:
    return httpx.get(url + "/healthz", timeout=10).json()


def _settled(url: str, pending: int = 0, timeout: float = 60.0) -> dict:
    """/healthz once ``pending`` requests are in flight and no batch is decoding."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        h = _health(url)
        if h["pending"] == pending and (pending or h["batches"]["running"] == 0):
            return h
        time.sleep(0.05)
    raise AssertionError(f"server did not settle: {h}")


class _Stream:
    """A long streaming request read until ``chunks`` content chunks came, then held open."""

    def __init__(self, url: str, chunks: int = 3):
        body = {"messages": user("Sing along with this.", SONG), "max_tokens": LONG, "stream": True}
        self.client = httpx.Client(timeout=120, headers=AUTH)
        self.cm = self.client.stream("POST", url + "/v1/chat/completions", json=body)
        self.response = self.cm.__enter__()
        assert self.response.status_code == 200
        self.lines = self.response.iter_lines()
        seen = 0
        while seen < chunks:
            line = next(self.lines)
            if line.startswith("data: {"):
                delta = json.loads(line[6:])["choices"][0]["delta"]
                seen += bool(delta.get("content"))

    def close(self) -> None:
        """Go away mid-answer: the connection is closed."""
        self.cm.__exit__(None, None, None)
        self.client.close()


def test_key_is_required_on_v1_routes(guarded) -> None:
    url = guarded.url
    assert httpx.get(url + "/healthz").status_code == 200  # liveness needs no key
    for headers in ({}, {"Authorization": "Bearer wrong"}):
        r = httpx.get(url + "/v1/models", headers=headers)
        assert r.status_code == 401 and r.headers["www-authenticate"] == "Bearer"
        r = httpx.post(url + "/v1/chat/completions", json={"messages": []}, headers=headers)
        assert r.status_code == 401
        assert httpx.post(url + "/v1/audio/describe", json={}, headers=headers).status_code == 401
    client = openai.OpenAI(base_url=url + "/v1", api_key=KEY)
    reply = client.chat.completions.create(
        model=client.models.list().data[0].id, messages=user("Hi?", SONG), max_tokens=3
    )
    assert reply.usage.completion_tokens == 3


def test_a_client_that_leaves_stops_its_request_and_frees_its_slot(guarded) -> None:
    url = guarded.url
    before = _settled(url)["batches"]
    stream, gave_up = _Stream(url), []
    try:
        # the queue limit: two in flight (one decoding, one queued), the third is refused
        waiting = threading.Thread(target=_queued_then_gone, args=(url, gave_up))
        waiting.start()
        _settled(url, pending=2)
        r = httpx.post(url + "/v1/chat/completions", json={"messages": []}, headers=AUTH)
        assert r.status_code == 429 and float(r.headers["retry-after"]) > 0
        assert r.json()["error"]["type"] == "busy"
        waiting.join(60)  # the queued client gave up: dropped before its batch started
        assert gave_up == [True]
        _settled(url, pending=1)
    finally:
        stream.close()
    after = _settled(url)
    stats = after["batches"]
    assert stats["dropped"] - before["dropped"] == 1
    # the streaming request stopped after its client left, far short of LONG tokens (how many
    # it made while held open depends on the machine's load, so the bound is loose)
    assert 3 <= stats["tokens"] - before["tokens"] < LONG // 2
    assert after["cancelled"] >= 2
    # a non-streaming client that times out is cancelled too, and its slot is free again
    with pytest.raises(httpx.ReadTimeout):
        body = {"messages": user("Sing along with this.", SONG), "max_tokens": LONG}
        httpx.post(url + "/v1/chat/completions", json=body, headers=AUTH, timeout=3)
    again = _settled(url)["batches"]
    assert again["tokens"] - stats["tokens"] < LONG
    reply = httpx.post(
        url + "/v1/chat/completions",
        json={"messages": user("Key?", SONG), "max_tokens": 2},
        headers=AUTH,
        timeout=60,
    )
    assert reply.status_code == 200 and reply.json()["usage"]["completion_tokens"] == 2


def _queued_then_gone(url: str, gave_up: list[bool]) -> None:
    body = {"messages": user("Queued question.", SONG), "max_tokens": 5}
    try:
        httpx.post(url + "/v1/chat/completions", json=body, headers=AUTH, timeout=4)
    except httpx.ReadTimeout:
        gave_up.append(True)


def test_facts_only_server() -> None:
    with launch(None) as s:
        assert httpx.get(s.url + "/readyz", timeout=30).json()["status"] == "ready"
        models = httpx.get(s.url + "/v1/models", timeout=30).json()
        assert models == {"object": "list", "data": []}
        for route in ("/v1/chat/completions", "/v1/audio/describe"):
            r = httpx.post(s.url + route, json={"messages": user("q")}, timeout=30)
            assert r.status_code == 404 and "facts only" in r.json()["error"]["message"]


def test_not_ready_while_loading_and_failed_load_is_reported(tmp_path: Path) -> None:
    ctx = ServeContext(limits=Limits(), model_id="any/checkpoint")
    client = TestClient(create_app(ctx))  # no lifespan: the weights never start loading
    r = client.get("/readyz")
    assert r.status_code == 503 and r.headers["retry-after"] == "1"
    r = client.post("/v1/chat/completions", json={"messages": user("q")})
    assert r.status_code == 503 and "loading" in r.json()["error"]["message"]
    assert client.get("/healthz").json()["ready"] is False
    (tmp_path / "config.json").write_text('{"model_type": "bert"}')
    with launch(str(tmp_path), wait_ready=False) as s:
        deadline = time.monotonic() + 120
        while (r := httpx.get(s.url + "/readyz")).status_code == 503:
            assert time.monotonic() < deadline
            time.sleep(0.2)
        assert r.status_code == 500 and "model failed to load" in r.json()["error"]["message"]
        assert "\n" not in r.json()["error"]["message"]


def test_open_bind_needs_a_key() -> None:
    cmd = [sys.executable, "-m", "musicflamingo", "serve", "--host", "0.0.0.0"]
    env = {k: v for k, v in os.environ.items() if k != API_KEY_ENV}
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=120, env=env)
    assert r.returncode == 2
    lines = [x for x in r.stderr.splitlines() if x.strip()]
    assert len(lines) == 1 and "API key" in lines[0]
