"""Our own small OpenAI-compatible server: any `TextLLM` behind ``/v1/chat/completions``.

    musicflamingo serve-llm [--llm embedded|rules|module:factory] [--port 8000]

Loopback only unless an API key is set. The model loads in the background while the
server already answers (503 + ``Retry-After`` until it is ready). A request is checked
before it costs anything: a body over the size limit is refused with 413 from its
``Content-Length`` (or, chunked, as soon as the bytes read pass the limit); more than
``max_pending`` requests at once get 429 before their body is read; then the body is
parsed, and client mistakes (no messages, bad base64, unreadable or too long audio by its
container header, ``max_tokens`` out of range) get 400 with one line that never repeats
the input. Non-streaming only. `launch` runs it as a child process on a free port.
"""

from __future__ import annotations

import hmac
import importlib
import ipaddress
import json
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Literal, TypeVar

import httpx
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from starlette.concurrency import run_in_threadpool

from musicflamingo.llm.audio_in import MAX_AUDIO_SECONDS, check_audio
from musicflamingo.llm.base import LLMRequestError, TextLLM, one_line
from musicflamingo.util import Record

LLM_ALIASES = {
    "embedded": "musicflamingo.llm.embedded:EmbeddedLLM",
    "rules": "musicflamingo.skills.rulewriter:RuleWriter",
}
API_KEY_ENV = "MUSICFLAMINGO_API_KEY"
DEFAULT_MAX_TOKENS = 1024


class Limits(Record):
    """What one request may ask of the server."""

    max_pending: int = Field(default=16, ge=1)
    max_body_bytes: int = Field(default=32 * 2**20, ge=1)
    max_audio_seconds: float = Field(default=MAX_AUDIO_SECONDS, gt=0)
    max_tokens: int = Field(default=32_768, ge=1)


class _Text(BaseModel):
    type: Literal["text"]
    text: str


class _AudioData(BaseModel):
    data: str
    format: str = "wav"


class _Audio(BaseModel):
    type: Literal["input_audio"]
    input_audio: _AudioData


class _Message(BaseModel):
    model_config = ConfigDict(extra="allow")

    role: Literal["system", "developer", "user", "assistant", "tool"]
    content: str | list[Annotated[_Text | _Audio, Field(discriminator="type")]] | None = None


class ChatBody(BaseModel):
    """The request body; extra OpenAI fields are accepted and ignored."""

    model_config = ConfigDict(extra="allow")

    model: str | None = None
    messages: list[_Message] = Field(min_length=1)
    max_tokens: int | None = None
    max_completion_tokens: int | None = None
    temperature: float = Field(0.0, ge=0.0, le=2.0)
    seed: int | None = None
    response_format: dict[str, Any] | None = None
    stream: bool = False


Body = TypeVar("Body", bound=ChatBody)


class Refused(Exception):
    """A request refused with ``status`` and an OpenAI-shaped one-line error body."""

    def __init__(self, status: int, message: str, kind: str, retry_after: float | None = None):
        super().__init__(message)
        self.status, self.kind, self.retry_after = status, kind, retry_after

    def response(self) -> JSONResponse:
        headers = {"Retry-After": f"{self.retry_after:g}"} if self.retry_after else None
        if self.status == 401:
            headers = {"WWW-Authenticate": "Bearer"}
        body = {"error": {"message": str(self), "type": self.kind, "code": self.status}}
        return JSONResponse(body, status_code=self.status, headers=headers)


def bad_request(message: str) -> Refused:
    return Refused(400, message, "invalid_request_error")


def check_key(request: Request, api_key: str | None) -> None:
    """401 unless ``api_key`` is None or sent as ``Authorization: Bearer <api_key>``."""
    if api_key is None:
        return
    sent = request.headers.get("authorization", "").removeprefix("Bearer ").strip()
    if not hmac.compare_digest(sent.encode(), api_key.encode()):
        raise Refused(401, "missing or wrong API key", "authentication_error")


def _schema(response_format: dict[str, Any] | None) -> dict[str, Any] | None:
    if not response_format or response_format.get("type") == "text":
        return None
    return response_format.get("json_schema") or {"name": "json_object", "schema": {}}


async def read_body(request: Request, limit: int) -> bytes:
    """The body, refused with 413 as soon as it is known to pass ``limit`` bytes."""
    too_big = Refused(413, f"request body over the limit of {limit} bytes", "too_large")
    stated = request.headers.get("content-length")
    if stated is not None and (not stated.isdigit() or int(stated) > limit):
        raise too_big
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > limit:
            raise too_big
    return bytes(body)


def validate_body(raw: bytes, schema: type[Body]) -> tuple[dict[str, Any], Body]:
    """The raw JSON payload and its validated form; 400 with one line on any mistake."""
    try:
        payload = json.loads(raw)
    except (UnicodeDecodeError, json.JSONDecodeError) as e:
        raise bad_request(f"the body is not JSON ({type(e).__name__})") from None
    try:
        return payload, schema.model_validate(payload)
    except ValidationError as e:
        raise bad_request(one_line(e)) from None


def token_budget(body: ChatBody, limits: Limits, default: int | None) -> int | None:
    """``max_completion_tokens`` or ``max_tokens`` (else ``default``); 400 outside 1 to
    the server's ``max_tokens``."""
    tokens = body.max_completion_tokens or body.max_tokens
    if tokens is None:
        tokens = default
    if tokens is not None and not 1 <= tokens <= limits.max_tokens:
        raise bad_request(f"max_tokens must be 1-{limits.max_tokens}, not {tokens}")
    return tokens


def _parse(raw: bytes, limits: Limits) -> tuple[dict[str, Any], ChatBody, int]:
    """The raw payload, its validated form and the token budget; 400 on any mistake."""
    payload, body = validate_body(raw, ChatBody)
    if body.stream:
        raise bad_request("streaming is not supported: send stream=false")
    tokens = token_budget(body, limits, min(DEFAULT_MAX_TOKENS, limits.max_tokens))
    assert tokens is not None
    return payload, body, tokens


def create_app(llm: TextLLM, limits: Limits | None = None, *, api_key: str | None = None):
    """The app serving ``llm``; an ``llm.load()`` method, if any, runs in the background.
    With ``api_key``, ``/v1`` routes need ``Authorization: Bearer <api_key>``."""
    limits = limits or Limits()
    ready = threading.Event()
    state: dict[str, Any] = {"pending": 0, "load_error": None}
    lock = threading.Lock()

    def load() -> None:
        try:
            loader = getattr(llm, "load", None)
            if callable(loader):
                loader()
        except Exception as e:  # noqa: BLE001 - reported on every request
            state["load_error"] = f"model failed to load: {one_line(e)}"
        ready.set()

    @asynccontextmanager
    async def lifespan(_: FastAPI):
        threading.Thread(target=load, daemon=True).start()
        yield

    app = FastAPI(title="musicflamingo text LLM", lifespan=lifespan)

    def check_ready() -> None:
        if not ready.is_set():
            raise Refused(503, f"{llm.model_id} is loading", "unavailable", retry_after=1)
        if state["load_error"]:
            raise Refused(500, state["load_error"], "server_error")

    @contextmanager
    def slot() -> Iterator[None]:
        with lock:
            if state["pending"] >= limits.max_pending:
                raise Refused(429, f"busy: {limits.max_pending} requests in flight", "busy", 1)
            state["pending"] += 1
        try:
            yield
        finally:
            with lock:
                state["pending"] -= 1

    @app.exception_handler(Refused)
    async def refused(_: Request, e: Refused) -> JSONResponse:
        return e.response()

    @app.get("/health")
    def health():
        check_ready()
        return {"status": "ok", "model": llm.model_id}

    @app.get("/v1/models")
    def models(request: Request):
        check_key(request, api_key)
        entry = {"id": llm.model_id, "object": "model", "owned_by": "musicflamingo"}
        return {"object": "list", "data": [entry]}

    @app.post("/v1/chat/completions")
    async def chat(request: Request):
        check_key(request, api_key)
        check_ready()
        with slot():
            payload, body, max_tokens = _parse(
                await read_body(request, limits.max_body_bytes), limits
            )
            messages = payload["messages"]
            try:
                await run_in_threadpool(check_audio, messages, limits.max_audio_seconds)
                c = await run_in_threadpool(
                    lambda: llm.complete(
                        messages,
                        json_schema=_schema(body.response_format),
                        max_tokens=max_tokens,
                        temperature=body.temperature,
                        seed=body.seed,
                    )
                )
            except LLMRequestError as e:
                raise bad_request(one_line(e)) from None
            except Exception as e:  # noqa: BLE001 - any other failure is the server's 500
                raise Refused(500, f"{type(e).__name__}: {one_line(e)}", "server_error") from None
        return {
            "id": f"chatcmpl-{uuid.uuid4().hex}",
            "object": "chat.completion",
            "created": int(time.time()),
            "model": c.model,
            "choices": [
                {
                    "index": 0,
                    "message": {"role": "assistant", "content": c.text},
                    "finish_reason": "length" if c.completion_tokens >= max_tokens else "stop",
                }
            ],
            "usage": {
                "prompt_tokens": c.prompt_tokens,
                "completion_tokens": c.completion_tokens,
                "total_tokens": c.prompt_tokens + c.completion_tokens,
            },
        }

    return app


def make_llm(spec: str, threads: int = 1) -> TextLLM:
    """``embedded``, ``rules`` or ``package.module:factory`` (called with no arguments)."""
    target = LLM_ALIASES.get(spec, spec)
    module, _, attr = target.partition(":")
    if not attr:
        raise ValueError(f"--llm {spec!r}: expected embedded, rules or module:factory")
    try:
        factory = getattr(importlib.import_module(module), attr)
    except (ImportError, AttributeError) as e:
        raise ValueError(f"--llm {spec!r}: {one_line(e)}") from None
    return factory(threads=threads) if spec == "embedded" else factory()


def is_loopback(host: str) -> bool:
    """Whether ``host`` (a name or an address) is reachable from this machine only."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def check_bind(host: str, api_key: str | None) -> None:
    """`ValueError` for a ``host`` reachable from other machines without an API key."""
    if not api_key and not is_loopback(host):
        raise ValueError(
            f"--host {host} is reachable from other machines: set an API key "
            f"(--api-key or {API_KEY_ENV})"
        )


def serve(
    spec: str = "embedded",
    *,
    host: str = "127.0.0.1",
    port: int = 8000,
    threads: int = 1,
    api_key: str | None = None,
    limits: Limits | None = None,
) -> None:
    """Serve until interrupted; `ValueError` for a non-loopback ``host`` without a key."""
    import uvicorn

    check_bind(host, api_key)
    llm = make_llm(spec, threads)
    print(f"serving {llm.model_id} on http://{host}:{port}/v1", flush=True)
    app = create_app(llm, limits, api_key=api_key or None)
    uvicorn.run(app, host=host, port=port, log_level="warning")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass(frozen=True)
class Launched:
    url: str
    process: subprocess.Popen
    log: Path


@contextmanager
def launch(
    spec: str = "embedded",
    *,
    port: int | None = None,
    threads: int = 1,
    max_pending: int = 16,
    api_key: str | None = None,
    wait_ready: bool = False,
    timeout: float = 180.0,
) -> Iterator[Launched]:
    """Run ``musicflamingo serve-llm`` in a child process on a free loopback port until the
    block ends (the key, if any, goes by environment, not on the command line).

    Returns once it answers ``/v1/models`` (or, with ``wait_ready``, once the model has
    loaded); raises `RuntimeError` with the end of its log if it exits or times out."""
    port = port or free_port()
    cmd = [
        *(sys.executable, "-m", "musicflamingo", "serve-llm", "--llm", spec),
        *("--port", str(port), "--threads", str(threads), "--max-pending", str(max_pending)),
    ]
    probe = "/health" if wait_ready else "/v1/models"
    with run_server(cmd, port, probe, api_key, timeout) as launched:
        yield launched


@contextmanager
def run_server(
    cmd: list[str], port: int, probe: str, api_key: str | None, timeout: float
) -> Iterator[Launched]:
    """Run the server command ``cmd`` (listening on loopback ``port``) until the block
    ends, its output in a temporary log and the key, if any, in its environment; returns
    once ``probe`` answers 200 (asked with the key). On the way out it is terminated
    (killed after 10 s)."""
    url = f"http://127.0.0.1:{port}"
    env = {k: v for k, v in os.environ.items() if k != API_KEY_ENV}
    if api_key:
        env[API_KEY_ENV] = api_key
    with tempfile.TemporaryDirectory(prefix="mf-server-") as tmp:
        log = Path(tmp) / "server.log"
        with log.open("wb") as sink:
            proc = subprocess.Popen(cmd, stdout=sink, stderr=subprocess.STDOUT, env=env)
        try:
            headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
            wait_up(url + probe, headers, proc, log, timeout)
            yield Launched(url, proc, log)
        finally:
            proc.terminate()
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


def wait_up(
    url: str, headers: dict[str, str], proc: subprocess.Popen, log: Path, timeout: float
) -> None:
    """Return once ``url`` answers 200; `RuntimeError` with the log's end if ``proc`` exits
    or ``timeout`` passes first."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            tail = log.read_text(errors="replace")[-2000:]
            raise RuntimeError(f"server exited with {proc.returncode}: {tail}")
        try:
            if httpx.get(url, headers=headers, timeout=2).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    raise RuntimeError(f"server not up at {url} after {timeout:g} s")
