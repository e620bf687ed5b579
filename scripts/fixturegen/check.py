"""The listen-check: re-read each encoded file and compare it with its truth."""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path

import librosa
import mir_eval
import numpy as np

from fixturegen.render import rms
from musicflamingo import theory

LOOSE = (1.0, 2.0, 1 / 2, 3 / 2, 2 / 3, 3.0, 1 / 3)  # librosa's tempo may be any of these


def onset_lag(audio: np.ndarray, sr: int, beats: Sequence[float]) -> float:
    """Lag (s) at which the onset envelope is strongest around the true beats."""
    hop = 64
    env = librosa.onset.onset_strength(y=audio, sr=sr, hop_length=hop)
    lags = np.arange(-0.1, 0.2, 0.005)
    frames = np.round((np.asarray(beats)[:, None] + lags[None, :]) * sr / hop).astype(int)
    score = env[np.clip(frames, 0, len(env) - 1)].mean(axis=0)
    return float(lags[int(np.argmax(score))])


def sanity_row(path: Path, truth: dict, score_key: str) -> dict:
    """Re-read an encoded file and compare it with its truth; ``score_key`` is music21's
    key analysis of the score, which must agree with the stated key."""
    audio, sr = librosa.load(path, sr=None, mono=True)
    dur = len(audio) / sr
    level = 20 * math.log10(rms(audio))
    est, est_beats = librosa.beat.beat_track(y=audio, sr=sr, units="time")
    est = float(np.atleast_1d(est)[0])
    ok_tempo = est > 0 and theory.tempo_factor(est, truth["tempo_bpm"], LOOSE, 0.08) is not None
    f_beat = mir_eval.beat.f_measure(
        mir_eval.beat.trim_beats(np.asarray(truth["beats"])), mir_eval.beat.trim_beats(est_beats)
    )
    lag = onset_lag(audio, sr, truth["beats"])
    problems = []
    if abs(dur - truth["duration"]) > 0.01:
        problems.append(f"duration {dur:.3f} != {truth['duration']}")
    if level < -35:
        problems.append(f"too quiet ({level:.1f} dBFS RMS)")
    if abs(lag) > 0.07:
        problems.append(f"onsets lag the true beats by {lag * 1000:.0f} ms")
    if not theory.same_key(score_key, truth["key"]):
        problems.append(f"music21 analyses the score as {score_key}, not {truth['key']}")
    return {
        "name": truth["name"],
        "dur": dur,
        "rms": level,
        "bpm": truth["tempo_bpm"],
        "est": est,
        "tempo_ok": ok_tempo,
        "beat_f": f_beat,
        "lag": lag,
        "score_key": score_key,
        "kb": path.stat().st_size / 1024,
        "problems": problems,
    }


def print_table(rows: list[dict], truths: list[dict]) -> None:
    """Print the listen-check table (librosa tempo/beats, onset lag, music21 key)."""
    head = (
        f"{'name':27} {'key':9} {'meter':5} {'bpm':>6} {'drm':3} {'dur':>5} {'rms':>5} "
        f"{'lbrosa':>6} {'ok':2} {'bF':>4} {'lag':>4} {'m21 key':9} {'KB':>4}  sections"
    )
    print(head)
    print("-" * len(head))
    for row, t in zip(rows, truths, strict=True):
        secs = "-".join(s[2] for s in t["sections"]) if t["sections"] else "-"
        print(
            f"{row['name']:27} {t['key']:9} {t['meter']:5} {row['bpm']:6.1f} "
            f"{'yes' if t['drums'] else 'no':3} {row['dur']:5.1f} {row['rms']:5.1f} "
            f"{row['est']:6.1f} {'ok' if row['tempo_ok'] else '??':2} {row['beat_f']:4.2f} "
            f"{row['lag'] * 1000:4.0f} {row['score_key']:9} {row['kb']:4.0f}  {secs}"
        )
