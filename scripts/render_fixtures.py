#!/usr/bin/env python
"""Render the MIR benchmark fixtures and the demo song, with exact ground truth.

Usage::

    python scripts/render_fixtures.py --out tests/data/fixtures --demo examples/demo

The pieces are specified in ``scripts/fixturegen/specs/*.toml``; the package
``scripts/fixturegen`` composes, renders and annotates them. Needs the ``fixtures`` extra
(music21, pretty_midi) plus the ``fluidsynth``, ``ffmpeg`` and ``espeak-ng`` programs and
``/usr/share/sounds/sf2/FluidR3_GM.sf2`` (Debian: fluidsynth, ffmpeg, espeak-ng,
fluid-soundfont-gm).
"""

from fixturegen.cli import main  # scripts/ is on sys.path when this file is run

if __name__ == "__main__":
    raise SystemExit(main())
