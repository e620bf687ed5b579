"""The `musicflamingo` command.

No ``from __future__ import annotations`` here: typer reads every command's parameters on
each run, and string annotations would be compiled and evaluated each time (0.05 s).
"""

import atexit
import gc
import json
import os
import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table
from typer.core import TyperGroup

from musicflamingo import audio
from musicflamingo.facts.lyrics import DEFAULT_MODEL
from musicflamingo.serve import BATCH_WINDOW, MAX_BATCH

# The interpreter's garbage collections at exit walk every object the libraries made at
# import: 0.1-0.2 s at the end of every command. Frozen objects are skipped; ours hold
# nothing that needs a collector to finish (files are closed where they are written).
atexit.register(gc.freeze)

app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    help="Music Flamingo: measured music facts, model runtime, data, evaluation.",
)
err = Console(stderr=True)


def fail(message: str, code: int = 1) -> typer.Exit:
    """One clear line on stderr and a non-zero exit."""
    err.print(f"[bold red]error:[/] {message}", highlight=False, soft_wrap=True)
    return typer.Exit(code)


@app.callback()
def main() -> None:
    """Music Flamingo tools."""


LyricsModelOption = Annotated[
    str,
    typer.Option(
        help="bundled:base (multilingual), bundled:tiny.en, or a faster-whisper model id "
        "or path; 'none' skips lyrics"
    ),
]


def _lyrics_model(choice: str) -> str | None:
    """``--lyrics-model`` as `FactsConfig.lyrics_model` ('none': None, no lyrics)."""
    return None if choice.lower() == "none" else choice


@app.command("analyze")
def analyze_cmd(
    paths: Annotated[list[str], typer.Argument(help="audio/video files, folders or globs")],
    out: Annotated[Path, typer.Option("--out", "-o", help="output folder")] = Path(
        "musicflamingo-out"
    ),
    fmt: Annotated[str, typer.Option("--format", help="terminal output: table or json")] = "table",
    workers: Annotated[int, typer.Option(help="worker processes for folders")] = 0,
    lyrics_model: LyricsModelOption = DEFAULT_MODEL,
    max_duration: Annotated[float, typer.Option(help="longest file accepted, seconds")] = (
        audio.MAX_DURATION
    ),
    rhythm: Annotated[
        str,
        typer.Option(
            help="beat/downbeat backend: tcn (our network, trained on our own renders), "
            "essentia, or madmom (the `madmom` extra; its models are CC BY-NC-SA, non-commercial)"
        ),
    ] = "tcn",
    force: Annotated[bool, typer.Option(help="redo songs already analyzed")] = False,
    model: Annotated[
        str | None, typer.Option(help="Music Flamingo checkpoint id or folder: add its analysis")
    ] = None,
    ask: Annotated[
        list[str] | None, typer.Option(help="a question for the model (repeatable)")
    ] = None,
    think: Annotated[bool, typer.Option(help="step-by-step reasoning (<think>/<answer>)")] = False,
    grounded: Annotated[bool, typer.Option(help="give the model the measured facts")] = False,
    truncate: Annotated[
        bool, typer.Option(help="cut songs over the model's cap instead of segment-and-merge")
    ] = False,
    device: Annotated[str | None, typer.Option(help="cuda, cpu (default: cuda if present)")] = None,
    dtype: Annotated[str | None, typer.Option(help="bf16, fp16 or fp32")] = None,
) -> None:
    """Measure tempo, beats, meter, key, chords, sections, loudness and lyrics; write a JSON,
    a Markdown report and plots per song. With --model, Music Flamingo's caption, key facts
    (checked against the measured facts) and answers are added to the report."""
    from musicflamingo.analyze import analyze_many, analyze_song
    from musicflamingo.facts import madmom_rhythm
    from musicflamingo.facts.extract import RHYTHM, FactsConfig
    from musicflamingo.inputs import expand_inputs, output_folder

    if fmt not in ("table", "json"):
        raise fail(f"--format must be 'table' or 'json', not {fmt!r}", 2)
    if rhythm not in RHYTHM:
        raise fail(f"--rhythm must be one of {', '.join(RHYTHM)}, not {rhythm!r}", 2)
    if rhythm == "madmom" and not madmom_rhythm.available():
        raise fail("--rhythm madmom needs the madmom extra: pip install 'musicflamingo[madmom]'", 2)
    try:
        audio.check_max_duration(max_duration)
    except ValueError as e:
        raise fail(f"--max-duration: {e}", 2) from None
    songs, root = expand_inputs(paths)
    if not songs:
        raise fail(f"no audio files found in {' '.join(paths)}")
    n_workers = workers or min(len(songs), os.cpu_count() or 1)
    config = FactsConfig(
        lyrics_model=_lyrics_model(lyrics_model),
        max_duration=max_duration,
        beat_tracker=RHYTHM[rhythm],
        threads=max(1, (os.cpu_count() or 1) // n_workers),
    )
    single = len(songs) == 1 and root is None
    if single:
        try:
            folder = output_folder(songs[0], out, None)
            facts = analyze_song(songs[0], folder, config)
        except (audio.AudioError, ValueError) as e:
            raise fail(str(e)) from None
        listen = None
        if model is not None:
            listen = _listen(
                songs[0], facts, folder, model, ask or [], think, grounded, truncate, device, dtype
            )
        if fmt == "json":
            if listen is None:
                sys.stdout.write(facts.to_json() + "\n")
            else:
                combined = {"facts": facts.model_dump(), "model": listen.model_dump()}
                sys.stdout.write(json.dumps(combined, indent=2) + "\n")
        else:
            _print_facts(facts, folder)
        return
    try:
        summary = analyze_many(songs, out, root, config, n_workers, force=force)
    except ValueError as e:  # an output folder that would land outside --out
        raise fail(str(e)) from None
    if model is not None:
        from musicflamingo.facts.schema import SongFacts

        for job in [*summary.done, *summary.skipped]:
            facts = SongFacts.from_json((job.folder / "facts.json").read_text(encoding="utf-8"))
            _listen(
                job.song,
                facts,
                job.folder,
                model,
                ask or [],
                think,
                grounded,
                truncate,
                device,
                dtype,
            )
    if fmt == "json":
        sys.stdout.write(
            json.dumps(
                {
                    "done": [str(j.folder / "facts.json") for j in summary.done],
                    "skipped": [str(j.folder / "facts.json") for j in summary.skipped],
                    "failed": [{"path": str(j.song), "reason": r} for j, r in summary.failed],
                },
                indent=2,
            )
            + "\n"
        )
    else:
        err.print(
            f"{len(summary.done)} analyzed, {len(summary.skipped)} already done, "
            f"{len(summary.failed)} failed -> {out / 'summary.json'}"
        )
    for job, reason in summary.failed:
        err.print(f"[red]failed:[/] {job.song}: {reason}", highlight=False, soft_wrap=True)
    if summary.failed:
        raise typer.Exit(1)


_LOADED: dict = {}


def _listen(
    song,
    facts,
    folder: Path,
    model: str,
    questions: list[str],
    think: bool,
    grounded: bool,
    truncate: bool,
    device: str | None,
    dtype: str | None,
):
    """Run the model on one song, save model.json and rebuild report.md with its section."""
    from musicflamingo.analyze import save_listen
    from musicflamingo.model import api
    from musicflamingo.model.loading import ModelError
    from musicflamingo.model.runtime import MusicFlamingo

    try:
        if model not in _LOADED:  # one load per process, reused across songs
            _LOADED[model] = MusicFlamingo.from_pretrained(model, device=device, dtype=dtype)
        report, _ = api.analyze(
            song,
            _LOADED[model],
            questions=questions,
            think=think,
            grounded=grounded,
            facts=facts,
            truncate=truncate,
        )
    except (ModelError, ValueError) as e:
        raise fail(str(e)) from None
    save_listen(report, folder)
    return report


@app.command("ask")
def ask_cmd(
    song: Annotated[Path, typer.Argument(help="an audio or video file")],
    question: Annotated[str, typer.Argument(help="what to ask about it")],
    model: Annotated[str, typer.Option(help="Music Flamingo checkpoint id or folder")],
    option: Annotated[
        list[str] | None, typer.Option(help="a choice (repeat for multiple choice)")
    ] = None,
    think: Annotated[bool, typer.Option(help="step-by-step reasoning")] = False,
    device: Annotated[str | None, typer.Option()] = None,
    dtype: Annotated[str | None, typer.Option(help="bf16, fp16 or fp32")] = None,
) -> None:
    """One question about one song; prints the answer (the choice for multiple choice)."""
    from musicflamingo.model import api
    from musicflamingo.model.loading import ModelError

    try:
        audio.probe(song)
        report, _ = api.ask(
            song,
            question,
            model,
            options=option,
            think=think,
            device=device,
            dtype=dtype,
            progress=False,
        )
    except (audio.AudioError, ModelError, ValueError) as e:
        raise fail(str(e)) from None
    answer = report.answers[0]
    if answer.choice is not None:  # multiple choice: the option picked, or that none was
        picked = answer.choice
        line = f"({picked.letter}) {picked.option}" if picked.option else "no option chosen"
        sys.stdout.write(f"{line}\n")
        err.print(f"model said: {answer.answer[:200]}", highlight=False)
    else:
        sys.stdout.write(f"{answer.answer}\n")


def _print_facts(facts, folder: Path) -> None:
    from musicflamingo.report.markdown import summary_rows

    table = Table(title=Path(facts.source.path).name, show_header=False)
    for k, v in summary_rows(facts):
        table.add_row(k, v)
    console = Console()
    console.print(table)
    console.print(f"report: {folder / 'report.md'}")


skills_app = typer.Typer(no_args_is_help=True, help="MF-Skills: caption + QA data from songs.")
app.add_typer(skills_app, name="skills")


def _text_llm(endpoint: str | None, model: str | None, api_key: str | None):
    """An OpenAI-compatible endpoint when given, else the embedded local model."""
    if endpoint is None:
        return None
    from musicflamingo.llm.openai_client import OpenAIClient

    return OpenAIClient(endpoint, model, api_key=api_key)


# Options shared by the data engines (`skills build`, `think build`).
ExecutorOption = Annotated[str, typer.Option(help="local or ray")]
RayAddressOption = Annotated[
    str | None, typer.Option(help="Ray cluster address (default: start a local one)")
]
WorkersOption = Annotated[int, typer.Option(help="worker processes")]
LLMModelOption = Annotated[str | None, typer.Option(help="model name at the endpoint")]
ApiKeyOption = Annotated[
    str | None,
    typer.Option(help="key for the endpoints (OPENAI_API_KEY goes only to OPENAI_BASE_URL)"),
]


@skills_app.command("build")
def skills_build(
    songs: Annotated[Path, typer.Argument(help="folder of songs")],
    out: Annotated[Path, typer.Argument(help="output folder (resumable)")],
    executor: ExecutorOption = "local",
    ray_address: RayAddressOption = None,
    workers: WorkersOption = 1,
    llm_endpoint: Annotated[
        str | None, typer.Option(help="OpenAI-compatible text LLM (vLLM, llama.cpp …)")
    ] = None,
    llm_model: LLMModelOption = None,
    audio_endpoint: Annotated[
        str | None, typer.Option(help="OpenAI-compatible audio LM for stage-1 captions")
    ] = None,
    audio_model: Annotated[
        str | None, typer.Option(help="model name at the audio endpoint")
    ] = None,
    judge_endpoint: Annotated[str | None, typer.Option(help="optional LLM judge")] = None,
    judge_model: Annotated[str | None, typer.Option()] = None,
    api_key: ApiKeyOption = None,
    lyrics_model: LyricsModelOption = DEFAULT_MODEL,
    retry_failed: Annotated[bool, typer.Option(help="retry songs whose writing failed")] = False,
) -> None:
    """Stages 1-4 over SONGS into OUT: Audio Flamingo JSON, Parquet shards, manifest."""
    from musicflamingo.facts.extract import FactsConfig
    from musicflamingo.llm.base import LLMError
    from musicflamingo.skills.build import BuildLocked, build
    from musicflamingo.skills.captioner import EndpointCaptioner, ModelCaptioner

    if not songs.is_dir():
        raise fail(f"{songs}: not a folder of songs")
    captioner: EndpointCaptioner | ModelCaptioner | None = None
    if audio_endpoint:
        captioner = EndpointCaptioner(_text_llm(audio_endpoint, audio_model, api_key))
    elif audio_model:  # stage 1 on our runtime: a checkpoint id or folder
        captioner = ModelCaptioner(audio_model)
    try:
        manifest = build(
            songs,
            out,
            llm=_text_llm(llm_endpoint, llm_model, api_key),
            captioner=captioner,
            executor=executor,
            workers=workers,
            facts_config=FactsConfig(lyrics_model=_lyrics_model(lyrics_model)),
            judge=_text_llm(judge_endpoint, judge_model, api_key),
            retry_failed=retry_failed,
        )
    except (LLMError, ValueError, BuildLocked) as e:
        raise fail(str(e)) from None
    songs_n, rows = manifest["songs"], manifest["rows"]
    err.print(
        f"{songs_n['ok']} songs written, {songs_n['failed']} failed to write, "
        f"{songs_n['errors']} errors; {rows['total']} rows -> {out}"
    )


@skills_app.command("stats")
def skills_stats(out: Annotated[Path, typer.Argument(help="a skills build folder")]) -> None:
    """Tables and plots of a built dataset: caption lengths, QA mix, drops, coverage."""
    from musicflamingo.skills.stats import stats

    if not out.is_dir():
        raise fail(f"{out}: not a skills build folder")
    stats(out)


think_app = typer.Typer(no_args_is_help=True, help="MF-Think: verified traces and GRPO sets.")
app.add_typer(think_app, name="think")


@think_app.command("build")
def think_build(
    skills_out: Annotated[Path, typer.Argument(help="an MF-Skills build folder")],
    out: Annotated[Path, typer.Argument(help="output folder (resumable)")],
    executor: ExecutorOption = "local",
    ray_address: RayAddressOption = None,
    workers: WorkersOption = 1,
    llm_endpoint: Annotated[
        str | None, typer.Option(help="OpenAI-compatible reasoning LLM (vLLM, llama.cpp …)")
    ] = None,
    llm_model: LLMModelOption = None,
    audio_endpoint: Annotated[
        str | None, typer.Option(help="OpenAI-compatible audio LM: hard items, step Yes/No")
    ] = None,
    audio_model: Annotated[
        str | None,
        typer.Option(help="model name at --audio-endpoint, or a local checkpoint without it"),
    ] = None,
    api_key: ApiKeyOption = None,
    price_prompt: Annotated[
        float | None, typer.Option(help="USD per million prompt tokens (cost estimate)")
    ] = None,
    price_completion: Annotated[
        float | None, typer.Option(help="USD per million completion tokens")
    ] = None,
    retry_failed: Annotated[bool, typer.Option(help="retry items whose writing failed")] = False,
) -> None:
    """Hard items of SKILLS_OUT -> verified traces in OUT: cot_sft, grpo_qa, grpo_caption."""
    from musicflamingo.llm.base import LLMError
    from musicflamingo.skills.build import BuildLocked
    from musicflamingo.think.audio import EndpointAudio, RuntimeAudio
    from musicflamingo.think.build import build

    if not skills_out.is_dir():
        raise fail(f"{skills_out}: not an MF-Skills build folder")
    audio: EndpointAudio | RuntimeAudio | None = None
    if audio_endpoint:
        audio = EndpointAudio(_text_llm(audio_endpoint, audio_model, api_key))
    elif audio_model:
        audio = RuntimeAudio(audio_model)
    prices = None
    if price_prompt is not None or price_completion is not None:
        prices = (price_prompt or 0.0, price_completion or 0.0)
    try:
        manifest = build(
            skills_out,
            out,
            llm=_text_llm(llm_endpoint, llm_model, api_key),
            audio=audio,
            executor=executor,
            workers=workers,
            prices=prices,
            retry_failed=retry_failed,
            ray_address=ray_address,
        )
    except (LLMError, ValueError, BuildLocked) as e:
        raise fail(str(e)) from None
    items, sets = manifest["items"], manifest["sets"]
    err.print(
        f"{items['chosen']} items chosen: {items['ok']} kept, {items['dropped']} dropped, "
        f"{items['failed']} failed, {manifest['songs']['errors']} song errors; "
        + ", ".join(f"{k} {v['rows']}" for k, v in sets.items())
        + f" rows -> {out}"
    )


@think_app.command("stats")
def think_stats(out: Annotated[Path, typer.Argument(help="a think build folder")]) -> None:
    """Tables of a built MF-Think output: item status, picks, step verdicts, drop reasons."""
    from musicflamingo.think.stats import stats

    if not out.is_dir():
        raise fail(f"{out}: not a think build folder")
    try:
        stats(out)
    except ValueError as e:
        raise fail(str(e)) from None


HostOption = Annotated[
    str, typer.Option(help="address to bind; other than loopback needs --api-key")
]
PortOption = Annotated[int, typer.Option()]
ServerKeyOption = Annotated[
    str | None,
    typer.Option(envvar="MUSICFLAMINGO_API_KEY", help="key clients must send (Bearer)"),
]
MaxPendingOption = Annotated[int, typer.Option(help="requests in flight at once; more get 429")]
MaxBodyOption = Annotated[float, typer.Option(help="largest request body (413)")]
MaxAudioOption = Annotated[float, typer.Option(help="longest input_audio, by its header")]
MaxTokensOption = Annotated[int, typer.Option(help="largest max_tokens a request may ask")]


def _serve_with_limits(
    start, max_pending: int, max_body_mb: float, max_audio_seconds: float, max_tokens: int
) -> None:
    """Run ``start(limits)`` with the request limits; a bad limit or a refused bind is one
    line and exit 2."""
    from pydantic import ValidationError

    from musicflamingo.llm.server import Limits

    try:
        limits = Limits(
            max_pending=max_pending,
            max_body_bytes=int(max_body_mb * 2**20),
            max_audio_seconds=max_audio_seconds,
            max_tokens=max_tokens,
        )
        start(limits)
    except ValidationError as e:
        raise fail(f"bad limit: {e.errors()[0]['loc'][0]}: {e.errors()[0]['msg']}", 2) from None
    except ValueError as e:
        raise fail(str(e), 2) from None


@app.command("serve-llm")
def serve_llm(
    llm: Annotated[
        str, typer.Option(help="embedded (SmolLM2), rules, or package.module:factory")
    ] = "embedded",
    host: HostOption = "127.0.0.1",
    port: PortOption = 8000,
    api_key: ServerKeyOption = None,
    max_pending: MaxPendingOption = 16,
    max_body_mb: MaxBodyOption = 32.0,
    max_audio_seconds: MaxAudioOption = 600.0,
    max_tokens: MaxTokensOption = 32_768,
    threads: Annotated[int, typer.Option(help="CPU threads of the embedded model")] = 1,
) -> None:
    """Serve a text LLM (embedded SmolLM2 by default) as an OpenAI-compatible API."""
    from musicflamingo.llm.server import serve

    def start(limits) -> None:
        serve(llm, host=host, port=port, threads=threads, api_key=api_key, limits=limits)

    _serve_with_limits(start, max_pending, max_body_mb, max_audio_seconds, max_tokens)


@app.command("serve")
def serve_cmd(
    model: Annotated[
        str | None,
        typer.Option(help="Music Flamingo checkpoint (hub id or folder); without it: facts only"),
    ] = None,
    host: HostOption = "127.0.0.1",
    port: PortOption = 8000,
    api_key: ServerKeyOption = None,
    max_batch: Annotated[int, typer.Option(help="requests decoded together at most")] = MAX_BATCH,
    batch_window_ms: Annotated[
        float, typer.Option(help="how long to collect requests for a batch")
    ] = 1000 * BATCH_WINDOW,
    max_pending: MaxPendingOption = 64,
    max_body_mb: MaxBodyOption = 64.0,
    max_audio_seconds: MaxAudioOption = 1200.0,
    max_tokens: MaxTokensOption = 8192,
    device: Annotated[str | None, typer.Option(help="cuda, cuda:1, cpu (default: best)")] = None,
    dtype: Annotated[str | None, typer.Option(help="bf16, fp16 or fp32")] = None,
    part_seconds: Annotated[
        float | None, typer.Option(help="hear longer songs in parts of at most this")
    ] = None,
    work_dir: Annotated[
        Path | None, typer.Option(help="folder for uploaded songs and their analyses")
    ] = None,
    lyrics_model: LyricsModelOption = DEFAULT_MODEL,
) -> None:
    """Serve Music Flamingo (OpenAI-compatible audio chat API) and the web page (its
    analyses measure lyrics with ``--lyrics-model``)."""
    from musicflamingo.serve.app import serve

    if max_batch < 1 or batch_window_ms < 0:
        raise fail("--max-batch must be at least 1 and --batch-window-ms not negative", 2)

    def start(limits) -> None:
        serve(
            model,
            host=host,
            port=port,
            api_key=api_key,
            limits=limits,
            max_batch=max_batch,
            batch_window=batch_window_ms / 1000,
            device=device,
            dtype=dtype,
            part_seconds=part_seconds,
            work_dir=work_dir,
            lyrics_model=_lyrics_model(lyrics_model),
        )

    _serve_with_limits(start, max_pending, max_body_mb, max_audio_seconds, max_tokens)


class _RunByDefault(TyperGroup):
    """`musicflamingo eval BENCH…` means `musicflamingo eval run BENCH…`."""

    def parse_args(self, ctx, args):
        if args and args[0] not in self.commands and not args[0].startswith("-"):
            args = ["run", *args]
        return super().parse_args(ctx, args)


EmbedderOption = Annotated[
    str | None, typer.Option(help="MMAU-Pro sentence embedder (official: nvidia/NV-Embed-v2)")
]
TrustRemoteCodeOption = Annotated[
    bool, typer.Option(help="allow an embedder that runs its repository's code (NV-Embed)")
]
RevisionOption = Annotated[str | None, typer.Option(help="pin the embedder's hub revision")]

train_app = typer.Typer(
    no_args_is_help=True, help="Train: MF-SFT, CoT warm-up and GRPO on TRL (docs/training.md)."
)
app.add_typer(train_app, name="train")


def _train(
    stage: str,
    recipe: Path,
    model: str,
    data: list[str],
    out: Path,
    sets: list[str] | None,
    audio_root: str | None,
    resume: bool,
) -> None:
    from musicflamingo.model.loading import ModelError
    from musicflamingo.train.data import DataError
    from musicflamingo.train.recipe import RecipeError, load_recipe
    from musicflamingo.train.run import train

    try:
        spec = load_recipe(recipe, sets)
        if spec.stage != stage:
            raise RecipeError(f"{recipe} is a {spec.stage!r} recipe, not {stage!r}")
        report = train(spec, model, data, out, audio_root=audio_root, resume=resume)
    except (RecipeError, DataError, ModelError, ValueError, FileNotFoundError) as e:
        raise fail(str(e).splitlines()[0]) from None
    err.print(f"trained {report['global_step']} steps; model in {out}", highlight=False)


def _train_command(stage: str, summary: str) -> None:
    @train_app.command(stage, help=summary)
    def command(
        recipe: Annotated[Path, typer.Option(help="recipe YAML (recipes/*.yaml)")],
        model: Annotated[str, typer.Option(help="checkpoint id or folder to start from")],
        data: Annotated[list[str], typer.Option(help="Parquet/JSON files or folders (repeatable)")],
        out: Annotated[Path, typer.Option(help="output folder (checkpoints, logs, final model)")],
        set_: Annotated[
            list[str] | None,
            typer.Option("--set", help="override: key=value (args.* by default; lora.r=8)"),
        ] = None,
        audio_root: Annotated[
            str | None, typer.Option(help="folder relative 'sound' paths are under")
        ] = None,
        resume: Annotated[bool, typer.Option(help="continue from the last checkpoint")] = True,
    ) -> None:
        _train(stage, recipe, model, data, out, set_, audio_root, resume)


_train_command("sft", "MF-SFT on MF-Skills conversations (SFTTrainer).")
_train_command("cot", "CoT warm-up on MF-Think cot_sft (SFTTrainer).")
_train_command("grpo", "GRPO on MF-Think grpo_qa / grpo_caption with the paper's rewards.")


eval_app = typer.Typer(
    cls=_RunByDefault,
    no_args_is_help=True,
    help="The paper's benchmarks, scored by their official rules: eval BENCH… --model …",
)
app.add_typer(eval_app, name="eval")


@eval_app.command("run")
def eval_run(
    benchmarks: Annotated[list[str], typer.Argument(help="benchmark names, or 'all'")],
    data_root: Annotated[Path, typer.Option(help="folder with each benchmark's files")],
    model: Annotated[str | None, typer.Option(help="checkpoint id or local path")] = None,
    endpoint: Annotated[
        str | None, typer.Option(help="any OpenAI-compatible audio chat endpoint instead")
    ] = None,
    out: Annotated[Path | None, typer.Option(help="run folder (resumable)")] = None,
    limit: Annotated[int | None, typer.Option(help="seeded sample of N items each")] = None,
    think: Annotated[bool, typer.Option(help="ask for <think>/<answer> reasoning")] = False,
    seed: Annotated[int, typer.Option()] = 0,
    batch_size: Annotated[int, typer.Option()] = 8,
    judge: Annotated[str | None, typer.Option(help="OpenAI-compatible judge endpoint")] = None,
    extractor: Annotated[
        str | None, typer.Option(help="OpenAI-compatible LLM answer extractor (labelled)")
    ] = None,
    device: Annotated[str | None, typer.Option()] = None,
    dtype: Annotated[str | None, typer.Option(help="bf16, fp16 or fp32")] = None,
    embedder: EmbedderOption = None,
    trust_remote_code: TrustRemoteCodeOption = False,
    embedder_revision: RevisionOption = None,
) -> None:
    """Run benchmarks with a model or endpoint; per-item JSONL, results table and chart."""
    from musicflamingo.bench import results, runner
    from musicflamingo.bench.recipe import Resources
    from musicflamingo.llm.base import LLMError

    expected: tuple[type[Exception], ...] = (ValueError, LLMError, FileNotFoundError)
    if model is not None:  # the endpoint path runs without torch
        from musicflamingo.model.loading import ModelError

        expected += (ModelError,)
    folder = out or runner.default_out_dir(model=model, endpoint=endpoint, think=think)
    try:
        outcome = runner.run(
            benchmarks,
            data_root=data_root,
            out_dir=folder,
            model=model,
            endpoint=endpoint,
            limit=limit,
            think=think,
            seed=seed,
            batch_size=batch_size,
            judge=judge,
            extractor=extractor,
            device=device,
            dtype=dtype,
            embedder=Resources(embedder, trust_remote_code, embedder_revision),
        )
    except expected as e:
        raise fail(str(e)) from None
    sys.stdout.write(results.render_markdown(outcome) + "\n")
    err.print(f"run folder: {folder}")


@eval_app.command("score")
def eval_score(
    benchmark: Annotated[str, typer.Argument(help="benchmark name (see `eval list`)")],
    predictions: Annotated[
        Path, typer.Option(help='JSON lines, one {"id": …, "output": …} object a line')
    ],
    data_root: Annotated[Path, typer.Option(help="folder with each benchmark's files")],
    extraction: Annotated[
        str,
        typer.Option(
            help="raw: the whole output, as the official script; answer: its <answer> part"
        ),
    ] = "raw",
    out: Annotated[
        Path | None, typer.Option(help="results folder (default: <predictions>-scored)")
    ] = None,
    fmt: Annotated[str, typer.Option("--format", help="table or json")] = "table",
    embedder: EmbedderOption = None,
    trust_remote_code: TrustRemoteCodeOption = False,
    embedder_revision: RevisionOption = None,
) -> None:
    """Score a predictions file from any model with the benchmark's rule (no model here)."""
    from musicflamingo.bench import results, runner
    from musicflamingo.bench.recipe import Resources

    if extraction not in ("raw", "answer"):
        raise fail(f"--extraction must be raw or answer, not {extraction!r}")
    if fmt not in ("table", "json"):
        raise fail(f"--format must be table or json, not {fmt!r}")
    folder = out or predictions.with_name(predictions.stem + "-scored")
    try:
        outcome = runner.score(
            benchmark, predictions, data_root=data_root, out_dir=folder,
            extraction="raw" if extraction == "raw" else "answer",
            embedder=Resources(embedder, trust_remote_code, embedder_revision),
        )  # fmt: skip
    except (ValueError, OSError) as e:
        raise fail(str(e)) from None
    (bench,) = outcome.benchmarks
    (measure,) = bench.measures
    if fmt == "json":
        record = {"benchmark": bench.benchmark, "n_items": bench.n_items, **measure.model_dump()}
        sys.stdout.write(json.dumps(record, ensure_ascii=False) + "\n")
    else:
        sys.stdout.write(results.render_markdown(outcome) + "\n")
    err.print(f"results: {folder}")


@eval_app.command("report")
def eval_report(runs: Annotated[list[Path], typer.Argument(help="run folders")]) -> None:
    """One run's results, or several runs side by side."""
    from musicflamingo.bench.results import report

    try:
        sys.stdout.write(report(runs) + "\n")
    except FileNotFoundError as e:
        raise fail(str(e)) from None


@eval_app.command("list")
def eval_list() -> None:
    """The benchmarks, their metrics and the data folders they expect."""
    from musicflamingo.bench.registry import describe

    sys.stdout.write(describe() + "\n")
