"""Render the MIR benchmark fixtures and the demo song, with exact ground truth.

Every piece is specified as data in ``specs/*.toml`` (``catalogue``): our own seeded
compositions (``compose``) or public-domain scores from the music21 corpus (``corpus``).
Each is built as a music21 score, written as MIDI, rendered with the FluidSynth CLI and
the FluidR3_GM soundfont (``render``), and encoded as mono Ogg Vorbis (fixtures) or MP3
(the demo, with a poem chanted by espeak-ng: ``tts``). Beats, downbeats, chords and
sections are converted from score time through the rendered MIDI's tempo map (``truth``),
and every file is re-read and checked (``check``). Entry point:
``python scripts/render_fixtures.py`` (``cli``).
"""
