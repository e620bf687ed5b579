"""Build small random Music Flamingo / Audio Flamingo 3 checkpoints in the exact HF format.

Everything is made offline: a byte-level BPE tokenizer trained with `tokenizers` on Python's
own standard-library sources (with the ChatML and sound special tokens), a Whisper feature
extractor (128 mel bins), a ChatML chat template with a system prompt and the audio item
first, the processor, a random model of the requested size and its generation config.

    python scripts/make_tiny_checkpoint.py OUT_DIR --family musicflamingo --size tiny
"""

from __future__ import annotations

import argparse
import sysconfig
from pathlib import Path

import torch
from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
from transformers import (
    AudioFlamingo3Config,
    AudioFlamingo3EncoderConfig,
    AudioFlamingo3ForConditionalGeneration,
    AudioFlamingo3Processor,
    GenerationConfig,
    MusicFlamingoConfig,
    MusicFlamingoForConditionalGeneration,
    MusicFlamingoProcessor,
    PreTrainedTokenizerFast,
    Qwen2Config,
    WhisperFeatureExtractor,
)

SPECIAL_TOKENS = [
    "<|endoftext|>",
    "<|im_start|>",
    "<|im_end|>",
    "<sound>",
    "<|sound_bos|>",
    "<|sound_eos|>",
]
SYSTEM_PROMPT = "You are a small random test model that listens to music."
CHAT_TEMPLATE = (
    "{%- for message in messages -%}"
    "{%- if loop.first and message['role'] != 'system' -%}"
    "{{- '<|im_start|>system\\n' + system_prompt + '<|im_end|>\\n' -}}"
    "{%- endif -%}"
    "{{- '<|im_start|>' + message['role'] + '\\n' -}}"
    "{%- if message['content'] is string -%}{{- message['content'] -}}"
    "{%- else -%}"
    "{%- for item in message['content'] if item['type'] == 'audio' -%}{{- '<sound>' -}}"
    "{%- endfor -%}"
    "{%- for item in message['content'] if item['type'] == 'text' -%}{{- item['text'] -}}"
    "{%- endfor -%}"
    "{%- endif -%}"
    "{{- '<|im_end|>\\n' -}}"
    "{%- endfor -%}"
    "{%- if add_generation_prompt -%}{{- '<|im_start|>assistant\\n' -}}{%- endif -%}"
)
# (encoder width, encoder layers, encoder heads, LLM width, LLM layers, LLM heads, KV heads)
SIZES = {
    "tiny": (32, 1, 2, 32, 2, 2, 1),
    "bench": (384, 4, 6, 512, 10, 8, 2),
    "mid": (768, 12, 12, 1536, 24, 12, 2),  # ~0.76B: scripts/gpu_smoke_train.py
}
FAMILIES = {"musicflamingo", "audioflamingo3"}
CAPS = {"musicflamingo": 1200, "audioflamingo3": 600}


def _corpus(max_chars: int = 3_000_000) -> list[str]:
    root = Path(sysconfig.get_paths()["stdlib"])
    texts, total = [], 0
    for path in sorted(root.glob("*.py")):
        text = path.read_text(encoding="utf-8", errors="ignore")
        texts.append(text)
        total += len(text)
        if total >= max_chars:
            break
    return texts


def make_tokenizer(vocab_size: int) -> PreTrainedTokenizerFast:
    """A byte-level BPE with Qwen2's special-token names, trained on stdlib sources."""
    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        special_tokens=SPECIAL_TOKENS,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    tok.train_from_iterator(_corpus(), trainer=trainer)
    return PreTrainedTokenizerFast(
        tokenizer_object=tok,
        eos_token="<|im_end|>",
        pad_token="<|endoftext|>",
        extra_special_tokens=SPECIAL_TOKENS[1:],
        model_max_length=131072,
    )


def make_processor(family: str, tokenizer: PreTrainedTokenizerFast):
    fe = WhisperFeatureExtractor(
        feature_size=128,
        sampling_rate=16000,
        hop_length=160,
        chunk_length=30,
        n_fft=400,
        padding_value=0.0,
        return_attention_mask=True,
    )
    template = CHAT_TEMPLATE.replace("system_prompt", repr(SYSTEM_PROMPT))
    cls = MusicFlamingoProcessor if family == "musicflamingo" else AudioFlamingo3Processor
    return cls(fe, tokenizer, chat_template=template, max_audio_len=CAPS[family])


def make_config(family: str, size: str, tokenizer: PreTrainedTokenizerFast):
    enc_d, enc_layers, enc_heads, d, layers, heads, kv = SIZES[size]
    ids = {t: tokenizer.convert_tokens_to_ids(t) for t in SPECIAL_TOKENS}
    audio = AudioFlamingo3EncoderConfig(
        num_mel_bins=128,
        hidden_size=enc_d,
        num_hidden_layers=enc_layers,
        num_attention_heads=enc_heads,
        intermediate_size=4 * enc_d,
        max_source_positions=1500,
    )
    text = Qwen2Config(
        vocab_size=len(tokenizer),
        hidden_size=d,
        intermediate_size=3 * d,
        num_hidden_layers=layers,
        num_attention_heads=heads,
        num_key_value_heads=kv,
        max_position_embeddings=65536,
        rope_parameters={"rope_type": "default", "rope_theta": 1e6},
        tie_word_embeddings=False,
        eos_token_id=ids["<|im_end|>"],
        pad_token_id=ids["<|endoftext|>"],
    )
    if family == "audioflamingo3":
        return AudioFlamingo3Config(
            audio_config=audio, text_config=text, audio_token_id=ids["<sound>"]
        )
    return MusicFlamingoConfig(
        audio_config=audio,
        text_config=text,
        audio_token_id=ids["<sound>"],
        audio_bos_token_id=ids["<|sound_bos|>"],
        audio_eos_token_id=ids["<|sound_eos|>"],
        rope_parameters={"rope_type": "default", "rope_theta": 1200.0},
    )


def build_checkpoint(
    out_dir: str | Path,
    family: str = "musicflamingo",
    size: str = "tiny",
    seed: int = 0,
    tokenizer: PreTrainedTokenizerFast | None = None,
) -> Path:
    """Write a random ``family`` checkpoint of ``size`` ("tiny", ~50M "bench", ~0.76B "mid")
    to ``out_dir`` (``tokenizer`` defaults to a new 4k BPE for tiny and 8k otherwise)."""
    if family not in FAMILIES or size not in SIZES:
        raise ValueError(f"family must be one of {sorted(FAMILIES)}, size one of {sorted(SIZES)}")
    out = Path(out_dir)
    tokenizer = tokenizer or make_tokenizer(4096 if size == "tiny" else 8192)
    processor = make_processor(family, tokenizer)
    config = make_config(family, size, tokenizer)
    cls = (
        MusicFlamingoForConditionalGeneration
        if family == "musicflamingo"
        else AudioFlamingo3ForConditionalGeneration
    )
    torch.manual_seed(seed)
    model = cls(config).eval()
    model.generation_config = GenerationConfig(
        eos_token_id=tokenizer.eos_token_id,
        pad_token_id=tokenizer.pad_token_id,
        do_sample=False,
    )
    model.save_pretrained(out)
    processor.save_pretrained(out)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out_dir", type=Path)
    parser.add_argument("--family", choices=sorted(FAMILIES), default="musicflamingo")
    parser.add_argument("--size", choices=sorted(SIZES), default="tiny")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    path = build_checkpoint(args.out_dir, args.family, args.size, args.seed)
    print(path)


if __name__ == "__main__":
    main()
