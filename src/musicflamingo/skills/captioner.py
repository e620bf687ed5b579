"""Stage-1 captioners: who hears each 30 s window and writes its short caption.

`SegmentCaptioner` is the protocol; `EndpointCaptioner` sends each clip to an
OpenAI-compatible chat endpoint as a base64 WAV ``input_audio`` part; `FunctionCaptioner`
wraps any function (the hook for the in-process Music Flamingo runtime).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Protocol, runtime_checkable

import numpy as np

from musicflamingo.llm.base import TextLLM, wav_base64

CaptionFn = Callable[[Sequence[np.ndarray], int, str], list[str]]


@runtime_checkable
class SegmentCaptioner(Protocol):
    """Captions a batch of mono clips (float32 at ``sr``) with one prompt, one text each."""

    @property
    def model_id(self) -> str: ...

    def caption(self, clips: Sequence[np.ndarray], sr: int, prompt: str) -> list[str]: ...


class EndpointCaptioner:
    """Audio chat completions through an OpenAI-compatible client (e.g. `OpenAIClient`
    pointed at a vLLM or our own server running an audio-language model)."""

    def __init__(self, client: TextLLM, max_tokens: int = 120, temperature: float = 0.0) -> None:
        self.client = client
        self.max_tokens = max_tokens
        self.temperature = temperature

    @property
    def model_id(self) -> str:
        return self.client.model_id

    def caption(self, clips: Sequence[np.ndarray], sr: int, prompt: str) -> list[str]:
        out = []
        for clip in clips:
            audio = {"data": wav_base64(clip, sr), "format": "wav"}
            content = [
                {"type": "text", "text": prompt},
                {"type": "input_audio", "input_audio": audio},
            ]
            reply = self.client.complete(
                [{"role": "user", "content": content}],
                max_tokens=self.max_tokens,
                temperature=self.temperature,
            )
            out.append(" ".join(reply.text.split()))
        return out


class FunctionCaptioner:
    """Any ``fn(clips, sr, prompt) -> captions``; picklable when ``fn`` is (module-level)."""

    def __init__(self, fn: CaptionFn, model_id: str) -> None:
        self.fn = fn
        self.model_id = model_id

    def caption(self, clips: Sequence[np.ndarray], sr: int, prompt: str) -> list[str]:
        texts = list(self.fn(clips, sr, prompt))
        if len(texts) != len(clips):
            raise ValueError(
                f"{self.model_id} returned {len(texts)} captions for {len(clips)} clips"
            )
        return texts


class ModelCaptioner:
    """Stage 1 on our Music Flamingo runtime (any supported checkpoint id or folder): the
    clips of a song are captioned in one batched `generate`. Picklable: the model is loaded
    once per process, on first use."""

    _loaded: dict = {}

    def __init__(
        self,
        model: str,
        *,
        device: str | None = None,
        dtype: str | None = None,
        max_new_tokens: int = 160,
    ) -> None:
        self.model = str(model)
        self.model_id = self.model
        self.device, self.dtype, self.max_new_tokens = device, dtype, max_new_tokens

    def caption(self, clips: Sequence[np.ndarray], sr: int, prompt: str) -> list[str]:
        from musicflamingo import audio
        from musicflamingo.facts.schema import SourceInfo
        from musicflamingo.model.runtime import MusicFlamingo, Request

        key = (self.model, self.device, self.dtype)
        if key not in self._loaded:
            self._loaded[key] = MusicFlamingo.from_pretrained(
                self.model, device=self.device, dtype=self.dtype
            )
        source = SourceInfo(
            path="segment",
            container="pcm",
            codec="pcm_f32le",
            sample_rate=sr,
            channels=1,
            size_bytes=0,
        )
        requests = [
            Request(
                audio.Audio(np.asarray(c, np.float32), sr, source),
                "ask",
                question=prompt,
                max_new_tokens=self.max_new_tokens,
            )
            for c in clips
        ]
        return [a.answer for a in self._loaded[key].generate(requests, progress=False)]
