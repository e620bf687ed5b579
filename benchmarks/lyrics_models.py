"""Lyrics transcription: the bundled Whisper models side by side, on sung words.

    python benchmarks/lyrics_models.py [--models bundled:tiny.en bundled:base]

Material (made here, seeded, with exact words):
- the demo song (chanted poem over a band; its words in examples/demo/demo.json);
- four traditional English songs sung by espeak-ng (a pitch per word from a melody, word
  lengths from the note values) over a band accompaniment (bass, organ, strings, drums)
  with the voice 6 dB above it, as the demo mixes it;
- two Chinese nursery songs (小星星, 两只老虎) sung the same way by espeak-ng's Mandarin
  voice (from pinyin) over the band, and the same words spoken plainly without a band.

Each model transcribes exactly as `musicflamingo analyze` does (`facts.lyrics.transcribe`:
language detected by multilingual models, hallucination filter on). Reported: word error
rate (English) and character error rate (Chinese) by jiwer, the language detected, and the
speed (audio seconds per wall second and per CPU second, model already loaded; CPU seconds
tell more on a machine other jobs load) plus load time.
Needs Debian's `espeak-ng`, `fluidsynth`, `fluid-soundfont-gm` and `ffmpeg`.
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import jiwer
import numpy as np
import opencc
import soundfile as sf
import soxr
from rich.console import Console
from rich.table import Table

from musicflamingo import audio
from musicflamingo.facts import lyrics

sys.path.insert(0, str(Path(__file__).parent))
import dense_band  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
SR = 16_000
BPM = 96.0
ENGLISH = {  # traditional, public domain
    "amazing_grace": [
        "Amazing grace how sweet the sound",
        "That saved a wretch like me",
        "I once was lost but now am found",
        "Was blind but now I see",
    ],
    "clementine": [
        "In a cavern in a canyon",
        "Excavating for a mine",
        "Dwelt a miner forty niner",
        "And his daughter Clementine",
    ],
    "home_on_the_range": [
        "Oh give me a home where the buffalo roam",
        "Where the deer and the antelope play",
        "Where seldom is heard a discouraging word",
        "And the skies are not cloudy all day",
    ],
    "yankee_doodle": [
        "Yankee Doodle went to town",
        "A riding on a pony",
        "Stuck a feather in his cap",
        "And called it macaroni",
    ],
}
CHINESE = {  # traditional nursery songs: (characters, pinyin the voice reads)
    "xiao_xing_xing": [
        ("一闪一闪亮晶晶", "yi1 shan3 yi1 shan3 liang4 jing1 jing1"),
        ("满天都是小星星", "man3 tian1 dou1 shi4 xiao3 xing1 xing1"),
        ("挂在天上放光明", "gua4 zai4 tian1 shang4 fang4 guang1 ming2"),
        ("好像许多小眼睛", "hao3 xiang4 xu3 duo1 xiao3 yan3 jing1"),
    ],
    "liang_zhi_lao_hu": [
        ("两只老虎两只老虎", "liang3 zhi1 lao3 hu3 liang3 zhi1 lao3 hu3"),
        ("跑得快跑得快", "pao3 de5 kuai4 pao3 de5 kuai4"),
        ("一只没有眼睛", "yi4 zhi1 mei2 you3 yan3 jing1"),
        ("一只没有尾巴", "yi4 zhi1 mei2 you3 wei3 ba5"),
    ],
}
MANDARIN = "cmn-latn-pinyin"  # espeak-ng's Mandarin dictionary lacks most characters
MELODY = [0, 0, 7, 7, 9, 9, 7, 5, 5, 4, 4, 2, 2, 0]  # semitones, cycled word by word
_T2S = opencc.OpenCC("t2s")
PUNCT = re.compile(r"[^\w\s']|_", re.UNICODE)


def sing(words: list[str], voice: str, tmp: Path, base_pitch: int = 40) -> np.ndarray:
    """One line sung by espeak-ng: each word (or Chinese character) on a melody note, a
    long note at the end of the line. Returns 16 kHz mono."""
    parts = []
    for i, w in enumerate(words):
        semis = MELODY[i % len(MELODY)]
        rate = 70 if i == len(words) - 1 else 100
        pct = round((2 ** (semis / 12) - 1) * 100)
        parts.append(f'<prosody pitch="+{pct}%" rate="{rate}%">{w}</prosody>')
    wav = tmp / "line.wav"
    ssml = "<speak>" + " ".join(parts) + "</speak>"
    cmd = ["espeak-ng", "-m", "-v", voice, "-p", str(base_pitch), "-s", "130", "-w", str(wav)]
    subprocess.run([*cmd, ssml], check=True, capture_output=True)
    x, sr = sf.read(wav, dtype="float32")
    return soxr.resample(x, sr, SR).astype(np.float32)


def speak(text: str, voice: str, tmp: Path) -> np.ndarray:
    wav = tmp / "spoken.wav"
    cmd = ["espeak-ng", "-v", voice, "-s", "140", "-w", str(wav), text]
    subprocess.run(cmd, check=True, capture_output=True)
    x, sr = sf.read(wav, dtype="float32")
    return soxr.resample(x, sr, SR).astype(np.float32)


def accompaniment(seconds: float, tmp: Path, seed: int) -> np.ndarray:
    """The dense band's quieter parts (bass, organ, strings, drums) at 16 kHz mono."""
    keep = ("bass", "organ", "strings", "drums")
    mix = None
    for name, pm in dense_band.compose(seconds, seed).items():
        if name not in keep:
            continue
        x = dense_band._render(pm, tmp, name)
        x = x / (np.sqrt(np.mean(x**2)) + 1e-9)
        mix = x if mix is None else mix[: len(x)] + x[: len(mix)]
    assert mix is not None
    return soxr.resample(mix, dense_band.SR, SR).astype(np.float32)


def sung_song(lines: list[str], voice: str, tmp: Path, seed: int) -> np.ndarray:
    """Lines at two-bar phrase starts over the band, voice 6 dB above it."""
    phrase = 8 * 60.0 / BPM
    band = accompaniment(phrase * (len(lines) + 1), tmp, seed)
    out = band * 0.0
    for i, line in enumerate(lines):
        v = sing(line.split(), voice, tmp)[: int(phrase * SR)]
        a = int((0.5 + i) * phrase * SR)
        seg = band[a : a + len(v)]
        gain = np.sqrt(np.mean(seg**2)) * 10 ** (6 / 20) / (np.sqrt(np.mean(v**2)) + 1e-9)
        out[a : a + len(v)] += v[: len(seg)] * gain
    mix = band + out
    return (mix / np.abs(mix).max() * 0.9).astype(np.float32)


def material(tmp: Path) -> list[tuple[str, str, np.ndarray, str]]:
    """(name, language, 16 kHz audio, reference text)."""
    demo = ROOT / "examples" / "demo"
    truth = json.loads((demo / "demo.json").read_text(encoding="utf-8"))
    items = [
        (
            "demo (chanted, band)",
            "en",
            audio.load(demo / "demo.mp3", SR).samples,
            " ".join(t for _, _, t in truth["lyrics"]),
        )
    ]
    for seed, (name, lines) in enumerate(ENGLISH.items()):
        x = sung_song(lines, "en-us", tmp, seed)
        items.append((f"{name} (sung, band)", "en", x, " ".join(lines)))
    for seed, (name, pairs) in enumerate(CHINESE.items(), start=10):
        text = "".join(hanzi for hanzi, _ in pairs)
        pinyin = [p for _, p in pairs]
        items.append((f"{name} (sung, band)", "zh", sung_song(pinyin, MANDARIN, tmp, seed), text))
        spoken = speak(", ".join(pinyin), MANDARIN, tmp)
        items.append((f"{name} (spoken)", "zh", spoken, text))
    return items


def normalise(text: str, language: str) -> str:
    """Lower case, no punctuation; Chinese in simplified characters, spaces dropped."""
    text = PUNCT.sub(" ", text.lower())
    if language == "zh":
        return "".join(_T2S.convert(text).split())
    return " ".join(text.split())


def error_rate(reference: str, hypothesis: str, language: str) -> float:
    ref, hyp = normalise(reference, language), normalise(hypothesis, language)
    if language == "zh":
        return float(jiwer.cer(ref, hyp)) if hyp else 1.0
    return float(jiwer.wer(ref, hyp)) if hyp else 1.0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--models", nargs="+", default=[lyrics.TINY_EN, lyrics.BASE])
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args()
    console = Console()
    with tempfile.TemporaryDirectory() as td:
        items = material(Path(td))
    table = Table(title="lyrics: error rate (WER en / CER zh), language detected")
    table.add_column("piece")
    for m in args.models:
        table.add_column(m)
    results: dict[str, list[tuple[float, str, str]]] = {m: [] for m in args.models}
    speed = {}
    for m in args.models:
        t0 = time.perf_counter()
        lyrics._whisper(m, args.threads, lyrics.COMPUTE_TYPE)
        load = time.perf_counter() - t0
        seconds = wall = cpu = 0.0
        for _, lang, x, ref in items:
            t0, c0 = time.perf_counter(), time.process_time()
            got = lyrics.transcribe(x, m, None, args.threads)
            wall += time.perf_counter() - t0
            cpu += time.process_time() - c0
            seconds += len(x) / SR
            text = " ".join(line.text for line in got.lines) if got else ""
            results[m].append((error_rate(ref, text, lang), got.language if got else "-", text))
        speed[m] = (load, seconds / wall, seconds / cpu)
    for i, (name, *_) in enumerate(items):
        table.add_row(name, *[f"{results[m][i][0]:.2f} ({results[m][i][1]})" for m in args.models])
    for lang, label in (("en", "mean WER, English"), ("zh", "mean CER, Chinese")):
        idx = [i for i, it in enumerate(items) if it[1] == lang]
        table.add_row(
            f"[b]{label}",
            *[f"{np.mean([results[m][i][0] for i in idx]):.2f}" for m in args.models],
        )
    table.add_row(
        "[b]audio s per wall s, per CPU s (load s)",
        *[f"{speed[m][1]:.1f}, {speed[m][2]:.1f} ({speed[m][0]:.1f} s)" for m in args.models],
    )
    console.print(table)
    for m in args.models:
        for (name, *_), (er, _, text) in zip(items, results[m], strict=True):
            console.print(f"[dim]{m} | {name} | {er:.2f} | {text[:110]}", highlight=False)


if __name__ == "__main__":
    main()
