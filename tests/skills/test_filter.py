"""Stage 4: each check drops a contradicting caption or QA item with its reason code."""

from __future__ import annotations

import pytest

from musicflamingo.llm.openai_client import OpenAIClient
from musicflamingo.skills.filter import FilterConfig, stage4_filter
from musicflamingo.skills.records import QAItem, References

NO_DEDUP = FilterConfig(dedup_threshold=None)


def with_sentence(record, aspect: str, sentence: str, **facts_update):
    aspects = dict(record.caption.aspects)
    aspects[aspect] = f"{aspects[aspect]} {sentence}"
    caption = record.caption.model_copy(update={"aspects": aspects})
    facts = record.facts.model_copy(update=facts_update)
    return record.model_copy(update={"caption": caption, "facts": facts})


def test_a_clean_record_keeps_everything(record):
    out = stage4_filter(record)  # dedup with the bundled MiniLM included
    assert out.drops == [] and out.flags == []
    assert out.caption == record.caption and out.qa == record.qa
    assert 12 <= len(out.qa) <= 20 and 350 <= out.caption.words <= 700


@pytest.mark.parametrize(
    ("aspect", "sentence", "code", "facts_update"),
    [
        ("tempo_key_meter", "It moves at 96 BPM.", "tempo_mismatch", {}),
        ("tempo_key_meter", "It moves at 120 BPM.", "tempo_unmeasured", {"tempo": None}),
        ("tempo_key_meter", "It is in B minor.", "key_mismatch", {}),
        ("theory_harmony", "The bridge turns to the key of D minor.", "key_mismatch", {}),
        ("tempo_key_meter", "It is in D major.", "key_unmeasured", {"key": None}),
        ("tempo_key_meter", "It swings in 3/4.", "meter_mismatch", {}),
        ("tempo_key_meter", "It is in 4/4.", "meter_unmeasured", {"meter": None}),
        ("theory_harmony", "The bridge leans on an Fmaj7 chord.", "chord_not_in_song", {}),
        ("theory_harmony", "The progression C–G–D returns.", "chord_not_in_song", {}),
        ("theory_harmony", "A Bm7 colours the turn.", "chords_unmeasured", {"chords": []}),
        ("lyrics_themes", 'Then "hello from the other side".', "lyric_not_in_transcript", {}),
        (
            "lyrics_themes",
            'She sings "twinkle twinkle little star".',
            "lyrics_unmeasured",
            {"lyrics": None},
        ),
        ("structure_dynamics", "A last swell comes at 2:10.", "time_out_of_range", {}),
    ],
)
def test_caption_contradicting_the_facts_is_dropped(record, aspect, sentence, code, facts_update):
    bad = with_sentence(record, aspect, sentence, **facts_update)
    out = stage4_filter(bad, NO_DEDUP)
    assert out.caption is None
    assert code in {d.reason for d in out.drops if d.item == "caption"}
    assert next(d for d in out.drops if d.reason == code).payload == bad.caption.text


@pytest.mark.parametrize(
    ("sentence", "detail"),
    [
        ("It is in B minor.", "states B minor, the relative key of the measured D major"),
        ("It is in D minor.", "states D minor, the parallel key of the measured D major"),
        ("It is in A major.", "states A major, the dominant key of the measured D major"),
        ("It is in G major.", "states G major, the subdominant key of the measured D major"),
        ("It is in F-sharp minor.", "states F-sharp minor, not the measured D major"),
    ],
)
def test_key_mismatch_names_the_relation(record, sentence, detail):
    """Stage 4 and the model's fact check name key relations with one rule (theory)."""
    out = stage4_filter(with_sentence(record, "tempo_key_meter", sentence), NO_DEDUP)
    assert [(d.reason, d.detail) for d in out.drops] == [("key_mismatch", detail)]


@pytest.mark.parametrize(
    "sentence",
    [
        "The key of D anchors it.",  # no mode written: only the tonic is claimed
        "It moves at 124.8 BPM.",  # +4 %, the edge of the MIREX window (was a mismatch)
        "It moves at 115.2 BPM.",
    ],
)
def test_claims_within_theory_are_kept(record, sentence):
    out = stage4_filter(with_sentence(record, "tempo_key_meter", sentence), NO_DEDUP)
    assert out.drops == [] and out.flags == []


def test_a_sus_chord_is_not_its_major_triad(record):
    """D:sus4 has no third: it is not the measured D:maj (it was, by a maj/min/dim guess)."""
    out = stage4_filter(
        with_sentence(record, "theory_harmony", "The bridge leans on a Dsus4 chord."), NO_DEDUP
    )
    assert [(d.reason, d.detail) for d in out.drops] == [
        ("chord_not_in_song", "names Dsus4; measured: A Bm D G")
    ]


def test_an_unreadable_chord_reference_is_dropped_not_a_crash(record):
    bad = qa("Which chord ends the phrase?", "G", "chord", chords=["H7"])
    out = stage4_filter(record.model_copy(update={"qa": [*record.qa, bad]}), NO_DEDUP)
    assert out.qa == record.qa
    assert [(d.reason, d.detail) for d in out.drops] == [
        ("chord_not_in_song", "names 'H7', not a chord")
    ]


def test_half_or_double_tempo_is_kept_and_flagged(record):
    out = stage4_filter(with_sentence(record, "tempo_key_meter", "It feels like 60 BPM."), NO_DEDUP)
    assert out.caption is not None and out.drops == []
    assert [(f.item, f.reason) for f in out.flags] == [("caption", "tempo_half_double")]


def test_caption_missing_an_aspect_or_too_short(record):
    aspects = dict(record.caption.aspects, mood_context=" ")
    out = stage4_filter(
        record.model_copy(
            update={"caption": record.caption.model_copy(update={"aspects": aspects})}
        ),
        NO_DEDUP,
    )
    assert {d.reason for d in out.drops} == {"caption_missing_aspect"}
    short = {k: "Short." for k in record.caption.aspects}
    out = stage4_filter(
        record.model_copy(update={"caption": record.caption.model_copy(update={"aspects": short})}),
        NO_DEDUP,
    )
    assert {d.reason for d in out.drops} == {"caption_length"}


def mcq(options: list[str], answer: str) -> QAItem:
    return QAItem(
        question="Which instrument leads?",
        type="mcq",
        skill="attribute",
        options=options,
        answer=answer,
        rationale="heard",
    )


def qa(question: str, answer: str, typ: str = "open", **refs) -> QAItem:
    return QAItem(
        question=question,
        type=typ,
        skill="harmonic",
        answer=answer,
        rationale="from the facts",
        references=References(**refs),
    )


@pytest.mark.parametrize(
    ("item", "code"),
    [
        (mcq(["piano", "guitar"], "piano"), "mcq_option_count"),
        (mcq(["piano", "guitar", "flute", "harp", "oboe", "drums"], "piano"), "mcq_option_count"),
        (mcq(["Piano", "guitar", "piano."], "guitar"), "mcq_duplicate_options"),
        (mcq(["piano", "guitar", "flute"], "violin"), "mcq_answer_not_in_options"),
        (qa("What happens at the end?", "A fade.", seconds=[120.0]), "time_out_of_range"),
        (qa("What happens in bar 60?", "A fade.", bars=[60]), "bar_out_of_range"),
        (
            qa("What chord is heard at 3 seconds?", "Bm", "chord", seconds=[3.0], chords=["B:min"]),
            "chord_not_in_song",
        ),
        (qa("Which chord ends the phrase?", "Eb", "chord", chords=["Eb:maj"]), "chord_not_in_song"),
        (qa("Which key is the song in?", "B minor"), "key_mismatch"),
        (qa("What is the tempo in BPM?", "96"), "tempo_mismatch"),
        (qa("How is the meter counted?", "In 6/8."), "meter_mismatch"),
        (
            qa('What line follows "how I wonder what you are"?', '"Shine bright like a diamond"'),
            "lyric_not_in_transcript",
        ),
        (qa("When does the voice enter?", "At 2:45."), "time_out_of_range"),
    ],
)
def test_qa_contradicting_the_facts_is_dropped(record, item, code):
    bad = record.model_copy(update={"qa": [*record.qa, item]})
    name = f"qa{len(record.qa)}"
    out = stage4_filter(bad, NO_DEDUP)
    assert out.qa == record.qa
    assert code in {d.reason for d in out.drops if d.item == name}
    assert all(d.item == name for d in out.drops)


def test_near_duplicate_questions_are_dropped(record):
    tempo = next(i for i, q in enumerate(record.qa) if "tempo" in q.question)
    again = qa("What's the tempo of this track?", "About 120 BPM.")
    out = stage4_filter(record.model_copy(update={"qa": [*record.qa, again]}))
    [drop] = out.drops
    assert (drop.item, drop.reason) == (f"qa{len(record.qa)}", "near_duplicate")
    assert drop.detail.startswith(f"like qa{tempo} (cosine ")


def test_llm_judge_rejects_unsupported_items(record, rules_url):
    odd = qa("How many instruments play?", "About 731 instruments.")
    judge = OpenAIClient(rules_url)
    out = stage4_filter(
        record.model_copy(update={"qa": [*record.qa, odd]}), NO_DEDUP, judge_llm=judge
    )
    assert [(d.item, d.reason) for d in out.drops] == [(f"qa{len(record.qa)}", "judge_rejected")]
    assert out.drops[0].detail == "unsupported number 731"
    assert out.caption is not None and out.qa == record.qa
    assert out.provenance.judge == "rules-v1"
    assert out.provenance.prompts["judge"].startswith("judge_v1#")
    assert out.provenance.usage.calls == 1 and judge.usage.calls == 1
