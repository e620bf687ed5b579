"""The page's HTTP routes on a real loopback server: facts, jobs with live stage events,
downloads, and the limits (413 before the body, 429 before the body, 400 one line, 401)."""

from __future__ import annotations

import base64
import itertools
import json
import multiprocessing as mp
import re
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest
import soundfile as sf
from media import FIXTURES

from musicflamingo import audio
from musicflamingo.facts.extract import FactsConfig, Timings, analyze
from musicflamingo.facts.harmony import short_name
from musicflamingo.facts.schema import SongFacts
from musicflamingo.llm.server import Limits, free_port
from musicflamingo.model.prompts import NEW_TOKENS, THINK_TOKENS, user_text
from musicflamingo.serve.context import ServeContext

MAX_SECONDS = 60.0
MAX_BYTES = 4 * 2**20
pytestmark = pytest.mark.timeout(120)


class Server:
    """``create_app(ctx)`` under uvicorn in a thread on a free loopback port."""

    def __init__(self, ctx: ServeContext):
        import uvicorn

        from musicflamingo.serve.app import create_app

        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        config = uvicorn.Config(create_app(ctx), port=self.port, log_level="warning")
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def __enter__(self) -> Server:
        self.thread.start()
        deadline = time.monotonic() + 30
        while not self.server.started:
            assert time.monotonic() < deadline, "server did not start"
            time.sleep(0.05)
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(30)


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    ctx = ServeContext(
        limits=Limits(max_audio_seconds=MAX_SECONDS, max_body_bytes=MAX_BYTES),
        work_dir=tmp_path_factory.mktemp("serve"),
        facts_config=FactsConfig(lyrics_model=None),
        max_jobs=2,
    )
    with Server(ctx) as s:
        yield s


@pytest.fixture(scope="module")
def clip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The first 10 s of a rendered fixture (pop, C major), Ogg/Vorbis."""
    song = audio.load(FIXTURES / "song01_pop_c.ogg", 22_050, max_duration=600)
    path = tmp_path_factory.mktemp("clip") / "pop clip.ogg"
    sf.write(path, song.samples[: 10 * 22_050], 22_050, format="OGG", subtype="VORBIS")
    return path


def _error(r: httpx.Response, status: int) -> str:
    assert r.status_code == status, r.text
    message = r.json()["error"]["message"]
    assert "\n" not in message
    return message


def _events(url: str) -> list[dict]:
    """Every ``job`` event of a job's stream, until the server ends it."""
    seen = []
    with httpx.stream("GET", url, timeout=60) as r:
        assert r.headers["content-type"].startswith("text/event-stream")
        event = None
        for line in r.iter_lines():
            if line.startswith("event:"):
                event = line.split(":", 1)[1].strip()
            elif line.startswith("data:") and event == "job":
                seen.append(json.loads(line[5:]))
    return seen


def test_analyze_answers_the_json_of_analyze_format_json(server: Server, clip: Path) -> None:
    direct = analyze(clip, FactsConfig(lyrics_model=None))
    r = httpx.post(
        f"{server.url}/v1/audio/analyze?name=a.ogg", content=clip.read_bytes(), timeout=60
    )
    assert r.status_code == 200, r.text
    served = SongFacts.model_validate_json(r.text)
    assert served.model_dump(exclude={"source"}) == direct.model_dump(exclude={"source"})
    assert served.source.size_bytes == clip.stat().st_size and served.source.codec == "vorbis"
    assert served.chords and served.sections and served.key is not None
    # the chat messages' input_audio shape gives the same facts
    part = {"input_audio": {"data": base64.b64encode(clip.read_bytes()).decode(), "format": "ogg"}}
    r = httpx.post(f"{server.url}/v1/audio/analyze", json=part, timeout=60)
    assert r.status_code == 200, r.text
    assert SongFacts.model_validate_json(r.text).chords == direct.chords


def _stages_entered(clip: Path) -> list[str]:
    """The stages `analyze` enters on ``clip`` (lyrics off, as the server), in order with
    their repeats, then the job's report."""

    class Entered(Timings):
        def __init__(self) -> None:
            super().__init__()
            self.names: list[str] = []

        @contextmanager
        def stage(self, name: str) -> Iterator[None]:
            self.names.append(name)
            with super().stage(name):
                yield

    entered = Entered()
    analyze(clip, FactsConfig(lyrics_model=None), entered)
    return [*entered.names, "report"]


def test_job_streams_its_stages_then_serves_its_files(server: Server, clip: Path) -> None:
    r = httpx.post(f"{server.url}/v1/audio/jobs?name=pop clip.ogg", content=clip.read_bytes())
    assert r.status_code == 202, r.text
    job = r.json()
    assert job["status"] in ("queued", "running") and job["name"] == "pop clip.ogg"
    base = f"{server.url}/v1/audio/jobs/{job['id']}"
    seen = _events(f"{base}/events")
    last = seen[-1]
    assert last["status"] == "done", last
    # live progress: stages were seen running, one after the other, before the end (each event
    # is a snapshot, so a fast stage may finish between two of them: not every stage is seen;
    # key, chords and beats run twice, and only their second run may be seen)
    running = [s["name"] for e in seen[:-1] for s in e["stages"] if s["state"] == "running"]
    assert running, "no stage was seen running before the job ended"
    entered = _stages_entered(clip)
    steps = iter(entered)  # each stage seen (one run of snapshots each) is entered after the last
    assert all(name in steps for name, _ in itertools.groupby(running)), (running, entered)
    states = {s["name"]: s["state"] for s in last["stages"]}
    assert states["decode"] == states["report"] == "done"
    assert "lyrics" not in states and states["chords"] == "done"  # the server's lyrics are off
    assert dict(last["summary"])["Key"].startswith("C major")
    assert set(last["files"]) == {
        "facts.json",
        "report.md",
        "chords.png",
        "loudness.png",
        "tempo.png",
    }
    assert httpx.get(base).json() == last

    facts = SongFacts.model_validate_json(httpx.get(f"{base}/files/facts.json").text)
    assert last["chord_names"] == {c.label: short_name(c.label) for c in facts.chords}
    assert last["chord_names"].get("C:maj", "C") == "C"
    report = httpx.get(f"{base}/files/report.md")
    assert (
        report.text.startswith("# song") and "attachment" in report.headers["content-disposition"]
    )
    png = httpx.get(f"{base}/files/chords.png")
    assert png.content[:8] == b"\x89PNG\r\n\x1a\n"
    assert _error(httpx.get(f"{base}/files/song.ogg"), 404)
    assert _error(httpx.get(f"{server.url}/v1/audio/jobs/nope"), 404)


def test_a_dead_worker_fails_its_job_and_a_new_one_takes_the_next(
    server: Server, clip: Path
) -> None:
    r = httpx.post(f"{server.url}/v1/audio/jobs?name=doomed.ogg", content=clip.read_bytes())
    base = f"{server.url}/v1/audio/jobs/{r.json()['id']}"
    with httpx.stream("GET", f"{base}/events", timeout=60) as events:
        for line in events.iter_lines():  # until the worker has started on it
            if line.startswith("data:") and '"running"' in line:
                break
    for worker in mp.active_children():  # this server's analysis workers
        worker.kill()
    last = _events(f"{base}/events")[-1]
    assert last["status"] == "failed", last
    assert last["error"] == "the analysis crashed: its worker process died"
    assert "failed" in {s["state"] for s in last["stages"]}
    r = httpx.post(f"{server.url}/v1/audio/analyze", content=clip.read_bytes(), timeout=60)
    assert r.status_code == 200 and SongFacts.model_validate_json(r.text).chords


def test_bad_and_long_audio_get_one_line_400(server: Server) -> None:
    r = httpx.post(f"{server.url}/v1/audio/jobs?name=notes.mp3", content=b"just some text\n" * 50)
    assert "not readable audio" in _error(r, 400)
    r = httpx.post(f"{server.url}/v1/audio/analyze", json={"input_audio": {"data": "@@"}})
    assert "base64" in _error(r, 400)
    assert "empty" in _error(httpx.post(f"{server.url}/v1/audio/analyze", content=b""), 400)
    long_song = FIXTURES / "song01_pop_c.ogg"  # 1:10 by its header, over the 1:00 limit
    t0 = time.monotonic()
    r = httpx.post(f"{server.url}/v1/audio/jobs?name=long.ogg", content=long_song.read_bytes())
    assert "1:10 long; this server takes at most 1:00" in _error(r, 400)
    assert time.monotonic() - t0 < 10  # refused by its header, not after a decode


def _raw_upload(port: int, length: int, sent: bytes = b"") -> socket.socket:
    """A request that states ``length`` bytes of body and sends only ``sent`` (so far)."""
    s = socket.create_connection(("127.0.0.1", port))
    head = (
        f"POST /v1/audio/jobs?name=x.ogg HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        f"Content-Type: audio/ogg\r\nContent-Length: {length}\r\n\r\n"
    )
    s.sendall(head.encode() + sent)
    return s


def test_limits_are_checked_before_the_body_is_read(server: Server) -> None:
    # 413 from Content-Length alone: the body is never sent
    with _raw_upload(server.port, MAX_BYTES + 1) as s:
        s.settimeout(10)
        reply = s.recv(4096).decode()
    assert reply.startswith("HTTP/1.1 413"), reply
    # two uploads still arriving hold both job slots; the third is refused before its body
    holding = [_raw_upload(server.port, 1000, b"OggS") for _ in range(2)]
    try:
        time.sleep(0.5)
        r = httpx.post(f"{server.url}/v1/audio/jobs", content=b"x" * 100)
        assert "busy" in _error(r, 429) and float(r.headers["retry-after"]) > 0
    finally:
        for s in holding:
            s.close()
    # the clients went away: their slots are free again
    deadline = time.monotonic() + 10
    while (r := httpx.post(f"{server.url}/v1/audio/jobs", content=b"x")).status_code == 429:
        assert time.monotonic() < deadline, "slots of disconnected uploads were not freed"
        time.sleep(0.2)
    assert "not readable audio" in _error(r, 400)


def test_page_static_files_and_prompts(server: Server) -> None:
    page = httpx.get(server.url + "/")
    assert page.status_code == 200 and "text/html" in page.headers["content-type"]
    assert '<script src="/static/app.js"' in page.text
    page_text = page.text
    for name in ("app.js", "style.css", "icon.svg"):
        r = httpx.get(f"{server.url}/static/{name}")
        assert r.status_code == 200 and r.text
        page_text += r.text
    # everything is served by the app: no CDN, no other site (the SVG namespace is a name)
    assert set(re.findall(r"https?://[^\s\"'<>)]+", page_text)) <= {"http://www.w3.org/2000/svg"}
    r = httpx.get(f"{server.url}/static/..%2Fweb.py")
    assert r.status_code == 404 and "create_router" not in r.text
    assert _error(httpx.get(f"{server.url}/static/nope.js"), 404)
    r = httpx.get(
        f"{server.url}/v1/audio/prompt", params={"question": "Which?", "option": ["a", "b"]}
    )
    assert r.json()["text"].endswith("options:\n(A) a\n(B) b") and r.json()["task"] == "choose"
    r = httpx.get(f"{server.url}/v1/audio/prompt", params={"question": "Why?", "think": "true"})
    assert r.json()["text"] == user_text("Why?", think=True) and "<think>" in r.json()["text"]
    assert r.json()["max_tokens"] == NEW_TOKENS["ask"] + THINK_TOKENS
    r = httpx.get(f"{server.url}/v1/audio/prompt", params={"question": "Which?", "option": ["a"]})
    assert "2 to 26 options" in _error(r, 400)


def test_a_key_protects_the_api_but_not_the_page(tmp_path: Path) -> None:
    ctx = ServeContext(api_key="sesame", work_dir=tmp_path)
    with Server(ctx) as s:
        assert httpx.get(s.url + "/").status_code == 200
        assert httpx.get(s.url + "/static/app.js").status_code == 200
        r = httpx.post(s.url + "/v1/audio/jobs", content=b"x")
        assert "API key" in _error(r, 401)
        r = httpx.post(
            s.url + "/v1/audio/jobs", content=b"x", headers={"Authorization": "Bearer sesame"}
        )
        assert _error(r, 400)


def test_serve_with_lyrics_model_none_runs_jobs_without_a_lyrics_stage(
    clip: Path, tmp_path: Path
) -> None:
    from musicflamingo.serve.app import launch

    args = ("--lyrics-model", "none", "--work-dir", str(tmp_path))
    with launch(None, args=args) as served:
        r = httpx.post(f"{served.url}/v1/audio/jobs?name=a.ogg", content=clip.read_bytes())
        assert r.status_code == 202, r.text
        base = f"{served.url}/v1/audio/jobs/{r.json()['id']}"
        last = _events(f"{base}/events")[-1]
        assert last["status"] == "done", last
        stages = [s["name"] for s in last["stages"]]
        assert "lyrics" not in stages and {"decode", "chords", "report"} <= set(stages)
        facts = SongFacts.model_validate_json(httpx.get(f"{base}/files/facts.json").text)
        assert facts.lyrics is None and facts.undetected["lyrics"] == "lyrics not requested"


def test_the_event_stream_ends_with_the_finished_job(tmp_path: Path) -> None:
    """The job finishes (on the listener thread) while an event is on its way: the stream
    still sends the finished job before it ends."""
    import asyncio

    from musicflamingo.serve.jobs import Job, Jobs
    from musicflamingo.serve.web import job_stream

    async def events() -> list[str]:
        job = Job("j1", "a.ogg", tmp_path, tmp_path / "song.ogg", status="running")
        stream = job_stream(job)
        first = await anext(stream)
        job.status = "done"
        Jobs._pulse(job)  # what the listener does after every change
        return [first, *[e async for e in stream]]

    sent = [json.loads(e.split("data: ", 1)[1]) for e in asyncio.run(events())]
    assert [e["status"] for e in sent] == ["running", "done"]


def test_a_worker_dying_between_two_stages_fails_the_next_one(tmp_path: Path) -> None:
    """The kill can fall after a stage ended and before the next said it started: the job
    still shows where it failed; a job still queued when its pool broke fails no stage."""
    from musicflamingo.serve.jobs import Job, Jobs, Stage

    jobs = Jobs(tmp_path, FactsConfig())
    between = Job("j1", "a.ogg", tmp_path, tmp_path / "song.ogg", status="running")
    between.stages["decode"] = Stage(name="decode", state="done", seconds=0.1)
    jobs._finish(between, error="the analysis crashed: its worker process died")
    states = {s.name: s.state for s in between.view().stages}
    assert states["decode"] == "done" and states["loudness"] == "failed"
    assert {states[n] for n in states if n not in ("decode", "loudness")} == {"skipped"}

    queued = Job("j2", "b.ogg", tmp_path, tmp_path / "song.ogg")
    jobs._finish(queued, error="the analysis crashed: its worker process died")
    assert {s.state for s in queued.view().stages} == {"skipped"}


_DIES_HOLDING_THE_QUEUE = """
import os, signal, sys
from pathlib import Path

from musicflamingo.facts.extract import FactsConfig
from musicflamingo.serve import jobs


def die_mid_message():
    jobs._progress._wlock.acquire()  # what a worker killed while sending leaves behind
    os.kill(os.getpid(), signal.SIGKILL)


if __name__ == "__main__":
    server = jobs.Jobs(Path(sys.argv[1]), FactsConfig())
    pool = server._executor()
    try:
        pool.submit(die_mid_message).result()
    except Exception as e:
        print(type(e).__name__)
    server._retire(pool)  # what a dead worker's job does
    server.close()
    print("closed")
"""


def test_a_worker_killed_mid_message_leaves_the_server_free_to_exit(tmp_path: Path) -> None:
    """A worker killed while it sends progress holds the queue's write lock for ever: the
    server must stop that queue's listener and exit without writing to it."""
    import subprocess
    import sys

    script = tmp_path / "dies.py"
    script.write_text(_DIES_HOLDING_THE_QUEUE)
    run = subprocess.run(
        [sys.executable, str(script), str(tmp_path)], capture_output=True, text=True, timeout=30
    )
    assert run.returncode == 0, run.stderr[-2000:]
    assert run.stdout.split() == ["BrokenProcessPool", "closed"]
