"""GRPO with audio: every scoring and loss forward receives the rows' audio, log-probs
depend on it, the rewards get each row's ground truth, and a few steps run (G = 2)."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
import torch
from conftest import qa_row

from musicflamingo.train.collator import Collator
from musicflamingo.train.recipe import Recipe
from musicflamingo.train.run import prepare, train


def _prompt_row(i: int, clip: Path) -> dict:
    row = qa_row(i, clip, "unused")
    row["conversations"] = row["conversations"][:1]
    row |= {"answer": f"tone {i}", "options": []}
    return row


@pytest.fixture(scope="module")
def data(clips, tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("grpo") / "grpo_qa.json"
    path.write_text(json.dumps([_prompt_row(i, clips[i]) for i in range(2)]))
    return path


def test_grpo_forwards_see_the_audio_and_rewards_see_the_truth(checkpoint, data, tmp_path):
    from transformers import AutoProcessor, MusicFlamingoForConditionalGeneration
    from trl import GRPOConfig

    from musicflamingo.train.grpo import AudioGRPOTrainer

    processor = AutoProcessor.from_pretrained(checkpoint)
    model = MusicFlamingoForConditionalGeneration.from_pretrained(checkpoint)
    model.config.image_token_id = processor.audio_token_id
    recipe = Recipe(stage="grpo", max_length=512)
    collator = Collator(processor, max_length=512, reserve=6)
    dataset, report = prepare([str(data)], collator, recipe, batch_size=2, seed=0)
    assert report["kept"] == 2
    seen: list[dict] = []

    def spy_reward(completions, answer, **kwargs):
        seen.append({"answer": list(answer), "id": list(kwargs["id"]), "n": len(completions)})
        return [float(len(c)) / 10 for c in completions]

    scored: list[bool] = []  # per forward with labels: did it get the audio?

    def hook(_module, _args, kwargs):
        if kwargs.get("labels") is not None:
            scored.append(kwargs.get("input_features") is not None)

    args = GRPOConfig(
        output_dir=str(tmp_path / "out"),
        max_steps=2,
        per_device_train_batch_size=2,
        num_generations=2,
        max_completion_length=6,
        learning_rate=1e-3,
        loss_type="grpo",
        beta=0.04,
        bf16=False,
        gradient_checkpointing=False,
        report_to=[],
        remove_unused_columns=False,
        logging_steps=1,
        save_strategy="no",
        dataloader_pin_memory=False,
    )
    trainer = AudioGRPOTrainer(
        model=model,
        reward_funcs=[spy_reward],
        args=args,
        train_dataset=dataset,
        processing_class=processor,
        collator=collator,
    )
    for m in (trainer.model, trainer.ref_model):
        m.register_forward_pre_hook(hook, with_kwargs=True)
    trainer.train()
    assert scored and all(scored)  # reference scoring and every loss forward
    assert len(scored) >= 4 and trainer.audio_forwards == len(scored)
    truth = {r["id"]: r["answer"] for r in json.loads(data.read_text())}
    assert seen and all(s["n"] == 2 for s in seen)
    for s in seen:
        assert s["answer"] == [truth[i] for i in s["id"]]
    losses = [h["loss"] for h in trainer.state.log_history if "loss" in h]
    assert len(losses) == 2 and all(math.isfinite(x) for x in losses)

    # log-probs of the same completion with the real audio and with silence differ
    row = dataset[0]
    enc, feats = collator.inputs(row)
    ids = torch.tensor([enc.ids + enc.ids[-3:]])
    mask = torch.ones_like(ids)

    def logps(features: torch.Tensor) -> torch.Tensor:
        trainer._rows_audio = {"input_features": [features], "input_features_mask": [feats.mask]}
        with torch.no_grad():
            out = trainer._get_per_token_logps_and_entropies(trainer.model, ids, mask, 3)[0]
        trainer._rows_audio = None
        return out

    real, silent = logps(feats.input_features), logps(torch.zeros_like(feats.input_features))
    assert not torch.allclose(real, silent)


def test_qa_and_caption_sets_train_together(processor, clips, tmp_path) -> None:
    qa = [_prompt_row(i, clips[i]) | {"options": ["tone 0", "tone 1"]} for i in range(2)]
    caption = _prompt_row(5, clips[5])
    del caption["answer"], caption["options"]
    caption["metadata"] = {"Genre": "test tone", "BPM": "", "Key": "A major"}
    (tmp_path / "qa.json").write_text(json.dumps(qa))
    (tmp_path / "cap.json").write_text(json.dumps([caption]))
    recipe = Recipe(stage="grpo", max_length=512)
    collator = Collator(processor, max_length=512, reserve=8)
    files = [str(tmp_path / "qa.json"), str(tmp_path / "cap.json")]
    dataset, report = prepare(files, collator, recipe, batch_size=2, seed=0)
    assert report["kept"] == 3
    rows = {r["id"]: r for r in dataset}
    assert rows["song5/qa00"]["answer"] is None and rows["song0/qa00"]["metadata"] is None
    assert rows["song0/qa00"]["prompt"] == "Which tone is this?"
    from musicflamingo.train.rewards import accuracy_reward, structured_thinking_reward

    said = ["<think>.</think><answer>A test tone in A major.</answer>"] * 3
    cols = {k: [rows[i][k] for i in rows] for k in ("answer", "options", "metadata")}
    assert accuracy_reward(said, **cols) == [0.0, 0.0, None]
    assert structured_thinking_reward(said, **cols) == [None, None, 1.0]


def test_grpo_stage_runs_with_the_papers_rewards(checkpoint, data, tmp_path) -> None:
    recipe = Recipe(
        stage="grpo",
        max_length=512,
        rewards={"format": 1.0, "accuracy": 1.0, "structured_thinking": 1.0},
        args={
            "max_steps": 1,
            "per_device_train_batch_size": 2,
            "num_generations": 2,
            "max_completion_length": 4,
            "loss_type": "grpo",
            "beta": 0.04,
            "gradient_checkpointing": False,
            "logging_steps": 1,
            "save_strategy": "no",
            "dataloader_pin_memory": False,
        },
    )
    report = train(recipe, str(checkpoint), [str(data)], tmp_path / "out")
    logged = report["log_history"][0]
    assert math.isfinite(logged["loss"]) and "kl" in logged
    assert logged["rewards/format_reward/mean"] == 0.0  # a random model writes no tags
    assert "rewards/accuracy_reward/mean" in logged
    assert (tmp_path / "out" / "model.safetensors").is_file()
    # QA rows only: the caption reward applies to none, so it is not logged (no None, no NaN)
    for entry in report["log_history"]:
        assert not [k for k, v in entry.items() if v is None or v != v], entry
    assert not [k for k in logged if "structured_thinking" in k]
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    (events,) = (tmp_path / "out").rglob("events.out.tfevents.*")
    scalars = EventAccumulator(str(events)).Reload().Tags()["scalars"]
    assert "train/rewards/accuracy_reward/mean" in scalars
    assert not [t for t in scalars if "structured_thinking" in t]
