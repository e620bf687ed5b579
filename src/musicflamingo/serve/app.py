"""``musicflamingo serve``: the app, its model routes and the process that runs it.

Routes here: ``/healthz`` (alive), ``/readyz`` (503 until the weights have loaded),
``/v1/models``, ``/v1/chat/completions`` (see `chat`; streamed as server-sent events with
``stream: true``) and ``/v1/audio/describe`` (see `describe`); the page and the facts routes
come from `serve.web`. Limits as in ``serve-llm`` (`musicflamingo.llm.server`): more than
``max_pending`` requests in flight get 429 before their body is read, a body over the size
limit 413 from its ``Content-Length``, every client mistake 400 with one line, audio is
refused by its container header before it is decoded, and nothing is ever fetched from a
path or URL on a client's behalf. A request whose client goes away is dropped from the
queue, or stopped at its next token if it is being decoded, and its slot is freed.
"""

from __future__ import annotations

import asyncio
import hashlib
import sys
import threading
import weakref
from collections.abc import AsyncIterator, Iterator
from concurrent.futures import Future
from contextlib import asynccontextmanager, contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from fastapi import Depends, FastAPI, Request
from fastapi.responses import JSONResponse, StreamingResponse
from starlette.concurrency import run_in_threadpool

from musicflamingo import audio
from musicflamingo.facts import lyrics
from musicflamingo.llm.audio_in import decode_audio
from musicflamingo.llm.base import LLMRequestError, one_line
from musicflamingo.llm.server import (
    Launched,
    Limits,
    Refused,
    bad_request,
    check_bind,
    free_port,
    read_body,
    run_server,
)
from musicflamingo.serve import BATCH_WINDOW, MAX_BATCH, chat
from musicflamingo.serve.auth import require_key
from musicflamingo.serve.context import ServeContext

if TYPE_CHECKING:  # the model side loads torch: only imported when there is a model
    from musicflamingo.serve.batching import Batcher, Follow

POLL_SECONDS = 0.05  # how often a waiting request checks that its client is still there


class _Slot:
    """A taken place in flight, given back once (on leaving the block unless ``kept``)."""

    def __init__(self, service: _Service):
        limit = service.ctx.limits.max_pending
        with service.lock:
            if service.pending >= limit:
                raise Refused(429, f"busy: {limit} requests in flight", "busy", 1)
            service.pending += 1
        self.service, self.kept, self.released = service, False, False

    def __enter__(self) -> _Slot:
        return self

    def __exit__(self, *_: object) -> None:
        if not self.kept:
            self.release()

    def release(self) -> None:
        with self.service.lock:
            if not self.released:
                self.released = True
                self.service.pending -= 1


class _Service:
    """The loaded model's side of the app: the batcher, shared decoded audio and counts."""

    def __init__(self, ctx: ServeContext, max_batch: int, window: float):
        self.ctx, self.max_batch, self.window = ctx, max_batch, window
        self.batcher: Batcher | None = None
        self.pending = 0
        self.cancelled = 0
        self.lock = threading.Lock()
        # the same audio bytes in flight decode to one object: one shared audio prefill
        self.audio: weakref.WeakValueDictionary[str, audio.Audio] = weakref.WeakValueDictionary()

    def load(self, device: str | None, dtype: str | None, part_seconds: float | None) -> None:
        from musicflamingo.model.runtime import MusicFlamingo
        from musicflamingo.serve.batching import Batcher

        ctx = self.ctx
        try:
            if ctx.model is None and ctx.model_id is not None:
                ctx.model = MusicFlamingo.from_pretrained(
                    ctx.model_id,
                    device=device,
                    dtype=dtype,
                    batch_size=self.max_batch,
                    part_seconds=part_seconds,
                )
            if ctx.model is not None:
                self.batcher = Batcher(ctx.model, self.max_batch, self.window)
        except Exception as e:  # noqa: BLE001 - reported by /readyz and every model route
            ctx.model = None
            ctx.load_error = f"model failed to load: {one_line(e)}"
        ctx.loaded.set()

    def ready(self) -> Batcher:
        """The batcher, or the reason there is none (404 facts-only, 503 loading, 500)."""
        ctx = self.ctx
        if ctx.model_id is None:
            raise Refused(
                404, "this server runs facts only (started without --model)", "not_found_error"
            )
        if ctx.load_error:
            raise Refused(500, ctx.load_error, "server_error")
        if self.batcher is None:
            raise Refused(503, f"{ctx.model_id} is loading", "unavailable", retry_after=1)
        return self.batcher

    def slot(self) -> _Slot:
        """One of ``max_pending`` places in flight (429 when none is free)."""
        return _Slot(self)

    def decode(self, part: dict[str, Any]) -> audio.Audio:
        """The ``input_audio`` part decoded (400 for anything unusable), shared by requests
        in flight that sent the same bytes."""
        from musicflamingo.model.runtime import MIN_SECONDS

        model = self.ctx.model
        assert model is not None
        key = hashlib.sha256(f"{part.get('format')}:{part.get('data')}".encode()).hexdigest()
        found = self.audio.get(key)
        if found is not None:
            return found
        try:
            clip = decode_audio(part, model.frontend.sr, self.ctx.limits.max_audio_seconds)
        except LLMRequestError as e:
            raise bad_request(one_line(e)) from None
        if clip.duration < MIN_SECONDS:
            raise bad_request(f"input_audio is {clip.duration:.3f} s long: too short to hear")
        model.prepare(clip)  # its features, here rather than on the model's thread
        return self.audio.setdefault(key, clip)

    async def answer(self, request: Request, fut: Future, follows: list[Follow]) -> Any:
        """The future's result; cancelled (and its rows stopped) if the client goes away."""
        wrapped = asyncio.wrap_future(fut)
        try:
            while True:
                done, _ = await asyncio.wait({wrapped}, timeout=POLL_SECONDS)
                if done:
                    return self.result(wrapped)
                if await request.is_disconnected():
                    raise asyncio.CancelledError
        except asyncio.CancelledError:
            self.cancel(fut, follows)
            raise

    def cancel(self, fut: Future, follows: list[Follow]) -> None:
        fut.cancel()
        for f in follows:
            f.cancelled = True
        with self.lock:
            self.cancelled += 1

    @staticmethod
    def result(fut: asyncio.Future) -> Any:
        try:
            return fut.result()
        except ValueError as e:  # the runtime's word on a request it cannot take
            raise bad_request(one_line(e)) from None
        except Exception as e:  # noqa: BLE001 - the server's own failure
            raise Refused(500, f"{type(e).__name__}: {one_line(e)}", "server_error") from None


def create_app(
    ctx: ServeContext,
    *,
    max_batch: int = MAX_BATCH,
    batch_window: float = BATCH_WINDOW,
    device: str | None = None,
    dtype: str | None = None,
    part_seconds: float | None = None,
) -> FastAPI:
    """The app for ``ctx``; with a model id and no model yet, the weights load in the
    background (``/readyz`` says when). ``max_batch`` requests at most go through the model
    together, collected for ``batch_window`` seconds after the first."""
    from musicflamingo.serve import web

    service = _Service(ctx, max_batch, batch_window)

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        if ctx.model_id is None:
            ctx.loaded.set()
        else:
            threading.Thread(
                target=service.load, args=(device, dtype, part_seconds), daemon=True
            ).start()
        yield
        if service.batcher is not None:
            service.batcher.close()

    app = FastAPI(title="musicflamingo serve", lifespan=lifespan)
    app.state.ctx = ctx

    @app.exception_handler(Refused)
    async def refused(_: Request, e: Refused) -> JSONResponse:
        return e.response()

    @app.get("/healthz")
    def healthz() -> dict[str, Any]:
        stats = service.batcher.stats if service.batcher else None
        return {
            "status": "ok",
            "model": ctx.model_id,
            "ready": ctx.ready,
            "pending": service.pending,
            "cancelled": service.cancelled,
            "batches": stats.__dict__ if stats else None,
        }

    @app.get("/readyz")
    def readyz() -> dict[str, Any]:
        if ctx.model_id is not None:
            service.ready()
        return {"status": "ready", "model": ctx.model_id}

    @app.get("/v1/models", dependencies=[Depends(require_key)])
    def models() -> dict[str, Any]:
        data = []
        if ctx.model_id is not None:
            data.append({"id": ctx.model_id, "object": "model", "owned_by": "musicflamingo"})
        return {"object": "list", "data": data}

    @app.post("/v1/chat/completions", dependencies=[Depends(require_key)])
    async def chat_completions(request: Request):
        batcher = service.ready()
        with service.slot() as slot:
            raw = await read_body(request, ctx.limits.max_body_bytes)
            body, talk, tokens = chat.parse_body(raw, ctx.limits)
            if body.model is not None and body.model != ctx.model_id:
                raise Refused(404, f"model {body.model!r} is not served here", "not_found_error")
            clip = await run_in_threadpool(service.decode, talk.audio) if talk.audio else None
            return await _chat(request, batcher, body, talk, tokens, clip, slot)

    async def _chat(request, batcher, body, talk, tokens, clip, slot):
        from musicflamingo.model.decoding import Sampling
        from musicflamingo.model.runtime import Request as Ask
        from musicflamingo.serve.batching import Follow

        model = ctx.model
        assert model is not None and ctx.model_id is not None
        cid, name = chat.completion_id(), ctx.model_id
        loop = asyncio.get_running_loop()
        queue: asyncio.Queue[str] = asyncio.Queue()
        tokenizer = model.frontend.tokenizer

        def on_text(text: str) -> None:
            loop.call_soon_threadsafe(queue.put_nowait, text)

        follow = Follow(
            lambda ids: tokenizer.decode(ids, skip_special_tokens=True),
            body.stops,
            on_text if body.stream else None,
        )
        sampling = None
        if body.temperature > 0:
            sampling = Sampling(body.temperature, body.top_p, body.seed)
        try:
            ask = Ask(
                clip,
                "ask",
                question=talk.question,
                history=talk.history,
                max_new_tokens=tokens,
                sampling=sampling,
                listener=follow,
            )
        except ValueError as e:
            raise bad_request(one_line(e)) from None
        fut = batcher.submit([ask])
        if not body.stream:
            answer = (await service.answer(request, fut, [follow]))[0]
            text = follow.cut(answer.text)
            return chat.completion(cid, name, text, answer, follow.prompt_tokens)
        usage = body.stream_options.include_usage if body.stream_options else False
        slot.kept = True  # the stream releases it when it ends (or is collected unstarted)
        stream = _stream(request, cid, name, fut, follow, queue, usage, slot)
        weakref.finalize(stream, slot.release)
        return StreamingResponse(
            stream,
            media_type="text/event-stream",
            headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
        )

    async def _stream(request, cid, name, fut, follow, queue, include_usage, slot):
        """Holds its slot until the stream ends; a client that leaves cancels the request."""
        wrapped = asyncio.wrap_future(fut)
        try:
            yield chat.chunk(cid, name, {"role": "assistant", "content": ""})
            while not (wrapped.done() and queue.empty()):
                if not queue.empty():
                    pieces = []
                    while not queue.empty():
                        pieces.append(queue.get_nowait())
                    yield chat.chunk(cid, name, {"content": "".join(pieces)})
                    continue
                getter = asyncio.ensure_future(queue.get())
                done, _ = await asyncio.wait(
                    {getter, wrapped}, timeout=POLL_SECONDS, return_when="FIRST_COMPLETED"
                )
                if getter in done:
                    yield chat.chunk(cid, name, {"content": getter.result()})
                    continue
                getter.cancel()
                if not done and await request.is_disconnected():
                    raise asyncio.CancelledError
            try:
                answer = service.result(wrapped)[0]
            except Refused as e:
                yield chat.event(chat.error(e))
                return
            rest = follow.cut(answer.text)
            if rest.startswith(follow.sent) and len(rest) > len(follow.sent):
                yield chat.chunk(cid, name, {"content": rest[len(follow.sent) :]})
            if answer.thinking:
                yield chat.chunk(cid, name, {"reasoning_content": answer.thinking})
            finish = chat.finish_reason(answer)
            yield chat.chunk(cid, name, {}, finish, musicflamingo=chat.extras(answer))
            if include_usage:
                used = chat.usage(follow.prompt_tokens, answer.new_tokens)
                yield chat.chunk(cid, name, None, usage=used)
            yield chat.event("[DONE]")
        except (asyncio.CancelledError, GeneratorExit, OSError):
            service.cancel(fut, [follow])
            raise
        finally:
            slot.release()

    @app.post("/v1/audio/describe", dependencies=[Depends(require_key)])
    async def describe_route(request: Request):
        batcher = service.ready()
        from musicflamingo.serve import describe

        with service.slot():
            raw = await read_body(request, ctx.limits.max_body_bytes)
            body = describe.parse_body(raw)
            clip = await run_in_threadpool(service.decode, body.audio.model_dump())
            facts = body.facts
            if facts is None:
                facts = await run_in_threadpool(describe.measure, clip, ctx.limits)
            requests, follows = describe.requests(clip, facts, body)
            answers = await service.answer(request, batcher.submit(requests), follows)
            model = ctx.model
            assert model is not None
            return describe.response(model, answers, facts, follows)

    app.include_router(web.create_router(ctx))
    return app


def serve(
    model: str | None,
    *,
    host: str = "127.0.0.1",
    port: int = 8000,
    api_key: str | None = None,
    limits: Limits | None = None,
    max_batch: int = MAX_BATCH,
    batch_window: float = BATCH_WINDOW,
    device: str | None = None,
    dtype: str | None = None,
    part_seconds: float | None = None,
    work_dir: Path | None = None,
    lyrics_model: str | None = lyrics.DEFAULT_MODEL,
) -> None:
    """Serve until interrupted; `ValueError` for a non-loopback ``host`` without a key.
    The page's analyses measure lyrics with ``lyrics_model`` (None: no lyrics)."""
    import uvicorn

    from musicflamingo.facts.extract import FactsConfig

    check_bind(host, api_key)
    ctx = ServeContext(
        limits=limits or Limits(),
        api_key=api_key or None,
        model_id=model,
        work_dir=work_dir,
        facts_config=FactsConfig(lyrics_model=lyrics_model),
    )
    app = create_app(
        ctx,
        max_batch=max_batch,
        batch_window=batch_window,
        device=device,
        dtype=dtype,
        part_seconds=part_seconds,
    )
    what = model or "facts only"
    print(f"serving {what} on http://{host}:{port} (API at /v1)", flush=True)
    uvicorn.run(app, host=host, port=port, log_level="warning")


@contextmanager
def launch(
    model: str | None,
    *,
    port: int | None = None,
    api_key: str | None = None,
    args: tuple[str, ...] = (),
    wait_ready: bool = True,
    timeout: float = 180.0,
) -> Iterator[Launched]:
    """Run ``musicflamingo serve`` in a child process on a free loopback port until the
    block ends (``args``: more command-line options; the key goes by environment). Returns
    once it is ready (or, without ``wait_ready``, alive); `RuntimeError` with the end of its
    log if it exits or times out first."""
    port = port or free_port()
    cmd = [sys.executable, "-m", "musicflamingo", "serve", "--port", str(port), *args]
    if model is not None:
        cmd += ["--model", model]
    with run_server(cmd, port, "/readyz" if wait_ready else "/healthz", api_key, timeout) as up:
        yield up
