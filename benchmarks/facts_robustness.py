"""Robustness of the measured facts: the facts corpus degraded the ways recordings are, each
system's scores on the degraded files next to its scores on the clean ones, in one run.

    python scripts/render_facts_corpus.py --split both        # once: renders the audio
    python scripts/render_facts_corpus.py --split dev --played  # once: the played copies
    python benchmarks/facts_robustness.py [--split dev|test|both] [--workers 2]
        [--variants mp3,mastered,phone,drift,padded,tuned,hall,reprise,faded,live,ritard,played]
        [--systems ours,raw,madmom]
        [--work data/facts-robustness] [--out out/facts-robustness]

Variants (Debian's ffmpeg makes them; the copies go to ``--work/<variant>/<split>``, made
once, then measured and cached as `facts_accuracy.py` measures the clean corpus; per-piece
tables go to ``--out/<variant>/``, a figure of the rhythm metrics to
``--out/robustness_<split>.png``):
- mp3: mono, 22.05 kHz, 32 kbit/s MP3 (a low-bitrate upload);
- mastered: 12:1 compression with 12 dB make-up gain, tanh soft clipping and a limiter
  (a loud master, distorted on its peaks);
- phone: 300-3400 Hz (a telephone band: no kick drum or bass fundamental, no cymbals);
- drift: the band drifts in tempo as players do without a click: every 4 s of the score
  the tempo takes a random step (standard deviation 1.2 %, held within ±3 %), time-stretched
  by Rubber Band without changing pitch; the truth's times follow the same map (checked on
  a click track: every click within 3 ms of its mapped time);
- padded: 8 s of a quiet room (pink noise at -80 dBFS) before and after the music, as a
  track cut from an album or a take with silence around it; the truth's times shift;
- tuned: the whole piece 20-45 cents sharp or flat of A = 440 Hz (seeded by name), as a band
  tuned by ear, a piano tuned low, A = 432 Hz or a tape run off speed; Rubber Band shifts the
  pitch without changing the tempo, so the truth is the clean one;
- hall: heard from the back of a hall: the piece convolved with a room's response (the
  direct sound, then 20 ms on, a tail of noise decaying 60 dB in 2 s and darkening as it
  decays), as much reverberant as direct energy, the truth unchanged;
- reprise: the piece, 8-12 s of a quiet room (seeded by name), then the piece again from its
  start, as an album track with a hidden track or a reprise after it, or two movements on one
  file: the second copy's bars start where its music starts, not where the first copy's bar
  count would put them; the truth is both copies', the gap a section ("silence");
- faded: the last 12 s faded out, linear in amplitude (a studio fade or a radio edit: -6 dB
  halfway, -20 dB 1.2 s before the end), the truth unchanged (every beat in it is audible);
- live: a live take: 6 s of applause before the music, 8 s after it, as loud as the music
  less 6 dB (`applause`: 40 people clapping out of step), and a crowd's murmur under all of
  it 30 dB down (seeded by name); the truth's times shift, no chord in the applause;
- ritard: the players slow down at the end, as most performances of a closing phrase do: over
  the last 8 s before the last beat the tempo falls linearly to 65 % (held after it), in steps
  of 0.25 s time-stretched by Rubber Band as for drift; the truth's times follow, its tempo is
  the body's;
- played: not a degraded copy but the same scores rendered as players would
  (``render_facts_corpus.py --played``, `fixturegen.perform`: each part's lag, each onset's
  scatter, varied loudness; the truth stays on the grid), read from ``<corpus>-played``.
"""

from __future__ import annotations

import argparse
import functools
import hashlib
import json
import shutil
import subprocess
import sys
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np
from facts_accuracy import ROOT, SYSTEMS, fmt, measure, per_piece_rows, write_tables
from numpy.typing import ArrayLike
from tqdm import tqdm

from musicflamingo.facts.scoring import TARGETS, mean_scores

VORBIS = ["-c:a", "libvorbis", "-q:a", "3"]  # the corpus's codec (fixturegen.factscorpus.CODEC)
FILTERS = {
    "mastered": "acompressor=threshold=-26dB:ratio=12:attack=2:release=60:makeup=12dB,"
    "asoftclip=type=tanh,alimiter=limit=-1dB",
    "phone": "highpass=f=300,highpass=f=300,lowpass=f=3400,lowpass=f=3400",  # each twice: steeper
}
VARIANTS = (
    "mp3",
    "mastered",
    "phone",
    "drift",
    "padded",
    "tuned",
    "hall",
    "reprise",
    "faded",
    "live",
    "ritard",
    "played",
)
PAD_S = 8.0  # seconds of room noise before and after the music (beyond mir_eval's 5 s trim)
PAD_NOISE = 1e-4  # its amplitude: -80 dBFS
DRIFT_STEP_S = 4.0  # seconds of the original between tempo steps
DRIFT_SD = 0.012  # standard deviation of a step, as a share of the tempo
DRIFT_MAX = 0.03  # the tempo stays within this share of the original
DETUNE_CENTS = (20.0, 45.0)  # the range of a tuned copy's distance from A = 440 Hz
HALL_RT60 = 2.0  # s for the hall's tail to decay by 60 dB (a concert hall, full)
HALL_PREDELAY = 0.02  # s from the direct sound to the tail
REPRISE_GAP_S = (8.0, 12.0)  # the range of the silence between the two copies
FADE_S = 12.0  # s of the fade-out at the end of the faded copy
LIVE_BEFORE_S, LIVE_AFTER_S = 6.0, 8.0  # s of applause before and after the music
APPLAUSE_DB = -6.0  # the applause's RMS against the music's
CROWD_DB = -30.0  # the crowd's murmur under the music, against the music's RMS
CLAPPERS = 40
RITARD_S = 8.0  # s of the original before its last beat over which a ritard copy slows
RITARD_END = 0.65  # … to this share of the tempo at the last beat (and after it)
RITARD_STEP_S = 0.25  # s of the original per tempo step
METRICS = [m for m in TARGETS if m not in ("chord_mirex", "section_f_0.5", "meter_exact")]


def ffmpeg(*args: str) -> None:
    subprocess.run(["ffmpeg", "-v", "error", "-y", *args], check=True)


def seeded(name: str) -> np.random.Generator:
    """A random generator seeded by a piece's name (the same copy on every machine)."""
    return np.random.default_rng(int(hashlib.sha1(name.encode()).hexdigest()[:8], 16))


def drift_rates(name: str, duration: float) -> np.ndarray:
    """Tempo factors (>1 faster), one per ``DRIFT_STEP_S`` of the original, seeded by name."""
    rng = seeded(name)
    rates = [1.0]
    for _ in range(int(np.ceil(duration / DRIFT_STEP_S))):
        rates.append(
            float(np.clip(rates[-1] + rng.normal(0, DRIFT_SD), 1 - DRIFT_MAX, 1 + DRIFT_MAX))
        )
    return np.array(rates)


def ritard_rates(last_beat: float, duration: float) -> np.ndarray:
    """Tempo factors, one per `RITARD_STEP_S` of the original (at each step's middle): 1 until
    `RITARD_S` before the last beat, then falling linearly to `RITARD_END` at it, held after."""
    middle = (np.arange(int(np.ceil(duration / RITARD_STEP_S)) + 1) + 0.5) * RITARD_STEP_S
    share = np.clip((middle - (last_beat - RITARD_S)) / RITARD_S, 0.0, 1.0)
    return 1 - (1 - RITARD_END) * share


def stretched_time(t: ArrayLike, rates: np.ndarray, step: float) -> np.ndarray:
    """Original times (s) -> stretched times (s): each ``step`` s of the original lasts
    ``step / rate``."""
    t = np.asarray(t, dtype=float)
    k = np.minimum((t // step).astype(int), len(rates) - 1)
    start = np.concatenate([[0.0], np.cumsum(step / rates)])
    return start[k] + (t - k * step) / rates[k]


def stretched_truth(truth: dict, rates: np.ndarray, step: float) -> dict:
    """The truth of the stretched audio (`stretched_time`): every time mapped."""
    out = dict(truth)
    for key in ("beats", "downbeats"):
        out[key] = stretched_time(truth[key], rates, step).tolist()
    for key in ("chords", "sections", "keys"):
        if truth.get(key):
            spans = stretched_time([(a, b) for a, b, _ in truth[key]], rates, step).tolist()
            out[key] = [
                [a, b, label] for (a, b), (*_, label) in zip(spans, truth[key], strict=True)
            ]
    out["duration"] = float(stretched_time(truth["duration"], rates, step))
    out["tempo_varies"] = True
    return out


def stretch(audio: Path, ogg: Path, rates: np.ndarray, step: float) -> None:
    """Rubber Band time-stretches ``audio`` to ``ogg``, each ``step`` s of it by its rate
    (pitch unchanged; a command where the rate changes)."""
    changes = [k for k in range(len(rates)) if k == 0 or rates[k] != rates[k - 1]]
    steps = ";".join(f"{k * step:.3f} rubberband tempo {rates[k]:.5f}" for k in changes)
    ffmpeg("-i", str(audio), "-af", f"asendcmd=c='{steps}',rubberband=tempo={rates[0]:.5f}",
           *VORBIS, str(ogg))  # fmt: skip


def detune_cents(name: str) -> float:
    """A tuned copy's pitch offset (cents, + sharp), seeded by name: its size uniform in
    `DETUNE_CENTS`, sharp or flat with equal chance."""
    rng = seeded(f"{name}-tuned")
    return float(rng.choice([-1.0, 1.0]) * rng.uniform(*DETUNE_CENTS))


@functools.cache
def hall_response(sr: int) -> np.ndarray:
    """A hall's impulse response at ``sr``: a unit direct sound, then after `HALL_PREDELAY`
    a tail of white noise decaying 60 dB in `HALL_RT60` s, low-passed harder as it decays
    (air and walls take the highs first), scaled to the direct sound's energy. One hall for
    every piece (seed 0)."""
    rng = np.random.default_rng(0)
    n = int(1.5 * HALL_RT60 * sr)
    t = np.arange(n) / sr
    tail = rng.standard_normal(n) * 10 ** (-3 * t / HALL_RT60)
    # a one-pole low-pass whose cutoff falls from 10 kHz to 2 kHz along the tail
    cutoff = 10_000 * (2_000 / 10_000) ** (t / t[-1])
    a = np.exp(-2 * np.pi * cutoff / sr)
    smooth = np.empty(n)
    acc = 0.0
    for i in range(n):
        acc = (1 - a[i]) * tail[i] + a[i] * acc
        smooth[i] = acc
    smooth /= np.sqrt(np.sum(smooth**2))
    return np.concatenate([[1.0], np.zeros(int(HALL_PREDELAY * sr) - 1), smooth])


def shifted_truth(truth: dict, before: float, after: float) -> dict:
    """The truth of the music with ``before`` s of something else before it and ``after`` s
    after it: every time ``before`` later, no chord outside the music. Its sections are not
    scored: what surrounds the music is no part of its form, and a system's first and last
    sections may take it in or leave it out."""
    out = dict(truth, sections=None)
    for key in ("beats", "downbeats"):
        out[key] = [t + before for t in truth[key]]
    for key in ("chords", "keys"):
        if truth.get(key):
            out[key] = [[a + before, b + before, label] for a, b, label in truth[key]]
    end = truth["duration"] + before
    if truth.get("chords"):
        out["chords"] = [[0.0, before, "N"], *out["chords"], [end, end + after, "N"]]
    out["duration"] = end + after
    return out


def applause(seconds: float, sr: int, rng: np.random.Generator) -> np.ndarray:
    """Applause, unit RMS: `CLAPPERS` people out of step, each clapping 3-5 times a second
    with 15 % jitter; a clap is a burst of noise decaying in about 5 ms, through the clapper's
    own band (hands differ: an octave around 1-3 kHz)."""
    import scipy.signal

    n = round(seconds * sr)
    burst = rng.standard_normal(round(0.03 * sr)) * np.exp(
        -np.arange(round(0.03 * sr)) / (0.005 * sr)
    )
    out = np.zeros(n)
    for _ in range(CLAPPERS):
        period = 1 / rng.uniform(3.0, 5.0)
        gaps = period * (1 + 0.15 * rng.standard_normal(int(seconds / period) + 2))
        times = rng.uniform(0, period) + np.cumsum(np.abs(gaps))
        train = np.zeros(n)
        train[(times[times < seconds] * sr).astype(int)] = rng.uniform(
            0.5, 1.0, (times < seconds).sum()
        )
        centre = rng.uniform(1000.0, 3000.0)
        band = scipy.signal.butter(
            2, [centre / 1.41, centre * 1.41], "bandpass", fs=sr, output="sos"
        )
        out += scipy.signal.sosfilt(band, scipy.signal.fftconvolve(train, burst)[:n])
    return out / np.sqrt(np.mean(out**2))


def murmur(seconds: float, sr: int, rng: np.random.Generator) -> np.ndarray:
    """A crowd's murmur, unit RMS: noise in the voice band (150-1500 Hz)."""
    import scipy.signal

    band = scipy.signal.butter(2, [150.0, 1500.0], "bandpass", fs=sr, output="sos")
    out = scipy.signal.sosfilt(band, rng.standard_normal(round(seconds * sr)))
    return out / np.sqrt(np.mean(out**2))


def live_take(music: np.ndarray, sr: int, name: str) -> np.ndarray:
    """``music`` (samples, channels) as a live take: applause before and after it (each
    dying away over its last 1.5 s, rising over its first 0.5 s), murmur under it all."""
    rng = seeded(f"{name}-live")
    mono = music.mean(axis=1)
    level = float(np.sqrt(np.mean(mono[np.abs(mono) > 1e-4] ** 2)))  # the music's RMS
    before, after = round(LIVE_BEFORE_S * sr), round(LIVE_AFTER_S * sr)
    total = before + len(music) + after
    crowd = level * 10 ** (CROWD_DB / 20) * murmur(total / sr, sr, rng)
    clap = level * 10 ** (APPLAUSE_DB / 20)
    head = (
        clap
        * applause(LIVE_BEFORE_S, sr, rng)
        * np.clip((before - np.arange(before)) / (1.5 * sr), 0, 1)
    )
    ramp = np.minimum(np.arange(after) / (0.5 * sr), (after - np.arange(after)) / (1.5 * sr))
    tail = clap * applause(LIVE_AFTER_S, sr, rng) * np.clip(ramp, 0, 1)
    mixed = np.zeros((total, music.shape[1]))
    mixed[before : before + len(music)] = music
    mixed += crowd[:, None]
    mixed[:before] += head[:, None]
    mixed[before + len(music) :] += tail[:, None]
    return mixed / max(1.0, float(np.abs(mixed).max()) / 0.99)


def reprise_gap(name: str) -> float:
    """Seconds of silence between a reprise copy's two halves, uniform in `REPRISE_GAP_S`,
    seeded by name (never a whole number of the piece's bars but by chance)."""
    return float(seeded(f"{name}-reprise").uniform(*REPRISE_GAP_S))


def reprise_truth(truth: dict, gap: float) -> dict:
    """The truth of the piece, ``gap`` seconds of silence and the piece again: each time also
    ``duration + gap`` later, no chord in the gap, the gap a section of its own ("silence",
    as SALAMI marks one)."""
    out = dict(truth)
    shift = truth["duration"] + gap
    for key in ("beats", "downbeats"):
        out[key] = [*truth[key], *(t + shift for t in truth[key])]
    for key, rest in (("chords", "N"), ("keys", None), ("sections", "silence")):
        if truth.get(key):
            again = [[a + shift, b + shift, label] for a, b, label in truth[key]]
            between = [[truth["duration"], shift, rest]] if rest else []
            out[key] = [*truth[key], *between, *again]
    out["duration"] = 2 * truth["duration"] + gap
    return out


def degrade(src: Path, dst: Path, variant: str) -> None:
    """Write the degraded copy of one rendered piece (audio, then truth: a piece whose truth
    exists is done)."""
    truth = json.loads(src.read_text(encoding="utf-8"))
    audio, ogg = src.with_suffix(".ogg"), dst.with_suffix(".ogg")
    if variant == "mp3":
        mp3 = dst.with_suffix(".mp3")
        ffmpeg("-i", str(audio), "-ac", "1", "-ar", "22050", "-b:a", "32k", str(mp3))
        ffmpeg("-i", str(mp3), "-ar", "44100", *VORBIS, str(ogg))
        mp3.unlink()
    elif variant == "drift":
        rates = drift_rates(truth["name"], truth["duration"])
        stretch(audio, ogg, rates, DRIFT_STEP_S)
        tempo = truth["tempo_bpm"] * truth["duration"]
        truth = stretched_truth(truth, rates, DRIFT_STEP_S)
        truth["tempo_bpm"] = tempo / truth["duration"]  # scaled by the mean rate
    elif variant == "ritard":
        rates = ritard_rates(max(truth["beats"]), truth["duration"])
        stretch(audio, ogg, rates, RITARD_STEP_S)
        truth = stretched_truth(truth, rates, RITARD_STEP_S)  # the tempo: the body's
    elif variant == "padded":
        delay = int(PAD_S * 1000)
        room = f"anoisesrc=r=44100:c=pink:a={PAD_NOISE}:d={truth['duration'] + 2 * PAD_S:.3f}"
        mix = (
            f"[0]adelay={delay}:all=1,apad=pad_dur={PAD_S}[m];"
            "[m][1]amix=inputs=2:duration=longest:normalize=0"
        )
        ffmpeg(
            "-i", str(audio), "-f", "lavfi", "-i", room, "-filter_complex", mix, *VORBIS, str(ogg)
        )
        truth = shifted_truth(truth, PAD_S, PAD_S)
    elif variant == "hall":
        import scipy.signal
        import soundfile as sf

        music, sr = sf.read(audio, dtype="float64", always_2d=True)
        heard = scipy.signal.fftconvolve(music, hall_response(sr)[:, None], axes=0)[: len(music)]
        heard *= np.abs(music).max() / max(np.abs(heard).max(), 1e-9)  # the same peak
        wav = dst.with_suffix(".wav")
        sf.write(wav, heard.astype(np.float32), sr)
        ffmpeg("-i", str(wav), *VORBIS, str(ogg))
        wav.unlink()
    elif variant == "reprise":
        import soundfile as sf

        music, sr = sf.read(audio, dtype="float32", always_2d=True)
        gap = reprise_gap(truth["name"])
        room = PAD_NOISE * seeded(truth["name"]).standard_normal((round(gap * sr), music.shape[1]))
        wav = dst.with_suffix(".wav")
        sf.write(wav, np.concatenate([music, room.astype(np.float32), music]), sr)
        ffmpeg("-i", str(wav), *VORBIS, str(ogg))
        wav.unlink()
        truth = reprise_truth(truth, gap)
    elif variant == "faded":
        import soundfile as sf

        end = sf.info(audio).duration
        fade = f"afade=t=out:st={max(0.0, end - FADE_S):.3f}:d={FADE_S}"
        ffmpeg("-i", str(audio), "-af", fade, *VORBIS, str(ogg))
    elif variant == "live":
        import soundfile as sf

        music, sr = sf.read(audio, dtype="float64", always_2d=True)
        wav = dst.with_suffix(".wav")
        sf.write(wav, live_take(music, sr, truth["name"]).astype(np.float32), sr)
        ffmpeg("-i", str(wav), *VORBIS, str(ogg))
        wav.unlink()
        truth = shifted_truth(truth, LIVE_BEFORE_S, LIVE_AFTER_S)
    elif variant == "tuned":
        ratio = 2 ** (detune_cents(truth["name"]) / 1200)
        ffmpeg("-i", str(audio), "-af", f"rubberband=pitch={ratio:.6f}", *VORBIS, str(ogg))
    else:
        ffmpeg("-i", str(audio), "-af", FILTERS[variant], *VORBIS, str(ogg))
    truth["render_id"] = f"{truth['render_id']}-{variant}"  # the cache keys on it
    dst.write_text(json.dumps(truth), encoding="utf-8")


def played(corpus: Path, split: str) -> Path:
    """The played rendering of ``corpus`` (`render_facts_corpus.py --played` makes it)."""
    folder = corpus.with_name(f"{corpus.name}-played")
    if not any((folder / split).glob("*.ogg")):
        sys.exit(f"error: no played copies in {folder / split} (render_facts_corpus.py --played)")
    return folder


def prepare(corpus: Path, work: Path, split: str, variant: str, workers: int) -> Path:
    """The degraded copy of ``corpus/split`` (made once; resumes after a kill)."""
    out = work / variant / split
    out.mkdir(parents=True, exist_ok=True)
    todo = [p for p in sorted((corpus / split).glob("*.json")) if not (out / p.name).exists()]
    with ProcessPoolExecutor(workers) as pool:
        jobs = [pool.submit(degrade, p, out / p.name, variant) for p in todo]
        for job in tqdm(jobs, desc=f"{variant} {split}", unit="piece", disable=not todo):
            job.result()
    return work / variant


def table(means: dict[str, dict[str, dict[str, float]]], systems: tuple[str, ...]) -> str:
    """Rows: metrics; columns: clean and each variant; cells: each system's mean."""
    columns = list(means)
    lines = [f"| metric ({' / '.join(systems)}) | " + " | ".join(columns) + " |"]
    lines.append("|" + "---|" * (len(columns) + 1))
    for metric in METRICS:
        cells = [" / ".join(fmt(means[c][s].get(metric)) for s in systems) for c in columns]
        if all(set(cell.split(" / ")) == {"-"} for cell in cells):
            continue
        lines.append(f"| {metric} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def plot(
    means: dict[str, dict[str, dict[str, float]]], systems: tuple[str, ...], path: Path
) -> None:
    """One panel per rhythm metric: each system's mean on the clean files and each variant."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    panels = ("tempo_acc1", "tempo_acc2", "beat_f", "downbeat_f", "meter")
    columns = list(means)
    fig, axes = plt.subplots(1, len(panels), figsize=(3.2 * len(panels), 3.4), sharey=True)
    width = 0.8 / len(systems)
    for ax, metric in zip(axes, panels, strict=True):
        for k, system in enumerate(systems):
            values = [means[c][system].get(metric, np.nan) for c in columns]
            x = np.arange(len(columns)) + (k - (len(systems) - 1) / 2) * width
            ax.bar(x, values, width, label=system)
        ax.set_title(metric)
        ax.set_xticks(np.arange(len(columns)), columns, rotation=45, ha="right")
        ax.set_ylim(0, 1)
        ax.grid(axis="y", alpha=0.3)
    axes[0].legend(loc="lower left", fontsize="small")
    fig.suptitle(f"{path.stem.removeprefix('robustness_')}: clean and degraded")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--corpus", type=Path, default=ROOT / "data" / "facts-corpus")
    parser.add_argument("--work", type=Path, default=ROOT / "data" / "facts-robustness")
    parser.add_argument("--split", choices=("dev", "test", "both"), default="dev")
    parser.add_argument("--variants", default=",".join(VARIANTS))
    parser.add_argument("--systems", default=",".join(SYSTEMS[:3]))
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--out", type=Path, default=ROOT / "out" / "facts-robustness")
    args = parser.parse_args()
    systems, variants = tuple(args.systems.split(",")), args.variants.split(",")
    if unknown := (set(systems) - set(SYSTEMS)) | (set(variants) - set(VARIANTS)):
        parser.error(f"unknown system(s) or variant(s): {', '.join(sorted(unknown))}")
    if shutil.which("ffmpeg") is None:
        sys.exit("error: the variants are made by ffmpeg (Debian package ffmpeg)")
    report = []
    for split in ("dev", "test") if args.split == "both" else (args.split,):
        corpora = {"clean": args.corpus}
        corpora |= {
            v: played(args.corpus, split)
            if v == "played"
            else prepare(args.corpus, args.work, split, v, args.workers)
            for v in variants
        }
        means, pieces = {}, 0
        for name, corpus in corpora.items():
            results = measure(corpus, split, systems, args.workers)
            pieces = pieces or len(results)  # the clean files' count
            write_tables(per_piece_rows(results, systems), args.out / name, split)
            means[name] = {
                s: mean_scores([r["systems"][s]["scores"] for r in results]) for s in systems
            }
        plot(means, systems, args.out / f"robustness_{split}.png")
        report.append(f"**{split}** ({pieces} pieces)\n\n" + table(means, systems))
    text = "\n".join(report)
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / f"summary_{args.split}.md").write_text(text, encoding="utf-8")
    print("\n" + text)


if __name__ == "__main__":
    main()
