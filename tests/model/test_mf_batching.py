"""Batch isolation: a song's greedy output in a batch equals its output alone."""

from __future__ import annotations

import pytest
from mfdata import synth

from musicflamingo import audio
from musicflamingo.model import MusicFlamingo, Request


def _texts(model, requests: list[Request], **batching: int) -> list[str]:
    saved = {name: getattr(model.decoder, name) for name in batching}
    for name, value in batching.items():
        setattr(model.decoder, name, value)
    try:
        return [a.text for a in model.generate(requests, progress=False)]
    finally:
        for name, value in saved.items():
            setattr(model.decoder, name, value)


def test_songs_and_questions_batched_equal_alone(mf, real_songs) -> None:
    real = [audio.load(p) for p in real_songs[:2]]
    short, mid = synth(9.5, seed=1), synth(64.0, seed=2)
    requests = [
        Request(short, "caption", max_new_tokens=12),
        Request(real[0], "ask", question="What is the tempo?", max_new_tokens=10),
        Request(
            mid,
            "choose",
            question="Which genre?",
            options=["rock", "jazz", "folk"],
            max_new_tokens=8,
        ),
        Request(mid, "key_facts", think=True, max_new_tokens=12),
        Request(real[-1], "lyrics", max_new_tokens=6),
    ]
    alone = [_texts(mf, [r])[0] for r in requests]
    assert len(set(alone)) > 1  # different songs and prompts: different outputs
    assert _texts(mf, requests) == alone
    assert _texts(mf, requests, batch_size=2, max_batch_tokens=4000) == alone


def test_af3_batched_equal_alone(af3) -> None:
    requests = [Request(synth(s, seed=s), "caption", max_new_tokens=12) for s in (5, 31, 50)]
    assert _texts(af3, requests) == [_texts(af3, [r])[0] for r in requests]


def test_same_song_many_questions_share_audio(mf) -> None:
    song = synth(40.0, seed=4)
    questions = ["What key is it in?", "Is there a singer?", "How fast is it?"]
    requests = [Request(song, "ask", question=q, max_new_tokens=8) for q in questions]
    calls = []
    hook = mf.model.model.audio_tower.register_forward_hook(lambda *_: calls.append(1))
    try:
        answers = mf.generate(requests, progress=False)
    finally:
        hook.remove()
    assert len(calls) == 1  # the audio is encoded (and its prefix prefilled) once
    assert [a.question for a in answers] == questions
    assert all(a.heard == [(0.0, 40.0)] for a in answers)
    assert not mf.decoder._prefixes  # the shared audio prefix is released once all are done


def test_max_new_tokens_per_request(mf) -> None:
    song = synth(20.0, seed=5)
    long, short = mf.generate(
        [Request(song, "caption", max_new_tokens=20), Request(song, "caption", max_new_tokens=5)],
        progress=False,
    )
    assert (long.new_tokens, short.new_tokens) == (20, 5)
    assert short.text == mf.caption(song, max_new_tokens=5).text


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"task": "ask"}, "needs a question"),
        ({"task": "choose", "question": "Which?", "options": ["only one"]}, "give 2 to 26 options"),
        ({"task": "summary"}, "unknown task"),
        ({"grounded": True}, "needs the song's measured facts"),
    ],
)
def test_malformed_requests_fail_before_any_work(kwargs, message) -> None:
    with pytest.raises(ValueError, match=message):
        Request("no-such-file.mp3", **kwargs)


def test_too_short_to_hear(mf) -> None:
    with pytest.raises(ValueError, match="too short"):
        mf.caption(synth(0.05), max_new_tokens=2)


def test_prepared_features_are_taken_once_and_answer_the_same(mf, monkeypatch) -> None:
    """A server prepares a song's features on its request thread; the model's thread takes
    them instead of computing them, and the answer is the same as without."""
    song = synth(9.5, seed=3)
    ask = Request(song, "ask", question="What is the tempo?", max_new_tokens=10)
    plain = mf.generate([ask], progress=False)[0].text
    front = mf.frontend
    computed: list[int] = []
    compute = front._compute
    monkeypatch.setattr(front, "_compute", lambda s: computed.append(len(s)) or compute(s))
    mf.prepare(song)
    assert computed == [len(song.samples)]
    assert mf.generate([ask], progress=False)[0].text == plain
    assert computed == [len(song.samples)]  # taken, not computed again
    mf.generate([ask], progress=False)
    assert len(computed) == 2  # taken once: the next call computes


def test_prepared_features_are_bounded(mf, monkeypatch) -> None:
    import musicflamingo.model.frontend as frontend

    one = mf.frontend.features(synth(9.5, seed=4).samples).nbytes
    monkeypatch.setattr(frontend, "PREPARED_BYTES", 2 * one)
    songs = [synth(9.5, seed=s) for s in (5, 6, 7)]
    for s in songs:
        mf.prepare(s)
    kept = list(mf.frontend._prepared)
    assert len(kept) == 2 and frontend._digest(songs[0].samples) not in kept  # oldest dropped
    mf.frontend._prepared.clear()


def test_songs_not_heard_whole_are_not_prepared(mf) -> None:
    parts = MusicFlamingo(mf.loaded, part_seconds=5)
    parts.prepare(synth(0.05, seed=1))  # too short to hear
    parts.prepare(synth(9.5, seed=1))  # heard in two parts
    assert not parts.frontend._prepared
    parts.prepare(synth(4.0, seed=1))
    assert len(parts.frontend._prepared) == 1
