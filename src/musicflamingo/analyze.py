"""`musicflamingo analyze`: facts, report and plots for one song or a whole folder."""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING

from musicflamingo.facts.extract import FactsConfig, analyze
from musicflamingo.facts.schema import SongFacts
from musicflamingo.inputs import output_folder
from musicflamingo.report import markdown, plots
from musicflamingo.util import atomic_write

if TYPE_CHECKING:
    from musicflamingo.model.report import ListenReport
    from musicflamingo.runner import RunSummary

FACTS_FILE = "facts.json"
REPORT_FILE = "report.md"
MODEL_FILE = "model.json"


@dataclass(frozen=True)
class Job:
    """One song (an absolute path, as its facts will record it) and its output folder."""

    song: Path
    folder: Path

    def __str__(self) -> str:
        return str(self.song)


def write_outputs(facts: SongFacts, folder: Path, plotter: plots.Plotter | None = None) -> None:
    """Plots (drawn by ``plotter`` when given) and report first, facts.json last, so its
    presence means done. A model.json left from earlier facts is removed: its fact check
    was against those."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / MODEL_FILE).unlink(missing_ok=True)
    if plotter is None:
        plots.render_all(facts, folder)
    else:
        plotter.render(facts, folder)
    write_report(folder, facts)
    atomic_write(folder / FACTS_FILE, facts.to_json())


def write_report(folder: Path, facts: SongFacts | None = None) -> Path:
    """Rebuild report.md from the folder's records: the facts (and their plots), then the
    model's section when model.json is there. Rebuilt whole, never appended to."""
    if facts is None:
        facts = SongFacts.from_json((folder / FACTS_FILE).read_text(encoding="utf-8"))
    text = markdown.render(facts, {p.stem: p for p in sorted(folder.glob("*.png"))})
    model = folder / MODEL_FILE
    if model.is_file():
        from musicflamingo.model.report import ListenReport, render_markdown

        heard = ListenReport.from_json(model.read_text(encoding="utf-8"))
        text = text.rstrip("\n") + "\n\n" + render_markdown(heard)
    return atomic_write(folder / REPORT_FILE, text)


def save_listen(report: ListenReport, folder: Path) -> None:
    """Store the model's `ListenReport` as model.json and rebuild report.md with it."""
    atomic_write(folder / MODEL_FILE, report.to_json())
    write_report(folder)


def analyze_song(song: Path, folder: Path, config: FactsConfig) -> SongFacts:
    """One song's facts and outputs; its plots are drawn by a `plots.Plotter` started
    first, so matplotlib is imported on the second core while the song is measured."""
    plotter = plots.Plotter()
    try:
        facts = analyze(song, config)
        write_outputs(facts, folder, plotter)
    finally:
        plotter.close()
    return facts


def run_one(job: Job, config: FactsConfig) -> SongFacts:
    facts = analyze(job.song, config)
    write_outputs(facts, job.folder)
    return facts


def is_done(job: Job) -> bool:
    """facts.json is there, valid, and of this job's song (same path and size); a record
    of another song (an old naming, a different input root) is redone, not trusted."""
    try:
        facts = SongFacts.from_json((job.folder / FACTS_FILE).read_text(encoding="utf-8"))
        size = job.song.stat().st_size
    except (OSError, ValueError):
        return False
    return facts.source.path == str(job.song) and facts.source.size_bytes == size


def analyze_many(
    songs: list[Path],
    out: Path,
    root: Path | None,
    config: FactsConfig,
    workers: int,
    force: bool = False,
) -> RunSummary[Job]:
    from musicflamingo.runner import run_jobs  # its process pool and progress bar: folders only

    jobs = [Job(s.absolute(), output_folder(s, out, root)) for s in songs]
    summary = run_jobs(
        jobs,
        partial(run_one, config=config),
        (lambda j: False) if force else is_done,
        workers=workers,
        label="analyzing",
    )
    write_summary(summary, out)
    return summary


def write_summary(summary: RunSummary[Job], out: Path) -> Path:
    out.mkdir(parents=True, exist_ok=True)
    data = {
        "done": [str(j.song) for j in summary.done],
        "skipped_already_done": [str(j.song) for j in summary.skipped],
        "failed": [{"path": str(j.song), "reason": why} for j, why in summary.failed],
    }
    return atomic_write(out / "summary.json", json.dumps(data, indent=2))
