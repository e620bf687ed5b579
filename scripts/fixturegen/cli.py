"""Command line: render the fixtures (and the demo), write their truth, print the check."""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np
import pretty_midi

from fixturegen.catalogue import (
    DEMO_LICENCE,
    SPECS,
    Catalogue,
    CorpusPiece,
    Demo,
    Song,
    load_catalogue,
    load_demo,
)
from fixturegen.check import print_table, sanity_row
from fixturegen.compose import compose, key_label, plan_song
from fixturegen.corpus import load_corpus
from fixturegen.perform import Performance, perform
from fixturegen.render import MP3_CODEC, OGG_CODEC, SOUNDFONT, encode, finish, render
from fixturegen.truth import Piece, make_truth, seconds, validate_truth, write_json, write_midi
from fixturegen.tts import DEMO_SR, add_voice
from musicflamingo.util import atomic_write

FIXTURE_SR = 22050
MAX_FIXTURE_BYTES = 600_000
MAX_DEMO_BYTES = 700_000


def check_tools(soundfont: Path, need_voice: bool) -> None:
    """Exit with a clear message when a required program or the soundfont is missing."""
    missing = [
        p
        for p in ("fluidsynth", "ffmpeg") + (("espeak-ng",) if need_voice else ())
        if shutil.which(p) is None
    ]
    if missing:
        sys.exit(
            f"error: missing program(s): {', '.join(missing)} "
            "(Debian: apt-get install fluidsynth ffmpeg espeak-ng)"
        )
    if not soundfont.is_file():
        sys.exit(f"error: soundfont not found: {soundfont} (Debian: fluid-soundfont-gm)")


def score_key(piece: Piece) -> str:
    """music21's own key analysis of the score, a symbolic check of the stated key."""
    return key_label(piece.score.analyze("key"))


def produce(
    piece: Piece,
    soundfont: Path,
    tmp: Path,
    sr: int,
    played: tuple[Performance, np.random.Generator] | None = None,
) -> tuple[np.ndarray, dict, pretty_midi.PrettyMIDI]:
    """MIDI, render and truth for one piece (audio not yet encoded); ``played`` renders
    it with a performance's microtiming (`perform`), the truth staying on the grid."""
    midi = tmp / f"{piece.name}.mid"
    pm = write_midi(piece, midi)
    end_s = seconds(pm, piece.end)
    if played is not None:
        copy = pretty_midi.PrettyMIDI(str(midi))
        perform(copy, *played)
        midi = tmp / f"{piece.name}.played.mid"
        copy.write(str(midi))
    audio = finish(render(midi, soundfont, tmp / f"{piece.name}.wav"), end_s, sr)
    truth = make_truth(piece, pm, len(audio) / sr)
    return audio, truth, pm


def make_fixture(
    spec: Song | CorpusPiece, out: Path, soundfont: Path, tmp: Path
) -> tuple[dict, dict]:
    """Compose or load one piece, render it, write its audio and truth; returns both rows."""
    print(f"[fixture] {spec.name}: composing/loading", flush=True)
    piece = compose(spec) if isinstance(spec, Song) else load_corpus(spec)
    audio, truth, _ = produce(piece, soundfont, tmp, FIXTURE_SR)
    validate_truth(truth)
    path = out / f"{spec.name}.ogg"
    encode(audio, FIXTURE_SR, path, OGG_CODEC, tmp)
    write_json(truth, out / f"{spec.name}.json")
    row = sanity_row(path, truth, score_key(piece))
    if path.stat().st_size > MAX_FIXTURE_BYTES:
        row["problems"].append(f"file too large ({path.stat().st_size} B)")
    print(f"[fixture] {spec.name}: {truth['duration']:.1f} s, {row['kb']:.0f} KB", flush=True)
    return truth, row


def make_fixtures(
    catalogue: Catalogue,
    out: Path,
    soundfont: Path,
    tmp: Path,
    only: set[str] | None,
    jobs: int = 1,
) -> tuple[list[dict], list[dict], list[str]]:
    """Render the fixtures (all, or ``only`` these); returns truths, check rows and the
    pieces that failed (with the reason). The index is written for a full, clean run."""
    out.mkdir(parents=True, exist_ok=True)
    specs = [p for p in catalogue.pieces() if not only or p.name in only]
    truths, rows, failed = [], [], []
    with ProcessPoolExecutor(jobs) as pool:
        futures = [pool.submit(make_fixture, s, out, soundfont, tmp) for s in specs]
        for spec, future in zip(specs, futures, strict=True):
            try:
                truth, row = future.result()
            except Exception as exc:  # one bad piece must not stop the others
                failed.append(f"{spec.name}: {type(exc).__name__}: {exc}")
                continue
            truths.append(truth)
            rows.append(row)
    if not only and not failed:
        index = [{"name": p.name, "description": p.description} for p in catalogue.pieces()]
        atomic_write(out / "index.json", json.dumps(index, indent=2) + "\n")
    return truths, rows, failed


def make_demo(demo: Demo, out: Path, soundfont: Path, tmp: Path) -> tuple[dict, dict]:
    """Render the demo song with its chanted poem; writes mp3, truth and licence."""
    out.mkdir(parents=True, exist_ok=True)
    print("[demo] composing and rendering", flush=True)
    piece = compose(demo.song)
    audio, truth, pm = produce(piece, soundfont, tmp, DEMO_SR)
    print("[demo] chanting the poem with espeak-ng", flush=True)
    mixed, lyrics = add_voice(audio, pm, plan_song(demo.song), demo.voice, tmp)
    truth["lyrics"] = lyrics
    validate_truth(truth)
    path = out / "demo.mp3"
    encode(mixed, DEMO_SR, path, MP3_CODEC, tmp)
    write_json(truth, out / "demo.json")
    atomic_write(out / "LICENSE.md", DEMO_LICENCE.read_bytes())
    row = sanity_row(path, truth, score_key(piece))
    if path.stat().st_size > MAX_DEMO_BYTES:
        row["problems"].append(f"file too large ({path.stat().st_size} B)")
    return truth, row


def main(argv: Sequence[str] | None = None) -> int:
    """Command-line entry point; returns 1 when a piece failed or a check found a problem."""
    parser = argparse.ArgumentParser(
        description="Render the MIR benchmark fixtures and the demo song, with exact ground "
        "truth, from the specs in scripts/fixturegen/specs."
    )
    parser.add_argument("--out", type=Path, default=Path("tests/data/fixtures"))
    parser.add_argument("--demo", type=Path, default=None, help="also render the demo here")
    parser.add_argument("--soundfont", type=Path, default=SOUNDFONT)
    parser.add_argument("--only", nargs="*", help="render only these fixtures (no index.json)")
    parser.add_argument("--jobs", type=int, default=1, help="pieces rendered in parallel")
    args = parser.parse_args(argv)
    if args.jobs < 1:
        parser.error("--jobs must be at least 1")
    try:
        catalogue = load_catalogue()
        demo = load_demo() if args.demo is not None else None
    except (OSError, ValueError) as exc:  # pydantic's ValidationError and TOML errors too
        sys.exit(f"error: bad fixture specs in {SPECS}: {exc}")
    only = set(args.only) if args.only else None
    if only and (unknown := only - {p.name for p in catalogue.pieces()}):
        parser.error(f"unknown fixture(s): {', '.join(sorted(unknown))}")
    check_tools(args.soundfont, need_voice=demo is not None)
    with tempfile.TemporaryDirectory(prefix="render_fixtures_") as tmp_name:
        tmp = Path(tmp_name)
        truths, rows, failed = make_fixtures(
            catalogue, args.out, args.soundfont, tmp, only, args.jobs
        )
        if demo is not None:
            truth, row = make_demo(demo, args.demo, args.soundfont, tmp)
            truths.append(truth)
            rows.append(row)
    print()
    print_table(rows, truths)
    total = sum(r["kb"] for r in rows if r["name"] != "demo")
    print(f"\nfixture audio total: {total:.0f} KB")
    problems = failed + [f"{r['name']}: {p}" for r in rows for p in r["problems"]]
    for p in problems:
        print(f"PROBLEM {p}")
    return 1 if problems else 0
