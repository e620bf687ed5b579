"""The three stages on TRL: ``sft`` and ``cot`` on `SFTTrainer` with our collator,
``grpo`` on `AudioGRPOTrainer`; LoRA through PEFT, the freezing policy, resume from the
last checkpoint, TensorBoard logs, and a final folder that loads like any checkpoint."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Any

import torch
from rich.console import Console

from musicflamingo.model.loading import load
from musicflamingo.util import atomic_write

from .collator import KEPT, Collator, count_statuses
from .data import AUDIO_MARK, length_grouped, load_rows
from .recipe import Freeze, Recipe
from .rewards import REWARDS

PARTS = {
    "audio_encoder": ("model.audio_tower.",),
    "projector": ("model.multi_modal_projector.",),
    "llm": ("model.language_model.", "lm_head."),
}
REWARD_COLUMNS = ("answer", "options", "metadata")
err = Console(stderr=True)


def apply_freeze(model: Any, freeze: Freeze) -> dict[str, int]:
    """Freeze the parts ``freeze`` names; returns trainable parameters per part."""
    counts = dict.fromkeys(PARTS, 0)
    for name, param in model.named_parameters():
        part = next((p for p, prefixes in PARTS.items() if name.startswith(prefixes)), None)
        if part is None:
            continue
        param.requires_grad_(not getattr(freeze, part))
        counts[part] += param.numel() if param.requires_grad else 0
    return counts


def lora_config(recipe: Recipe) -> Any:
    from peft import LoraConfig

    assert recipe.lora is not None
    save = [
        m
        for m, part in (("multi_modal_projector", "projector"), ("audio_tower", "audio_encoder"))
        if not getattr(recipe.freeze, part)
    ]
    return LoraConfig(
        r=recipe.lora.r,
        lora_alpha=recipe.lora.alpha,
        lora_dropout=recipe.lora.dropout,
        target_modules=recipe.lora.target,
        modules_to_save=save or None,
        task_type="CAUSAL_LM",
    )


def _aligned(parts: list[Any], keep: tuple[str, ...]) -> Any:
    """Map-style datasets with the same columns (missing reward columns as None)."""
    from datasets import concatenate_datasets

    parts = [p.select_columns([c for c in p.column_names if c in keep]) for p in parts]
    features = {c: f for p in parts for c, f in p.features.items()}
    filled = []
    for p in parts:
        for c in features:
            if c not in p.column_names:
                p = p.add_column(c, [None] * len(p), feature=features[c])
        filled.append(p.cast(type(p.features)({c: features[c] for c in sorted(features)})))
    return concatenate_datasets(filled) if len(filled) > 1 else filled[0]


def prepare(
    data: list[str], collator: Collator, recipe: Recipe, batch_size: int, seed: int
) -> tuple[Any, dict[str, Any]]:
    """Rows planned against the budget, the kept ones, and the planning report."""
    keep = ("id", "sound", "duration", "conversations", *REWARD_COLUMNS)
    grpo = recipe.stage == "grpo"

    def plan(row: dict[str, Any]) -> dict[str, Any]:
        out = collator.plan(row)
        if grpo:  # TRL logs and passes the prompt text; the trainer renders it with the row
            convo = row.get("conversations") or [{}]
            out["prompt"] = str(convo[-1].get("value", "")).replace(AUDIO_MARK, "").strip()
        return out

    if recipe.streaming:
        if grpo:
            raise ValueError("GRPO reads map-style data; set streaming: false")
        seen: Counter[str] = Counter()

        def counted(row: dict[str, Any]) -> dict[str, Any]:
            out = plan(row)
            seen[out["status"]] += 1
            return out

        rows = [load_rows([d], streaming=True) for d in data]
        from datasets import IterableDataset, interleave_datasets

        stream = interleave_datasets(rows) if len(rows) > 1 else rows[0]
        stream = stream.map(counted).filter(lambda s: s in KEPT, input_columns="status")
        grouped = IterableDataset.from_generator(
            length_grouped,
            gen_kwargs={
                "rows": stream,
                "batch_size": batch_size,
                "buffer": recipe.group_buffer,
                "seed": seed,
            },
        )
        return grouped, {"streaming": True, "counts": seen}
    ds = _aligned([load_rows([d]) for d in data], keep)
    ds = ds.map(plan, desc="planning rows against the context budget")
    report = count_statuses(ds["status"])
    return ds.filter(lambda s: s in KEPT, input_columns="status"), report


def _finished(out: Path, recipe: Recipe) -> dict[str, Any] | None:
    """The report of a run in ``out`` that already reached the recipe's ``max_steps``: the
    Trainer, resumed from a checkpoint at ``max_steps``, would take one step past it."""
    path, steps = out / "train_report.json", int(recipe.args.get("max_steps", -1))
    if steps <= 0 or not path.is_file():
        return None
    report: dict[str, Any] = json.loads(path.read_text())
    return report if report.get("global_step", 0) >= steps else None


def _last_checkpoint(out: Path) -> str | None:
    from transformers.trainer_utils import get_last_checkpoint

    return get_last_checkpoint(str(out)) if out.is_dir() else None


def _at_max_steps(checkpoint: str, recipe: Recipe) -> bool:
    """Whether ``checkpoint`` is the recipe's last step (a run killed before its final save):
    the Trainer resumed there mid-epoch would take one step past ``max_steps``."""
    steps, path = int(recipe.args.get("max_steps", -1)), Path(checkpoint) / "trainer_state.json"
    if steps <= 0 or not path.is_file():
        return False
    return steps <= int(json.loads(path.read_text())["global_step"])


def _restore(trainer: Any, checkpoint: str, *, lora: bool) -> None:
    """The trainer as it was at ``checkpoint``, without training: its state (step, log
    history) and, for LoRA, the adapter (full fine-tunes were loaded from it)."""
    from transformers import TrainerState

    trainer.state = TrainerState.load_from_json(str(Path(checkpoint) / "trainer_state.json"))
    if lora:
        trainer.model.load_adapter(checkpoint, trainer.model.active_adapter, is_trainable=True)


def train(
    recipe: Recipe,
    model_source: str,
    data: list[str],
    out: Path,
    *,
    audio_root: str | None = None,
    resume: bool = True,
    callbacks: list[Any] | None = None,
) -> dict[str, Any]:
    """Run ``recipe`` from ``model_source`` on ``data``; the trained model, its processor
    and ``train_report.json`` end up in ``out``. Returns the report. ``callbacks`` are
    `transformers.TrainerCallback`s added to the trainer (e.g. a benchmark's step clock)."""
    finished = _finished(out, recipe) if resume else None
    if finished is not None:
        err.print(f"{out}: already trained {finished['global_step']} steps", highlight=False)
        return finished
    last = _last_checkpoint(out) if resume else None
    # The Trainer's own weight reload on resume reads the checkpoint's safetensors without
    # Music Flamingo's key mapping (saved "audio_tower.*", module "model.audio_tower.*")
    # and restores nothing, so full fine-tunes start from the checkpoint's weights here;
    # the Trainer then restores optimizer, scheduler, step and RNG. (LoRA checkpoints hold
    # the adapter, which PEFT reloads by its own names.)
    weights = last if last and not recipe.lora else model_source
    loaded = load(weights, device="cpu", dtype=recipe.dtype)
    model, processor = loaded.model, loaded.processor
    model.train()
    is_grpo = recipe.stage == "grpo"
    max_new = int(recipe.args.get("max_completion_length", 512)) if is_grpo else 0  # TRL default
    collator = Collator(
        processor,
        max_length=recipe.max_length,
        overflow=recipe.overflow,
        reserve=max_new,
        audio_root=audio_root,
    )
    per_device = int(recipe.args.get("per_device_train_batch_size", 1))
    seed = int(recipe.args.get("seed", 42))
    dataset, data_report = prepare(data, collator, recipe, per_device, seed)
    if not recipe.streaming:
        err.print(f"data: {json.dumps(data_report)}", highlight=False)
        if data_report["kept"] == 0:
            raise ValueError("no row fits the context budget; see the planning report")
    trainable = apply_freeze(model, recipe.freeze)
    peft = lora_config(recipe) if recipe.lora else None
    common: dict[str, Any] = {
        "output_dir": str(out),
        "report_to": ["tensorboard"],
        "remove_unused_columns": False,
        "save_only_model": False,
    }
    if not recipe.streaming and not is_grpo:
        common |= {"train_sampling_strategy": "group_by_length", "length_column_name": "length"}
    if not torch.cuda.is_available() and (recipe.args.get("bf16") or recipe.args.get("fp16")):
        err.print("no CUDA here: training in fp32 (the recipe's bf16/fp16 is off)")
        recipe = recipe.model_copy(update={"args": recipe.args | {"bf16": False, "fp16": False}})
    common["bf16"] = False  # TRL's default is bf16; a recipe turns it on
    trainer = _trainer(recipe, model, processor, collator, dataset, common, peft, callbacks)
    loss: float | None = None  # the mean loss of this call's steps
    if last and _at_max_steps(last, recipe):
        err.print(f"{last} is the last step: saving it as the final model", highlight=False)
        _restore(trainer, last, lora=peft is not None)
    else:
        if last:
            err.print(f"resuming from {last}", highlight=False)
        loss = trainer.train(resume_from_checkpoint=last).training_loss
    _save_final(trainer, processor, out, lora=peft is not None)
    report = {
        "stage": recipe.stage,
        "model": model_source,
        "data": data,
        "resumed_from": last,
        "global_step": trainer.state.global_step,
        "train_loss": loss,
        "trainable_parameters": trainable,
        # streaming: the rows read, counted again on every pass over the stream
        "data_report": (
            count_statuses(data_report["counts"].elements()) if recipe.streaming else data_report
        ),
        "collate_drops": dict(collator.counts),
        "log_history": trainer.state.log_history,
    }
    atomic_write(out / "train_report.json", json.dumps(report, indent=1, default=str))
    return report


def _trainer(
    recipe: Recipe,
    model: Any,
    processor: Any,
    collator: Collator,
    dataset: Any,
    common: dict[str, Any],
    peft: Any,
    callbacks: list[Any] | None = None,
) -> Any:
    if recipe.stage in ("sft", "cot"):
        from trl import SFTConfig, SFTTrainer

        skip = {"dataset_kwargs": {"skip_prepare_dataset": True}}
        args = SFTConfig(**(common | skip | recipe.args))
        return SFTTrainer(
            model=model,
            args=args,
            train_dataset=dataset,
            data_collator=collator,
            processing_class=processor,
            peft_config=peft,
            callbacks=callbacks,
        )
    from trl import GRPOConfig

    from .grpo import AudioGRPOTrainer

    unknown = set(recipe.rewards) - set(REWARDS)
    if unknown or not recipe.rewards:
        raise ValueError(
            f"rewards must name some of {sorted(REWARDS)}, not {sorted(recipe.rewards)}"
        )
    names = list(recipe.rewards)
    # a sampled <sound> would not match the audio features; TRL suppresses this id
    model.config.image_token_id = processor.audio_token_id
    args = GRPOConfig(
        **(common | {"reward_weights": [recipe.rewards[n] for n in names]} | recipe.args)
    )
    return AudioGRPOTrainer(
        model=model,
        reward_funcs=[REWARDS[n] for n in names],
        args=args,
        train_dataset=dataset,
        processing_class=processor,
        peft_config=peft,
        collator=collator,
        callbacks=callbacks,
    )


def _save_final(trainer: Any, processor: Any, out: Path, *, lora: bool) -> None:
    """The trained model as a plain checkpoint in ``out`` (LoRA: adapter in ``out/adapter``,
    merged weights in ``out``), with the processor, loadable by the runtime."""
    if lora:
        trainer.model.save_pretrained(out / "adapter")
        merged = trainer.accelerator.unwrap_model(trainer.model).merge_and_unload()
        merged.save_pretrained(out)
    else:
        trainer.save_model(str(out))
    processor.save_pretrained(out)
