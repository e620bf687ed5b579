import pytest

from musicflamingo.model.parsing import extract, extract_answer


@pytest.mark.parametrize(
    ("text", "answer", "source"),
    [
        ("Piano", "Piano", "raw"),
        ("  Piano \n", "Piano", "raw"),
        ("", "", "raw"),
        (None, "", "raw"),
        ("<think>guitar? no</think><answer>Piano</answer>", "Piano", "answer-tag"),
        ("<THINK>x</THINK>\n<Answer> Piano </Answer>", "Piano", "answer-tag"),
        ("<answer>Guitar</answer> on reflection <answer>Piano</answer>", "Piano", "answer-tag"),
        ("<answer>Piano</answer><answer></answer>", "Piano", "answer-tag"),
        ("<answer></answer>", "", "answer-tag"),
        ("<think>a <answer>Guitar</think><answer>Piano</answer>", "Piano", "answer-tag"),
        (
            "<think>long reasoning</think><answer>Piano, because",
            "Piano, because",
            "unclosed-answer-tag",
        ),
        ("<think>reasoning</think>Piano</answer>", "Piano", "stray-answer-close"),
        ("Piano</answer>", "Piano", "stray-answer-close"),
        ("<think>it is the guitar</think>\n\nPiano", "Piano", "after-think"),
        ("reasoning without an opening tag</think>Piano", "Piano", "after-think"),
        ("<think>x</think>A<think>y</think>Piano", "Piano", "after-think"),
        ("<think>the answer is Piano but I ran out of tokens", "", "unclosed-think"),
        ("<answer>Frédéric Chopin 🎹</answer>", "Frédéric Chopin 🎹", "answer-tag"),
    ],
)
def test_extraction_steps(text: str | None, answer: str, source: str) -> None:
    got = extract(text)
    assert (got.text, got.source) == (answer, source)
    assert extract_answer(text) == answer
