#!/usr/bin/env python
"""Render the drum-intro test fixture: two bars of a rock beat on a General MIDI kit alone
(kick on 1 and 3, snare on 2 and 4, closed hi-hat on every eighth) at 140 BPM, the tempo of
``song07_rock_d``, its first beat at 0 s.

Usage::

    python scripts/render_drum_intro.py --out tests/data/drum_intro.ogg

Needs pretty_midi (the ``fixtures`` extra), the ``fluidsynth`` and ``ffmpeg`` programs and
``/usr/share/sounds/sf2/FluidR3_GM.sf2`` (Debian: fluidsynth, ffmpeg, fluid-soundfont-gm).
"""

import argparse
import subprocess
import tempfile
from pathlib import Path

import pretty_midi
import soundfile as sf
from fixturegen.render import RENDER_SR, SOUNDFONT, render  # scripts/ is on sys.path

BPM, BARS = 140, 2
KICK, SNARE, HAT = 36, 38, 42  # General MIDI percussion keys


def drum_midi(path: Path) -> float:
    """Write the beat's MIDI to ``path``; returns its length in seconds."""
    beat = 60 / BPM
    kit = pretty_midi.Instrument(program=0, is_drum=True)
    for k in range(BARS * 8):  # eighths
        start = k * beat / 2
        keys = [HAT] + ([KICK] if k % 8 in (0, 4) else [])
        keys += [SNARE] if k % 8 in (2, 6) else []
        for key in keys:
            kit.notes.append(
                pretty_midi.Note(velocity=100, pitch=key, start=start, end=start + 0.1)
            )
    song = pretty_midi.PrettyMIDI(initial_tempo=BPM)
    song.instruments.append(kit)
    song.write(str(path))
    return BARS * 4 * beat


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=Path("tests/data/drum_intro.ogg"))
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        midi, wav = Path(tmp) / "drums.mid", Path(tmp) / "drums.wav"
        length = drum_midi(midi)
        audio = render(midi, SOUNDFONT, wav)[: round(length * RENDER_SR)]
        sf.write(wav, audio / abs(audio).max() * 0.5, RENDER_SR)
        subprocess.run(
            [
                "ffmpeg",
                "-v",
                "error",
                "-y",
                "-i",
                str(wav),
                "-c:a",
                "libvorbis",
                "-q:a",
                "5",
                str(args.out),
            ],
            check=True,
        )


if __name__ == "__main__":
    main()
