"""One song through MF-Think, the pieces both executors (local, Ray) compose: the job,
its files (``songs/<song id>.json`` written last, ``items/<song id>/<item>.json`` one per
item, atomically) and `run_song` (stage 1, then stages 2-4 for the items not stored)."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from pydantic import Field

from musicflamingo.skills.build import SONGS_DIR as SKILLS_SONGS
from musicflamingo.skills.song import load_record
from musicflamingo.think.records import ThinkItem, ThinkRecord
from musicflamingo.think.select import SelectConfig, select
from musicflamingo.think.stages import Engine, process_song
from musicflamingo.util import Record, atomic_write

SONGS_DIR = "songs"
ITEMS_DIR = "items"


class SongChoice(Record):
    """Stage 1 of one song: the items chosen (their ids and why), written last."""

    song_id: str
    source: str  # the MF-Skills song record it was chosen from
    items: list[ThinkItem] = Field(default_factory=list)


@dataclass(frozen=True)
class ThinkJob:
    source: Path  # the MF-Skills song record
    song_id: str
    out: Path  # the THINK_OUT folder

    @property
    def choice_file(self) -> Path:
        return self.out / SONGS_DIR / f"{self.song_id}.json"

    def item_file(self, item_id: str) -> Path:
        return self.out / ITEMS_DIR / f"{item_id}.json"

    def __str__(self) -> str:
        return self.song_id


def load_item(path: Path) -> ThinkRecord | None:
    try:
        return ThinkRecord.model_validate_json(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def load_choice(job: ThinkJob) -> SongChoice | None:
    try:
        choice = SongChoice.model_validate_json(job.choice_file.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return choice if choice.song_id == job.song_id else None


def _stored(job: ThinkJob, item: ThinkItem, retry_failed: bool) -> ThinkRecord | None:
    """The item's stored record if it is this item's (same id and question)."""
    r = load_item(job.item_file(item.id))
    if r is None or r.item.id != item.id or r.item.question != item.question:
        return None
    return None if retry_failed and r.status == "failed" else r


def run_song(
    job: ThinkJob, engine: Engine, select_config: SelectConfig, retry_failed: bool = False
) -> str:
    """Stage 1 for the song, stages 2-4 for each chosen item not yet stored."""
    song = load_record(job.source)
    if song is None or song.id != job.song_id:
        raise ValueError(f"{job.source}: not a readable MF-Skills song record")
    if song.facts is None:
        raise ValueError(f"{job.source}: the song has no measured facts")
    items = select(song, select_config, engine.audio)
    todo = [i for i in items if _stored(job, i, retry_failed) is None]
    # with an audio model, all of the song's steps go in one batch; else item by item,
    # each stored as soon as it is done
    for batch in [todo] if engine.audio is not None else [[i] for i in todo]:
        for record in process_song(batch, song, engine):
            atomic_write(job.item_file(record.item.id), record.model_dump_json(indent=1))
    choice = SongChoice(song_id=job.song_id, source=str(job.source), items=items)
    atomic_write(job.choice_file, choice.model_dump_json(indent=1))
    return f"{len(items)} items"


def is_done(job: ThinkJob, retry_failed: bool = False) -> bool:
    choice = load_choice(job)
    return choice is not None and all(
        _stored(job, i, retry_failed) is not None for i in choice.items
    )


def plan(skills_out: Path, out: Path) -> list[ThinkJob]:
    """One job per song record of the MF-Skills output (``SKILLS_OUT/songs/*.json``)."""
    folder = skills_out / SKILLS_SONGS
    if not folder.is_dir():
        raise ValueError(f"{skills_out}: not an MF-Skills output (no {SKILLS_SONGS}/ folder)")
    jobs = [ThinkJob(p, p.stem, out) for p in sorted(folder.glob("*.json"))]
    if not jobs:
        raise ValueError(f"{folder}: no MF-Skills song records (*.json)")
    return jobs


def collect(jobs: list[ThinkJob]) -> tuple[list[ThinkRecord], dict[str, int]]:
    """The stored item records of the jobs' choices, and the pick reasons."""
    records: list[ThinkRecord] = []
    picks: Counter[str] = Counter()
    for job in jobs:
        choice = load_choice(job)
        for item in choice.items if choice else []:
            picks[item.pick.reason] += 1
            if (r := _stored(job, item, False)) is not None:
                records.append(r)
    return records, dict(picks.most_common())
