"""`musicflamingo serve --model` as a real process on loopback with the tiny checkpoint: the
official `openai` client, streaming, batching (batched answers equal one-at-a-time greedy
answers), sampling, stop strings, long songs heard in parts, describe, and one-line 400s
for client mistakes. The answers are compared with the runtime run in this process."""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import openai
import pytest
import soundfile as sf
from mfapi import OTHER, PART_SECONDS, SERVER_ARGS, SONG, audio_part, clip, tiny_checkpoint, user

from musicflamingo import audio
from musicflamingo.model import MusicFlamingo, Request
from musicflamingo.serve.app import launch

TOKENS = 12


@pytest.fixture(scope="module")
def ckpt(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tiny_checkpoint(tmp_path_factory)


@pytest.fixture(scope="module")
def clips(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("clips")
    return {
        "wav": clip(folder, SONG, 8.0),
        "flac": clip(folder, OTHER, 6.0, "flac", "flac"),
        "mp3": clip(folder, OTHER, 7.0, "libmp3lame", "mp3", start=10.0),
    }


@pytest.fixture(scope="module")
def server(ckpt: Path):
    with launch(str(ckpt), args=SERVER_ARGS) as s:
        yield s


@pytest.fixture(scope="module")
def mf(ckpt: Path) -> MusicFlamingo:
    return MusicFlamingo.from_pretrained(ckpt, part_seconds=PART_SECONDS)


def alone(mf: MusicFlamingo, path: Path | None, question: str, **kw: Any):
    """The runtime's answer to one request on its own (the reference)."""
    song = audio.load(path, 16000) if path else None
    req = Request(song, "ask", question=question, max_new_tokens=kw.pop("tokens", TOKENS), **kw)
    return mf.generate([req], progress=False)[0]


def post(url: str, body: Any, **kw: Any) -> httpx.Response:
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    headers = {"Content-Type": "application/json", **kw.pop("headers", {})}
    return httpx.post(url + "/v1/chat/completions", content=raw, headers=headers, timeout=60, **kw)


def ask(url: str, messages: list, **fields: Any) -> dict:
    r = post(url, {"messages": messages, "max_tokens": TOKENS, **fields})
    assert r.status_code == 200, r.text
    return r.json()


def test_openai_client_answers_as_the_runtime_does(server, ckpt, clips, mf) -> None:
    client = openai.OpenAI(base_url=server.url + "/v1", api_key="unused")
    assert [m.id for m in client.models.list()] == [str(ckpt)]
    for fmt in ("wav", "mp3"):
        question = f"What key is this {fmt} in?"
        r = client.chat.completions.create(
            model=str(ckpt), messages=user(question, clips[fmt]), max_tokens=TOKENS
        )
        ref = alone(mf, clips[fmt], question)
        assert r.choices[0].message.content == ref.text and ref.text
        assert r.choices[0].finish_reason == ("stop" if ref.finished else "length")
        assert r.usage.completion_tokens == ref.new_tokens
        assert r.usage.prompt_tokens > 50  # the audio tokens count
        assert r.usage.total_tokens == r.usage.prompt_tokens + r.usage.completion_tokens
    again = client.chat.completions.create(
        model=str(ckpt), messages=user(question, clips["mp3"]), max_completion_tokens=TOKENS
    )
    assert again.choices[0].message.content == ref.text


def test_stream_gives_the_same_text_and_usage(server, ckpt, clips) -> None:
    client = openai.OpenAI(base_url=server.url + "/v1", api_key="unused")
    messages = user("Describe the rhythm.", clips["wav"])
    whole = client.chat.completions.create(model=str(ckpt), messages=messages, max_tokens=TOKENS)
    chunks = list(
        client.chat.completions.create(
            model=str(ckpt), messages=messages, max_tokens=TOKENS, stream=True,
            stream_options={"include_usage": True},
        )
    )  # fmt: skip
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text == whole.choices[0].message.content
    assert sum(bool(c.choices and c.choices[0].delta.content) for c in chunks) > 1  # streamed
    finish = [
        c.choices[0].finish_reason for c in chunks if c.choices and c.choices[0].finish_reason
    ]
    assert finish == [whole.choices[0].finish_reason]
    assert chunks[-1].choices == [] and chunks[-1].usage == whole.usage


def test_requests_that_arrive_together_are_batched_and_answer_as_alone(server, clips, mf) -> None:
    questions = ["What key?", "What tempo?", "Which instruments?"]
    jobs = [(fmt, q) for fmt in ("wav", "flac") for q in questions]
    before = httpx.get(server.url + "/healthz").json()["batches"]
    with ThreadPoolExecutor(len(jobs)) as pool:
        got = list(pool.map(lambda j: ask(server.url, user(j[1], clips[j[0]])), jobs))
    after = httpx.get(server.url + "/healthz").json()["batches"]
    assert after["requests"] - before["requests"] == len(jobs)
    assert after["batches"] - before["batches"] < len(jobs) and after["largest"] >= 2
    for (fmt, q), reply in zip(jobs, got, strict=True):
        assert reply["choices"][0]["message"]["content"] == alone(mf, clips[fmt], q).text


def test_sampling_is_seeded_per_request_and_stop_strings_cut(server, clips) -> None:
    messages = user("What genre is it?", clips["wav"])
    greedy = ask(server.url, messages)["choices"][0]["message"]["content"]
    drawn = dict(temperature=1.0, top_p=0.9, seed=11)
    first = ask(server.url, messages, **drawn)["choices"][0]["message"]["content"]
    with ThreadPoolExecutor(3) as pool:  # the same draw inside a batch of others
        others = [pool.submit(ask, server.url, user(f"q{i}", clips["flac"])) for i in range(2)]
        again = ask(server.url, messages, **drawn)["choices"][0]["message"]["content"]
        [f.result() for f in others]
    assert first == again != greedy
    assert (
        ask(server.url, messages, **{**drawn, "seed": 12})["choices"][0]["message"]["content"]
        != first
    )
    stop = greedy[6:10]
    cut = greedy[: greedy.find(stop)]
    reply = ask(server.url, messages, stop=[stop, "\x00never"])
    assert reply["choices"][0]["message"]["content"] == cut
    assert reply["choices"][0]["finish_reason"] == "stop"
    body = {"messages": messages, "max_tokens": TOKENS, "stop": stop, "stream": True}
    with httpx.stream("POST", server.url + "/v1/chat/completions", json=body, timeout=60) as r:
        events = [line[6:] for line in r.iter_lines() if line.startswith("data: ")]
    assert events[-1] == "[DONE]"
    deltas = [json.loads(e)["choices"][0]["delta"].get("content") for e in events[:-1]]
    assert "".join(d or "" for d in deltas) == cut


def test_long_song_is_heard_in_parts_and_merged(server, mf) -> None:
    reply = ask(server.url, user("What happens in this song?", SONG))
    ref = alone(mf, SONG, "What happens in this song?")
    extra = reply["musicflamingo"]
    assert len(ref.heard) == 2 and extra["heard"] == [list(s) for s in ref.heard]
    assert reply["choices"][0]["message"]["content"] == ref.text


def test_text_only_and_conversations(server, clips, mf) -> None:
    text_only = ask(server.url, [{"role": "user", "content": "Name a scale."}])
    assert text_only["choices"][0]["message"]["content"] == alone(mf, None, "Name a scale.").text
    history = [("system", "Answer briefly."), ("user", "Hello"), ("assistant", "Hi.")]
    messages = [
        {"role": "system", "content": "Answer briefly."},
        {"role": "user", "content": [{"type": "text", "text": "Hello"}, audio_part(clips["wav"])]},
        {"role": "assistant", "content": "Hi."},
        {"role": "user", "content": "And the key?"},
    ]
    reply = ask(server.url, messages)
    ref = alone(mf, clips["wav"], "And the key?", history=history)
    assert reply["choices"][0]["message"]["content"] == ref.text


def test_thinking_is_given_apart_from_the_raw_text() -> None:
    """A thinking answer: content stays the raw text (scorers read it), reasoning_content
    is the runtime's think part alone; an answer without reasoning has no such field."""
    from musicflamingo.model.parsing import parse_thinking
    from musicflamingo.model.report import Answer
    from musicflamingo.serve import chat

    raw = "<think>Minor thirds over a drone.</think><answer>A minor</answer>"
    t = parse_thinking(raw)
    a = Answer(task="ask", text=raw, thinking=t.thinking, answer=t.answer, heard=[], duration=0)
    message = chat.completion("id", "m", raw, a, 3)["choices"][0]["message"]
    assert message == {
        "role": "assistant",
        "content": raw,
        "reasoning_content": "Minor thirds over a drone.",
    }
    plain = a.model_copy(update={"text": "A minor", "thinking": ""})
    assert (
        "reasoning_content"
        not in chat.completion("id", "m", "A minor", plain, 3)["choices"][0]["message"]
    )


def test_describe_gives_caption_key_facts_and_check(server, clips, mf) -> None:
    body = {"audio": audio_part(clips["wav"])["input_audio"], "max_tokens": TOKENS}
    r = httpx.post(server.url + "/v1/audio/describe", json=body, timeout=120)
    assert r.status_code == 200, r.text
    d = r.json()
    song = audio.load(clips["wav"], 16000)
    ref = mf.generate(
        [Request(song, t, max_new_tokens=TOKENS) for t in ("caption", "key_facts")],
        progress=False,
    )
    assert d["caption"] == ref[0].answer
    assert [a["task"] for a in d["report"]["answers"]] == ["caption", "key_facts"]
    assert d["facts"]["duration"] == pytest.approx(8.0, abs=0.05)
    assert d["usage"]["completion_tokens"] == ref[0].new_tokens + ref[1].new_tokens
    assert d["markdown"].startswith("#")
    # the facts given back are taken as they are (no second measurement), grounded
    body |= {"facts": d["facts"], "grounded": True}
    again = httpx.post(server.url + "/v1/audio/describe", json=body, timeout=120).json()
    assert again["facts"] == d["facts"] and again["report"]["answers"][0]["grounded"]


def _flac_silence(path: Path, seconds: float) -> Path:
    sf.write(path, np.zeros(int(seconds * 8000), np.float32), 8000, format="FLAC")
    return path


def _msg(*parts: Any) -> dict[str, Any]:
    return {"messages": [{"role": "user", "content": list(parts)}]}


def _raw(data: str, fmt: str = "wav") -> dict[str, Any]:
    return {"type": "input_audio", "input_audio": {"data": data, "format": fmt}}


U, A = {"role": "user", "content": "q"}, {"role": "assistant", "content": "a"}
BAD: dict[str, Any] = {
    "not JSON": b"{",
    "JSON list": b"[1, 2]",
    "no messages": {"messages": []},
    "messages not a list": {"messages": "hi"},
    "unknown role": {"messages": [{"role": "robot", "content": "hi"}]},
    "tool message": {"messages": [{"role": "tool", "content": "x"}, U]},
    "last is assistant": {"messages": [U, A]},
    "content a number": {"messages": [{"role": "user", "content": 5}]},
    "image part": _msg({"type": "image_url", "image_url": {"url": "http://x"}}),
    "no question": "EMPTY",
    "two audio parts": "TWO",
    "audio in system": "SYSTEM",
    "bad base64": "B64",
    "not audio": "NOISE",
    "audio a file path": "PATH",
    "audio a URL": "URL",
    "audio too long by header": "LONG",
    "audio too short": "SHORT",
    "max_tokens 0": {"max_tokens": 0},
    "max_tokens over limit": {"max_completion_tokens": 10**6},
    "temperature 5": {"temperature": 5},
    "top_p 0": {"top_p": 0},
    "n 2": {"n": 2},
    "five stops": {"stop": ["a", "b", "c", "d", "e"]},
    "json response format": {"response_format": {"type": "json_object"}},
    "stream not a bool": {"stream": "sometimes"},
    "seed not a number": {"seed": "abc"},
}


def _bad_body(case: Any, clips: dict[str, Path], tmp: Path) -> Any:
    if isinstance(case, bytes) or (isinstance(case, dict) and "messages" in case):
        return case
    wav = audio_part(clips["wav"])
    q = {"type": "text", "text": "What key? " + "secret-words " * 20}
    if isinstance(case, dict):
        return _msg(q, wav) | case
    if case == "EMPTY":
        return _msg({"type": "text", "text": "  "}, wav)
    if case == "TWO":
        return _msg(q, wav, wav)
    if case == "SYSTEM":
        return {"messages": [{"role": "system", "content": [wav]}, U]}
    if case == "B64":
        return _msg(q, _raw("not*base64!"))
    if case == "NOISE":
        return _msg(q, audio_part(_noise(tmp / "noise.wav"), "wav"))
    if case == "PATH":
        return _msg(q, _raw(str(clips["wav"])))
    if case == "URL":
        return _msg(q, _raw("https://example.com/song.mp3"))
    if case == "LONG":
        return _msg(q, audio_part(_flac_silence(tmp / "long.flac", 180.0)))
    if case == "SHORT":
        short = tmp / "short.wav"
        sf.write(short, np.zeros(400, np.float32), 16000)
        return _msg(q, audio_part(short))
    raise AssertionError(case)


def _noise(path: Path) -> Path:
    path.write_bytes(np.random.default_rng(0).bytes(5000))
    return path


@pytest.mark.parametrize("case", list(BAD), ids=list(BAD))
def test_client_mistakes_get_one_line_400(server, clips, tmp_path, case) -> None:
    r = post(server.url, _bad_body(BAD[case], clips, tmp_path))
    assert r.status_code == 400, r.text
    err = r.json()["error"]
    assert err["type"] == "invalid_request_error" and "\n" not in err["message"]
    assert "secret-words" not in err["message"] and 0 < len(err["message"]) <= 300


def test_other_refusals(server, clips) -> None:
    r = post(server.url, {"model": "gpt-4o", "messages": user("q", clips["wav"])})
    assert r.status_code == 404 and "not served here" in r.json()["error"]["message"]
    big = b'{"messages": "' + b"x" * (5 * 2**20) + b'"}'
    r = post(server.url, big)
    assert r.status_code == 413
    # a chunked body (no Content-Length) is cut off as soon as it passes the limit
    r = httpx.post(
        server.url + "/v1/chat/completions", content=iter([b"x" * 2**20] * 6), timeout=60
    )
    assert r.status_code == 413
    r = httpx.post(server.url + "/v1/audio/describe", json={"audio": {"data": "AAAA"}, "x": 1})
    assert r.status_code == 400 and r.json()["error"]["type"] == "invalid_request_error"
    health = httpx.get(server.url + "/healthz").json()
    assert health["pending"] == 0
