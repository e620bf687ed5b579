"""The plots of a real song: the chord timeline's time axis ends at the song's end."""

from __future__ import annotations

import soundfile as sf
from media import FIXTURES

from musicflamingo import audio
from musicflamingo.facts.extract import FactsConfig, analyze
from musicflamingo.report import plots


def test_chord_timeline_of_a_24_s_song_ends_at_24_s(tmp_path):
    song = audio.load(FIXTURES / "song01_pop_c.ogg", audio.ANALYSIS_SR)
    cut = tmp_path / "cut.wav"
    sf.write(cut, song.samples[: 24 * audio.ANALYSIS_SR], audio.ANALYSIS_SR)
    facts = analyze(cut, FactsConfig(lyrics_model=None))
    assert facts.duration == 24.0 and facts.chords
    (ax,) = plots.chord_figure(facts).axes
    assert ax.get_xlim() == (0.0, 24.0)
    written = plots.render_all(facts, tmp_path)
    assert all(p.read_bytes()[:4] == b"\x89PNG" for p in written.values())
