"""One song through the MF-Skills stages, the pieces both executors (local, Ray) compose:
`measure` (stages 1-2), `write` (stages 3-4) and the song's record file (`save`, `owned`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from musicflamingo.facts.extract import FactsConfig
from musicflamingo.llm.base import TextLLM
from musicflamingo.skills.ask import WriteFailed
from musicflamingo.skills.captioner import SegmentCaptioner
from musicflamingo.skills.filter import FilterConfig, stage4_filter
from musicflamingo.skills.prompting import load_prompt
from musicflamingo.skills.records import Provenance, SongRecord
from musicflamingo.skills.stages import (
    WriteConfig,
    stage1_segment_captions,
    stage2_facts,
    stage3_write,
)
from musicflamingo.util import atomic_write


@dataclass(frozen=True)
class Engine:
    """Everything a song's stages need; picklable, so worker processes get a copy."""

    llm: TextLLM
    captioner: SegmentCaptioner | None = None
    facts: FactsConfig = field(default_factory=FactsConfig)
    write: WriteConfig = field(default_factory=WriteConfig)
    filter: FilterConfig = field(default_factory=FilterConfig)
    judge: TextLLM | None = None


@dataclass(frozen=True)
class SongJob:
    """A song (resolved path), its id (`musicflamingo.inputs.song_name`) and record file."""

    song: Path
    song_id: str
    out_file: Path

    def __str__(self) -> str:
        return str(self.song)


def measure(path: Path, song_id: str, engine: Engine) -> SongRecord:
    """Stages 1 and 2: segment captions (when a captioner is given) and facts."""
    segments = stage1_segment_captions(path, engine.captioner) if engine.captioner else []
    facts = stage2_facts(path, engine.facts)
    provenance = Provenance(
        captioner=engine.captioner.model_id if engine.captioner else None,
        prompts={"segment": load_prompt("segment").id} if engine.captioner else {},
        facts_backends=facts.backends,
    )
    return SongRecord(
        id=song_id,
        path=str(path),
        duration=facts.duration,
        facts=facts,
        segment_captions=segments,
        provenance=provenance,
    )


def write(record: SongRecord, engine: Engine) -> SongRecord:
    """Stages 3 and 4; a song whose stage-3 output never validates is marked failed."""
    if record.facts is None:
        raise ValueError(f"{record.path}: no measured facts to write from")
    p = record.provenance
    prompts = {
        "caption": load_prompt("caption", engine.write.caption_prompt).id,
        "qa": load_prompt("qa", engine.write.qa_prompt).id,
    }
    p = p.model_copy(update={"llm": engine.llm.model_id, "prompts": {**p.prompts, **prompts}})
    try:
        out = stage3_write(record.facts, record.segment_captions, engine.llm, engine.write)
    except WriteFailed as e:
        p.usage = p.usage + e.usage
        return record.model_copy(update={"status": "failed", "failure": e.reason, "provenance": p})
    p.usage = p.usage + out.usage
    written = record.model_copy(
        update={"caption": out.caption, "qa": out.qa, "drops": out.drops, "provenance": p}
    )
    return stage4_filter(written, engine.filter, judge_llm=engine.judge)


def save(record: SongRecord, path: Path) -> None:
    """The song's record file, written atomically (a unique temporary name per writer)."""
    atomic_write(path, record.model_dump_json(indent=1))


def load_record(path: Path) -> SongRecord | None:
    try:
        return SongRecord.model_validate_json(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def owned(job: SongJob) -> SongRecord | None:
    """The job's stored record if it is this job's song (same id and path), else None: a
    record of another song under the same file name is redone, not trusted."""
    record = load_record(job.out_file)
    if record is None or record.id != job.song_id or record.path != str(job.song):
        return None
    return record


def is_done(job: SongJob, retry_failed: bool = False) -> bool:
    """A record of this song is stored (with ``retry_failed``: one that did not fail)."""
    record = owned(job)
    return record is not None and not (retry_failed and record.status == "failed")
