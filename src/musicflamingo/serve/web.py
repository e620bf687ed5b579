"""The web page and the measured-facts routes of ``musicflamingo serve``.

    GET  /                                the page (static/index.html)
    GET  /static/{file}                   its script, styles and icon
    POST /v1/audio/analyze                one song's measured facts (``analyze --format json``)
    POST /v1/audio/jobs?name=song.mp3     upload a song (raw bytes) to analyse: 202 + the job
    GET  /v1/audio/jobs/{id}              the job: status, stages, summary, files
    GET  /v1/audio/jobs/{id}/events       the same as server-sent events, one per change
    GET  /v1/audio/jobs/{id}/files/{f}    facts.json, report.md, chords/loudness/tempo.png
    GET  /v1/audio/prompt?question=…      the runtime's prompt text for a question (with
                                          ``option=`` twice or more: multiple choice;
                                          ``think=true``: reasoning first)

A request is refused before it costs anything: 429 + ``Retry-After`` while ``max_jobs`` songs
are in work (before the body is read), 413 for a body over the limit (from its
``Content-Length``), then 400 with one line for audio that is unreadable or longer than the
limit by its container header, before anything is decoded. Songs are measured in a worker
process (`serve.jobs`), never on the event loop.
"""

from __future__ import annotations

import asyncio
import json
import shutil
import tempfile
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import replace
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import FileResponse, JSONResponse, Response, StreamingResponse
from starlette.concurrency import run_in_threadpool
from starlette.requests import ClientDisconnect

from musicflamingo import audio
from musicflamingo.analyze import FACTS_FILE
from musicflamingo.llm.audio_in import part_bytes
from musicflamingo.llm.base import LLMRequestError
from musicflamingo.llm.server import Refused, bad_request, read_body
from musicflamingo.serve.auth import require_key
from musicflamingo.serve.context import ServeContext
from musicflamingo.serve.jobs import DOWNLOADS, Busy, Job, Jobs
from musicflamingo.util import clock

STATIC = Path(__file__).parent / "static"
KEEPALIVE_SECONDS = 15.0
_FORMATS = {"audio/mpeg": ".mp3", "audio/wav": ".wav", "audio/x-wav": ".wav", "audio/flac": ".flac"}
_FORMATS |= {"audio/ogg": ".ogg", "audio/mp4": ".m4a", "audio/webm": ".webm", "audio/aac": ".aac"}


def _song_name(request: Request, name: str | None) -> str:
    """The uploaded file's name, or one with the extension its content type implies."""
    if name:
        return name
    kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
    return "song" + _FORMATS.get(kind, "")


def _audio_json(raw: bytes) -> tuple[str, bytes]:
    """``{"input_audio": {"data": base64, "format": "mp3"}}`` -> (a file name, the bytes)."""
    try:
        part = json.loads(raw)["input_audio"]
        if not isinstance(part, dict) or "data" not in part:
            raise KeyError("data")
    except (UnicodeDecodeError, json.JSONDecodeError, TypeError, KeyError):
        raise bad_request('expected {"input_audio": {"data": base64, "format": ...}}') from None
    try:
        data, suffix = part_bytes(part)
    except LLMRequestError as e:
        raise bad_request(str(e)) from None
    return "song" + suffix, data


def _check_audio(path: Path, max_seconds: float) -> None:
    """400 for a file that is not audio or is too long by its header (nothing decoded)."""
    try:
        _, stated = audio.probe(path)
    except audio.AudioError as e:
        raise bad_request(f"the upload is not readable audio: {e.reason}") from None
    if stated is not None and stated > max_seconds:
        raise bad_request(
            f"the song is {clock(stated)} long; this server takes at most {clock(max_seconds)}"
        )


async def _finished(request: Request, job: Job) -> bool:
    """Wait for the job; False as soon as the client has gone away."""
    while True:
        changed = job.changed
        if job.finished:
            return True
        try:
            await asyncio.wait_for(changed.wait(), 1.0)
        except TimeoutError:
            if await request.is_disconnected():
                return False


def _sse(event: str, data: str) -> str:
    return f"event: {event}\ndata: {data}\n\n"


async def job_stream(job: Job) -> AsyncIterator[str]:
    """``event: job`` with the job's JSON now and after every change, until it ends. Each
    event is one snapshot and the stream ends on a finished one, so the last event always
    shows the job's end (the job may finish while an event is on its way)."""
    while True:
        changed = job.changed
        view = job.view()
        yield _sse("job", view.model_dump_json())
        if view.status in ("done", "failed"):
            return
        try:
            await asyncio.wait_for(changed.wait(), KEEPALIVE_SECONDS)
        except TimeoutError:
            yield ": keep-alive\n\n"


def create_router(ctx: ServeContext) -> APIRouter:
    """The page (``/``), its static files, ``/v1/audio/analyze`` and the job routes."""
    from musicflamingo.facts.extract import FactsConfig

    limits = ctx.limits
    config = ctx.facts_config or FactsConfig()
    config = replace(config, max_duration=min(config.max_duration, limits.max_audio_seconds))
    if ctx.work_dir is None:
        root, own_dir = Path(tempfile.mkdtemp(prefix="mf-serve-")), True
    else:
        root, own_dir = ctx.work_dir / "jobs", False
    jobs = Jobs(root, config, capacity=ctx.max_jobs)

    @asynccontextmanager
    async def lifespan(_: Any) -> AsyncIterator[None]:
        try:
            yield
        finally:
            jobs.close()
            if own_dir:
                shutil.rmtree(root, ignore_errors=True)

    router = APIRouter(lifespan=lifespan)
    keyed = [Depends(require_key)]

    def job_of(job_id: str) -> Job:
        job = jobs.jobs.get(job_id)
        if job is None:
            raise Refused(
                404, f"no job {job_id[:40]!r} (finished jobs are kept a while)", "not_found_error"
            )
        return job

    async def receive(request: Request, name: str | None, json_body: bool) -> Job:
        """Slot first, then the body (413), then the header check (400): a saved song."""
        try:
            job = jobs.reserve(_song_name(request, name))
        except Busy as e:
            raise Refused(429, str(e), "busy", retry_after=5) from None
        try:
            try:
                raw = await read_body(request, limits.max_body_bytes)
            except ClientDisconnect:
                raise bad_request("the client went away during the upload") from None
            if json_body:
                fake, raw = _audio_json(raw)
                job.song = job.song.with_suffix(Path(fake).suffix)
            if not raw:
                raise bad_request("the body is empty: send the audio file's bytes")
            await run_in_threadpool(job.song.write_bytes, raw)
            await run_in_threadpool(_check_audio, job.song, limits.max_audio_seconds)
        except BaseException:
            jobs.drop(job)
            raise
        return job

    @router.get("/", include_in_schema=False)
    async def page() -> FileResponse:
        return FileResponse(STATIC / "index.html", headers={"Cache-Control": "no-cache"})

    @router.get("/static/{name}", include_in_schema=False)
    async def static(name: str) -> FileResponse:
        path = STATIC / name
        if "/" in name or name.startswith(".") or not path.is_file():
            raise Refused(404, "no such file", "not_found_error")
        return FileResponse(path, headers={"Cache-Control": "no-cache"})

    @router.post("/v1/audio/analyze", dependencies=keyed)
    async def analyze(request: Request, name: str | None = None) -> Response:
        """Measured facts of one song: the raw file as the body, or JSON with an
        ``input_audio`` part as in chat messages. The JSON of ``analyze --format json``."""
        json_body = request.headers.get("content-type", "").startswith("application/json")
        job = await receive(request, name, json_body)
        try:
            jobs.start(job, outputs=False)
            if not await _finished(request, job):
                return Response(status_code=499)  # nobody is listening any more
            if job.crashed:
                raise Refused(500, job.error or "the analysis crashed", "server_error")
            if job.error:
                raise bad_request(job.error)
            text = (job.folder / FACTS_FILE).read_text(encoding="utf-8")
        finally:
            if job.future is not None and not job.finished:
                job.future.cancel()  # the client went away while it waited in the queue
            jobs.drop(job)
        return Response(text + "\n", media_type="application/json")

    @router.post("/v1/audio/jobs", status_code=202, dependencies=keyed)
    async def create_job(request: Request, name: str | None = None) -> JSONResponse:
        """Upload one song (the raw file as the body; ``name`` its file name) to analyse."""
        job = await receive(request, name, json_body=False)
        jobs.start(job)
        return JSONResponse(job.view().model_dump(), status_code=202)

    @router.get("/v1/audio/jobs/{job_id}", dependencies=keyed)
    async def get_job(job_id: str) -> dict[str, Any]:
        return job_of(job_id).view().model_dump()

    @router.get("/v1/audio/jobs/{job_id}/events", dependencies=keyed)
    async def job_events(job_id: str) -> StreamingResponse:
        """``event: job`` with the job's JSON now and after every change, until it ends."""
        job = job_of(job_id)
        headers = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}
        return StreamingResponse(job_stream(job), media_type="text/event-stream", headers=headers)

    @router.get("/v1/audio/jobs/{job_id}/files/{name}", dependencies=keyed)
    async def job_file(job_id: str, name: str) -> FileResponse:
        job = job_of(job_id)
        path = job.folder / name
        if name not in DOWNLOADS or not job.finished or not path.is_file():
            raise Refused(404, f"no file {name[:40]!r} for this job", "not_found_error")
        stem = Path(job.name).stem or "song"
        return FileResponse(path, filename=f"{stem}-{name}")

    @router.get("/v1/audio/prompt", dependencies=keyed)
    async def prompt(
        question: str, option: Annotated[list[str] | None, Query()] = None, think: bool = False
    ) -> dict[str, Any]:
        """The text the runtime itself sends for this question (``think``: with its
        step-by-step instruction) and its token budget, so the page asks like ``--ask``."""
        from musicflamingo.model.prompts import (
            NEW_TOKENS,
            THINK_TOKENS,
            Task,
            request_text,
            user_text,
        )

        task: Task = "choose" if option else "ask"
        try:
            text = user_text(request_text(task, question, option), think=think)
        except ValueError as e:
            raise bad_request(str(e)) from None
        tokens = NEW_TOKENS[task] + (THINK_TOKENS if think else 0)
        return {"task": task, "text": text, "max_tokens": tokens}

    return router
