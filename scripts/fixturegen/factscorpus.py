"""The facts corpus: a dev split to tune on and a test split never tuned on, and a train
split (its own manifest, ``specs/facts_train.json``) to fit learned models on.

The manifest (``specs/facts_corpus.json``, committed) lists every piece with its full spec
(a seeded ``Song`` or a music21 ``CorpusPiece``), its split, its soundfont and its mix.
``make_manifest`` builds it once from seeds (our compositions: every composed meter,
drums or not, swing, syncopation, pickups, tempo ramps and steps, modulations; corpus
pieces: Bach chorales and fiddle tunes that pass the corpus loader's checks); ``render``
turns entries into ``<out>/<split>/<name>.ogg`` + ``.json`` (truth), skipping pieces whose
truth already carries the entry's ``render_id`` (resumable). The audio is never committed.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
import time
from collections import defaultdict
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor, as_completed
from pathlib import Path
from typing import Literal

import numpy as np
import pretty_midi
import scipy.signal
from music21 import corpus as m21corpus
from music21 import key as m21key
from pydantic import Field

from fixturegen.catalogue import SPECS, Band, CorpusPiece, Song, beat_grid
from fixturegen.compose import compose
from fixturegen.corpus import excerpt, load_corpus, signature_key
from fixturegen.perform import Performance
from fixturegen.render import encode, normalise
from fixturegen.truth import validate_truth, write_json
from musicflamingo.theory import TONIC_NAMES
from musicflamingo.util import Record, atomic_write

MANIFEST = SPECS / "facts_corpus.json"
TRAIN_MANIFEST = SPECS / "facts_train.json"
BAND_MANIFEST = SPECS / "facts_band.json"
CLASSICAL_MANIFEST = SPECS / "facts_classical.json"
SEED = 20261129
TRAIN_SEED = 20261130
DEV_SHARE = 0.6
SR = 44100
CODEC = ["-c:a", "libvorbis", "-q:a", "3"]
SOUNDFONTS = {
    "fluidr3": Path("/usr/share/sounds/sf2/FluidR3_GM.sf2"),  # Debian fluid-soundfont-gm
    "timgm6mb": Path("/usr/share/sounds/sf2/TimGM6mb.sf2"),  # Debian timgm6mb-soundfont
    "musescore": Path("/usr/share/sounds/sf3/MuseScore_General.sf3"),  # -soundfont-small
}


class Mix(Record):
    """Post-render processing: peak level, a synthetic room, pink noise, a low-pass."""

    peak_db: float = Field(le=0)
    reverb_rt60: float | None = None  # seconds
    reverb_wet: float = 0.0
    snr_db: float | None = None
    lowpass_hz: float | None = None


class Entry(Record):
    """One piece of the corpus."""

    name: str
    kind: Literal["composed", "corpus"]
    split: Literal["dev", "test", "train"]
    soundfont: str
    mix: Mix
    song: Song | None = None
    work: CorpusPiece | None = None

    def spec(self) -> Song | CorpusPiece:
        spec = self.song or self.work
        assert spec is not None
        return spec

    def meter(self) -> str:
        return self.spec().meter

    def render_id(self) -> str:
        """A hash of everything that decides the audio and truth."""
        return hashlib.sha1(self.model_dump_json().encode()).hexdigest()[:12]


class Manifest(Record):
    seed: int
    entries: list[Entry]


def load_manifest(path: Path = MANIFEST) -> Manifest:
    return Manifest.model_validate_json(path.read_text(encoding="utf-8"))


# ---------------------------------------------------------------- seeded compositions


KEYS = [f"{TONIC_NAMES[m][pc]} {m}" for pc in range(12) for m in ("major", "minor")]
METERS = ["4/4", "3/4", "6/8", "4/4", "2/2", "12/8", "5/4", "4/4", "2/4", "3/4"]
METERS += ["6/8", "3/8", "4/4", "12/8", "9/8", "2/2"]
BPM_RANGE = {
    "4/4": (72, 168),
    "3/4": (84, 176),
    "2/4": (72, 132),
    "6/8": (52, 116),
    "2/2": (60, 116),
    "12/8": (48, 96),
    "5/4": (84, 156),
    "3/8": (120, 192),
    "9/8": (52, 104),
}
PROGRESSIONS = {
    "major": ["I vi IV V", "I IV V I", "I V vi IV", "vi IV I V", "I iii IV V", "IV I V vi"]
    + ["I bVII IV I", "ii V I vi", "I IV ii V7"],
    "minor": ["i VI III VII", "i iv V i", "i VII VI V", "i iv VII III", "VI VII i i"]
    + ["iv v i i", "i VI iv V7"],
}
CADENCE = {"major": "IV V7 I I", "minor": "iv V7 i i"}
BANDS = [  # melody, comp, bass, pad
    (80, 0, 33, 89),  # synth lead, piano, finger bass, pad
    (65, 4, 33, 16),  # alto sax, e-piano, bass, organ
    (81, 29, 34, 50),  # saw lead, overdrive guitar, pick bass, strings
    (73, 24, 32, None),  # flute, nylon guitar, acoustic bass
    (71, 0, 32, 48),  # clarinet, piano, acoustic bass, strings
    (56, 61, 58, 60),  # trumpet, brass section, tuba, horn
    (40, 46, 45, 48),  # violin, harp, pizzicato, strings
    (22, 25, 33, None),  # harmonica, steel guitar, bass
    (11, 27, 36, 19),  # vibraphone, clean guitar, slap bass, organ
    (68, 6, 43, 52),  # oboe, harpsichord, contrabass, choir
    (26, 18, 38, 90),  # jazz guitar, rock organ, synth bass, pad
]


def modulation(home: str, rng: np.random.Generator) -> str:
    """A related key: dominant, subdominant, relative, or a whole step up."""
    k = m21key.Key(home.split()[0].replace("b", "-"), home.split()[1])
    target = rng.choice(["dominant", "subdominant", "relative", "step"])
    if target == "relative":
        new = k.relative
    else:
        steps = {"dominant": 7, "subdominant": 5, "step": 2}[str(target)]
        new = m21key.Key(k.tonic.transpose(steps).name, k.mode)
    return f"{TONIC_NAMES[new.mode][new.tonic.pitchClass]} {new.mode}"


def tempo_change(
    bpm: float,
    n_sections: int,
    rng: np.random.Generator,
    odds: float,
    ramp: tuple[float, float],
    step: float,
) -> tuple[float | None, list[float] | None]:
    """A drawn tempo change: with probability ``odds`` a linear ramp to ``bpm`` times a
    factor in ``ramp``, with the same odds again a step per section within ``bpm`` ±
    ``step`` (the first at ``bpm``), else none; returns (bpm_end, tempo_steps)."""
    tempo = rng.random()
    if tempo < odds:
        return float(round(bpm * rng.uniform(*ramp))), None
    if tempo < 2 * odds:
        steps = [float(round(bpm * f)) for f in rng.uniform(1 - step, 1 + step, n_sections)]
        return None, [bpm, *steps[1:]]
    return None, None


def make_song(i: int, seed: int) -> Song:
    """One seeded composition; every ``i`` gets a different meter, style and form."""
    rng = np.random.default_rng([seed, i])
    meter = METERS[i % len(METERS)]
    grid = beat_grid(meter)
    key = str(rng.choice(KEYS))
    mode = key.split()[1]
    bpm = float(round(rng.uniform(*BPM_RANGE[meter])))
    bar_s = grid.beats * 60 / bpm
    drums = bool(rng.random() < 0.7)
    swing = (
        float(round(rng.uniform(0.6, 0.68), 3)) if grid.beat_ql == 1 and rng.random() < 0.3 else 0.5
    )
    syncopation = bool(rng.random() < 0.3)
    pickup = int(rng.integers(1, min(grid.beats, 4))) if rng.random() < 0.25 else 0
    prog = [str(p) for p in rng.permutation(PROGRESSIONS[mode])]
    sec_bars = 4 if bar_s * 8 * 5 > 75 else 8
    sections = {
        "intro": {"bars": 2 if sec_bars == 4 else 4, "chords": prog[0], "energy": 0},
        "verse": {"bars": sec_bars, "chords": prog[1], "energy": 1},
        "chorus": {"bars": sec_bars, "chords": prog[2], "energy": 2},
        "outro": {"bars": 4, "chords": CADENCE[mode], "energy": 1, "melody": False},
    }
    form = ["intro", "verse", "chorus", "verse", "chorus"]
    if rng.random() < 0.5:
        sections["bridge"] = {"bars": sec_bars, "chords": prog[3], "energy": 1}
        form += ["bridge", "chorus"]
        if rng.random() < 0.35:
            sections["bridge"]["key"] = modulation(key, rng)
    if rng.random() < 0.2:
        sections["chorus"]["per_bar"] = 2
    form.append("outro")
    while sum(sections[s]["bars"] for s in form) * bar_s > 85 and len(form) > 4:
        cut = form.index("bridge") if "bridge" in form else len(form) - 3  # 2nd verse
        del form[cut : cut + 2]  # with the chorus after it
    unused = set(sections) - set(form)
    for label in unused:
        del sections[label]
    bpm_end, tempo_steps = tempo_change(bpm, len(form), rng, 0.15, (0.82, 1.2), 0.12)
    melody, comp, bass, pad = BANDS[int(rng.integers(len(BANDS)))]
    style = [meter, "drums" if drums else "no drums"]
    style += ["swing"] * (swing != 0.5) + ["syncopated"] * syncopation
    style += [f"{pickup}-beat pickup"] * (pickup > 0)
    style += ["accelerando" if bpm_end and bpm_end > bpm else "ritardando"] * bool(bpm_end)
    style += ["tempo steps"] * bool(tempo_steps)
    style += ["modulating bridge"] * ("key" in sections.get("bridge", {}))
    return Song.model_validate(
        {
            "name": f"s{i:03d}_{meter.replace('/', '_')}_{key.split()[0].lower().replace('#', 's')}"
            f"{'m' if mode == 'minor' else ''}",
            "description": f"{key}, {bpm:g} BPM, " + ", ".join(style),
            "key": key,
            "meter": meter,
            "bpm": bpm,
            "bpm_end": bpm_end,
            "tempo_steps": tempo_steps,
            "band": {"melody": melody, "comp": comp, "bass": bass, "pad": pad},
            "drums": drums,
            "seed": seed % 100_000 + i,
            "swing": swing,
            "syncopation": syncopation,
            "pickup": pickup,
            "sections": sections,
            "form": form,
        }
    )


CLASSICAL_BPM = {  # the notated beat, from adagio to allegro
    "4/4": (60, 144),
    "2/2": (56, 100),
    "3/4": (72, 168),
    "2/4": (60, 120),
    "6/8": (44, 96),
    "3/8": (96, 180),
    "9/8": (44, 84),
    "12/8": (40, 80),
}
CLASSICAL_METERS = ["3/4", "4/4", "2/4", "6/8", "3/4", "4/4", "2/2", "3/8", "6/8", "3/4"]
CLASSICAL_METERS += ["12/8", "2/4", "9/8"]
CLASSICAL_BANDS = [  # melody, accompaniment, bass, pad in full sections
    (0, 0, 0, None),  # piano
    (1, 1, 1, None),  # bright piano
    (6, 6, 6, None),  # harpsichord
    (40, 41, 42, None),  # string quartet: violin, viola, cello
    (40, 48, 43, None),  # violin over the string orchestra and double bass
    (73, 71, 70, 60),  # flute, clarinet, bassoon; horns
    (68, 48, 43, 60),  # oboe, strings, double bass; horns
    (40, 0, 0, None),  # violin and piano
    (73, 6, 6, None),  # flute and harpsichord
    (19, 19, 19, None),  # church organ
    (71, 0, 0, None),  # clarinet and piano
]
CLASSICAL_PROGRESSIONS = {
    "major": ["I IV V7 I", "I V7 V7 I", "I ii6 V7 I", "I vi ii V7", "I IV I V", "I I IV V"]
    + ["I V vi iii IV I IV V", "I V7 I V7"],
    "minor": ["i iv V7 i", "i V7 V7 i", "i VI iv V", "i iv i V", "i VI III VII", "i i iv V"],
}


def make_classical_song(i: int, seed: int) -> Song:
    """One seeded composition in a classical texture (`compose.classical_patterns`): a
    rounded binary form (theme, theme, an episode that may modulate, theme varied, coda)
    for piano, harpsichord, strings, winds or organ at a tempo from adagio to allegro."""
    rng = np.random.default_rng([seed, i, 1])
    meter = CLASSICAL_METERS[i % len(CLASSICAL_METERS)]
    grid = beat_grid(meter)
    key = str(rng.choice(KEYS))
    mode = key.split()[1]
    bpm = float(round(rng.uniform(*CLASSICAL_BPM[meter])))
    bar_s = grid.beats * 60 / bpm
    prog = [str(p) for p in rng.permutation(CLASSICAL_PROGRESSIONS[mode])]
    bars = 8 if bar_s * 8 * 4 < 80 else 4
    even = grid.beats % 2 == 0 and grid.bar_ql >= 3  # two chords per bar fall on beats
    per_bar = int(rng.choice([1, 2], p=[0.6, 0.4])) if even else 1
    theme = {"bars": bars, "chords": prog[0], "per_bar": per_bar, "energy": 1}
    episode = {"bars": bars, "chords": prog[1], "energy": int(rng.choice([0, 2]))}
    if rng.random() < 0.5:
        episode["key"] = modulation(key, rng)
    sections = {
        "theme": theme,
        "episode": episode,
        "theme'": {**theme, "energy": 2},
        "coda": {"bars": 4, "chords": CADENCE[mode], "energy": 1},
    }
    form = ["theme", "theme", "episode", "theme'", "coda"]
    if bars * bar_s * 5 > 85:
        form = ["theme", "episode", "theme'", "coda"]
    bpm_end, tempo_steps = tempo_change(bpm, len(form), rng, 0.1, (0.85, 1.05), 0.1)
    pickup = int(rng.integers(1, min(grid.beats, 4))) if rng.random() < 0.35 else 0
    melody, comp, bass, pad = CLASSICAL_BANDS[int(rng.integers(len(CLASSICAL_BANDS)))]
    slug = key.split()[0].lower().replace("#", "s") + ("m" if mode == "minor" else "")
    style = [meter] + [f"{pickup}-beat pickup"] * (pickup > 0)
    style += ["ritardando" if bpm_end and bpm_end < bpm else "accelerando"] * bool(bpm_end)
    style += ["tempo steps"] * bool(tempo_steps)
    style += ["modulating episode"] * ("key" in episode)
    return Song.model_validate(
        {
            "name": f"cl{i:03d}_{meter.replace('/', '_')}_{slug}",
            "description": f"{key}, {bpm:g} BPM, classical texture, " + ", ".join(style),
            "key": key,
            "meter": meter,
            "bpm": bpm,
            "bpm_end": bpm_end,
            "tempo_steps": tempo_steps,
            "band": {"melody": melody, "comp": comp, "bass": bass, "pad": pad},
            "drums": False,
            "seed": seed % 100_000 + 50_000 + i,
            "pickup": pickup,
            "sections": sections,
            "form": form,
            "texture": "classical",
        }
    )


# ---------------------------------------------------------------- corpus pieces

CORPUS_BPM = {
    "4/4": (60, 92),
    "3/4": (84, 150),
    "2/2": (72, 108),
    "2/4": (76, 116),
    "6/8": (88, 120),
    "9/8": (84, 112),
    "12/8": (72, 100),
    "3/8": (120, 170),
}
FIDDLE_4_4_BPM = (96, 132)
ENSEMBLES = [[19] * 4, [40, 40, 41, 42], [56, 56, 57, 58], [73, 68, 71, 70], [0] * 4, [52] * 4]
ENSEMBLES += [[6] * 4, [48, 48, 48, 48], [21, 21, 21, 21]]
SOLOISTS = [40, 73, 21, 0, 78, 105, 6, 71, 22, 64, 24, 46]


def stated_key(work: str) -> tuple[str, str]:
    """(key, meter) from the key signature and the final bass note, or ValueError."""
    score = m21corpus.parse(work)
    ts = score.recurse().getElementsByClass("TimeSignature").first()
    if ts is None:
        raise ValueError("no time signature")
    return signature_key(score), ts.ratioString


def ensemble_programs(n_parts: int, rng: np.random.Generator) -> list[int]:
    """One drawn ensemble's programs for ``n_parts`` parts (its last repeated beyond four)."""
    ens = ENSEMBLES[int(rng.integers(len(ENSEMBLES)))]
    return [ens[min(p, len(ens) - 1)] for p in range(n_parts)]


def corpus_candidate(work: str, rng: np.random.Generator) -> CorpusPiece:
    """A corpus piece that loads, at a drawn tempo and orchestration, 25-95 s long."""
    label, meter = stated_key(work)
    if meter not in CORPUS_BPM:
        raise ValueError(f"meter {meter}")
    slug = re.sub(r"[^a-z0-9]+", "_", work.split("/", 1)[1].lower()).strip("_")[:40]
    fiddle = work.startswith("ryansMammoth/")
    lo, hi = FIDDLE_4_4_BPM if fiddle and meter == "4/4" else CORPUS_BPM[meter]
    bpm = float(round(rng.uniform(lo, hi)))
    spec = {
        "name": f"{'tune' if fiddle else 'chorale'}_{slug}",
        "description": f"music21:{work}, {label}, {meter}, {bpm:g} BPM",
        "work": work,
        "key": label,
        "meter": meter,
        "bpm": bpm,
        "programs": [0],
    }
    n_parts = len(m21corpus.parse(work).parts)
    if fiddle:
        spec["programs"] = [int(rng.choice(SOLOISTS))] * n_parts
    else:
        spec["programs"] = ensemble_programs(n_parts, rng)
    piece = load_corpus(CorpusPiece.model_validate(spec))
    one_pass = piece.end / beat_grid(meter).beat_ql * 60 / bpm
    spec["passes"] = max(1, min(3, math.ceil(30 / one_pass)))
    if one_pass * spec["passes"] > 95:
        raise ValueError(f"too long ({one_pass:.0f} s)")
    return CorpusPiece.model_validate(spec)


def scan_corpus(
    prefix: str, wanted: int, rng: np.random.Generator, exclude: frozenset[str] = frozenset()
) -> Iterator[CorpusPiece]:
    """Up to ``wanted`` loadable pieces from the corpus folder ``prefix``, in seeded order,
    leaving out the works in ``exclude``."""
    works = sorted(
        str(p).split("/corpus/")[1].rsplit(".", 1)[0]
        for p in m21corpus.getCorePaths()
        if f"/corpus/{prefix}/" in str(p) and str(p).endswith((".mxl", ".abc"))
    )
    works = [w for w in works if w not in exclude]
    found = 0
    for work in rng.permutation(works):
        if found >= wanted:
            return
        try:
            piece = corpus_candidate(str(work), rng)
        except Exception as exc:  # music21 raises many kinds; a refused piece is skipped
            print(f"  skip {work}: {type(exc).__name__}: {str(exc)[:80]}", flush=True)
            continue
        found += 1
        print(f"  take {work} ({piece.meter}, {piece.key})", flush=True)
        yield piece


# ---------------------------------------------------------------- manifest


def draw_mix(rng: np.random.Generator) -> tuple[str, Mix]:
    """A soundfont and a mix for one piece."""
    font = str(rng.choice(list(SOUNDFONTS), p=[0.45, 0.25, 0.30]))
    mix: dict = {"peak_db": round(float(rng.uniform(-12, -1)), 1)}
    if rng.random() < 0.5:
        mix["reverb_rt60"] = round(float(rng.uniform(0.4, 2.0)), 2)
        mix["reverb_wet"] = round(float(rng.uniform(0.1, 0.4)), 2)
    if rng.random() < 0.4:
        mix["snr_db"] = round(float(rng.uniform(15, 40)), 1)
    if rng.random() < 0.15:
        mix["lowpass_hz"] = float(round(rng.uniform(3000, 6000)))
    return font, Mix.model_validate(mix)


def assign_splits(items: list[tuple[str, str, str]], seed: int) -> dict[str, str]:
    """name -> dev/test: by piece, stratified by (kind, meter), a seeded shuffle per group."""
    groups: dict[tuple[str, str], list[str]] = defaultdict(list)
    for name, kind, meter in items:
        groups[(kind, meter)].append(name)
    out = {}
    for i, (_, names) in enumerate(sorted(groups.items())):
        order = np.random.default_rng([seed, i]).permutation(sorted(names))
        n_dev = max(1, round(DEV_SHARE * len(order)))
        out |= {str(n): "dev" if j < n_dev else "test" for j, n in enumerate(order)}
    return out


def make_manifest(
    n_songs: int, n_chorales: int, n_tunes: int, seed: int = SEED, keep_works: bool = False
) -> Manifest:
    """Draw the whole corpus (slow: parses corpus scores until enough pass);
    ``keep_works`` re-uses the corpus pieces of the current manifest."""
    songs = [make_song(i, seed) for i in range(n_songs)]
    rng = np.random.default_rng(seed)
    if keep_works:
        works = [e.work for e in load_manifest().entries if e.work is not None]
    else:
        works = list(scan_corpus("bach", n_chorales, rng))
        works += scan_corpus("ryansMammoth", n_tunes, rng)
    items = [(s.name, "composed", s.meter) for s in songs]
    items += [(w.name, "corpus", w.meter) for w in works]
    splits = assign_splits(items, seed)
    entries = [entry(spec, splits[spec.name], seed) for spec in [*songs, *works]]
    return Manifest(seed=seed, entries=entries)


def make_train_manifest(
    n_songs: int,
    n_chorales: int,
    n_tunes: int,
    n_classical: int = 0,
    seed: int = TRAIN_SEED,
    keep_works: bool = False,
) -> Manifest:
    """The train split: compositions (band and classical textures) from another seed and
    corpus works in neither dev nor test; ``keep_works`` re-uses the corpus pieces of the
    current train manifest."""
    songs = [make_song(i, seed) for i in range(n_songs)]
    songs += [make_classical_song(i, seed) for i in range(n_classical)]
    songs = [s.model_copy(update={"name": f"train_{s.name}"}) for s in songs]
    if keep_works:
        works = [e.work for e in load_manifest(TRAIN_MANIFEST).entries if e.work is not None]
    else:
        taken = frozenset(e.work.work for e in load_manifest().entries if e.work is not None)
        rng = np.random.default_rng(seed)
        works = list(scan_corpus("bach", n_chorales, rng, taken))
        works += scan_corpus("ryansMammoth", n_tunes, rng, taken)
    entries = [entry(spec, "train", seed) for spec in [*songs[:n_songs], *works, *songs[n_songs:]]]
    return Manifest(seed=seed, entries=entries)


BAND_SEEDS = {"dev": 777_001, "test": 777_002}
BAND_METERS = ("4/4", "12/8", "3/4", "6/8", "2/2")
BAND_4_4_BPM = (130, 215)
BAND_LEADS = [30, 29, 81]  # distortion guitar, overdrive guitar, saw lead
BAND_BASSES = [34, 33, 35]  # pick, finger, fretless bass


def make_band_manifest(per_split: int = 24) -> Manifest:
    """The band set: what the corpus lacks of rock and metal. Seeded compositions in five
    meters with distortion-guitar comping, a distorted or saw lead, electric bass and drums,
    4/4 at 130-215 BPM (the corpus stops at 168), one steady tempo, a loud mix (peak -1 dB,
    pink noise at the corpus's odds); dev and test each from their own seed."""
    entries = []
    for split, seed in BAND_SEEDS.items():
        rng = np.random.default_rng(seed)
        songs: list[Song] = []
        i = 0
        while len(songs) < per_split:
            song, i = make_song(i, seed), i + 1
            if song.meter not in BAND_METERS:
                continue
            bpm = float(round(rng.uniform(*BAND_4_4_BPM))) if song.meter == "4/4" else song.bpm
            lead, bass = int(rng.choice(BAND_LEADS)), int(rng.choice(BAND_BASSES))
            update = {
                "name": f"rock_{song.name}",
                "description": f"{song.key}, {bpm:g} BPM, {song.meter}, rock band",
                "bpm": bpm,
                "bpm_end": None,
                "tempo_steps": None,
                "drums": True,
                "band": Band(melody=lead, comp=30, bass=bass, pad=None),
            }
            songs.append(song.model_copy(update=update))
        for song in songs:
            e = entry(song, split, seed)
            entries.append(e.model_copy(update={"mix": Mix(peak_db=-1.0, snr_db=e.mix.snr_db)}))
    return Manifest(seed=BAND_SEEDS["dev"], entries=entries)


CLASSICAL_SEED = 888_001
CLASSICAL = (  # music21 corpus folders of tonal art music beyond Bach and the fiddle tunes
    *("mozart", "haydn", "beethoven", "schumann_robert", "schumann_clara", "schubert"),
    *("chopin", "joplin", "beach", "handel", "corelli", "cpebach", "weber", "verdi"),
    *("liliuokalani", "johnson_j_r"),
)
EXCERPT_S = (40.0, 70.0)
KEYBOARDS = [0, 1, 2, 6]  # acoustic, bright and electric grand, harpsichord


def classical_candidate(work: str, rng: np.random.Generator) -> CorpusPiece:
    """An excerpt of a corpus work (its first bars, 40-70 s at a drawn tempo), keyboard
    for one or two staves, an ensemble for more; the key from the key signature and the
    excerpt's first bass note."""
    score = m21corpus.parse(work)
    ts = score.recurse().getElementsByClass("TimeSignature").first()
    if ts is None or ts.ratioString not in CLASSICAL_BPM:
        raise ValueError(f"meter {ts and ts.ratioString}")
    meter, grid = ts.ratioString, beat_grid(ts.ratioString)
    bpm = float(round(rng.uniform(*CLASSICAL_BPM[meter])))
    bar_s = grid.bar_ql / grid.beat_ql * 60 / bpm
    bars = max(8, round(rng.uniform(*EXCERPT_S) / bar_s))
    label = signature_key(excerpt(score, bars), excerpt=True)
    n_parts = len(score.parts)
    if n_parts <= 2:
        programs = [int(rng.choice(KEYBOARDS))] * n_parts
    else:
        programs = ensemble_programs(n_parts, rng)
    slug = re.sub(r"[^a-z0-9]+", "_", work.lower()).strip("_")[:48]
    spec = CorpusPiece(
        name=f"classical_{slug}",
        description=f"music21:{work}, first {bars} bars, {label}, {meter}, {bpm:g} BPM",
        work=work,
        key=label,
        meter=meter,
        bpm=bpm,
        programs=programs,
        bars=bars,
    )
    load_corpus(spec)  # every check of the loader, or ValueError
    return spec


def opus(work: str) -> str:
    """The work a movement belongs to: ``mozart/k155`` for ``mozart/k155/movement1``."""
    return work.rsplit("/", 1)[0] if work.count("/") > 1 else work


def make_classical_manifest() -> Manifest:
    """The classical set: excerpts of every loadable work in the `CLASSICAL` folders (string
    quartets, piano pieces, a rag, songs), split in halves by work (a quartet's movements
    stay together), never tuned on before it was first measured."""
    rng = np.random.default_rng(CLASSICAL_SEED)
    works = sorted(
        {
            str(p).split("/corpus/")[1].rsplit(".", 1)[0]
            for p in m21corpus.getCorePaths()
            if str(p).split("/corpus/")[1].split("/")[0] in CLASSICAL
        }
    )
    pieces = []
    for work in works:
        try:
            pieces.append(classical_candidate(work, rng))
        except Exception as exc:  # music21 raises many kinds; a refused work is skipped
            print(f"  skip {work}: {type(exc).__name__}: {str(exc)[:80]}", flush=True)
            continue
        print(f"  take {work} ({pieces[-1].description})", flush=True)
    groups = sorted({opus(p.work) for p in pieces})
    order = [str(g) for g in np.random.default_rng(CLASSICAL_SEED).permutation(groups)]
    dev = set(order[: len(order) // 2])
    entries = [entry(p, "dev" if opus(p.work) in dev else "test", CLASSICAL_SEED) for p in pieces]
    return Manifest(seed=CLASSICAL_SEED, entries=entries)


def entry(spec: Song | CorpusPiece, split: str, seed: int) -> Entry:
    """A manifest entry: the piece, its split, and a soundfont and mix drawn from its name."""
    font, mix = draw_mix(np.random.default_rng([seed, zlib_name(spec.name)]))
    return Entry(
        name=spec.name,
        kind="composed" if isinstance(spec, Song) else "corpus",
        split=split,  # type: ignore[arg-type]
        soundfont=font,
        mix=mix,
        song=spec if isinstance(spec, Song) else None,
        work=spec if isinstance(spec, CorpusPiece) else None,
    )


def zlib_name(name: str) -> int:
    return int(hashlib.sha1(name.encode()).hexdigest()[:8], 16)


def write_manifest(manifest: Manifest, path: Path = MANIFEST) -> None:
    data = manifest.model_dump(mode="json", exclude_defaults=True)
    atomic_write(path, json.dumps(data, indent=1) + "\n")


# ---------------------------------------------------------------- rendering


def apply_mix(audio: np.ndarray, sr: int, mix: Mix, rng: np.random.Generator) -> np.ndarray:
    """Room (exponentially decaying noise), low-pass, pink noise at an SNR, peak level.
    The room response is causal with no pre-delay, so onsets do not move."""
    x = audio.astype(np.float64)
    if mix.reverb_rt60:
        n = int(mix.reverb_rt60 * sr)
        t = np.arange(n) / sr
        ir = rng.standard_normal(n) * np.exp(-6.9 * t / mix.reverb_rt60)
        wet = scipy.signal.fftconvolve(x, ir)[: len(x)]
        wet *= np.sqrt(np.mean(x**2) / (np.mean(wet**2) + 1e-12))
        x = x + mix.reverb_wet * wet
    if mix.lowpass_hz:
        x = scipy.signal.sosfilt(scipy.signal.butter(4, mix.lowpass_hz, fs=sr, output="sos"), x)
    if mix.snr_db is not None:
        spec = np.fft.rfft(rng.standard_normal(len(x)))
        spec /= np.sqrt(np.maximum(np.fft.rfftfreq(len(x), 1 / sr), 20.0))
        noise = np.fft.irfft(spec, len(x))
        level = np.sqrt(np.mean(x**2) / np.mean(noise**2)) * 10 ** (-mix.snr_db / 20)
        x = x + noise * level
    return normalise(x) * 10 ** ((mix.peak_db + 1.0) / 20)


def tempo_map(pm: pretty_midi.PrettyMIDI, beat_ql: float) -> list[list[float]]:
    """[time s, notated-beat BPM] at every tempo change of the rendered MIDI."""
    times, qpm = pm.get_tempo_changes()
    out: list[list[float]] = []
    for t, q in zip(times, qpm, strict=True):
        bpm = round(float(q) / beat_ql, 3)
        if not out or out[-1][1] != bpm:
            out.append([round(float(t), 4), bpm])
    return out


def render_entry(
    entry: Entry, out: Path, tmp: Path, played: Performance | None = None
) -> tuple[str, float]:
    """Render one entry (or skip it when done), as sequenced or ``played`` with that
    performance's microtiming (`fixturegen.perform`); returns (status, seconds of audio)."""
    from fixturegen.cli import produce  # noqa: PLC0415 (cli imports this module)

    folder = out / entry.split
    truth_path = folder / f"{entry.name}.json"
    rid = entry.render_id()
    if played:
        rid += "-played-" + hashlib.sha1(played.model_dump_json().encode()).hexdigest()[:8]
    if truth_path.exists() and (folder / f"{entry.name}.ogg").exists():
        done = json.loads(truth_path.read_text(encoding="utf-8"))
        if done.get("render_id") == rid:
            return "cached", done["duration"]
    folder.mkdir(parents=True, exist_ok=True)
    spec = entry.spec()
    piece = compose(spec) if isinstance(spec, Song) else load_corpus(spec)
    performer = (played, np.random.default_rng([zlib_name(entry.name), 1])) if played else None
    audio, truth, pm = produce(piece, SOUNDFONTS[entry.soundfont], tmp, SR, performer)
    audio = apply_mix(audio, SR, entry.mix, np.random.default_rng(zlib_name(entry.name)))
    truth |= {
        "kind": entry.kind,
        "split": entry.split,
        "soundfont": entry.soundfont,
        "mix": entry.mix.model_dump(exclude_none=True),
        "tempo_map": tempo_map(pm, beat_grid(entry.meter()).beat_ql),
        "render_id": rid,
    }
    if played:
        truth["performance"] = played.model_dump()
    validate_truth(truth)
    encode(audio, SR, folder / f"{entry.name}.ogg", CODEC, tmp)
    write_json(truth, truth_path)  # last: its presence with the render_id marks "done"
    return "rendered", truth["duration"]


def render(
    entries: list[Entry], out: Path, tmp: Path, jobs: int = 1, played: Performance | None = None
) -> tuple[list[str], float]:
    """Render entries in parallel (as `render_entry`) with a progress line each; returns
    failures and wall s."""
    t0 = time.perf_counter()
    failed = []
    with ProcessPoolExecutor(jobs) as pool:
        futures = {pool.submit(render_entry, e, out, tmp, played): e for e in entries}
        for k, future in enumerate(as_completed(futures), 1):
            e = futures[future]
            elapsed = time.perf_counter() - t0
            eta = elapsed / k * (len(entries) - k)
            try:
                status, dur = future.result()
            except Exception as exc:  # one bad piece must not stop the others
                failed.append(f"{e.name}: {type(exc).__name__}: {exc}")
                status, dur = "FAILED", 0.0
            print(
                f"[{k}/{len(entries)}] {e.split} {e.name}: {status} ({dur:.0f} s audio) "
                f"elapsed {elapsed:.0f} s, eta {eta:.0f} s",
                flush=True,
            )
    return failed, time.perf_counter() - t0
