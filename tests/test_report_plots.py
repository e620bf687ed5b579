"""The plots of real songs: the chord timeline's time axis ends at the song's end."""

from __future__ import annotations

import pytest
import soundfile as sf
from media import FIXTURES

from musicflamingo import audio
from musicflamingo.facts.extract import FactsConfig, analyze
from musicflamingo.report import plots


@pytest.fixture(scope="module")
def pop():
    return audio.load(FIXTURES / "song01_pop_c.ogg", audio.ANALYSIS_SR)


def test_chord_timeline_of_a_24_s_song_ends_at_24_s(pop, tmp_path):
    cut = tmp_path / "cut.wav"
    sf.write(cut, pop.samples[: 24 * audio.ANALYSIS_SR], audio.ANALYSIS_SR)
    facts = analyze(cut, FactsConfig(lyrics_model=None))
    assert facts.duration == 24.0 and facts.chords
    (ax,) = plots.chord_figure(facts).axes
    assert ax.get_xlim() == (0.0, 24.0)
    written = plots.render_all(facts, tmp_path)
    assert all(p.read_bytes()[:4] == b"\x89PNG" for p in written.values())


def test_last_row_of_a_longer_song_ends_at_its_end_on_the_same_scale():
    facts = analyze(FIXTURES / "song01_pop_c.ogg", FactsConfig(lyrics_model=None))
    first, last = plots.chord_figure(facts).axes
    assert first.get_xlim() == (0.0, 60.0)
    assert last.get_xlim() == (60.0, facts.duration)
    width = last.get_position().width / first.get_position().width
    assert width == pytest.approx((facts.duration - 60.0) / 60.0)
