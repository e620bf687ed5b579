"""What an LLM meant as JSON is recovered; what cannot be recovered says why."""

from __future__ import annotations

import pytest

from musicflamingo.llm.jsonrepair import parse_json, strip_trailing_commas


def test_fenced_json_with_chatter_around_it():
    text = 'Sure! Here it is:\n```json\n{"a": [1, 2], "b": "x"}\n```\nHope that helps.'
    assert parse_json(text) == {"a": [1, 2], "b": "x"}


def test_trailing_text_and_trailing_commas():
    text = '{"qa": [{"q": "x, y",}, {"q": "]",},],} and some notes {not json}'
    assert parse_json(text) == {"qa": [{"q": "x, y"}, {"q": "]"}]}


def test_commas_inside_strings_are_kept():
    assert strip_trailing_commas('{"a": "1,]", "b": "\\",}"}') == '{"a": "1,]", "b": "\\",}"}'


def test_reply_cut_off_at_max_tokens_keeps_complete_items():
    text = '{"qa": [{"q": "one"}, {"q": "two"}, {"q": "thr'
    assert parse_json(text) == {"qa": [{"q": "one"}, {"q": "two"}]}


@pytest.mark.parametrize(
    ("text", "kept"),
    [
        (
            '{"genre": "jazz", "bpm": 96, "tags": ["sax", "dou',
            {"genre": "jazz", "bpm": 96, "tags": ["sax"]},
        ),
        ('{"genre": "folk", "era": "1970s", "bpm":', {"genre": "folk", "era": "1970s"}),
        ("[1, 2, 3", [1, 2]),
        ('{"a": "x, y", "b": "z', {"a": "x, y"}),
    ],
)
def test_reply_cut_off_after_flat_members_keeps_them(text, kept):
    assert parse_json(text) == kept


@pytest.mark.parametrize(
    ("text", "why"),
    [
        ("I cannot help with that.", "no JSON object"),
        ('{"aspects": {"tempo": "12', "cut off before its first complete value"),
        ("{'a': 1}", "invalid JSON after repair"),
    ],
)
def test_hopeless_replies_raise_with_the_reason(text, why):
    with pytest.raises(ValueError, match=why):
        parse_json(text)
