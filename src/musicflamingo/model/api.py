"""Plain functions behind ``musicflamingo analyze --model`` and ``musicflamingo ask``: paths and
options in, a `ListenReport` and its Markdown section out."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import torch

from musicflamingo.facts.schema import SongFacts

from .grounding import fact_check
from .report import Answer, ListenReport, render_markdown
from .runtime import MusicFlamingo, Request

ModelLike = str | Path | MusicFlamingo


def _model(
    model: ModelLike, device: str | torch.device | None, dtype: str | torch.dtype | None
) -> MusicFlamingo:
    if isinstance(model, MusicFlamingo):
        return model
    return MusicFlamingo.from_pretrained(model, device=device, dtype=dtype)


def listen_report(
    model: MusicFlamingo, song: str | Path, answers: list[Answer], facts: SongFacts | None
) -> ListenReport:
    """The report of ``answers`` about ``song``, its key facts checked against ``facts``."""
    check = None
    key_facts = next((a.key_facts for a in answers if a.task == "key_facts"), None)
    if facts is not None and key_facts is not None and key_facts.facts is not None:
        check = fact_check(key_facts.facts, facts)
    loaded = model.loaded
    return ListenReport(
        source=str(song),
        model=loaded.source,
        variant=loaded.variant,
        device=str(loaded.device),
        dtype=str(loaded.dtype).removeprefix("torch."),
        answers=answers,
        fact_check=check,
    )


def analyze(
    song: str | Path,
    model: ModelLike,
    *,
    questions: Sequence[str] = (),
    think: bool = False,
    grounded: bool = False,
    facts: SongFacts | None = None,
    lyrics: bool = False,
    truncate: bool = False,
    max_new_tokens: int | None = None,
    device: str | torch.device | None = None,
    dtype: str | torch.dtype | None = None,
    progress: bool = True,
) -> tuple[ListenReport, str]:
    """Caption, key facts (checked against ``facts`` when given), optional lyrics and
    ``questions`` for one song, batched in one pass.

    ``grounded`` quotes ``facts`` in the caption and question prompts; the key-facts prompt
    is never grounded, so its fact check stays independent.
    """
    if grounded and facts is None:
        raise ValueError("--grounded needs the song's measured facts")
    mf = _model(model, device, dtype)
    common: dict[str, Any] = dict(
        think=think, facts=facts, truncate=truncate, max_new_tokens=max_new_tokens
    )
    requests = [
        Request(song, "caption", grounded=grounded, **common),
        Request(song, "key_facts", **common),
    ]
    if lyrics:
        requests.append(
            Request(song, "lyrics", facts=facts, truncate=truncate, max_new_tokens=max_new_tokens)
        )
    requests += [Request(song, "ask", question=q, grounded=grounded, **common) for q in questions]
    report = listen_report(mf, song, mf.generate(requests, progress=progress), facts)
    return report, render_markdown(report)


def ask(
    song: str | Path,
    question: str,
    model: ModelLike,
    *,
    options: Sequence[str] | None = None,
    think: bool = False,
    grounded: bool = False,
    facts: SongFacts | None = None,
    truncate: bool = False,
    max_new_tokens: int | None = None,
    device: str | torch.device | None = None,
    dtype: str | torch.dtype | None = None,
    progress: bool = True,
) -> tuple[ListenReport, str]:
    """One question about one song (multiple choice when ``options`` are given)."""
    if grounded and facts is None:
        raise ValueError("--grounded needs the song's measured facts")
    mf = _model(model, device, dtype)
    request = Request(
        song,
        "choose" if options else "ask",
        question=question,
        options=list(options) if options else None,
        think=think,
        facts=facts,
        grounded=grounded,
        truncate=truncate,
        max_new_tokens=max_new_tokens,
    )
    report = listen_report(mf, song, mf.generate([request], progress=progress), None)
    return report, render_markdown(report)
