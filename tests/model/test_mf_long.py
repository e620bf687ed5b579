"""Songs longer than the checkpoint's cap: heard in parts and merged, or truncated on request."""

from __future__ import annotations

import numpy as np
import pytest
from mfdata import song_facts, synth

from musicflamingo import audio
from musicflamingo.facts.schema import Section
from musicflamingo.model import MusicFlamingo, Request
from musicflamingo.model.decoding import Output
from musicflamingo.model.segments import Span, plan_parts

MINUTES_25 = 25 * 60.0


@pytest.fixture(scope="module")
def long_song() -> audio.Audio:
    """25 minutes: a one-minute synthetic clip repeated at changing levels."""
    clip = synth(60.0, seed=7)
    gains = np.repeat(np.linspace(0.5, 1.0, 25, dtype=np.float32), len(clip.samples))
    return audio.Audio(np.tile(clip.samples, 25) * gains, clip.sr, clip.source)


def test_plan_fits_whole() -> None:
    assert plan_parts(1199.9, 1200) == [Span(0.0, 1199.9)]


@pytest.mark.parametrize(
    ("duration", "cap", "cuts"),
    [
        (MINUTES_25, 1200, [750.0]),
        (2500.0, 1200, [840.0, 1680.0]),
        (1201.0, 600, [420.0, 840.0]),
        (3600.0, 1200, [1200.0, 2400.0]),
    ],
)
def test_plan_without_sections_is_window_aligned(duration, cap, cuts) -> None:
    parts = plan_parts(duration, cap)
    assert [p.start for p in parts[1:]] == cuts
    assert parts[0].start == 0 and parts[-1].end == duration
    assert all(p.duration <= cap and p.start % 30 == 0 for p in parts)
    assert all(a.end == b.start for a, b in zip(parts, parts[1:], strict=False))


def test_plan_cuts_at_section_boundaries() -> None:
    bounds = [0, 200, 430, 610, 800, 1010, 1240, MINUTES_25]
    sections = [
        Section(start=a, end=b, label="A") for a, b in zip(bounds, bounds[1:], strict=False)
    ]
    parts = plan_parts(MINUTES_25, 1200, sections=sections)
    assert [p.start for p in parts[1:]] == [800.0]  # the boundary nearest the even share
    assert all(p.duration <= 1200 for p in parts)


def test_plan_long_section_cut_on_windows() -> None:
    sections = [Section(start=0, end=100, label="intro"), Section(start=100, end=3000, label="A")]
    parts = plan_parts(3000.0, 1200, sections=sections)
    assert parts[0] == Span(0.0, 100.0)
    assert all(p.duration <= 1200 for p in parts) and parts[-1].end == 3000.0
    assert all((p.start - 100) % 30 == 0 for p in parts[1:])


def test_25_minutes_heard_in_parts_and_merged(mf, long_song) -> None:
    facts = song_facts(MINUTES_25)  # sections at 300, 675, 1200 s
    answer = mf.generate(
        [Request(long_song, "caption", facts=facts, max_new_tokens=6)], progress=False
    )[0]
    assert answer.heard == [(0.0, 675.0), (675.0, MINUTES_25)]
    assert [(p.start, p.end) for p in answer.parts] == answer.heard
    assert all(p.text for p in answer.parts)
    assert answer.text not in {p.text for p in answer.parts}  # written by the merge pass
    assert not answer.truncated and not answer.warnings and answer.duration == MINUTES_25


def test_25_minutes_truncated_on_request(mf, long_song) -> None:
    answer = mf.caption(long_song, truncate=True, max_new_tokens=4)
    assert answer.heard == [(0.0, 1200.0)] and answer.truncated and not answer.parts
    assert answer.warnings == ["the song is 25:00 long; only the first 20:00 was heard (truncate)"]


def test_lyrics_of_parts_are_joined(af3) -> None:
    clip = synth(64.0, seed=8)
    song = audio.Audio(np.tile(clip.samples, 10), clip.sr, clip.source)  # over AF3's 600 s cap
    answer = af3.lyrics(song, max_new_tokens=3)
    assert [(p.start, p.end) for p in answer.parts] == [(0.0, 330.0), (330.0, 640.0)]
    assert answer.text.startswith("[0:00–5:30]\n") and "\n\n[5:30–10:40]\n" in answer.text


def test_part_seconds_for_smaller_accelerators(mf) -> None:
    small = MusicFlamingo(mf.loaded, part_seconds=120)
    answer = small.caption(synth(300.0, seed=9), max_new_tokens=3)
    assert answer.heard == [(0.0, 120.0), (120.0, 240.0), (240.0, 300.0)]
    assert len(answer.parts) == 3 and not answer.truncated


def test_merge_pass_keeps_the_conversation(mf) -> None:
    """A follow-up question about a song heard in parts is merged with the turns before it."""
    small = MusicFlamingo(mf.loaded, part_seconds=120)
    history = [("system", "Answer as a session drummer."), ("user", "Name the groove.")]
    history += [("assistant", "A shuffle in the pocket.")]
    req = Request(synth(200.0, seed=9), "ask", question="And the fills?", history=history)
    plan = small._plan(req, 0, [req.audio.samples])
    assert len(plan.spans) == 2
    parts = [Output("Busy toms.", 3, True), Output("Sparse snare.", 3, True)]
    merge = small._merge_job(plan, parts).text
    assert all(text in merge for _, text in history)
    assert "Busy toms." in merge and "Sparse snare." in merge
    assert merge.index("Name the groove.") < merge.index("And the fills?")
