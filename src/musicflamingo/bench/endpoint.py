"""Remote models over OpenAI-compatible chat endpoints: another audio model to evaluate under
the same rules, the LLM judge of open answers and the optional LLM answer extractor.

All three go through `musicflamingo.llm.OpenAIClient` (httpx, a timeout per request,
retries with backoff on 429/5xx/timeouts/dropped connections), at temperature 0 with the
run's seed. The audio model gets exactly the user text the local runtime renders for the
same request (no chat template: the server applies its own) and the audio as a base64
``input_audio`` part. Only what decodes as audio is sent: every file is decoded first
(`musicflamingo.audio`); WAV and MP3 files (by content, not name) are sent as they are,
anything else as the decoded 16 kHz mono 16-bit WAV. A request that fails is that item's
error; the other items of the batch are unaffected. The judge's and extractor's model
ids and prompt versions are recorded with every verdict.
"""

from __future__ import annotations

import base64
import re
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, TypeVar

from pydantic import ConfigDict

from musicflamingo import audio
from musicflamingo.llm.base import wav_base64
from musicflamingo.llm.jsonrepair import parse_json
from musicflamingo.llm.openai_client import OpenAIClient
from musicflamingo.model import prompts
from musicflamingo.model.prompts import NEW_TOKENS, THINK_TOKENS
from musicflamingo.util import Record

from .items import BenchItem
from .recipe import JudgeSpec, Prompt

EXTRACT_PROMPT_VERSION = "extract-choice-v1"
EXTRACT_TEMPLATE = (
    "An audio model answered a multiple-choice question about a piece of music. Which "
    "option did it finally choose? Reply with the option's letter only, or NONE if it chose "
    "no option or several.\n\nQuestion:\n{question}\n\nOptions:\n{options}\n\n"
    "Model output:\n{response}"
)
In = TypeVar("In")
Out = TypeVar("Out")
_LETTER = re.compile(r"^\W*([A-Z])(?![A-Za-z])")


class _Frozen(Record):
    model_config = ConfigDict(frozen=True)


class Generation(_Frozen):
    """One model output; token counts where the backend reports them."""

    text: str
    new_tokens: int | None = None
    finished: bool | None = None
    warnings: list[str] = []


class Judgement(_Frozen):
    """An LLM judge's score of one answer, with the judge and prompt that gave it."""

    item_id: str
    judge_model: str
    prompt_version: str
    score: float | None
    reason: str = ""
    raw: str = ""


class ExtractedChoice(_Frozen):
    """The option an LLM read from one output (None: no single option)."""

    item_id: str
    extractor_model: str
    prompt_version: str
    chosen: str | None
    raw: str = ""


def user_text(prompt: Prompt, think: bool) -> str:
    """The user turn the local runtime renders for `prompt` (without its chat template)."""
    request = prompts.request_text(prompt.task, prompt.question, prompt.options)
    return prompts.user_text(request, think=think)


def max_tokens(prompt: Prompt, think: bool) -> int:
    """The runtime's token budget for the request."""
    return NEW_TOKENS[prompt.task] + (THINK_TOKENS if think else 0)


def audio_part(path: str | Path) -> dict:
    """An ``input_audio`` content part for the file (see module docstring); `AudioError`
    when it does not decode as audio."""
    path = Path(path)
    clip = audio.load(path, audio.MODEL_SR)
    fmt = clip.source.container
    if fmt in ("wav", "mp3"):
        encoded = base64.b64encode(path.read_bytes()).decode("ascii")
        return {"type": "input_audio", "input_audio": {"data": encoded, "format": fmt}}
    return {
        "type": "input_audio",
        "input_audio": {"data": wav_base64(clip.samples, clip.sr), "format": "wav"},
    }


class _Remote:
    """An `OpenAIClient` with the harness's defaults and a thread pool for many calls."""

    def __init__(
        self, base_url: str, model: str | None = None, *, concurrency: int = 4, seed: int = 0,
        **client: Any,
    ) -> None:  # fmt: skip
        """``client``: further `OpenAIClient` options (``api_key``, ``timeout`` …)."""
        self.client = OpenAIClient(base_url, model, max_concurrency=concurrency, **client)
        self.concurrency = concurrency
        self.seed = seed

    @property
    def model_id(self) -> str:
        return self.client.model_id

    def _ask(self, content: str | list[dict], tokens: int) -> tuple[str, int]:
        c = self.client.complete(
            [{"role": "user", "content": content}], max_tokens=tokens, seed=self.seed
        )
        return c.text, c.completion_tokens

    def _map(self, fn: Callable[[In], Out], args: Sequence[In]) -> list[Out]:
        with ThreadPoolExecutor(max_workers=max(1, self.concurrency)) as pool:
            return list(pool.map(fn, args))


class EndpointModel(_Remote):
    """An audio chat model behind an OpenAI-compatible endpoint, asked like the runtime:
    same user text, same token budget (or `max_new_tokens`), thinking when `think`."""

    def __init__(
        self, base_url: str, model: str | None = None, *, think: bool = False,
        max_new_tokens: int | None = None, **remote: Any,
    ) -> None:  # fmt: skip
        super().__init__(base_url, model, **remote)
        self.think = think
        self.max_new_tokens = max_new_tokens

    def generate(self, jobs: Sequence[tuple[Path, Prompt]]) -> list[Generation | Exception]:
        """One output per (audio file, prompt), in order, or the exception that item raised;
        requests run concurrently."""

        def one(job: tuple[Path, Prompt]) -> Generation | Exception:
            path, prompt = job
            budget = self.max_new_tokens or max_tokens(prompt, self.think)
            try:
                content = [
                    {"type": "text", "text": user_text(prompt, self.think)},
                    audio_part(path),
                ]
                reply, used = self._ask(content, budget)
            except Exception as e:  # noqa: BLE001 - recorded for this item, the batch goes on
                return e
            return Generation(text=reply, new_tokens=used or None, finished=used < budget)

        return self._map(one, jobs)


class Judge(_Remote):
    """Scores open answers with a `JudgeSpec`; empty answers get the lowest score unasked."""

    def rate(self, spec: JudgeSpec, items: Sequence[tuple[BenchItem, str]]) -> list[Judgement]:
        """One judgement per (item, extracted answer), in order."""
        model = self.model_id

        def one(pair: tuple[BenchItem, str]) -> Judgement:
            item, response = pair
            record = {"item_id": item.id, "judge_model": model, "prompt_version": spec.version}
            if not response.strip():
                return Judgement(**record, score=spec.low, reason="empty answer (not sent)")
            prompt = spec.template.format(
                question=item.question or "(describe the music)", reference=item.answer,
                response=response, low=spec.low, high=spec.high,
            )  # fmt: skip
            raw, _ = self._ask(prompt, 256)
            score, reason = _judge_reply(raw, spec)
            return Judgement(**record, score=score, reason=reason, raw=raw)

        return self._map(one, items)


def _judge_reply(raw: str, spec: JudgeSpec) -> tuple[float | None, str]:
    """The score (None when absent or out of range) and reason from a judge's JSON reply."""
    try:
        reply = parse_json(raw)
        score = float(reply["score"])
    except (ValueError, KeyError, TypeError):
        return None, "unreadable judge reply"
    if not spec.low <= score <= spec.high:
        return None, f"score {score:g} outside {spec.low}-{spec.high}"
    return score, str(reply.get("reason", ""))


class AnswerExtractor(_Remote):
    """Maps free-form (thinking) outputs onto one of the options with an LLM."""

    def choose(self, jobs: Sequence[tuple[BenchItem, list[str], str]]) -> list[ExtractedChoice]:
        """One choice per (item, options, raw output), in order."""
        model = self.model_id

        def one(job: tuple[BenchItem, list[str], str]) -> ExtractedChoice:
            item, options, response = job
            prompt = EXTRACT_TEMPLATE.format(
                question=item.question, options=prompts.option_lines(options), response=response
            )
            raw, _ = self._ask(prompt, 8)
            found = _LETTER.search(raw.strip())
            index = prompts.LETTERS.find(found.group(1)) if found else -1
            chosen = options[index] if 0 <= index < len(options) else None
            return ExtractedChoice(
                item_id=item.id, extractor_model=model, prompt_version=EXTRACT_PROMPT_VERSION,
                chosen=chosen, raw=raw,
            )  # fmt: skip

        return self._map(one, jobs)
