"""The listening runtime: requests over songs and questions, answered in batches (see
`decoding`), with songs longer than the checkpoint's cap heard in parts and merged.

A request becomes one model call per part of its song; a request heard in parts gets a
second, text-only call that merges the parts' answers into the whole-song answer (lyrics
are joined in order instead).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from musicflamingo import audio
from musicflamingo.facts.schema import SongFacts

from . import prompts
from .decoding import Decoder, Job, Listener, Output, Sampling
from .frontend import FrontEnd
from .grounding import grounded_context
from .loading import Loaded, load
from .parsing import parse_choice, parse_key_facts, parse_thinking
from .prompts import NEW_TOKENS, THINK_TOKENS
from .report import Answer, PartAnswer
from .segments import Span, plan_parts

AudioInput = str | Path | audio.Audio
MIN_SECONDS = 0.1  # below ~3 mel frames the encoder yields no audio token


@dataclass
class Request:
    """One question about one song.

    ``facts`` give section boundaries for cutting long songs and, with ``grounded``, the
    measured facts quoted in the prompt. ``truncate`` hears only the first ``cap`` seconds
    of a longer song (noted in the answer) instead of hearing it in parts. ``history``:
    earlier turns of a conversation (system, user, assistant) before this request's user
    turn; the audio goes with the first user turn (the merge pass of a song heard in parts
    sees the same turns, without audio). ``sampling`` and ``listener``: see `decoding`.
    """

    audio: AudioInput | None
    task: prompts.Task = "caption"
    question: str | None = None
    options: Sequence[str] | None = None
    think: bool = False
    facts: SongFacts | None = None
    grounded: bool = False
    truncate: bool = False
    max_new_tokens: int | None = None
    history: Sequence[tuple[prompts.Role, str]] = ()
    sampling: Sampling | None = None
    listener: Listener | None = None

    def __post_init__(self) -> None:
        prompts.request_text(self.task, self.question, self.options)  # raises if malformed
        if self.grounded and self.facts is None:
            raise ValueError("a grounded request needs the song's measured facts")


@dataclass
class _Plan:
    """A request with its audio, the parts it is heard in and what was said about that."""

    request: Request
    source: int
    duration: float
    spans: list[Span]
    request_text: str
    warnings: list[str]
    jobs: list[Job] = field(default_factory=list)


def _progress(enabled: bool) -> Progress:
    return Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=Console(stderr=True),
        disable=not enabled,
        transient=False,
    )


class MusicFlamingo:
    """A loaded Music Flamingo family checkpoint and the tasks it answers.

    ``batch_size`` and ``max_batch_tokens`` bound a decode batch (see `decoding.Decoder`);
    ``part_seconds`` hears long songs in parts shorter than the checkpoint's cap (to fit a
    smaller accelerator).
    """

    def __init__(
        self,
        loaded: Loaded,
        batch_size: int | None = None,
        max_batch_tokens: int | None = None,
        part_seconds: float | None = None,
    ):
        self.loaded = loaded
        self.frontend = FrontEnd(loaded.processor)
        self.decoder = Decoder(loaded, self.frontend, batch_size, max_batch_tokens)
        self.part_seconds = min(part_seconds or math.inf, loaded.cap_seconds)

    @classmethod
    def from_pretrained(
        cls,
        id_or_path: str | Path,
        device: str | torch.device | None = None,
        dtype: str | torch.dtype | None = None,
        **options: Any,
    ) -> MusicFlamingo:
        """Load a hub id or local folder (see `loading.load`); ``options`` as for the class."""
        return cls(load(id_or_path, device=device, dtype=dtype), **options)

    @property
    def model(self):  # noqa: ANN201 - a transformers model class
        return self.loaded.model

    @property
    def processor(self):  # noqa: ANN201
        return self.loaded.processor

    @property
    def cap_seconds(self) -> float:
        return self.loaded.cap_seconds

    def prepare(self, song: audio.Audio) -> None:
        """Compute the features of a song that will be heard whole, on the calling thread, so
        that a later `generate` about it (on another thread) finds them ready (see
        `FrontEnd.prepare`); a song too short or too long to be heard whole is left alone."""
        samples = song.at(self.frontend.sr).samples
        if MIN_SECONDS <= len(samples) / self.frontend.sr <= self.part_seconds:
            self.frontend.prepare(samples)

    # --- tasks --------------------------------------------------------------------------------

    def caption(self, song: AudioInput, *, think: bool = False, **kw: Any) -> Answer:
        """A rich multi-aspect description of the song."""
        return self.generate([Request(song, "caption", think=think, **kw)], progress=False)[0]

    def ask(self, song: AudioInput, question: str, *, think: bool = False, **kw: Any) -> Answer:
        """A free-form answer to ``question`` about the song."""
        req = Request(song, "ask", question=question, think=think, **kw)
        return self.generate([req], progress=False)[0]

    def choose(
        self,
        song: AudioInput,
        question: str,
        options: Sequence[str],
        *,
        think: bool = False,
        **kw: Any,
    ) -> Answer:
        """The option ("(A) …") the model picks; ``Answer.choice`` holds it."""
        req = Request(song, "choose", question=question, options=list(options), think=think, **kw)
        return self.generate([req], progress=False)[0]

    def lyrics(self, song: AudioInput, **kw: Any) -> Answer:
        """A structured lyric sheet (parts of a long song are joined in order)."""
        return self.generate([Request(song, "lyrics", **kw)], progress=False)[0]

    def key_facts(self, song: AudioInput, *, think: bool = False, **kw: Any) -> Answer:
        """Genre, BPM, key, meter, instruments, vocals, mood, chords as validated JSON."""
        return self.generate([Request(song, "key_facts", think=think, **kw)], progress=False)[0]

    # --- requests -----------------------------------------------------------------------------

    def generate(self, requests: Sequence[Request], *, progress: bool = True) -> list[Answer]:
        """Answer ``requests`` (any songs, any tasks) in batches; results in request order."""
        songs, keys = self._load_audio([r.audio for r in requests])
        plans = [self._plan(r, keys[i], songs) for i, r in enumerate(requests)]
        listen = [job for p in plans for job in p.jobs]
        merges: list[tuple[_Plan, Job]] = []
        with _progress(progress) as bar:
            outputs = self._run(listen, songs, bar, "listening")
            for p in plans:
                parts = [outputs[id(j)] for j in p.jobs]
                if len(p.spans) > 1 and p.request.task != "lyrics":
                    merges.append((p, self._merge_job(p, parts)))
            merged = self._run([j for _, j in merges], songs, bar, "merging")
        final = {id(p): merged[id(j)] for p, j in merges}
        return [self._answer(p, [outputs[id(j)] for j in p.jobs], final.get(id(p))) for p in plans]

    def _load_audio(self, items: Sequence[AudioInput | None]) -> tuple[list[np.ndarray], list[int]]:
        index: dict[object, int] = {}
        songs: list[np.ndarray] = []
        keys = []
        for item in items:
            if item is None:
                keys.append(-1)
                continue
            key: object = str(Path(item).resolve()) if isinstance(item, str | Path) else id(item)
            if key not in index:
                clip = item if isinstance(item, audio.Audio) else audio.load(item, self.frontend.sr)
                index[key] = len(songs)
                songs.append(clip.at(self.frontend.sr).samples)
            keys.append(index[key])
        return songs, keys

    def _plan(self, req: Request, source: int, songs: list[np.ndarray]) -> _Plan:
        tok = self.frontend.tokenizer
        question = prompts.sanitize(tok, req.question) if req.question else None
        options = [prompts.sanitize(tok, o) for o in req.options] if req.options else None
        text = prompts.request_text(req.task, question, options)
        if req.audio is None:  # a text-only question: one call, nothing heard
            plan = _Plan(req, source, 0.0, [], text, [])
            user = prompts.user_text(text, think=req.think)
            job = Job(self._render(req, user, audio=False), self._budget(req))
            plan.jobs.append(self._follow(job, req, streams=True))
            return plan
        duration = len(songs[source]) / self.frontend.sr
        if duration < MIN_SECONDS:
            raise ValueError(f"{duration:.3f} s of audio is too short to hear")
        cap, warnings = self.part_seconds, []
        if duration <= cap:
            spans = [Span(0.0, duration)]
        elif req.truncate:
            spans = [Span(0.0, cap)]
            warnings.append(
                f"the song is {prompts.clock(duration)} long; only the first "
                f"{prompts.clock(cap)} was heard (truncate)"
            )
        else:
            sections = req.facts.sections if req.facts else ()
            spans = plan_parts(duration, cap, self.frontend.window_seconds, sections)
        grounding = grounded_context(req.facts) if req.grounded and req.facts else None
        plan = _Plan(req, source, duration, spans, text, warnings)
        for i, span in enumerate(spans):
            note = None
            if len(spans) > 1:
                note = prompts.part_note(i, len(spans), span.start, span.end, duration)
            user = prompts.user_text(text, think=req.think, grounding=grounding, part=note)
            job = Job(self._render(req, user, audio=True), self._budget(req), source, span)
            plan.jobs.append(self._follow(job, req, streams=len(spans) == 1))
        return plan

    def _render(self, req: Request, user: str, *, audio: bool) -> str:
        tok = self.frontend.tokenizer
        turns = [*((r, prompts.sanitize(tok, t)) for r, t in req.history), ("user", user)]
        return prompts.render_turns(self.processor, turns, audio=audio, add_generation_prompt=True)

    @staticmethod
    def _follow(job: Job, req: Request, *, streams: bool) -> Job:
        job.sampling, job.listener, job.streams = req.sampling, req.listener, streams
        return job

    def _merge_job(self, plan: _Plan, parts: list[Output]) -> Job:
        answers = [
            (s.start, s.end, parse_thinking(o.text).answer)
            for s, o in zip(plan.spans, parts, strict=True)
        ]
        merge = prompts.merge_text(plan.request_text, plan.duration, answers)
        req = plan.request
        user = prompts.user_text(merge, think=req.think)
        job = Job(self._render(req, user, audio=False), self._budget(req))
        return self._follow(job, req, streams=True)

    def _budget(self, req: Request) -> int:
        """New-token limit: as asked, else the task's, plus room to reason when it will."""
        if req.max_new_tokens is not None:
            return req.max_new_tokens
        return NEW_TOKENS[req.task] + (THINK_TOKENS if req.think or self.loaded.thinks else 0)

    def _answer(self, plan: _Plan, parts: list[Output], merged: Output | None) -> Answer:
        req = plan.request
        part_records = (
            [
                PartAnswer(
                    start=s.start, end=s.end, text=o.text, answer=parse_thinking(o.text).answer
                )
                for s, o in zip(plan.spans, parts, strict=True)
            ]
            if len(plan.spans) > 1
            else []
        )
        if merged is not None:
            final = merged
        elif len(parts) > 1:  # lyrics: the parts' sheets joined in order
            final = Output(
                "\n\n".join(
                    f"[{prompts.clock(p.start)}–{prompts.clock(p.end)}]\n{p.answer.strip()}"
                    for p in part_records
                ),
                sum(o.new_tokens for o in parts),
                all(o.finished for o in parts),
            )
        else:
            final = parts[0]
        thought = parse_thinking(final.text)
        return Answer(
            task=req.task,
            question=req.question,
            options=list(req.options) if req.options else None,
            think=req.think,
            grounded=req.grounded,
            text=final.text,
            thinking=thought.thinking,
            answer=thought.answer,
            choice=parse_choice(final.text, req.options or ()) if req.task == "choose" else None,
            key_facts=parse_key_facts(final.text) if req.task == "key_facts" else None,
            parts=part_records if len(part_records) > 1 else [],
            heard=[(s.start, s.end) for s in plan.spans],
            duration=plan.duration,
            truncated=req.truncate and bool(plan.spans) and plan.spans[-1].end < plan.duration,
            warnings=plan.warnings,
            new_tokens=final.new_tokens,
            finished=final.finished and all(o.finished for o in parts),
        )

    def _run(
        self, jobs: list[Job], songs: list[np.ndarray], bar: Progress, label: str
    ) -> dict[int, Output]:
        if not jobs:
            return {}
        task = bar.add_task(label, total=len(jobs))
        return self.decoder.run(jobs, songs, lambda n: bar.advance(task, n))
