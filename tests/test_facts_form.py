"""Section roles on real rendered songs: the repeated, louder part is the chorus, the part
heard before it the verse, with intro and outro where the score has them; and the
role rules on repetition patterns whose answer a musician would agree on."""

from __future__ import annotations

import json

import numpy as np
import pytest
from media import FIXTURES

from musicflamingo import audio
from musicflamingo.audio import SourceInfo
from musicflamingo.facts import features, form
from musicflamingo.facts.schema import KeySpan, Section, SongFacts
from musicflamingo.report.markdown import render
from musicflamingo.skills.factsheet import factsheet
from musicflamingo.skills.rulewriter import caption_aspects

# the fixtures' scores write the verse as A and the louder chorus (energy 2) as B
ROLE_OF = {"intro": "intro", "A": "verse", "B": "chorus", "outro": "outro"}


def sections_of(name: str):
    """Sections of a rendered fixture on its true bar grid (so only form.py is tested)."""
    truth = json.loads((FIXTURES / f"{name}.json").read_text())
    song = audio.load(FIXTURES / f"{name}.ogg", features.SR)
    spec = features.spectral(song.samples)
    bars = np.asarray(truth["downbeats"])
    return truth, form.estimate_sections(bars, spec, truth["duration"], [])


def true_label(truth: dict, t: float) -> str:
    return next(lab for a, b, lab in truth["sections"] if a <= t < b)


@pytest.mark.parametrize(
    "name", ["song03_waltz_g", "song04_jig_em", "song05_march_bb", "song07_rock_d"]
)
def test_verse_chorus_songs_get_their_roles(name):
    """intro A B A B outro scores: each section is named for the part it sits in."""
    truth, sections = sections_of(name)
    labels = [s.label for s in sections]
    assert labels == ["intro", "verse", "chorus", "verse", "chorus", "outro"], labels
    for s in sections:
        assert s.label == ROLE_OF[true_label(truth, (s.start + s.end) / 2)], s
    # the repetition letter stays beside the role: both choruses share one group
    verses = {s.group.rstrip("′") for s in sections if s.label == "verse"}
    choruses = {s.group.rstrip("′") for s in sections if s.label == "chorus"}
    assert len(verses) == len(choruses) == 1 and verses != choruses


def test_chorale_repeat_without_return_keeps_letters():
    """A chorale's A A B (the opening phrase sung twice, never coming back) is no verse and
    chorus: the letters stay."""
    _, sections = sections_of("bach_bwv144_6_bm")
    labels = [s.label for s in sections]
    assert not {"verse", "chorus", "bridge"} & set(labels), labels
    assert [s.group for s in sections[:2]] == ["A", "A"]
    assert all(s.label == s.group for s in sections[:3])


def roles(groups: str, loud: dict[str, float] | None = None) -> list[str]:
    """form.roles on one letter per section, 8 bars each (a lower-case letter: 4 bars),
    with a loudness per letter."""
    lengths = [4 if g.islower() else 8 for g in groups]
    ends = np.cumsum(lengths)
    spans = [(int(e - n), int(e)) for e, n in zip(ends, lengths, strict=True)]
    level = np.concatenate(
        [np.full(n, (loud or {}).get(g.upper(), 0.0)) for g, n in zip(groups, lengths, strict=True)]
    )
    return form.roles(list(groups.upper()), spans, level)


def test_roles_of_common_forms():
    assert roles("aBCBCDCe", {"C": 1.0}) == [
        "intro", "verse", "chorus", "verse", "chorus", "bridge", "chorus", "outro"
    ]  # fmt: skip
    # a part that always leads into the chorus is the pre-chorus
    assert roles("ABCABCC", {"C": 1.0}) == [
        "verse", "pre-chorus", "chorus", "verse", "pre-chorus", "chorus", "chorus"
    ]  # fmt: skip
    # equal returns: the louder group is the chorus, even when it comes first
    assert roles("ABAB", {"A": 1.0}) == ["chorus", "verse", "chorus", "verse"]
    # the part that returns most often is the chorus when loudness does not tell
    assert roles("ABABCB") == ["verse", "chorus", "verse", "chorus", "bridge", "chorus"]
    # a quiet full-length opening before the returns is an intro too
    assert roles("ABCBC", {"A": -2.0, "C": 1.0}) == ["intro", "verse", "chorus", "verse", "chorus"]


def test_roles_without_returns_keep_letters():
    assert roles("ABC") == ["A", "B", "C"]
    assert roles("AAB") == ["A", "A", "B"]
    # a short unrepeated opening and ending are still intro and outro
    assert roles("aBCd") == ["intro", "B", "C", "outro"]


def test_facts_without_group_still_load():
    """Facts written before schema 1.2 (no Section.group) still validate."""
    old = {"start": 0.0, "end": 8.0, "label": "A", "progression": ""}
    assert Section.model_validate(old).group == ""
    assert "group" in SongFacts.model_json_schema()["$defs"]["Section"]["properties"]


def test_reports_show_the_part_names_and_letters():
    """The march's measured sections as the Markdown report, the caption writer's fact sheet
    and the rule writer's sentences show them: part names, with the letters beside them."""
    _, sections = sections_of("song05_march_bb")
    facts = SongFacts(
        source=SourceInfo(
            path="march.ogg",
            container="ogg",
            codec="vorbis",
            sample_rate=44100,
            channels=1,
            size_bytes=1,
        ),
        duration=sections[-1].end,
        sections=sections,
    )
    chorus = next(s for s in sections if s.label == "chorus")
    md = render(facts)
    assert "| Sections | intro verse chorus verse chorus outro |" in md
    assert f"| chorus | {chorus.group} |" in md
    sheet = factsheet(facts)
    assert {"label": "chorus", "group": chorus.group}.items() <= sheet["sections"][2].items()
    text = caption_aspects(sheet, [])["structure_dynamics"]
    assert "The chorus spans" in text and "The chorus and the verse come back" in text


def test_report_shows_the_key_of_each_section_when_the_song_modulates():
    _, sections = sections_of("song05_march_bb")
    cut = sections[3].start
    keys = [
        KeySpan(start=0.0, end=cut, tonic="Bb", mode="major"),
        KeySpan(start=cut, end=sections[-1].end, tonic="F", mode="major"),
    ]
    source = SourceInfo(
        path="march.ogg", container="ogg", codec="vorbis", sample_rate=44100, channels=1,
        size_bytes=1,
    )  # fmt: skip
    facts = SongFacts(source=source, duration=sections[-1].end, sections=sections, keys=keys)
    md = render(facts)
    assert "| # | time | label | group | bars | key | chords |" in md
    rows = [line for line in md.splitlines() if line.startswith("| ") and "–" in line]
    assert [r.split(" | ")[5] for r in rows[-len(sections) :]] == ["Bb major"] * 3 + ["F major"] * (
        len(sections) - 3
    )
    assert "| Key changes | Bb major 0:00–" in md and ", then F major " in md
    steady = render(facts.model_copy(update={"keys": []}))
    assert "Key changes" not in steady and "| key |" not in steady
