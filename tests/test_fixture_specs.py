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
        (('meter = "4/4"', 'meter = "5/4"'), "meter"),
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
