"""Refine mode through the real server: captions rewritten to the facts, extra distractors;
the re-ask path against a scripted server that first answers wrongly."""

from __future__ import annotations

import json

import pytest
from scripted_llm import Script, reply, serve_app

from musicflamingo.llm.base import Usage
from musicflamingo.llm.openai_client import OpenAIClient
from musicflamingo.skills.ask import WriteFailed
from musicflamingo.skills.checks import check_text, normalise
from musicflamingo.skills.factsheet import facts_json
from musicflamingo.skills.filter import default_embedder
from musicflamingo.skills.prompting import load_prompt
from musicflamingo.skills.records import QAItem
from musicflamingo.skills.refine import add_distractors, refine_caption
from musicflamingo.skills.rulewriter import RuleWriter
from musicflamingo.skills.stages import CAPTION_SCHEMA

OLD = "An upbeat pop song at 140 BPM in E minor with a 3/4 lilt and a C#m7 hook."


def test_refined_caption_agrees_with_the_facts(facts, rules_url):
    assert {r for r, _ in check_text(OLD, facts)} == {
        "tempo_mismatch",
        "key_mismatch",
        "meter_mismatch",
        "chord_not_in_song",
    }
    out = refine_caption(OLD, facts, OpenAIClient(rules_url))
    assert check_text(out.caption.text, facts) == []
    assert "120 BPM" in out.caption.text and "D major" in out.caption.text
    assert out.model == "rules-v1" and out.prompt.startswith("refine_v1#")
    assert out.usage.calls == 1


def key_question(options: list[str]) -> QAItem:
    return QAItem(
        question="Which key is the song in?",
        type="mcq",
        skill="harmonic",
        options=options,
        answer="D major",
        rationale="key profile",
    )


def test_distractors_are_added_and_validated(facts, rules_url):
    item = key_question(["D major", "A major", "B minor"])
    out, usage = add_distractors(
        item, facts, OpenAIClient(rules_url), count=5, embedder=default_embedder()
    )
    assert len(out.options) == 8 and out.answer in out.options
    assert len({normalise(o) for o in out.options}) == 8
    assert set(item.options) < set(out.options)
    assert usage.calls == 1


def test_too_few_usable_distractors_fail(facts, rules_url):
    every_key = [
        f"{k} {m}"
        for m in ("major", "minor")
        for k in ["C", "Db", "D", "Eb", "E", "F", "F#", "G", "Ab", "A", "Bb", "B"]
    ]
    item = key_question(every_key[:22])  # the writer's pool is used up
    with pytest.raises(WriteFailed, match="distractors: no valid JSON in 2 attempts .*at least 3"):
        add_distractors(item, facts, OpenAIClient(rules_url), attempts=2)
    with pytest.raises(ValueError, match="only multiple-choice"):
        add_distractors(item.model_copy(update={"type": "open"}), facts, OpenAIClient(rules_url))


def rule_caption(facts) -> str:
    """The caption JSON the rule writer makes from the refine prompt: true to the facts."""
    messages = load_prompt("refine").messages(caption=OLD, facts=facts_json(facts))
    return RuleWriter().complete(messages, json_schema=CAPTION_SCHEMA).text


def test_a_wrong_caption_is_asked_again_with_the_reason_and_the_repair_applies(facts):
    good = rule_caption(facts)
    wrong = good.replace("120 BPM", "140 BPM")
    assert wrong != good
    repairable = f"Here you go:\n```json\n{good[:-2]}}},}}\n```\nAnything else?"
    script = Script([reply(wrong, 900, 450), reply(repairable, 1400, 460)])
    with serve_app(script.app) as url:
        out = refine_caption(OLD, facts, OpenAIClient(url))
    assert out.caption.aspects == json.loads(good)["aspects"]
    assert out.usage == Usage(calls=2, prompt_tokens=2300, completion_tokens=910, reasks=1)
    first, second = script.chats
    assert first["response_format"] == {"type": "json_schema", "json_schema": CAPTION_SCHEMA}
    assert second["messages"][: len(first["messages"])] == first["messages"]
    assert second["messages"][-2] == {"role": "assistant", "content": wrong}
    reask = second["messages"][-1]["content"]
    assert reask.startswith("That reply could not be used: tempo_mismatch: ")
    assert "140" in reask


def test_a_caption_wrong_every_time_fails_with_the_last_reason(facts):
    wrong = rule_caption(facts).replace("D major", "E minor")
    script = Script([reply(wrong)] * 3)
    with serve_app(script.app) as url, pytest.raises(WriteFailed) as err:
        refine_caption(OLD, facts, OpenAIClient(url), attempts=3)
    assert err.value.reason.startswith("skills_caption: no valid JSON in 3 attempts (key_mismatch:")
    assert err.value.usage == Usage(calls=3, prompt_tokens=21, completion_tokens=9, reasks=2)
    assert len(script.chats) == 3


def test_distractors_that_repeat_the_options_are_asked_again(facts):
    item = key_question(["D major", "A major", "B minor"])
    fresh = ["E minor", "G major", "F# minor", "C major", "Bb major"]
    script = Script(
        [
            reply(json.dumps({"distractors": ["a major", "D major ", "B minor", ""]})),
            reply(json.dumps({"distractors": fresh})),
        ]
    )
    with serve_app(script.app) as url:
        out, usage = add_distractors(item, facts, OpenAIClient(url), count=5)
    assert sorted(out.options) == sorted([*item.options, *fresh])
    assert usage.calls == 2 and usage.reasks == 1
    assert script.chats[1]["messages"][-1]["content"].startswith(
        "That reply could not be used: 0 usable new distractors; at least 3 needed."
    )
