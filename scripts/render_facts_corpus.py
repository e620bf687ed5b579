#!/usr/bin/env python
"""Render the facts corpus (dev and test splits) with exact ground truth.

Usage::

    python scripts/render_facts_corpus.py --split dev --jobs 2      # -> data/facts-corpus/dev
    python scripts/render_facts_corpus.py --split test
    python scripts/render_facts_corpus.py --make-manifest           # redraw the manifest
    python scripts/render_facts_corpus.py --split train             # -> data/facts-corpus/train
    python scripts/render_facts_corpus.py --split band              # -> data/facts-band/{dev,test}
    python scripts/render_facts_corpus.py --split dev --played      # -> data/facts-corpus-played
    python scripts/render_facts_corpus.py --split classical         # -> data/facts-classical

The pieces, splits, soundfonts and mixes are listed in the committed manifest
``scripts/fixturegen/specs/facts_corpus.json`` (``fixturegen.factscorpus``); the train split,
which the learned beat model is fitted on (`scripts/train_beat_model.py`), in
``facts_train.json``, drawn by ``--split train --make-manifest --songs 320 --chorales 80
--tunes 96`` (496 pieces; three fail the truth check and are not rendered; ``--classical
N`` adds N songs in a classical texture, Alberti and waltz accompaniments for piano,
strings, winds: measured and not kept, see the README; ``--keep-works`` keeps the corpus
pieces instead of re-scanning); the band set
(rock-like compositions, fast 4/4: ``make_band_manifest``) in ``facts_band.json``, drawn by
``--split band --make-manifest``, with its own dev and test halves; the classical set
(excerpts of the music21 corpus's quartets, piano pieces and songs:
``make_classical_manifest``) in ``facts_classical.json``, halves split by work, drawn by
``--split classical --make-manifest``. ``--played`` renders the
same pieces as players would (`fixturegen.perform`: each part's lag, each onset's scatter,
varied loudness) into a folder named with ``-played``. Rendering is
resumable (finished pieces are skipped) and prints one progress line per piece. Needs the
``fixtures`` extra plus ``fluidsynth``, ``ffmpeg`` and the Debian soundfonts
fluid-soundfont-gm, timgm6mb-soundfont and musescore-general-soundfont-small.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

from fixturegen.cli import check_tools  # scripts/ is on sys.path when this file is run
from fixturegen.factscorpus import (
    BAND_MANIFEST,
    CLASSICAL_MANIFEST,
    MANIFEST,
    SOUNDFONTS,
    TRAIN_MANIFEST,
    load_manifest,
    make_band_manifest,
    make_classical_manifest,
    make_manifest,
    make_train_manifest,
    render,
    write_manifest,
)
from fixturegen.perform import Performance


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--out",
        type=Path,
        help="default data/facts-corpus (band: facts-band, classical: facts-classical)",
    )
    parser.add_argument(
        "--split", choices=("dev", "test", "both", "train", "band", "classical"), default="both"
    )
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--limit", type=int, default=None, help="first N pieces of the split")
    parser.add_argument("--only", nargs="*", help="render only these pieces")
    parser.add_argument("--make-manifest", action="store_true", help=f"redraw {MANIFEST}")
    parser.add_argument("--songs", type=int, default=84, help="compositions (--make-manifest)")
    parser.add_argument("--chorales", type=int, default=36)
    parser.add_argument("--tunes", type=int, default=36)
    parser.add_argument("--classical", type=int, default=0, help="classical-texture songs")
    parser.add_argument("--keep-works", action="store_true", help="keep the corpus pieces")
    parser.add_argument(
        "--played",
        action="store_true",
        help="as played: microtiming and dynamics (fixturegen.perform), truth on the grid",
    )
    args = parser.parse_args()
    path = {"train": TRAIN_MANIFEST, "band": BAND_MANIFEST, "classical": CLASSICAL_MANIFEST}.get(
        args.split, MANIFEST
    )
    sets = {"band": "facts-band", "classical": "facts-classical"}
    folder = sets.get(args.split, "facts-corpus") + "-played" * args.played
    out = args.out or Path("data", folder)
    if args.make_manifest:
        if args.split == "band":
            manifest = make_band_manifest()
        elif args.split == "classical":
            manifest = make_classical_manifest()
        elif args.split == "train":
            manifest = make_train_manifest(
                args.songs, args.chorales, args.tunes, args.classical, keep_works=args.keep_works
            )
        else:
            manifest = make_manifest(
                args.songs, args.chorales, args.tunes, keep_works=args.keep_works
            )
        write_manifest(manifest, path)
        print(f"wrote {path} ({len(manifest.entries)} pieces)")
        return 0
    for font in SOUNDFONTS.values():
        check_tools(font, need_voice=False)
    try:
        entries = load_manifest(path).entries
    except (OSError, ValueError) as exc:
        sys.exit(f"error: bad manifest {path}: {exc}")
    entries = [e for e in entries if args.split in ("both", "band", "classical", e.split)]
    if args.only:
        entries = [e for e in entries if e.name in set(args.only)]
    entries = entries[: args.limit]
    with tempfile.TemporaryDirectory(prefix="facts_corpus_") as tmp:
        played = Performance() if args.played else None
        failed, wall = render(entries, out, Path(tmp), args.jobs, played)
    print(
        f"{len(entries) - len(failed)} of {len(entries)} pieces ready in {out} ({wall:.0f} s wall)"
    )
    for line in failed:
        print(f"FAILED {line}")
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
