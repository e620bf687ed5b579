"""The audio model of MF-Think: it answers QA items (to find the hard ones) and says Yes/No
to each trace step ("Is this statement true of the audio?").

`RuntimeAudio` runs a local checkpoint on our runtime, all of a song's requests in one
batched `generate` (one audio prefill per song); `EndpointAudio` sends the song to an
OpenAI-compatible audio chat endpoint. Unreadable replies are ``None``.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol, runtime_checkable

from musicflamingo.llm.base import TextLLM, wav_base64
from musicflamingo.model.parsing import parse_choice
from musicflamingo.model.prompts import request_text

JUDGE_QUESTION = "Is this statement true of the audio? Answer Yes or No.\nStatement: {step}"
_YES_NO = re.compile(r"\b(yes|no)\b", re.I)


@dataclass(frozen=True)
class QA:
    question: str
    options: list[str]


def yes_no(text: str) -> bool | None:
    """The first Yes/No of a reply (``None`` when it has neither)."""
    m = _YES_NO.search(text)
    return None if m is None else m.group(1).lower() == "yes"


@runtime_checkable
class AudioModel(Protocol):
    @property
    def model_id(self) -> str: ...

    def answer(self, path: str, items: Sequence[QA]) -> list[str | None]:
        """Each item's answer (an MCQ: the option chosen)."""
        ...

    def judge(self, path: str, steps: Sequence[str]) -> list[bool | None]:
        """Each step: true of the audio (Yes), false (No) or unreadable (None)."""
        ...


class RuntimeAudio:
    """A local Music Flamingo checkpoint (id or folder) on our runtime; picklable, loaded
    once per process on first use."""

    _loaded: dict = {}

    def __init__(self, model: str, device: str | None = None, dtype: str | None = None) -> None:
        self.model, self.device, self.dtype = str(model), device, dtype
        self.model_id = self.model

    def _runtime(self):  # noqa: ANN202 - musicflamingo.model.runtime.MusicFlamingo
        from musicflamingo.model.runtime import MusicFlamingo

        key = (self.model, self.device, self.dtype)
        if key not in self._loaded:
            self._loaded[key] = MusicFlamingo.from_pretrained(
                self.model, device=self.device, dtype=self.dtype
            )
        return self._loaded[key]

    def _song(self, path: str):  # noqa: ANN202 - musicflamingo.audio.Audio
        from musicflamingo import audio

        return audio.load(Path(path), audio.MODEL_SR)

    def answer(self, path: str, items: Sequence[QA]) -> list[str | None]:
        from musicflamingo.model.runtime import Request

        song = self._song(path)
        requests = [
            Request(song, "choose", question=q.question, options=q.options, max_new_tokens=32)
            if q.options
            else Request(song, "ask", question=q.question, max_new_tokens=48)
            for q in items
        ]
        answers = self._runtime().generate(requests, progress=False) if requests else []
        return [
            (a.choice.option if a.choice else None) if q.options else a.answer
            for q, a in zip(items, answers, strict=True)
        ]

    def judge(self, path: str, steps: Sequence[str]) -> list[bool | None]:
        from musicflamingo.model.runtime import Request

        song = self._song(path)
        requests = [
            Request(song, "ask", question=JUDGE_QUESTION.format(step=s), max_new_tokens=4)
            for s in steps
        ]
        answers = self._runtime().generate(requests, progress=False) if requests else []
        return [yes_no(a.answer) for a in answers]


class EndpointAudio:
    """An OpenAI-compatible chat endpoint that hears ``input_audio`` (16 kHz WAV)."""

    def __init__(self, client: TextLLM) -> None:
        self.client = client

    @property
    def model_id(self) -> str:
        return self.client.model_id

    def _ask(self, wav: str, text: str, max_tokens: int) -> str:
        content = [
            {"type": "text", "text": text},
            {"type": "input_audio", "input_audio": {"data": wav, "format": "wav"}},
        ]
        reply = self.client.complete([{"role": "user", "content": content}], max_tokens=max_tokens)
        return reply.text

    def _wav(self, path: str) -> str:
        from musicflamingo import audio

        song = audio.load(Path(path), audio.MODEL_SR)
        return wav_base64(song.samples, song.sr)

    def answer(self, path: str, items: Sequence[QA]) -> list[str | None]:
        wav = self._wav(path)
        out: list[str | None] = []
        for q in items:
            if q.options:
                text = self._ask(wav, request_text("choose", q.question, q.options), 32)
                out.append(parse_choice(text, q.options).option)
            else:
                out.append(self._ask(wav, q.question, 48).strip() or None)
        return out

    def judge(self, path: str, steps: Sequence[str]) -> list[bool | None]:
        wav = self._wav(path)
        return [yes_no(self._ask(wav, JUDGE_QUESTION.format(step=s), 4)) for s in steps]
