"""Training recipes: a YAML file per stage (``recipes/*.yaml``) read into a typed record.

``args`` go unchanged to TRL's `SFTConfig` or `GRPOConfig` (TrainingArguments names);
the other fields are ours: the context budget and what happens past it, the freezing
policy per module, LoRA, and the GRPO reward weights.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import Field, ValidationError

from musicflamingo.util import Record

from .collator import Overflow

Stage = Literal["sft", "cot", "grpo"]
LORA_TARGET = (
    r".*language_model\.layers\.\d+\."
    r"(?:self_attn\.(?:q|k|v|o)_proj|mlp\.(?:gate|up|down)_proj)"
)


class RecipeError(ValueError):
    """A recipe that cannot be used; the message is one line."""


class Freeze(Record):
    """Which parts keep their weights (full fine-tune; with LoRA the LLM is frozen anyway
    and only its adapters, plus an unfrozen projector or encoder, train)."""

    audio_encoder: bool = False
    projector: bool = False
    llm: bool = False


class Lora(Record):
    r: int = 64
    alpha: int = 128
    dropout: float = 0.05
    target: str = LORA_TARGET  # the LLM's projections, never the audio encoder's


class Recipe(Record):
    stage: Stage
    dtype: str = "fp32"  # weights as loaded; args.bf16 adds bf16 autocast on top
    max_length: int = 24_576
    overflow: Overflow = "drop"
    streaming: bool = False
    group_buffer: int = 1024  # rows sorted together for length grouping when streaming
    freeze: Freeze = Field(default_factory=Freeze)
    lora: Lora | None = None
    rewards: dict[str, float] = Field(default_factory=dict)  # GRPO: name -> weight
    args: dict[str, Any] = Field(default_factory=dict)


def parse_override(text: str) -> tuple[str, Any]:
    """``key=value`` with a YAML value; dotted keys reach nested fields (``lora.r=8``)."""
    key, sep, value = text.partition("=")
    if not sep or not key.strip():
        raise RecipeError(f"--set {text!r}: use key=value, e.g. args.max_steps=10")
    return key.strip(), yaml.safe_load(value)


def load_recipe(path: str | Path, overrides: list[str] | None = None) -> Recipe:
    """The recipe at ``path`` with ``overrides`` (``key=value``; bare keys go to ``args``)."""
    try:
        data = yaml.safe_load(Path(path).read_text()) or {}
    except OSError as e:
        raise RecipeError(f"{path}: cannot read ({e.strerror})") from None
    except yaml.YAMLError as e:
        raise RecipeError(f"{path}: not valid YAML ({str(e).splitlines()[0]})") from None
    for item in overrides or []:
        key, value = parse_override(item)
        parts = key.split(".")
        if parts[0] not in Recipe.model_fields:
            parts = ["args", *parts]
        node = data
        for p in parts[:-1]:
            node = node.setdefault(p, {}) if isinstance(node.get(p), dict | None) else node[p]
        node[parts[-1]] = value
    try:
        return Recipe.model_validate(data)
    except ValidationError as e:
        first = e.errors()[0]
        where = ".".join(map(str, first["loc"]))
        raise RecipeError(f"{path}: {where}: {first['msg']}") from None
