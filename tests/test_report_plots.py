"""The plots of real songs: the chord timeline's time axis ends at the song's end; a
`Plotter` draws the same files in a forked child, and the analysing process never loads
matplotlib (nor scipy before its beat tracker is forked)."""

from __future__ import annotations

import multiprocessing as mp
import subprocess
import sys

import pytest
import soundfile as sf
from media import FIXTURES

from musicflamingo import audio
from musicflamingo.facts.extract import FactsConfig, analyze
from musicflamingo.report import plots


@pytest.fixture(scope="module")
def pop():
    return audio.load(FIXTURES / "song01_pop_c.ogg", audio.ANALYSIS_SR)


@pytest.fixture(scope="module")
def cut(pop, tmp_path_factory):
    """The pop fixture's first 24 s (a WAV) and its facts."""
    path = tmp_path_factory.mktemp("cut") / "cut.wav"
    sf.write(path, pop.samples[: 24 * audio.ANALYSIS_SR], audio.ANALYSIS_SR)
    return path, analyze(path, FactsConfig(lyrics_model=None))


def test_chord_timeline_of_a_24_s_song_ends_at_24_s(cut, tmp_path):
    _, facts = cut
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


def test_plotter_draws_the_same_files_in_a_child(cut, tmp_path):
    _, facts = cut
    here, there = tmp_path / "here", tmp_path / "there"
    here.mkdir(), there.mkdir()
    drawn = plots.render_all(facts, here)
    sent = plots.Plotter().render(facts, there)
    assert {k: p.name for k, p in sent.items()} == {k: p.name for k, p in drawn.items()}
    assert all(p.read_bytes() == drawn[k].read_bytes() for k, p in sent.items())
    assert not mp.active_children()  # the child is joined, not left running


def test_plotter_raises_the_childs_error_and_close_ends_an_unused_child(cut, tmp_path):
    _, facts = cut
    not_a_folder = tmp_path / "file"
    not_a_folder.write_text("")
    with pytest.raises(NotADirectoryError):
        plots.Plotter().render(facts, not_a_folder)
    assert not mp.active_children()
    unused = plots.Plotter()
    assert mp.active_children()
    unused.close()
    assert not mp.active_children()


def test_the_analysing_process_loads_neither_matplotlib_nor_scipy(cut, tmp_path):
    """matplotlib loads only in the plotting child, while the song is measured on the other
    core; scipy nowhere (`facts.smoothing`)."""
    song, _ = cut
    code = (
        "import sys\n"
        "from pathlib import Path\n"
        "from musicflamingo.analyze import analyze_song\n"
        "from musicflamingo.facts.extract import FactsConfig\n"
        "analyze_song(Path(sys.argv[1]), Path(sys.argv[2]), FactsConfig(lyrics_model=None))\n"
        "assert not [m for m in sys.modules if m.startswith(('scipy', 'matplotlib'))]\n"
    )
    out = tmp_path / "out"
    subprocess.run([sys.executable, "-c", code, str(song), str(out)], check=True)
    assert sorted(p.name for p in out.glob("*.png")) == ["chords.png", "loudness.png", "tempo.png"]
    assert (out / "facts.json").is_file() and "chords.png" in (out / "report.md").read_text()
