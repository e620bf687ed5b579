"""Model outputs written in many styles for one multiple-choice item, for checking our
scorers against the official scripts: plain answers, option letters, thinking with and
without an answer part, wrong options, junk and empty text."""

from __future__ import annotations

from musicflamingo.bench.items import BenchItem

LETTERS = "ABCD"
STYLES = (
    "gold", "letter", "paren-letter-gold", "sentence", "think-answer", "think-all-options",
    "unclosed-think", "after-think", "wrong", "junk", "empty", "answer-prefix",
)  # fmt: skip


def output(item: BenchItem, style: str) -> str:
    """The output of `style` for `item` (its choices and answer)."""
    choices, answer = item.choices or [], item.answer
    letter = LETTERS[choices.index(answer)] if answer in choices[:4] else "A"
    wrong = next((c for c in choices if c != answer), "")
    return {
        "gold": answer,
        "letter": letter,
        "paren-letter-gold": f"({letter}) {answer}",
        "sentence": f"The answer is {answer}.",
        "think-answer": f"<think>Listening to the timbre.</think><answer>{answer}</answer>",
        "think-all-options": f"<think>{' or '.join(choices)}?</think><answer>{answer}</answer>",
        "unclosed-think": f"<think>It could be {wrong}, or maybe {answer}",
        "after-think": f"<think>Not {wrong}.</think>\n{answer}",
        "wrong": wrong,
        "junk": "qwerty uiop 12345 ###",
        "empty": "",
        "answer-prefix": f"The correct answer is: {letter}",
    }[style]


def outputs(items: list[BenchItem]) -> dict[str, str]:
    """One output per item, the styles in turn."""
    return {item.id: output(item, STYLES[k % len(STYLES)]) for k, item in enumerate(items)}
