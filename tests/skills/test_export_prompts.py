"""Dataset rows ask exactly what the runtime asks, so training and inference prompts match."""

from musicflamingo.model import prompts
from musicflamingo.skills.export import qa_turns
from musicflamingo.skills.records import QAItem


def test_mcq_rows_use_the_runtime_choice_prompt_and_answer_with_the_letter():
    q = QAItem(
        question="Which key is the song in?",
        type="mcq",
        skill="harmonic",
        options=["C major", "A minor", "G major", "E minor"],
        answer="G major",
    )
    human, gpt = qa_turns(q)
    assert human["value"] == "<sound>\n" + prompts.request_text("choose", q.question, q.options)
    assert gpt["value"] == "(C) G major"


def test_open_rows_ask_the_bare_question():
    q = QAItem(
        question="How fast is the song?", type="open", skill="temporal", answer="About 120 BPM"
    )
    assert [t["value"] for t in qa_turns(q)] == ["<sound>\nHow fast is the song?", "About 120 BPM"]
