"""Stages 1-4 of MF-Think on a made-up song: choosing items, the trace rules, verdicts,
rewrite and drop, and the metadata cross-check."""

from __future__ import annotations

import pytest

from musicflamingo.skills.records import QAItem, SkillsCaption, SongRecord
from musicflamingo.think.records import Pick, ThinkItem
from musicflamingo.think.rulewriter import ThinkRuleWriter
from musicflamingo.think.select import SelectConfig, option_similarity, select
from musicflamingo.think.stages import (
    Engine,
    ThinkConfig,
    accept_trace,
    check_metadata,
    process,
)


def qa(question, answer, typ="open", skill="attribute", options=()):
    return QAItem(question=question, type=typ, skill=skill, answer=answer, options=list(options))


@pytest.fixture
def song(facts) -> SongRecord:
    items = [
        qa(
            "What key is the song in?",
            "D major",
            "mcq",
            "harmonic",
            ["D major", "B minor", "F major", "E major"],
        ),
        qa(
            "Which instrument is loudest?",
            "piano",
            "mcq",
            "attribute",
            ["piano", "solo tuba for a long time", "an empty room", "thunder"],
        ),
        qa("How many sections are there?", "3", "count", "structural"),
        qa("What is the mood?", "calm", "open", "attribute"),
    ]
    caption = SkillsCaption(aspects={"tempo_key_meter": "At 120 BPM in D major, in 4/4."})
    return SongRecord(
        id="song", path="song.ogg", duration=96.0, facts=facts, qa=items, caption=caption
    )


def item(q="How many sections are there?", answer="3", options=(), task="qa") -> ThinkItem:
    return ThinkItem(
        id="song/qa00",
        song_id="song",
        path="song.ogg",
        duration=96.0,
        task=task,
        question=q,
        options=list(options),
        answer=answer,
        pick=Pick(reason="reasoning_skill"),
    )


def test_close_distractors_and_reasoning_skills_are_chosen_with_their_reason(song):
    chosen = {i.id: i.pick for i in select(song)}
    assert chosen["song/qa00"].reason == "close_distractors"  # relative, parallel keys
    assert chosen["song/qa02"].reason == "reasoning_skill"
    assert "song/qa01" not in chosen and "song/qa03" not in chosen
    assert chosen["song/caption"].reason == "caption"
    assert not any(i.task == "caption" for i in select(song, SelectConfig(captions=False)))


def test_option_similarity_uses_music_relations():
    assert option_similarity("C major", "A minor") > option_similarity("C major", "F# major")
    assert option_similarity("Am7", "Am") > option_similarity("Am7", "C#")
    assert option_similarity("120", "118") > option_similarity("120", "60")


@pytest.mark.parametrize(
    ("steps", "answer", "why"),
    [
        (["The metadata lists three sections, so 3"], "3", "metadata"),
        (["According to the analysis there are 3"], "3", "According to"),
        (["I hear three parts, so 3"], "4", "final_answer must be"),
        (["So 3.", "Then more to say."], "3", "last step"),
        (["word " * 251 + "3"], "3", "at most 250"),
    ],
)
def test_a_trace_breaking_the_rules_is_sent_back_with_the_reason(steps, answer, why):
    with pytest.raises(ValueError, match=why):
        accept_trace({"steps": steps, "final_answer": answer}, item(), 250)


def test_an_mcq_answer_may_be_given_by_its_letter():
    it = item("Key?", "B minor", ["D major", "B minor"])
    reply = accept_trace({"steps": ["It is B minor"], "final_answer": "(b)"}, it, 250)
    assert reply.final_answer == "B minor"


def test_clean_rewritten_dropped_and_still_wrong_traces(song):
    """The noisy rule writer's four modes: a hash of the question and answer picks one."""
    engine = Engine(llm=ThinkRuleWriter(noise=True))
    seen = {}
    for n in range(40):
        rec = process(item(f"How many sections are there? ({n})"), song, engine)
        seen.setdefault(tuple(x.reason for x in rec.notes), rec)
    clean, fixed = seen[()], seen[("rewritten",)]
    dropped, still = seen[("too_many_wrong",)], seen[("rewritten", "still_wrong")]
    assert clean.status == fixed.status == "ok"
    assert all(s.verdict != "wrong" for s in clean.steps + fixed.steps)
    assert any(s.verdict == "wrong" for s in fixed.first_draft)
    assert dropped.status == still.status == "dropped"
    assert dropped.wrong_share > 0.3
    assert "key_mismatch" in {r for s in still.steps for r in s.reasons}
    assert clean.trace[-1].endswith("the answer is 3")


def test_a_write_that_never_validates_is_a_recorded_failure(song):
    from musicflamingo.skills.rulewriter import RuleWriter  # has no rule for think prompts

    rec = process(item(), song, Engine(llm=RuleWriter(), config=ThinkConfig(attempts=2)))
    assert rec.status == "failed" and rec.notes[0].reason == "write_failed"
    assert rec.provenance.usage.calls == 2 and rec.provenance.usage.reasks == 1


def test_metadata_values_the_facts_contradict_are_corrected_or_left_out(song):
    values = {
        "BPM": "150",
        "Key": "B minor",
        "Meter": "4/4",
        "Structure": "five sections",
        "Genre": "folk",
        "Theory": "C#m F#",
    }
    checked, notes = check_metadata(values, song)
    assert checked["BPM"] == "120" and checked["Key"] == "D major" and checked["Meter"] == "4/4"
    assert checked["Structure"] == "" and checked["Theory"] == "" and checked["Genre"] == "folk"
    reasons = sorted(n.reason for n in notes)
    assert reasons == ["metadata_corrected"] * 2 + ["metadata_removed"] * 2
    assert len(checked) == 11


def test_a_caption_item_gets_a_trace_and_a_checked_metadata_record(song):
    cap = item(task="caption", q="Describe the song.", answer=song.caption.text)
    rec = process(cap, song, Engine(llm=ThinkRuleWriter()))
    assert rec.status == "ok" and rec.final_answer == ""
    assert rec.metadata["BPM"] == "120" and rec.metadata["Key"] == "D major"
