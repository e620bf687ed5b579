"""The stages learn, driven through `train.run.train` (what `musicflamingo train sft|cot|grpo`
calls) on the tiny random checkpoint, with tone clips written by the tests and read by the
real collator: SFT (full and LoRA) learns which word each of 8 tones gets, from the audio
(>= 7/8 recalled, <= 2/8 with the audio silenced, loss down >= 90 %); the CoT warm-up
(`train cot`) takes the format reward of greedy outputs on the training prompts from 0 to
>= 0.9; GRPO raises a warm-started verifiable reward from <= 0.5 (mean of the first two
steps) to >= 0.9 (mean of the last three) within 25 steps, read from the trainer's logged
curve. Curves and the settings tried are in docs/training.md ("Measured on CPU").
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import soundfile as sf
import torch
from conftest import SR, qa_row, tone

from musicflamingo.model import prompts
from musicflamingo.train.collator import Collator
from musicflamingo.train.recipe import Recipe
from musicflamingo.train.rewards import format_reward
from musicflamingo.train.run import train

QUESTION = "Which tone is this?"
WORDS = ["self", "return", "None", "True", "import", "class", "else", "while"]  # one token each
BASE = {
    "logging_steps": 1,
    "gradient_checkpointing": False,
    "save_strategy": "no",
    "dataloader_pin_memory": False,
    "lr_scheduler_type": "constant",
    "warmup_steps": 0,
    "report_to": [],
}


def _write(path: Path, rows: list[dict]) -> Path:
    path.write_text(json.dumps(rows))
    return path


def _answers(folder: Path, clips: list[Path], *, think: bool = False, tokens: int = 4) -> list[str]:
    """Greedy outputs of the trained folder through the runtime, one per clip."""
    from musicflamingo.model import MusicFlamingo
    from musicflamingo.model.runtime import Request

    model = MusicFlamingo.from_pretrained(folder)
    requests = [
        Request(c, "ask", question=QUESTION, think=think, max_new_tokens=tokens) for c in clips
    ]
    return [a.text.strip() for a in model.generate(requests, progress=False)]


# --- SFT: which word each tone gets, learned from the audio ---------------------------------

MEMO_STEPS = 100
LORA_STEPS = 60


def _silence(folder: Path) -> list[Path]:
    """Eight silent clips as long as the tones: the same model with the audio zeroed."""
    folder.mkdir(exist_ok=True)
    paths = [folder / f"silence{i}.wav" for i in range(len(WORDS))]
    for path in paths:
        sf.write(path, np.zeros(int(2.0 * SR), dtype=np.float32), SR)
    return paths


def _recall(folder: Path, clips: list[Path]) -> tuple[int, list[str]]:
    said = _answers(folder, clips)
    return sum(s == w for s, w in zip(said, WORDS, strict=True)), said


def _memorise(tmp_path: Path, clips: list[Path], source: str, recipe: Recipe) -> dict:
    rows = [qa_row(i, c, w) for i, (c, w) in enumerate(zip(clips, WORDS, strict=True))]
    return train(recipe, source, [str(_write(tmp_path / "tones.json", rows))], tmp_path / "out")


def _losses(report: dict) -> list[float]:
    return [h["loss"] for h in report["log_history"] if "loss" in h]


def test_full_sft_memorises_each_tones_word_from_the_audio(checkpoint, clips, tmp_path) -> None:
    recipe = Recipe(
        stage="sft",
        max_length=512,
        freeze={"audio_encoder": True},  # LLM and projector trained fully
        args=BASE
        | {"max_steps": MEMO_STEPS, "per_device_train_batch_size": 8, "learning_rate": 3e-3},
    )
    losses = _losses(_memorise(tmp_path, clips, str(checkpoint), recipe))
    assert losses[-1] <= 0.1 * losses[0], losses
    heard, said = _recall(tmp_path / "out", clips)
    deaf, guessed = _recall(tmp_path / "out", _silence(tmp_path / "silence"))
    assert heard >= 7 and deaf <= 2, (said, guessed)


def test_lora_memorises_from_the_audio_and_merges_to_the_same_logits(
    checkpoint, clips, tmp_path
) -> None:
    # LoRA adapts a language model that can already say the words: a random one cannot
    # (its frozen output layer keeps every logit near zero). So the full model first learns
    # "Say the word W." -> W on silence, which tells it nothing about the tones.
    silence = _silence(tmp_path / "silence")
    say = [
        qa_row(i, s, w)
        | {
            "conversations": [
                {"from": "human", "value": f"<sound>\nSay the word {w}."},
                {"from": "gpt", "value": w},
            ]
        }
        for i, (s, w) in enumerate(zip(silence, WORDS, strict=True))
    ]
    args = BASE | {"per_device_train_batch_size": 8}
    speaker = Recipe(
        stage="sft",
        max_length=512,
        freeze={"audio_encoder": True},
        args=args | {"max_steps": 120, "learning_rate": 3e-3},
    )
    train(speaker, str(checkpoint), [str(_write(tmp_path / "say.json", say))], tmp_path / "say")
    recipe = Recipe(
        stage="sft",
        max_length=512,
        freeze={"audio_encoder": True, "projector": False, "llm": True},
        lora={"r": 16, "alpha": 32, "dropout": 0.0},
        args=args | {"max_steps": LORA_STEPS, "learning_rate": 1e-2},
    )
    losses = _losses(_memorise(tmp_path, clips, str(tmp_path / "say"), recipe))
    assert losses[-1] <= 0.1 * losses[0], losses
    heard, said = _recall(tmp_path / "out", clips)
    deaf, guessed = _recall(tmp_path / "out", silence)
    assert heard >= 7 and deaf <= 2, (said, guessed)

    # the saved adapter on its base gives the logits of the merged, reloaded checkpoint
    from peft import PeftModel
    from transformers import AutoProcessor, MusicFlamingoForConditionalGeneration

    rows = [qa_row(i, c, w) for i, (c, w) in enumerate(zip(clips, WORDS, strict=True))]
    batch = Collator(AutoProcessor.from_pretrained(tmp_path / "out"), max_length=512)(rows)
    batch.pop("labels")
    base = MusicFlamingoForConditionalGeneration.from_pretrained(tmp_path / "say")
    adapted = PeftModel.from_pretrained(base, tmp_path / "out" / "adapter").eval()
    merged = MusicFlamingoForConditionalGeneration.from_pretrained(tmp_path / "out").eval()
    with torch.no_grad():
        want, got = adapted(**batch).logits, merged(**batch).logits
    torch.testing.assert_close(got, want, rtol=1e-4, atol=1e-4)


# --- CoT warm-up: the thinking format ------------------------------------------------------

COT_STEPS = 80


def _cot_row(i: int, clip: Path, word: str) -> dict:
    row = qa_row(i, clip, f"<think>A pure tone.</think><answer>{word}</answer>")
    row["conversations"][0]["value"] = f"<sound>\n{QUESTION}\n{prompts.THINK}"
    return row


def test_cot_warmup_teaches_the_thinking_format(checkpoint, clips, tmp_path) -> None:
    rows = [_cot_row(i, c, w) for i, (c, w) in enumerate(zip(clips, WORDS, strict=True))]
    data = _write(tmp_path / "cot_sft.json", rows)
    before = format_reward(_answers(checkpoint, clips, think=True, tokens=32))
    args = BASE | {"max_steps": COT_STEPS, "per_device_train_batch_size": 4}
    recipe = Recipe(stage="cot", max_length=512, args=args | {"learning_rate": 1e-2, "seed": 0})
    train(recipe, str(checkpoint), [str(data)], tmp_path / "out")
    said = _answers(tmp_path / "out", clips, think=True, tokens=32)
    after = format_reward(said)
    assert np.mean(before) <= 0.1 and np.mean(after) >= 0.9, said


# --- GRPO: a warm-started verifiable reward rises -----------------------------------------

GRPO_STEPS = 25


def _grpo_recipe(steps: int, lr: float) -> Recipe:
    """GRPO on the accuracy reward: 8 completions a step (2 prompts x 4), a few tokens each,
    sampled at T = 1, no KL term, the encoder frozen."""
    return Recipe(
        stage="grpo",
        max_length=512,
        freeze={"audio_encoder": True},
        rewards={"accuracy": 1.0},
        args=BASE
        | {
            "max_steps": steps,
            "per_device_train_batch_size": 8,
            "num_generations": 4,
            "max_completion_length": 4,
            "temperature": 1.0,
            "loss_type": "grpo",
            "beta": 0.0,
            "learning_rate": lr,
            "seed": 0,
        },
    )


def test_grpo_raises_a_warm_started_reward(checkpoint, clips, tmp_path) -> None:
    # warm-up: each prompt answered "yes" once in four, so the policy samples "yes" ~1/4
    warm = [qa_row(i, clips[i], "yes" if k == 0 else "no") for i in range(4) for k in range(4)]
    sft = Recipe(
        stage="sft",
        max_length=512,
        args=BASE
        | {"max_steps": 16, "per_device_train_batch_size": 8, "learning_rate": 2e-2, "seed": 0},
    )
    train(sft, str(checkpoint), [str(_write(tmp_path / "warm.json", warm))], tmp_path / "warm")
    # GRPO: the verifiable answer is "yes" for every prompt (accuracy reward)
    prompts_ = []
    for i in range(4):
        row = qa_row(i, clips[i], "unused")
        row["conversations"] = row["conversations"][:1]
        prompts_.append(row | {"answer": "yes", "options": []})
    recipe = _grpo_recipe(GRPO_STEPS, 1e-2)
    data = _write(tmp_path / "grpo_qa.json", prompts_)
    report = train(recipe, str(tmp_path / "warm"), [str(data)], tmp_path / "out")
    curve = [h["rewards/accuracy_reward/mean"] for h in report["log_history"] if "reward" in h]
    assert len(curve) == GRPO_STEPS
    assert np.mean(curve[:2]) <= 0.5 and np.mean(curve[-3:]) >= 0.9, curve


# --- GRPO: a reward only the audio can earn -----------------------------------------------

AUDIO_GRPO_STEPS = 50
HIGHER = "Is this tone high or low?"


def test_grpo_raises_a_reward_that_depends_on_the_audio(checkpoint, tmp_path) -> None:
    from musicflamingo.model import MusicFlamingo
    from musicflamingo.model.runtime import Request

    freqs, truth = [110.0, 155.0, 1245.0, 1760.0], ["low", "low", "high", "high"]
    clips = [tone(tmp_path / f"tone{i}.wav", 2.0, f) for i, f in enumerate(freqs)]

    def row(i: int, answer: str) -> dict:
        r = qa_row(i, clips[i], answer)
        r["conversations"][0]["value"] = f"<sound>\n{HIGHER}"
        return r

    # warm-up: each tone answered right three times in four, so the policy leans the
    # right way from the audio but samples the wrong word (or worse) often
    other = {"low": "high", "high": "low"}
    warm = [row(i, truth[i] if k else other[truth[i]]) for i in range(4) for k in range(4)]
    sft = Recipe(
        stage="sft",
        max_length=512,
        freeze={"audio_encoder": True},
        args=BASE | {"max_steps": 80, "per_device_train_batch_size": 8, "learning_rate": 3e-3},
    )
    train(sft, str(checkpoint), [str(_write(tmp_path / "warm.json", warm))], tmp_path / "warm")
    prompts_ = []
    for i in range(4):
        r = row(i, "unused")
        r["conversations"] = r["conversations"][:1]
        prompts_.append(r | {"answer": truth[i], "options": []})
    recipe = _grpo_recipe(AUDIO_GRPO_STEPS, 2e-3)
    data = _write(tmp_path / "grpo_qa.json", prompts_)
    report = train(recipe, str(tmp_path / "warm"), [str(data)], tmp_path / "out")
    curve = [h["rewards/accuracy_reward/mean"] for h in report["log_history"] if "reward" in h]
    assert len(curve) == AUDIO_GRPO_STEPS
    first, last = np.mean(curve[:10]), np.mean(curve[-10:])
    assert last >= first + 0.1 and last >= 0.7, curve
    # the policy answers from the audio: right on every tone, one word for silence
    silence = _silence(tmp_path / "silence")[:4]
    model = MusicFlamingo.from_pretrained(tmp_path / "out")

    def greedy(paths: list[Path]) -> list[str]:
        asked = [Request(p, "ask", question=HIGHER, max_new_tokens=4) for p in paths]
        return [a.text.strip() for a in model.generate(asked, progress=False)]

    assert greedy(clips) == truth
    assert len(set(greedy(silence))) == 1
