"""Our OpenAI-compatible server under uvicorn on loopback: limits checked before a request
costs anything, client mistakes answered 400 in one line without echoing the input, the
API key, and the error paths (a raising model, a model that fails to load, streaming)."""

from __future__ import annotations

import base64
import io
import json
import socket
import threading

import httpx
import numpy as np
import pytest
import soundfile as sf
from scripted_llm import serve_app

from musicflamingo.llm.base import ChatRequest, Completion, LLMError, TextLLM, text_of
from musicflamingo.llm.openai_client import OpenAIClient
from musicflamingo.llm.server import Limits, create_app, is_loopback

MARK = "ECHO-MARKER-7f3a"


class Echo(TextLLM):
    """Says what it was asked; "boom" raises; with a gate, waits until it opens."""

    model_id = "echo"

    def __init__(self, gate: threading.Event | None = None) -> None:
        self.gate = gate
        self.started = threading.Event()
        self.calls = 0

    def respond(self, request: ChatRequest) -> Completion:
        self.calls += 1
        self.started.set()
        text = text_of(request.messages[-1].get("content"))
        if text == "boom":
            raise RuntimeError("the model fell over")
        if self.gate is not None:
            self.gate.wait(30)
        return Completion(f"you said {text}", self.model_id, 2, 3)


class BrokenLoad(Echo):
    def load(self) -> None:
        raise OSError("weights missing\nsecond line")


def ask(text: str, **extra) -> dict:
    return {"messages": [{"role": "user", "content": text}], **extra}


def wav_b64(seconds: float, sr: int = 16000) -> str:
    buf = io.BytesIO()
    t = np.arange(int(seconds * sr)) / sr
    sf.write(buf, 0.3 * np.sin(2 * np.pi * 440 * t), sr, format="WAV", subtype="PCM_16")
    return base64.b64encode(buf.getvalue()).decode()


def audio_msg(data: str, fmt: str = "wav") -> dict:
    part = {"type": "input_audio", "input_audio": {"data": data, "format": fmt}}
    return {"messages": [{"role": "user", "content": [{"type": "text", "text": "hi"}, part]}]}


def raw_exchange(url: str, head: str, body: bytes = b"", timeout: float = 10.0) -> tuple[int, str]:
    """Send raw request bytes (headers, then maybe a partial body) and read the answer
    without ever finishing the body: the status and the response text."""
    host, port = url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=timeout) as s:
        s.sendall(head.encode() + b"\r\n" + body)
        data = b""
        while b"\r\n\r\n" not in data or not data.rstrip().endswith(b"}"):
            chunk = s.recv(65536)
            if not chunk:
                break
            data += chunk
    status = int(data.split(b" ", 2)[1])
    return status, data.decode(errors="replace")


def post_head(length_header: str) -> str:
    return (
        "POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\n"
        f"Content-Type: application/json\r\n{length_header}\r\n"
    )


@pytest.fixture
def echo():
    return Echo()


def test_body_over_the_limit_is_refused_before_it_is_read(echo):
    with serve_app(create_app(echo, Limits(max_body_bytes=2**20))) as url:
        # 50 MB announced, not one byte sent: the answer must come without waiting for it
        status, text = raw_exchange(url, post_head("Content-Length: 50000000"))
        assert status == 413 and "request body over the limit of 1048576 bytes" in text
        # chunked: refused once the bytes read pass the limit, the rest never sent
        chunk = b"x" * 700_000
        piece = f"{len(chunk):x}\r\n".encode() + chunk + b"\r\n"
        status, _ = raw_exchange(url, post_head("Transfer-Encoding: chunked"), piece * 2)
        assert status == 413
        assert httpx.post(url + "/v1/chat/completions", json=ask("hi")).status_code == 200
    assert echo.calls == 1


def test_a_busy_server_refuses_before_reading_the_body():
    gate = threading.Event()
    llm = Echo(gate)
    with serve_app(create_app(llm, Limits(max_pending=1))) as url:
        first = threading.Thread(
            target=lambda: httpx.post(url + "/v1/chat/completions", json=ask("a"), timeout=30)
        )
        first.start()
        assert llm.started.wait(10)
        status, text = raw_exchange(url, post_head("Content-Length: 1000"))  # body not sent
        assert status == 429 and "busy: 1 requests in flight" in text
        assert "retry-after: 1" in text.lower()
        gate.set()
        first.join(10)
        ok = httpx.post(url + "/v1/chat/completions", json=ask("b"))
        assert ok.status_code == 200  # the slot was given back
    assert llm.calls == 2


BAD_REQUESTS = [
    (b"{not json " + MARK.encode() * 1000, "the body is not JSON (JSONDecodeError)"),
    (
        json.dumps({"messages": [], "note": MARK}),
        "1 schema error(s), first at messages: List should have at least 1 item",
    ),
    (
        json.dumps({"messages": MARK * 100}),
        "1 schema error(s), first at messages: Input should be a valid list",
    ),
    (
        json.dumps({"messages": [{"role": MARK, "content": "x"}]}),
        "1 schema error(s), first at messages.0.role: Input should be 'system', ",
    ),
    (
        json.dumps({"messages": [{"role": "user", "content": [{"type": "image", "url": MARK}]}]}),
        "2 schema error(s), first at messages.0.content.str: Input should be a valid string",
    ),
    (json.dumps(ask("hi", max_tokens=0)), "max_tokens must be 1-32768, not 0"),
    (json.dumps(ask("hi", max_tokens=-5)), "max_tokens must be 1-32768, not -5"),
    (
        json.dumps(ask("hi", max_completion_tokens=10**9)),
        "max_tokens must be 1-32768, not 1000000000",
    ),
    (json.dumps(ask("hi", stream=True)), "streaming is not supported: send stream=false"),
    (json.dumps(audio_msg(MARK + "!!")), "input_audio data is not valid base64"),
    (
        json.dumps(audio_msg(base64.b64encode((MARK + " plain text\n").encode() * 50).decode())),
        "input_audio is not readable audio: ",
    ),
    (json.dumps(audio_msg("")), "input_audio is not readable audio: empty file (0 bytes)"),
]


@pytest.mark.parametrize(("body", "message"), BAD_REQUESTS)
def test_client_mistakes_get_400_in_one_line_without_the_input(echo, body, message):
    with serve_app(create_app(echo)) as url:
        r = httpx.post(
            url + "/v1/chat/completions",
            content=body if isinstance(body, bytes) else body.encode(),
            headers={"Content-Type": "application/json"},
        )
    assert r.status_code == 400
    error = r.json()["error"]
    assert error["message"].startswith(message) and "\n" not in error["message"]
    assert MARK not in r.text and len(r.text) < 500
    assert echo.calls == 0


def test_audio_is_checked_by_its_header_before_decoding(echo):
    with serve_app(create_app(echo, Limits(max_audio_seconds=2.0))) as url:
        short = httpx.post(url + "/v1/chat/completions", json=audio_msg(wav_b64(1.0)))
        long = httpx.post(url + "/v1/chat/completions", json=audio_msg(wav_b64(3.0)))
    assert short.status_code == 200 and short.json()["choices"][0]["message"]["content"]
    assert long.status_code == 400
    assert long.json()["error"]["message"] == (
        "input_audio is 0:03 long; this server takes at most 0:02"
    )
    assert echo.calls == 1


def test_a_raising_model_gives_500_and_gives_its_slot_back():
    llm = Echo()
    with serve_app(create_app(llm, Limits(max_pending=1))) as url:
        for _ in range(3):
            boom = httpx.post(url + "/v1/chat/completions", json=ask("boom"))
            assert boom.status_code == 500
            assert boom.json()["error"]["message"] == "RuntimeError: the model fell over"
        ok = httpx.post(url + "/v1/chat/completions", json=ask("fine"))
    assert ok.status_code == 200 and ok.json()["choices"][0]["message"]["content"] == (
        "you said fine"
    )


def test_a_model_that_fails_to_load_is_reported_on_every_request():
    with serve_app(create_app(BrokenLoad())) as url:
        client = OpenAIClient(url, max_retries=1, backoff=0.01)
        with pytest.raises(LLMError) as err:
            client.complete([{"role": "user", "content": "hi"}])
        health = httpx.get(url + "/health")
    assert str(err.value) == (
        f"LLM server at {url}/v1 answered HTTP 500: model failed to load: weights missing "
        "second line (gave up after 2 tries)"
    )
    assert health.status_code == 500


def test_a_streaming_request_is_refused_and_not_retried(echo):
    with serve_app(create_app(echo)) as url:
        r = httpx.post(url + "/v1/chat/completions", json=ask("hi", stream=True))
    assert r.status_code == 400 and r.json()["error"]["type"] == "invalid_request_error"
    assert echo.calls == 0


def test_the_api_key_is_required_when_set(echo):
    with serve_app(create_app(echo, api_key="s3cret")) as url:
        assert httpx.get(url + "/v1/models").status_code == 401
        wrong = httpx.post(
            url + "/v1/chat/completions",
            json=ask("hi"),
            headers={"Authorization": "Bearer nope"},
        )
        assert wrong.status_code == 401 and wrong.headers["www-authenticate"] == "Bearer"
        with pytest.raises(LLMError, match="answered HTTP 401: missing or wrong API key$"):
            OpenAIClient(url, model="echo", api_key="", max_retries=5).complete(
                [{"role": "user", "content": "hi"}]
            )
        good = OpenAIClient(url, api_key="s3cret").complete([{"role": "user", "content": "hi"}])
        assert httpx.get(url + "/health").status_code == 200
    assert good.text == "you said hi" and echo.calls == 1


@pytest.mark.parametrize(
    ("host", "loopback"),
    [
        ("127.0.0.1", True),
        ("127.0.0.2", True),
        ("::1", True),
        ("localhost", True),
        ("0.0.0.0", False),
        ("::", False),
        ("192.168.1.20", False),
        ("example.org", False),
    ],
)
def test_loopback_hosts(host, loopback):
    assert is_loopback(host) is loopback
