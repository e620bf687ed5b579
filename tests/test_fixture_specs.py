"""The fixture specs (scripts/fixturegen/specs) load, validate and match what is rendered.

Every spec must have its audio and ground truth in tests/data/fixtures, and the truth must
say what the spec says (key, meter, tempo, form, chords): a spec edited without
re-rendering fails here. Needs music21 (the ``fixtures`` extra), not FluidSynth.
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
from pydantic import ValidationError

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "scripts"))

from fixturegen.catalogue import (  # noqa: E402
    DEMO_LICENCE,
    CorpusPiece,
    Demo,
    Song,
    beat_grid,
    load_catalogue,
    load_demo,
)
from fixturegen.compose import harte, plan_song  # noqa: E402

FIXTURES = ROOT / "tests" / "data" / "fixtures"
DEMO = ROOT / "examples" / "demo"
CATALOGUE = load_catalogue()


def truth_of(name: str, folder: Path = FIXTURES) -> dict:
    return json.loads((folder / f"{name}.json").read_text(encoding="utf-8"))


def test_index_lists_every_spec_in_order() -> None:
    index = json.loads((FIXTURES / "index.json").read_text(encoding="utf-8"))
    assert index == [{"name": p.name, "description": p.description} for p in CATALOGUE.pieces()]
    rendered = {p.stem for p in FIXTURES.glob("*.ogg")}
    assert rendered == {p.name for p in CATALOGUE.pieces()}


def check_song(spec: Song, truth: dict) -> None:
    """Key, meter, tempo, bar grid, form and chords of a composed song."""
    assert (truth["source"], truth["key"], truth["meter"]) == ("synthetic", spec.key, spec.meter)
    assert truth["drums"] is spec.drums
    grid = beat_grid(spec.meter)
    periods = [b - a for a, b in zip(truth["beats"], truth["beats"][1:], strict=False)]
    if spec.bpm_end is None:
        assert truth["tempo_bpm"] == spec.bpm and truth["tempo_varies"] is False
        assert max(periods) - min(periods) < 2e-4
        assert 60 / periods[0] == pytest.approx(spec.bpm, rel=1e-3)
    else:
        assert truth["tempo_varies"] is True
        assert 60 / periods[0] == pytest.approx(spec.bpm, rel=1e-3)
        # a linear ramp, one tempo a beat: the last beat is one step short of the end tempo
        assert 60 / periods[-1] == pytest.approx(spec.bpm_end, rel=2 / len(periods))
    parts = spec.parts()
    bars = sum(s.bars for s in parts)
    assert len(truth["downbeats"]) == bars
    assert len(truth["beats"]) == bars * grid.beats
    assert [s[2] for s in truth["sections"]] == [s.label for s in parts]
    labels = [harte(slot.rn) for slot in plan_song(spec).slots]
    merged = [b for a, b in zip([None, *labels], labels, strict=False) if a != b]
    assert [c[2] for c in truth["chords"]] == merged


def check_corpus(spec: CorpusPiece, truth: dict) -> None:
    """Key, meter and tempo of a public-domain score."""
    assert truth["source"] == f"music21:{spec.work}"
    assert (truth["key"], truth["meter"], truth["tempo_bpm"]) == (spec.key, spec.meter, spec.bpm)
    assert truth["tempo_varies"] is False and truth["chords"] is None
    periods = [b - a for a, b in zip(truth["beats"], truth["beats"][1:], strict=False)]
    assert 60 / max(periods) == pytest.approx(spec.bpm, rel=1e-3)
    assert 60 / min(periods) == pytest.approx(spec.bpm, rel=1e-3)


@pytest.mark.parametrize("spec", CATALOGUE.pieces(), ids=lambda p: p.name)
def test_fixture_truth_matches_spec(spec: Song | CorpusPiece) -> None:
    truth = truth_of(spec.name)
    assert truth["name"] == spec.name
    assert (FIXTURES / f"{spec.name}.ogg").stat().st_size > 10_000
    if isinstance(spec, Song):
        check_song(spec, truth)
    else:
        check_corpus(spec, truth)


def test_demo_matches_its_spec() -> None:
    demo = load_demo()
    truth = truth_of("demo", DEMO)
    check_song(demo.song, truth)
    lines = [line for stanza in demo.voice.stanzas for line in demo.voice.poem[stanza]]
    assert [lyric[2] for lyric in truth["lyrics"]] == lines
    assert (DEMO / "LICENSE.md").read_bytes() == DEMO_LICENCE.read_bytes()


SONG = """
[[song]]
name = "x"
description = "d"
key = "C major"
meter = "4/4"
bpm = 100
band = { melody = 80, comp = 0, bass = 33 }
drums = false
seed = 1
form = ["A", "B"]
[song.sections]
A = { bars = 4, chords = "I V" }
B = { bars = 4, chords = "IV I" }
"""


@pytest.mark.parametrize(
    ("edit", "error"),
    [
        (('key = "C major"', 'key = "C"'), "key"),
        (('meter = "4/4"', 'meter = "7/4"'), "meter"),
        (('form = ["A", "B"]', 'form = ["A", "C"]'), "missing ['C'], unused ['B']"),
        (("bass = 33", "bass = 128"), "bass"),
        (("seed = 1", "seed = 1\ntempo = 3"), "tempo"),
        (('chords = "I V" }', 'chords = "I V", per_bar = 3 }'), "per_bar"),
        (("bpm = 100", "bpm = 0"), "bpm"),
    ],
)
def test_bad_specs_are_refused(tmp_path: Path, edit: tuple[str, str], error: str) -> None:
    (tmp_path / "songs.toml").write_text(SONG.replace(*edit), encoding="utf-8")
    with pytest.raises(ValidationError, match=re.escape(error)):
        load_catalogue(tmp_path)


def test_names_are_unique_across_files(tmp_path: Path) -> None:
    (tmp_path / "a.toml").write_text(SONG, encoding="utf-8")
    (tmp_path / "b.toml").write_text(SONG, encoding="utf-8")
    with pytest.raises(ValidationError, match=r"duplicate piece names \['x'\]"):
        load_catalogue(tmp_path)


def test_unknown_table_is_refused(tmp_path: Path) -> None:
    (tmp_path / "songs.toml").write_text(SONG.replace("[[song]]", "[[songs]]"), encoding="utf-8")
    with pytest.raises(ValueError, match=r"unknown tables \['songs'\]"):
        load_catalogue(tmp_path)


def test_a_piece_that_fails_is_reported_and_no_index_written(tmp_path: Path) -> None:
    from fixturegen.cli import make_fixtures

    specs = tmp_path / "specs"
    specs.mkdir()
    (specs / "songs.toml").write_text(SONG.replace('"IV I"', '"IV V"'), encoding="utf-8")
    out = tmp_path / "out"
    truths, rows, failed = make_fixtures(
        load_catalogue(specs), out, tmp_path / "none.sf2", tmp_path, None
    )
    assert (truths, rows) == ([], [])
    assert failed == ["x: ValueError: x: the song must end on the tonic, not V"]
    assert not (out / "index.json").exists()


def test_demo_poem_must_fit_the_form() -> None:
    data = load_demo().model_dump()
    data["voice"]["poem"]["sun"].pop()
    with pytest.raises(ValidationError, match=r"stanza 'sun' needs one line per two bars"):
        Demo.model_validate(data)
    data["voice"]["stanzas"].pop()
    with pytest.raises(ValidationError, match="3 stanzas for 4 sung sections"):
        Demo.model_validate(data)


# ------------------------------------------------------------ the facts corpus (issue 9)

from fixturegen import factscorpus  # noqa: E402
from fixturegen.compose import compose, swing_warp  # noqa: E402
from fixturegen.truth import make_truth, write_midi  # noqa: E402

MANIFEST = factscorpus.load_manifest()


def test_facts_corpus_manifest_is_large_varied_and_split_by_its_seed() -> None:
    entries = MANIFEST.entries
    assert len(entries) >= 150
    assert len({e.name for e in entries}) == len(entries)
    splits = factscorpus.assign_splits(
        [(e.name, e.kind, e.meter()) for e in entries], MANIFEST.seed
    )
    assert {e.name: e.split for e in entries} == splits
    dev = [e for e in entries if e.split == "dev"]
    assert 0.55 < len(dev) / len(entries) < 0.65
    for split in ("dev", "test"):
        part = [e for e in entries if e.split == split]
        assert {e.meter() for e in part if e.kind == "composed"} == set(factscorpus.METERS)
        assert {e.soundfont for e in part} == set(factscorpus.SOUNDFONTS)
    songs = [e.song for e in entries if e.song is not None]
    assert any(s.pickup for s in songs) and any(s.swing > 0.5 for s in songs)
    assert any(s.tempo_steps for s in songs) and any(s.bpm_end for s in songs)
    assert any(s.syncopation for s in songs) and not all(s.drums for s in songs)
    assert any(sec.key for s in songs for sec in s.sections.values())
    # the composed specs are the seeded draws, so the manifest can be re-made exactly
    assert songs[:3] == [factscorpus.make_song(i, MANIFEST.seed) for i in range(3)]


def first(pred) -> Song:  # noqa: ANN001
    return next(e.song for e in MANIFEST.entries if e.song is not None and pred(e.song))


def song_truth(spec: Song, tmp_path: Path) -> tuple[dict, object]:
    piece = compose(spec)
    pm = write_midi(piece, tmp_path / "x.mid")
    return make_truth(piece, pm, 600.0), pm


def test_band_set_is_fast_rock_in_its_own_halves_and_re_made_by_its_seeds() -> None:
    """The band set (fast 4/4, distorted guitars) is the seeded draw, every piece has
    drums and a distorted comp, 4/4 reaches past the corpus's 168 BPM in both halves, and
    no composition or name is shared with the facts corpus or the train split."""
    band = factscorpus.load_manifest(factscorpus.BAND_MANIFEST)
    assert band == factscorpus.make_band_manifest()
    songs = {split: [e.song for e in band.entries if e.split == split] for split in ("dev", "test")}
    for part in songs.values():
        assert len(part) == 24 and all(s is not None and s.drums for s in part)
        assert all(s is not None and s.band.comp == 30 and s.bpm_end is None for s in part)
        fast = [s.bpm for s in part if s is not None and s.meter == "4/4"]
        assert max(fast) > 200 and min(fast) >= factscorpus.BAND_4_4_BPM[0]
    others = factscorpus.load_manifest().entries
    others += factscorpus.load_manifest(factscorpus.TRAIN_MANIFEST).entries

    def specs(entries):  # noqa: ANN001, ANN202 (a composition less its name, band and tempo)
        drop = {"name", "band", "bpm", "bpm_end", "tempo_steps", "drums", "description"}
        return {
            json.dumps(e.song.model_dump(exclude=drop), sort_keys=True)
            for e in entries
            if e.song is not None
        }

    assert not {e.name for e in band.entries} & {e.name for e in others}
    assert not specs(band.entries) & specs(others)


def test_classical_set_is_excerpts_split_by_work_and_shares_no_work() -> None:
    """The classical set holds excerpts of works no other manifest uses, a quartet's
    movements in one half; an excerpt loads as its first bars, played straight through."""
    from fixturegen.corpus import load_corpus

    classical = factscorpus.load_manifest(factscorpus.CLASSICAL_MANIFEST).entries
    works = [e.work for e in classical if e.work is not None]
    assert len(works) == len(classical) >= 40 and all(w.bars for w in works)
    assert {w.meter for w in works} >= {"4/4", "3/4", "2/4", "6/8", "3/8"}
    halves = {e.split for e in classical} == {"dev", "test"}
    by_opus: dict[str, set[str]] = {}
    for e in classical:
        by_opus.setdefault(factscorpus.opus(e.work.work), set()).add(e.split)  # type: ignore[union-attr]
    assert halves and all(len(splits) == 1 for splits in by_opus.values())
    others = factscorpus.load_manifest().entries
    others += factscorpus.load_manifest(factscorpus.TRAIN_MANIFEST).entries
    assert not {w.work for w in works} & {e.work.work for e in others if e.work is not None}
    spec = next(w for w in works if w.work == "mozart/k80/movement2")
    piece = load_corpus(spec)
    grid = factscorpus.beat_grid(spec.meter)
    assert piece.score.highestTime == pytest.approx(spec.bars * grid.bar_ql)
    assert piece.sections == [(0.0, spec.bars * grid.bar_ql, "A")]
    assert len(piece.downbeats) == spec.bars


def test_pickup_and_swing_keep_the_bass_on_the_downbeats(tmp_path: Path) -> None:
    spec = first(lambda s: s.pickup and s.swing > 0.5 and not s.tempo_steps and not s.bpm_end)
    truth, pm = song_truth(spec, tmp_path)
    grid = beat_grid(spec.meter)
    assert truth["downbeats"][0] == pytest.approx(spec.pickup * 60 / spec.bpm, abs=1e-3)
    assert truth["beats"][0] == 0.0 and truth["chords"][0][2] == "N"
    assert len(truth["beats"]) == len(truth["downbeats"]) * grid.beats + spec.pickup
    bass = next(i for i in pm.instruments if i.name == "bass")
    onsets = np.array([n.start for n in bass.notes])
    assert all(np.min(np.abs(onsets - d)) < 1e-3 for d in truth["downbeats"])
    # the pickup sounds before the first bar, and swung eighths land off the straight grid
    assert min(n.start for i in pm.instruments for n in i.notes) < truth["downbeats"][0]


def test_swing_moves_off_beats_only() -> None:
    warp = swing_warp(2 / 3)
    assert [warp(t) for t in (0.0, 1.0, 2.0)] == [0.0, 1.0, 2.0]
    assert warp(0.5) == pytest.approx(2 / 3)
    assert warp(1.75) == pytest.approx(1 + 2 / 3 + 1 / 6)


def test_tempo_steps_change_the_beat_period_at_section_starts(tmp_path: Path) -> None:
    spec = first(lambda s: s.tempo_steps and not s.pickup)
    truth, _ = song_truth(spec, tmp_path)
    grid = beat_grid(spec.meter)
    periods = np.diff(truth["beats"])
    starts = np.cumsum([0] + [spec.sections[label].bars * grid.beats for label in spec.form])
    for k, bpm in enumerate(spec.tempo_steps):
        assert periods[starts[k] : starts[k + 1] - 1] == pytest.approx(60 / bpm, rel=1e-3)
    assert truth["tempo_varies"] is True


def test_a_modulating_song_annotates_the_key_of_each_section(tmp_path: Path) -> None:
    spec = first(lambda s: any(sec.key for sec in s.sections.values()))
    truth, _ = song_truth(spec, tmp_path)
    keys = [k[2] for k in truth["keys"]]
    assert keys == [spec.sections[label].key or spec.key for label in spec.form]
    assert [k[:2] for k in truth["keys"]] == [s[:2] for s in truth["sections"]]


def test_generic_meters_compose_with_their_bar_grid(tmp_path: Path) -> None:
    for meter in ("5/4", "12/8", "3/8"):
        spec = first(lambda s, m=meter: s.meter == m and not s.pickup)
        truth, _ = song_truth(spec, tmp_path)
        grid = beat_grid(meter)
        assert len(truth["beats"]) == len(truth["downbeats"]) * grid.beats
        assert truth["downbeats"] == truth["beats"][:: grid.beats]


def test_mix_keeps_onsets_in_place() -> None:
    sr = 8000
    x = np.zeros(sr * 3)
    x[[sr // 2, sr, 2 * sr]] = 1.0
    mix = factscorpus.Mix(peak_db=-6, reverb_rt60=0.8, reverb_wet=0.3, snr_db=30)
    y = factscorpus.apply_mix(x, sr, mix, np.random.default_rng(0))
    assert np.max(np.abs(y)) == pytest.approx(10 ** (-6 / 20), rel=1e-3)
    assert np.all(np.abs(y[: sr // 2 - 1]) < 0.05)  # only noise before the first click
    assert np.argmax(np.abs(y)) in (sr // 2, sr, 2 * sr)


def test_a_grace_note_leaves_no_note_sounding_at_the_end(tmp_path: Path) -> None:
    """Regression: music21 writes a grace note's note-off before its note-on (one tick); a
    note left on made FluidSynth render three fiddle tunes (looped sax samples) without end."""
    import mido
    from fixturegen.truth import write_midi
    from music21 import note, stream

    grace = note.Note("C#5").getGrace()  # C#5 never sounds again: nothing turns it off
    part = stream.Part([note.Note("D5"), grace, note.Note("E5"), note.Note("D5", quarterLength=2)])
    write_midi(SimpleNamespace(score=stream.Score([part])), tmp_path / "grace.mid")
    sounding: set[tuple[int, int]] = set()
    for msg in mido.MidiFile(tmp_path / "grace.mid"):  # all tracks, in time order
        if msg.type == "note_on" and msg.velocity:
            sounding.add((msg.channel, msg.note))
        elif msg.type in ("note_on", "note_off"):
            sounding.discard((msg.channel, msg.note))
        elif msg.type == "control_change" and msg.control == 123:  # all notes off
            sounding = {s for s in sounding if s[0] != msg.channel}
    assert not sounding


def test_a_played_rendering_scatters_each_part_around_the_grid(tmp_path: Path) -> None:
    """`perform` gives each part a lag and each onset a deviation of about the style's
    size, starts a chord's notes together, keeps durations and velocities in MIDI's range."""
    import pretty_midi
    from fixturegen.perform import Performance, perform

    _, grid = song_truth(first(lambda s: s.drums and not s.tempo_steps), tmp_path)
    played = pretty_midi.PrettyMIDI(str(tmp_path / "x.mid"))
    style = Performance()
    perform(played, style, np.random.default_rng(7))
    judged = 0
    for before, after in zip(grid.instruments, played.instruments, strict=True):
        pairs = list(zip(before.notes, after.notes, strict=True))
        moved = {a.start: b.start - a.start for a, b in pairs}  # one deviation per onset
        sd = style.drum_onset_s if before.is_drum else style.onset_s
        if len(moved) > 40:  # a pad holds a chord a bar or more: too few onsets to judge
            assert 0.6 * sd < np.std(list(moved.values())) < 1.3 * sd
            judged += 1
        for a, b in pairs:
            assert abs(b.start - a.start) <= style.clip_sd * (sd + style.part_lag_s) + 1e-9
            assert b.start - a.start == moved[a.start]  # the notes of a chord move together
            assert b.end - b.start == pytest.approx(a.end - a.start)
            assert 1 <= b.velocity <= 127
    assert judged >= 3
    lead = zip(grid.instruments[0].notes, played.instruments[0].notes, strict=True)
    assert np.std([b.velocity - a.velocity for a, b in lead]) > 3


def test_classical_texture_songs_are_seeded_drumless_and_play_their_accompaniment(
    tmp_path: Path,
) -> None:
    """Classical-texture songs (``render_facts_corpus.py --classical N``) are seeded draws
    in every classical meter without drums; one composes to a bass on every downbeat and
    an accompaniment in eighths or sixteenths (an Alberti or broken-chord figure, repeated
    chords), never drums; a classical texture with drums is refused."""
    songs = [factscorpus.make_classical_song(i, factscorpus.TRAIN_SEED) for i in range(26)]
    assert not any(s.drums for s in songs) and {s.texture for s in songs} == {"classical"}
    assert {s.meter for s in songs} == set(factscorpus.CLASSICAL_METERS)
    spec = next(s for s in songs if s.meter == "4/4" and not s.pickup and not s.tempo_steps)
    truth, pm = song_truth(spec, tmp_path)
    assert not any(i.is_drum for i in pm.instruments)
    parts = {i.name: i for i in pm.instruments}
    bass = np.array([n.start for n in parts["bass"].notes])
    assert all(np.min(np.abs(bass - d)) < 1e-3 for d in truth["downbeats"])
    comp = sorted(n.start for n in parts["comp"].notes)
    step = np.diff(np.unique(np.round(comp, 4)))
    beat = 60 / spec.bpm
    assert np.median(step) <= beat / 2 + 1e-3  # figures in eighths or sixteenths
    with pytest.raises(ValidationError, match="classical texture"):
        Song.model_validate({**spec.model_dump(), "drums": True})
