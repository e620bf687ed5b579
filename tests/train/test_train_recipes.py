"""The shipped recipes carry the paper's Table 3 values and validate; overrides and errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from musicflamingo.train.recipe import RecipeError, load_recipe

RECIPES = Path(__file__).resolve().parents[2] / "recipes"


@pytest.mark.parametrize(
    ("name", "stage", "lr", "global_batch"),
    [("mf_sft", "sft", 1.5e-5, 128), ("cot_warmup", "cot", 1e-5, 128), ("grpo", "grpo", 1e-6, 64)],
)
def test_paper_values(name: str, stage: str, lr: float, global_batch: int) -> None:
    r = load_recipe(RECIPES / f"{name}.yaml")
    a = r.args
    assert r.stage == stage and a["learning_rate"] == lr and r.max_length == 24_576
    assert a["lr_scheduler_type"] == "cosine" and a["warmup_steps"] == 0.03
    assert a["weight_decay"] == 0.0 and a["bf16"] is True
    per_step = a["per_device_train_batch_size"] * a["gradient_accumulation_steps"] * 8  # GPUs
    if stage == "grpo":
        assert a["num_generations"] == 5 and a["loss_type"] == "grpo" and a["beta"] > 0
        assert per_step // a["num_generations"] == global_batch  # prompts per step
        assert set(r.rewards) == {"format", "accuracy", "structured_thinking"}
    else:
        assert per_step == global_batch


def test_lora_recipe_and_overrides() -> None:
    r = load_recipe(
        RECIPES / "mf_sft_lora_1gpu.yaml", ["max_steps=3", "lora.r=8", "freeze.llm=true"]
    )
    assert r.lora is not None and r.lora.r == 8 and r.args["max_steps"] == 3
    assert r.freeze.audio_encoder and r.freeze.llm and r.dtype == "bf16"


def test_bad_recipes_fail_with_one_line(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("stage: pretrain\n")
    with pytest.raises(RecipeError, match="stage"):
        load_recipe(bad)
    bad.write_text("stage: sft\nfreeze: {encoder: true}\n")
    with pytest.raises(RecipeError, match="freeze.encoder"):
        load_recipe(bad)
    with pytest.raises(RecipeError, match="use key=value"):
        load_recipe(RECIPES / "mf_sft.yaml", ["max_steps"])
    with pytest.raises(RecipeError, match="cannot read"):
        load_recipe(tmp_path / "none.yaml")


@pytest.mark.parametrize("name", ["mf_sft", "cot_warmup", "grpo", "mf_sft_lora_1gpu"])
def test_shipped_recipes_build_their_trl_config(name: str, tmp_path: Path) -> None:
    from trl import GRPOConfig, SFTConfig

    r = load_recipe(RECIPES / f"{name}.yaml")
    config = GRPOConfig if r.stage == "grpo" else SFTConfig
    args = config(output_dir=str(tmp_path), **(r.args | {"bf16": False}))  # no CUDA here
    assert args.learning_rate == r.args["learning_rate"]
    assert args.get_warmup_steps(1000) == 30  # the paper's 3 % warm-up
