"""Run benchmarks end to end: ask every item, keep each output as soon as its batch is done,
score with the official rules and write the results beside the paper's numbers.

The output folder, resumable::

    run.json                   what produced the run (a rerun into it must match)
    <bench>/outputs.jsonl      one row per finished item, appended and synced per batch
    <bench>/errors.jsonl       items whose generation failed (tried again on a rerun)
    <bench>/judgements.jsonl   LLM-judge verdicts, per judge model and prompt version
    <bench>/extractions.jsonl  LLM-extractor choices, per extractor model and prompt version
    <bench>/scores.jsonl       per-item verdicts of the official rule (rewritten each run)
    <bench>/submission.json    predictions where the answers are withheld
    results.json, results.md, results.png

A rerun skips every item that has an output row, so a killed run loses at most the batch
in flight (a torn last line is cut off when the file is reopened). Items whose audio is
missing are reported in the results and never sent.
"""

from __future__ import annotations

import functools
import json
import logging
import os
import random
import re
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Generic, Protocol, TypeVar

import numpy as np
from pydantic import BaseModel, ConfigDict, ValidationError
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from musicflamingo import audio
from musicflamingo.model.parsing import extract
from musicflamingo.util import Record, atomic_write

from . import registry, results
from .endpoint import (
    EXTRACT_PROMPT_VERSION,
    AnswerExtractor,
    EndpointModel,
    ExtractedChoice,
    Generation,
    Judge,
    Judgement,
)
from .items import BenchItem, Score, read_predictions
from .loaders import LoadedBenchmark
from .recipe import DataMissing, Prompt, Recipe, Resources
from .results import BenchResult, Measure, RunConfig, RunResults
from .scorers import EXTRACTIONS, ExtractionMode

R = TypeVar("R", bound=BaseModel)
Job = tuple[Path, Prompt]
log = logging.getLogger(__name__)


class Remote(Record):
    """An OpenAI-compatible endpoint: base URL, model id (default: the server's first
    listed model) and API key (default: ``OPENAI_API_KEY``)."""

    model_config = ConfigDict(frozen=True)

    url: str
    model: str | None = None
    api_key: str | None = None


class OutputRow(Record):
    """One finished item: the raw model text and what the backend said about it."""

    item_id: str
    text: str
    seconds: float
    new_tokens: int | None = None
    finished: bool | None = None
    warnings: list[str] = []


class ErrorRow(Record):
    item_id: str
    error: str


class JsonLines(Generic[R]):
    """An append-only JSON-lines file of one record type that survives being killed: a torn
    last line is cut off on open, every append is flushed and synced, and a damaged line
    elsewhere is skipped with a warning (its item is simply asked again)."""

    def __init__(self, path: Path, record: type[R]) -> None:
        self.path, self.record = path, record
        if path.is_file():
            data = path.read_bytes()
            if data and not data.endswith(b"\n"):
                with open(path, "r+b") as f:
                    f.truncate(data.rfind(b"\n") + 1)

    def read(self) -> list[R]:
        if not self.path.is_file():
            return []
        rows = []
        with open(self.path, encoding="utf-8", errors="replace") as f:
            for number, line in enumerate(f, 1):
                if not line.strip():
                    continue
                try:
                    rows.append(self.record.model_validate_json(line))
                except ValidationError as e:
                    reason = e.errors()[0]["msg"]
                    log.warning("%s:%d: damaged line skipped (%s)", self.path, number, reason)
        return rows

    def append(self, rows: Sequence[R]) -> None:
        if not rows:
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with open(self.path, "a", encoding="utf-8") as f:
            f.write("".join(r.model_dump_json() + "\n" for r in rows))
            f.flush()
            os.fsync(f.fileno())


class Backend(Protocol):
    def generate(self, jobs: Sequence[Job]) -> list[Generation | Exception]: ...


class RuntimeBackend:
    """The local Music Flamingo runtime. Each job's audio is decoded first, so an item that
    is not usable audio fails alone; the rest go in one batched `generate`."""

    def __init__(
        self, model: str | Path, *, batch_size: int, think: bool = False,
        max_new_tokens: int | None = None, device: str | None = None, dtype: str | None = None,
        seed: int = 0,
    ) -> None:  # fmt: skip
        import torch

        from musicflamingo.model.runtime import MusicFlamingo

        torch.manual_seed(seed)
        self.mf = MusicFlamingo.from_pretrained(
            model, device=device, dtype=dtype, batch_size=batch_size
        )
        self.think = think
        self.max_new_tokens = max_new_tokens

    def _clip(self, path: Path) -> audio.Audio | Exception:
        from musicflamingo.model.runtime import MIN_SECONDS

        try:
            clip = audio.load(path, self.mf.frontend.sr)
        except audio.AudioError as e:
            return e
        if clip.duration < MIN_SECONDS:
            return ValueError(f"{path}: {clip.duration:.3f} s of audio is too short to hear")
        return clip

    def generate(self, jobs: Sequence[Job]) -> list[Generation | Exception]:
        from musicflamingo.model.runtime import Request

        out: list[Generation | Exception] = []
        good: dict[int, audio.Audio] = {}
        for i, (path, _) in enumerate(jobs):
            clip = self._clip(path)
            out.append(clip if isinstance(clip, Exception) else Generation(text=""))
            if isinstance(clip, audio.Audio):
                good[i] = clip
        requests = [
            Request(clip, p.task, question=p.question, options=p.options, think=self.think,
                    max_new_tokens=self.max_new_tokens)
            for i, clip in good.items() for p in [jobs[i][1]]
        ]  # fmt: skip
        try:
            answers = self.mf.generate(requests, progress=False) if requests else []
        except Exception as e:  # noqa: BLE001 - every item of the batch records it
            for i in good:
                out[i] = e
            return out
        for i, a in zip(good, answers, strict=True):
            out[i] = Generation(
                text=a.text, new_tokens=a.new_tokens, finished=a.finished, warnings=a.warnings
            )
        return out


@dataclass
class _Plan:
    """One benchmark of the run: its items (after `limit`) and where its files go."""

    entry: Recipe
    folder: Path
    loaded: LoadedBenchmark | None = None
    items: list[BenchItem] = field(default_factory=list)
    note: str = ""

    def store(self, name: str, record: type[R]) -> JsonLines[R]:
        return JsonLines(self.folder / name, record)


def _select(items: list[BenchItem], limit: int | None, seed: int) -> list[BenchItem]:
    """All items, or a seeded sample of `limit` of them in file order."""
    if limit is None or limit >= len(items):
        return items
    keep = set(random.Random(seed).sample(range(len(items)), limit))
    return [item for i, item in enumerate(items) if i in keep]


def _chunks(items: Sequence[BenchItem], size: int) -> Iterator[Sequence[BenchItem]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _remote(value: Remote | str | None) -> Remote | None:
    return Remote(url=value) if isinstance(value, str) else value


def _model_id(model: str | Path) -> str:
    """A local folder as its absolute path (so reruns from elsewhere match), else the hub id."""
    return str(Path(model).resolve()) if Path(model).exists() else str(model)


def default_out_dir(
    model: str | Path | None = None, endpoint: str | None = None, think: bool = False
) -> Path:
    """``musicflamingo-eval/<model or endpoint>[-think]``: the same command resumes the same run."""
    name = Path(str(model)).name if model is not None else str(endpoint)
    slug = re.sub(r"[^A-Za-z0-9._-]+", "_", name).strip("_") or "run"
    return Path("musicflamingo-eval") / (slug + ("-think" if think else ""))


def _start(out: Path, config: RunConfig) -> None:
    """Write ``run.json`` (atomically), or check that the run already in `out` was made the
    same way."""
    path = out / "run.json"
    if path.is_file():
        try:
            before = RunConfig.model_validate_json(path.read_text(encoding="utf-8"))
        except (ValidationError, UnicodeDecodeError) as e:
            reason = e.errors()[0]["msg"] if isinstance(e, ValidationError) else str(e)
            raise ValueError(
                f"{path} is damaged ({reason}); delete it to resume this run with the "
                "current settings, or use another --out"
            ) from None
        diff = {
            k: (v, config.identity()[k])
            for k, v in before.identity().items()
            if v != config.identity()[k]
        }
        if diff:
            changes = ", ".join(f"{k}: {a!r} -> {b!r}" for k, (a, b) in diff.items())
            raise ValueError(f"{out} holds a run made differently ({changes}); use another --out")
    atomic_write(path, config.model_dump_json(indent=2))


def _progress(enabled: bool) -> Progress:
    return Progress(
        TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(),
        TimeElapsedColumn(), console=Console(stderr=True), disable=not enabled,
    )  # fmt: skip


def _generate(
    plans: Sequence[_Plan],
    backend: Callable[[], Backend],
    batch_size: int,
    bar: Progress,
) -> None:
    """Ask every pending item with audio, appending its rows as each chunk finishes."""
    for plan in plans:
        if plan.loaded is None:
            continue
        outputs, errors = (
            plan.store("outputs.jsonl", OutputRow),
            plan.store("errors.jsonl", ErrorRow),
        )
        done = {r.item_id for r in outputs.read()}
        todo = [i for i in plan.items if i.id in plan.loaded.audio_paths and i.id not in done]
        if not todo:
            continue
        task = bar.add_task(plan.entry.name, total=len(todo))
        model = backend()
        for chunk in _chunks(todo, batch_size):
            jobs = [(plan.loaded.audio_paths[i.id], plan.entry.prompt(i)) for i in chunk]
            start = time.perf_counter()
            got = model.generate(jobs)
            seconds = (time.perf_counter() - start) / len(chunk)
            pairs = list(zip(chunk, got, strict=True))
            outputs.append([
                OutputRow(item_id=i.id, text=g.text, seconds=round(seconds, 3),
                          new_tokens=g.new_tokens, finished=g.finished, warnings=g.warnings)
                for i, g in pairs if isinstance(g, Generation)
            ])  # fmt: skip
            errors.append([
                ErrorRow(item_id=i.id, error=f"{type(g).__name__}: {g}")
                for i, g in pairs if isinstance(g, Exception)
            ])  # fmt: skip
            bar.advance(task, len(chunk))


@dataclass
class _Scoring:
    """What scoring needs beyond the outputs: the optional judge and extractor, and the
    resources some rules load (the MMAU-Pro embedder)."""

    judge: Judge | None
    extractor: AnswerExtractor | None
    resources: Resources


def official_measures(
    entry: Recipe,
    loaded: LoadedBenchmark,
    done: Sequence[BenchItem],
    texts: dict[str, str],
    resources: Resources,
    extractions: Sequence[ExtractionMode] = ("raw", "answer"),
) -> tuple[list[Measure], list[Score]]:
    """The benchmark's own rule on each output, once per extraction: ``raw`` reads the
    whole output exactly as the official script does, ``answer`` its ``<answer>`` part."""
    scorer = entry.scorer(loaded, resources)
    measures, scores = [], []
    for mode in extractions:
        these = [scorer(item, texts[item.id], mode) for item in done]
        measures.append(results.accuracy_measure(these, extraction=EXTRACTIONS[mode]))
        scores += these
    return measures, scores


def _official(
    plan: _Plan, done: list[BenchItem], texts: dict[str, str], ctx: _Scoring
) -> list[Measure]:
    """`official_measures`; every verdict goes to ``scores.jsonl``."""
    assert plan.loaded is not None
    measures, scores = official_measures(plan.entry, plan.loaded, done, texts, ctx.resources)
    atomic_write(plan.folder / "scores.jsonl", "".join(s.model_dump_json() + "\n" for s in scores))
    return measures


def _extracted(
    plan: _Plan, done: list[BenchItem], texts: dict[str, str], ex: AnswerExtractor
) -> Measure:
    """Accuracy with the options read by the LLM extractor (cached per model and prompt)."""
    store = plan.store("extractions.jsonl", ExtractedChoice)
    model = ex.model_id
    cached = {
        r.item_id: r
        for r in store.read()
        if r.extractor_model == model and r.prompt_version == EXTRACT_PROMPT_VERSION
    }
    todo = [i for i in done if i.id not in cached]
    fresh = ex.choose([(i, plan.entry.options(i) or [], texts[i.id]) for i in todo])
    store.append(fresh)
    cached.update({r.item_id: r for r in fresh})
    label = f"llm-extractor: {model} ({EXTRACT_PROMPT_VERSION})"
    scores = [
        Score(
            item_id=i.id, benchmark=i.benchmark, rule="llm-extracted-choice", extraction=label,
            extracted=cached[i.id].raw, chosen=cached[i.id].chosen,
            correct=cached[i.id].chosen == i.answer, answered=cached[i.id].chosen is not None,
            metadata=i.metadata,
        )
        for i in done
    ]  # fmt: skip
    return results.accuracy_measure(scores, extraction=label)


def _judged(
    plan: _Plan, done: list[BenchItem], texts: dict[str, str], judge: Judge | None
) -> Measure:
    """Mean LLM-judge score of the extracted answers (verdicts cached per judge and prompt)."""
    spec = plan.entry.judge
    answers = {i.id: extract(texts[i.id]).text for i in done}
    if judge is None or spec is None:
        return Measure(value=None, rule="llm-judge: none given (pass a judge endpoint)", n_scored=0)
    store = plan.store("judgements.jsonl", Judgement)
    model = judge.model_id
    cached = {
        r.item_id: r
        for r in store.read()
        if r.judge_model == model and r.prompt_version == spec.version
    }
    fresh = judge.rate(spec, [(i, answers[i.id]) for i in done if i.id not in cached])
    store.append(fresh)
    cached.update({r.item_id: r for r in fresh})
    return results.judge_measure(
        done,
        {i.id: cached[i.id].score for i in done},
        {i.id: bool(answers[i.id].strip()) for i in done},
        rule=f"llm-judge: {model} ({spec.version}, {spec.low}-{spec.high})",
    )


def _submission(plan: _Plan, done: list[BenchItem], texts: dict[str, str]) -> Measure:
    """``submission.json``: id, question, choices and the extracted prediction per item."""
    rows = [
        {"id": i.id, "question": i.question, "choices": i.choices,
         "model_prediction": extract(texts[i.id]).text}
        for i in done
    ]  # fmt: skip
    path = atomic_write(
        plan.folder / "submission.json", json.dumps(rows, indent=2, ensure_ascii=False)
    )
    empty = sum(not r["model_prediction"] for r in rows)
    return Measure(
        value=None,
        rule="none here: answers withheld, submit submission.json",
        n_scored=0,
        unanswered_rate=round(100 * empty / len(rows), 2) if rows else None,
        details={"submission": str(path), "predictions": len(rows)},
    )


def _result(plan: _Plan, ctx: _Scoring) -> BenchResult:
    entry = plan.entry
    head = BenchResult(
        benchmark=entry.name, title=entry.title, metric=entry.metric,
        availability=entry.availability, paper=entry.paper, note=entry.note,
    )  # fmt: skip
    if plan.loaded is None:
        return head.model_copy(update={"note": plan.note})
    texts: dict[str, str] = {}
    for row in plan.store("outputs.jsonl", OutputRow).read():
        texts.setdefault(row.item_id, row.text)
    errors = {r.item_id: r.error for r in plan.store("errors.jsonl", ErrorRow).read()}
    errors.update(plan.loaded.rejected_audio)
    done = [i for i in plan.items if i.id in texts]
    plan.folder.mkdir(parents=True, exist_ok=True)
    if entry.metric == "accuracy":
        measures = _official(plan, done, texts, ctx)
        if ctx.extractor is not None and entry.kind in ("mcq", "classification"):
            measures.append(_extracted(plan, done, texts, ctx.extractor))
    elif entry.metric == "judge":
        measures = [_judged(plan, done, texts, ctx.judge)]
    elif entry.metric == "submission":
        measures = [_submission(plan, done, texts)]
    else:
        measures = [results.lyrics_measure(done, texts, entry.language)]
    missing = [
        i.audio
        for i in plan.items
        if i.id not in plan.loaded.audio_paths and i.id not in plan.loaded.rejected_audio
    ]
    return head.model_copy(
        update={
            "n_items": len(plan.items),
            "n_missing_audio": len(missing),
            "missing_audio": missing,
            "errors": {
                i.id: errors[i.id] for i in plan.items if i.id in errors and i.id not in texts
            },
            "measures": measures,
        }
    )


def run(
    benchmarks: Sequence[str],
    *,
    data_root: str | Path,
    out_dir: str | Path,
    model: str | Path | None = None,
    endpoint: Remote | str | None = None,
    limit: int | None = None,
    think: bool = False,
    seed: int = 0,
    batch_size: int = 8,
    max_new_tokens: int | None = None,
    judge: Remote | str | None = None,
    extractor: Remote | str | None = None,
    embedder: Resources | None = None,
    device: str | None = None,
    dtype: str | None = None,
    progress: bool = True,
) -> RunResults:
    """Run `benchmarks` (registry names, or "all") with a local checkpoint (`model`: hub id
    or folder) or an OpenAI-compatible audio `endpoint`; write and return the results.

    `limit` takes a seeded sample of that many items per benchmark; `max_new_tokens`
    overrides the runtime's per-task token budgets (quick or cheap runs); `judge` scores the
    judge-scored benchmarks; `extractor` adds an LLM-extracted measure to the
    multiple-choice and classification ones; `embedder` picks MMAU-Pro's sentence embedder
    (default: bundled all-MiniLM-L6-v2; official: NV-Embed-v2, with its remote-code
    opt-in). Benchmarks whose data is not under `data_root` are reported in the results,
    not fatal. The results cover the
    benchmarks of this call; `out_dir` may hold others from earlier calls.
    """
    if (model is None) == (endpoint is None):
        raise ValueError("give either a model (hub id or folder) or an endpoint URL")
    entries = registry.select(benchmarks)
    remote, out = _remote(endpoint), Path(out_dir)
    served = None
    if remote is not None:
        served = EndpointModel(
            remote.url, remote.model, api_key=remote.api_key, concurrency=batch_size,
            seed=seed, think=think, max_new_tokens=max_new_tokens,
        )  # fmt: skip
    config = RunConfig(
        model=None if model is None else _model_id(model),
        endpoint=None if remote is None else remote.url,
        endpoint_model=None if served is None else served.model_id,
        think=think, seed=seed, limit=limit, max_new_tokens=max_new_tokens,
        prompt_version=registry.PROMPT_VERSION,
        data_root=str(data_root),
    )  # fmt: skip
    _start(out, config)
    random.seed(seed)
    np.random.seed(seed)
    bar = _progress(progress)
    plans = []
    for entry in entries:
        plan = _Plan(entry, out / entry.name)
        try:
            plan.loaded = entry.load(data_root)
            plan.items = _select(plan.loaded.items, limit, seed)
        except DataMissing as e:
            plan.note = str(e)
            bar.console.print(f"[yellow]skipped[/] {e}", highlight=False)
        plans.append(plan)

    @functools.cache
    def backend() -> Backend:
        if served is not None:
            return served
        assert model is not None
        return RuntimeBackend(
            model, batch_size=batch_size, think=think, max_new_tokens=max_new_tokens,
            device=device, dtype=dtype, seed=seed,
        )  # fmt: skip

    with bar:
        _generate(plans, backend, batch_size, bar)
    judging, extracting = _remote(judge), _remote(extractor)
    ctx = _Scoring(
        judge=None
        if judging is None
        else Judge(judging.url, judging.model, api_key=judging.api_key, seed=seed),
        extractor=None
        if extracting is None
        else AnswerExtractor(
            extracting.url, extracting.model, api_key=extracting.api_key, seed=seed
        ),
        resources=embedder or Resources(),
    )
    outcome = RunResults(config=config, benchmarks=[_result(p, ctx) for p in plans])
    results.write(outcome, out)
    return outcome


def score(
    benchmark: str,
    predictions: str | Path,
    *,
    data_root: str | Path,
    out_dir: str | Path,
    extraction: ExtractionMode = "raw",
    embedder: Resources | None = None,
) -> RunResults:
    """Score a predictions file (``{"id": …, "output": …}`` lines, ids as in the benchmark's
    question file) with the benchmark's rule, no model needed; write and return the results.

    ``raw`` reads each output exactly as the official script does, ``answer`` its
    ``<answer>`` part. As in the official scripts, items without a prediction are left out
    (their count is in the measure's details); an id the benchmark lacks is an error.
    Accuracy and lyrics benchmarks only (judge-scored ones need `run` with a judge).
    """
    entry = registry.get(benchmark)
    if entry.metric not in ("accuracy", "wer", "cer"):
        raise ValueError(f"{benchmark} is scored by {entry.metric}; use `eval run` for it")
    loaded = entry.load(data_root)
    texts = {p.item_id: p.text for p in read_predictions(predictions)}
    unknown = texts.keys() - {i.id for i in loaded.items}
    if unknown:
        raise ValueError(
            f"{predictions}: {len(unknown)} ids are not {benchmark} items, e.g. {min(unknown)!r}"
        )
    done = [i for i in loaded.items if i.id in texts]
    out = Path(out_dir)
    if entry.metric == "accuracy":
        (measure,), scores = official_measures(
            entry, loaded, done, texts, embedder or Resources(), (extraction,)
        )
        rows = "".join(s.model_dump_json() + "\n" for s in scores)
        atomic_write(out / entry.name / "scores.jsonl", rows)
    else:
        measure = results.lyrics_measure(done, texts, entry.language)
    measure = measure.model_copy(
        update={
            "details": {
                **measure.details,
                "items_without_prediction": len(loaded.items) - len(done),
            }
        }
    )
    config = RunConfig(
        predictions=str(Path(predictions).resolve()), prompt_version=registry.PROMPT_VERSION,
        data_root=str(data_root),
    )  # fmt: skip
    result = BenchResult(
        benchmark=entry.name, title=entry.title, metric=entry.metric,
        availability=entry.availability, paper=entry.paper, n_items=len(loaded.items),
        measures=[measure], note=entry.note,
    )  # fmt: skip
    outcome = RunResults(config=config, benchmarks=[result])
    results.write(outcome, out)
    return outcome
