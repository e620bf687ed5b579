"""Rhythm backends: chunk stitching, the madmom backend (skipped without the `madmom` extra)
and the `--rhythm` option. Accuracy on the fixtures is in test_facts_accuracy.py and
benchmarks/facts_accuracy.py."""

from __future__ import annotations

import numpy as np
import pytest
from media import FIXTURES
from typer.testing import CliRunner

from musicflamingo import audio
from musicflamingo.facts import madmom_rhythm, rhythm
from musicflamingo.facts.extract import METER_BACKEND, RHYTHM, FactsConfig, analyze
from musicflamingo.facts.scoring import Estimate, Truth, score

needs_madmom = pytest.mark.skipif(
    not madmom_rhythm.available(), reason="the madmom extra is not installed"
)


def test_chunked_tracking_stitches_one_continuous_grid():
    """A 12-minute song is tracked in three overlapping chunks; the stitched beats are the
    one 0.5 s grid (no doubles, no gaps at the seams)."""
    sr = 100  # the stitcher only sees sample counts
    samples = np.zeros(12 * 60 * sr)
    calls = []

    def grid(part: np.ndarray) -> rhythm.Beats:  # a tracker that finds the true grid
        offset = calls[-1] + rhythm.CHUNK_SECONDS if calls else 0.0
        lo = max(0.0, offset - rhythm.CHUNK_OVERLAP)
        calls.append(offset)
        first = np.ceil(lo / 0.5) * 0.5 - lo
        times = np.arange(first, len(part) / sr, 0.5)
        return rhythm.Beats(times, 120.0, 0.9)

    beats = rhythm.in_chunks(samples, sr, grid)
    assert len(calls) == 3
    assert np.allclose(beats.times, np.arange(0, 720, 0.5))
    assert beats.bpm == 120.0 and beats.confidence == pytest.approx(0.9)


def test_parts_of_a_song_join_into_one_tempo_weighted_by_length():
    """`rhythm.joined`: the parts' beats in order, tempo and confidence their means weighted
    by length, a part without beats (tempo 0) left out of both; one part is itself."""
    a = rhythm.Beats(np.arange(0, 30, 0.5), 120.0, 0.8)
    b = rhythm.Beats(np.empty(0), 0.0, 0.1)
    c = rhythm.Beats(np.arange(40, 50, 0.6), 100.0, 0.5)
    out = rhythm.joined([(a, 3000), (b, 700), (c, 1000)])
    assert np.array_equal(out.times, np.concatenate([a.times, c.times]))
    assert out.bpm == pytest.approx(115.0) and out.confidence == pytest.approx(0.725)
    assert rhythm.joined([(a, 3000)]) is a
    assert rhythm.joined([(b, 700)]).bpm == 0.0


def test_rhythm_option_rejects_unknown_backends():
    from musicflamingo.cli import app

    result = CliRunner().invoke(
        app, ["analyze", str(FIXTURES / "song01_pop_c.ogg"), "--rhythm", "x"]
    )
    assert result.exit_code == 2
    assert "--rhythm must be one of tcn, essentia, madmom" in result.output


@needs_madmom
def test_batched_network_matches_madmom():
    """Our batched recurrence over madmom's eight networks gives madmom's own activations."""
    from madmom.audio.signal import Signal
    from madmom.features.downbeats import RNNDownBeatProcessor

    x = audio.load(FIXTURES / "song10_funk_bm.ogg", 44_100).samples[: 6 * 44_100]
    ours = madmom_rhythm.activations(x, 44_100)
    theirs = RNNDownBeatProcessor()(Signal(x, sample_rate=44_100))
    assert ours.shape == theirs.shape
    assert np.abs(ours - theirs).max() < 1e-3


@needs_madmom
@pytest.mark.slow
def test_madmom_backend_finds_tempo_beats_and_bars():
    """A waltz: three beats a bar, the bars' phase and the tempo right; the facts name the
    backends (~15 s on 2 cores)."""
    truth = Truth.load(FIXTURES / "song03_waltz_g.json")
    config = FactsConfig(beat_tracker=RHYTHM["madmom"], lyrics_model=None)
    facts = analyze(FIXTURES / "song03_waltz_g.ogg", config)
    assert facts.backends["beats"] == "madmom-rnn-dbn"
    assert facts.backends["meter"] == METER_BACKEND
    s = score(Estimate.from_facts(facts), truth)
    assert facts.meter is not None and facts.meter.label == "3/4"
    assert s["tempo_acc1"] == 1.0 and s["beat_f"] > 0.95 and s["downbeat_f"] > 0.9, s


def test_bars_of_three_quarters_regroup_into_two_dotted_quarters():
    """6/8 tracked at 1.5 x its pulse: three beats a bar become the bar start and midpoint,
    a pickup half bar is kept, and the tempo follows the regrouped beats."""
    from musicflamingo.facts.meter import two_beats_per_bar

    beats = np.arange(0.5, 12.0, 0.5)  # 120 BPM quarters, bars of 1.5 s from 1.5 s
    downbeats = beats[2::3]
    regrouped = two_beats_per_bar(beats, downbeats)
    assert np.allclose(regrouped, np.arange(0.75, 12.0, 0.75))
    assert rhythm.at_level(rhythm.Beats(beats, 120.0, 0.8), regrouped).bpm == pytest.approx(80)


def _bars_audio(per_bar: int, bars: int = 12, bpm: float = 120.0) -> tuple[np.ndarray, np.ndarray]:
    """A synthesised piece in bars of ``per_bar`` quarter beats: a click on every beat,
    a kick and a new triad (C F G A minor, in turn) on every downbeat. Returns the
    22.05 kHz samples and the beat times."""
    from musicflamingo.facts.features import SR

    period = 60.0 / bpm
    beats = np.arange(bars * per_bar) * period + 0.5
    t = np.arange(int((beats[-1] + 1.0) * SR)) / SR
    y = np.zeros_like(t)
    rng = np.random.default_rng(0)
    triads = ((60, 64, 67), (65, 69, 72), (67, 71, 74), (69, 72, 76))
    for k, b in enumerate(beats):
        i = int(b * SR)
        click = rng.standard_normal(int(0.02 * SR)) * np.exp(-np.arange(int(0.02 * SR)) / 80)
        y[i : i + len(click)] += 0.2 * click
        if k % per_bar == 0:
            n = int(per_bar * period * SR)
            seg = t[:n]
            y[i : i + n] += 0.8 * np.sin(2 * np.pi * 55 * seg) * np.exp(-seg / 0.15)
            chord = triads[(k // per_bar) % len(triads)]
            tone = sum(np.sin(2 * np.pi * 440 * 2 ** ((m - 69) / 12) * seg) for m in chord)
            y[i : i + n][: len(tone)] += 0.1 * tone[: len(y) - i]
    return y.astype(np.float32), beats


@pytest.mark.parametrize("per_bar", [3, 4, 5])
def test_meter_counts_three_four_and_five_beat_bars(per_bar):
    """Bars of 5 beats are a candidate (5/4 was read as 4/4 before): each bar length is
    found with its phase from the chords and kicks on the downbeats."""
    from musicflamingo.facts.features import spectral
    from musicflamingo.facts.meter import estimate_meter

    samples, beats = _bars_audio(per_bar)
    found = estimate_meter(beats, spectral(samples), beats[per_bar::per_bar])
    assert found is not None and found.meter.label == f"{per_bar}/4"
    assert np.allclose(found.downbeats, beats[::per_bar])


def test_a_struck_half_bar_regroups_a_trackers_beats_but_not_the_networks():
    """Bars of three beats with a loud click midway between beats 2 and 3 of each bar (the
    second dotted quarter of 6/8 tracked in quarters, or a polonaise's accent): beats from
    essentia or madmom (``half_bars``) are regrouped into two per bar at 2/3 of the tempo;
    the learned network's keep their three (it fired only on 3/4 polonaises there)."""
    from musicflamingo.facts.features import SR, spectral
    from musicflamingo.facts.meter import estimate_meter

    samples, beats = _bars_audio(3)
    mids = (beats[1::3] + beats[2::3]) / 2
    rng = np.random.default_rng(1)
    for m in mids:
        i = int(m * SR)
        click = rng.standard_normal(int(0.02 * SR)) * np.exp(-np.arange(int(0.02 * SR)) / 80)
        samples[i : i + len(click)] += 0.8 * click.astype(np.float32)
    spec = spectral(samples)
    tracker = estimate_meter(beats, spec, beats[3::3], half_bars=True)
    network = estimate_meter(beats, spec, beats[3::3])
    assert tracker is not None and network is not None
    assert tracker.meter.label == "6/8" and len(tracker.beats) < len(beats)
    assert network.meter.beats_per_bar == 3 and np.array_equal(network.beats, beats)


def test_unsure_fast_eighths_are_halved_to_the_beat():
    """A slow chorale-like texture (a new chord each beat, notes on every eighth) tracked
    in its eighths at 124 BPM with essentia's "low" confidence is halved to 62 BPM on the
    beats that carry the chord changes (the rule stopped at "very low" and 130 BPM)."""
    from musicflamingo.facts.features import SR, spectral

    period = 60.0 / 62
    eighths = np.arange(64) * period / 2 + 0.5
    t = np.arange(int((eighths[-1] + 1.0) * SR)) / SR
    y = np.zeros_like(t)
    triads = ((60, 64, 67), (65, 69, 72), (67, 71, 74), (57, 60, 64))
    n = int(period / 2 * SR)
    for k, b in enumerate(eighths):
        seg = t[:n]
        chord = triads[(k // 2) % len(triads)]
        tone = sum(np.sin(2 * np.pi * 440 * 2 ** ((m - 69) / 12) * seg) for m in chord)
        i = int(b * SR)
        y[i : i + n] += (0.1 * tone * np.exp(-seg / 0.2))[: len(y) - i]
    tracked = rhythm.Beats(eighths, 124.0, 0.25)
    found = rhythm.resolve_octave(tracked, spectral(y.astype(np.float32)))
    assert found.bpm == pytest.approx(62.0)
    assert np.allclose(found.times, eighths[::2])


def _even_notes(bpm: float, per_beat: int, beats: int, sr: int) -> np.ndarray:
    """A solo melody in even notes, ``per_beat`` to the beat, a figure on each beat's chord
    (a new chord every two beats); in triple time the beat's first note and a bass are louder,
    in duple every note is equal (a fiddle reel)."""
    step = 60.0 / bpm / per_beat
    chords = ((62, 66, 69), (67, 71, 74), (69, 73, 76), (62, 66, 69))
    y = np.zeros(int((beats * per_beat * step + 1.0) * sr), dtype=np.float32)
    t = np.arange(int(step * sr)) / sr
    for k in range(beats * per_beat):
        beat, pos = divmod(k, per_beat)
        chord = chords[(beat // 2) % len(chords)]
        figure = (*chord, chord[1] + 12)
        hz = 440 * 2 ** ((figure[pos] - 69) / 12)
        tone = sum(np.sin(2 * np.pi * hz * h * t) / h for h in (1, 2, 3)) * np.exp(-t / 0.12)
        i = int((0.5 + k * step) * sr)
        accent = 0.3 if per_beat == 3 and pos == 0 else 0.12 if per_beat == 3 else 0.2
        y[i : i + len(t)] += accent * tone
        if per_beat == 3 and pos == 0:
            tb = np.arange(int(3 * step * sr)) / sr
            bass = np.sin(2 * np.pi * 440 * 2 ** ((chord[0] - 93) / 12) * tb) * np.exp(-tb / 0.3)
            y[i : i + len(tb)] += (0.3 * bass)[: len(y) - i]
    return y


def test_a_reel_tracked_in_dotted_eighths_is_tracked_again_at_its_tempo():
    """Even sixteenths at 100 BPM, tracked (as essentia's tracker does on such a reel) every
    three sixteenths at 133 BPM: the beat looks triply divided into thirds that sound alike,
    Percival's estimator hears 100 BPM, 3/4 of it, and the tracker runs again near 100 BPM."""
    from musicflamingo.facts.features import SR, spectral

    y = _even_notes(100.0, 4, 96, 44_100)
    dotted = 0.5 + np.arange(0, 96 * 4, 3) * 0.15
    spec = spectral(_even_notes(100.0, 4, 96, SR))
    assert rhythm.subdivision_is_triple(dotted, spec)
    assert rhythm.thirds_spread(dotted, spec) < rhythm.THIRDS_ALIKE / 2
    found = rhythm.resolve_dotted(rhythm.Beats(dotted, 400 / 3, 0.5), spec, y, 44_100)
    assert found.bpm == pytest.approx(100.0, rel=0.02)
    assert np.median(np.diff(found.times)) == pytest.approx(0.6, rel=0.02)


def test_a_silent_middle_leaves_dotted_beats_as_tracked():
    """Percival's estimator reads 0 BPM where the middle of a song is silent (a hidden track
    after a long gap): no ratio to it is taken and the tracked beats stay."""
    from musicflamingo.facts.features import SR, spectral

    sound = _even_notes(100.0, 4, 24, 44_100)
    y = np.concatenate([sound, np.zeros(90 * 44_100, dtype=np.float32), sound])
    dotted = 0.5 + np.arange(0, 24 * 4, 3) * 0.15
    spec = spectral(_even_notes(100.0, 4, 24, SR))
    tracked = rhythm.Beats(dotted, 400 / 3, 0.5)
    assert rhythm.percival_tempo(y, 44_100) == 0.0
    assert rhythm.resolve_dotted(tracked, spec, y, 44_100) is tracked


def test_a_jig_tracked_at_its_tempo_keeps_its_beats():
    """A jig at 90 BPM (three eighths to the beat, the first louder and with a bass), tracked
    on its beats: they are triply divided, but their thirds sound different (a reel tracked
    in dotted eighths has thirds alike) and Percival's tempo agrees with the tracker's, so
    nothing is tracked again."""
    from musicflamingo.facts.features import SR, spectral

    y = _even_notes(90.0, 3, 64, 44_100)
    tracked = rhythm.Beats(0.5 + np.arange(64) * 60 / 90, 90.0, 0.5)
    spec = spectral(_even_notes(90.0, 3, 64, SR))
    assert rhythm.subdivision_is_triple(tracked.times, spec)
    assert rhythm.thirds_spread(tracked.times, spec) > 2 * rhythm.THIRDS_ALIKE
    assert rhythm.percival_tempo(y, 44_100) == pytest.approx(90.0, rel=0.02)
    assert rhythm.resolve_dotted(tracked, spec, y, 44_100) is tracked


def _clicks(beats: np.ndarray) -> np.ndarray:
    """Equal noise clicks on ``beats`` (seconds), 22.05 kHz: no bar cue of their own."""
    from musicflamingo.facts.features import SR

    y = np.zeros(int((beats[-1] + 1.0) * SR), dtype=np.float32)
    click = np.random.default_rng(0).standard_normal(400) * np.exp(-np.arange(400) / 80)
    for b in beats:
        y[int(b * SR) : int(b * SR) + 400] += 0.2 * click.astype(np.float32)
    return y


@pytest.mark.parametrize("bpm", [240.0, 75.0])
def test_six_beat_bars_regroup_eighths_but_never_into_beats_too_slow_to_be_beats(bpm):
    """Six tracked beats to the bar (a kick and a new chord on every sixth) are the eighths
    of 6/8 when they are fast (240 BPM: dotted quarters at 80 BPM); at 75 BPM their thirds
    would be 25 BPM, slower than any beat a listener hears (a chorale's 4/4 was read as 6/8
    at 27 BPM): they stay beats."""
    from musicflamingo.facts.features import spectral
    from musicflamingo.facts.meter import SLOWEST_BEAT, estimate_meter

    samples, beats = _bars_audio(6, bars=8, bpm=bpm)
    found = estimate_meter(beats, spectral(samples), beats[6::6])
    assert found is not None
    if 3 * 60 / bpm <= SLOWEST_BEAT:
        assert found.meter.label == "6/8" and np.allclose(found.beats, beats[::3])
    else:  # a simple bar of the tracked beats
        assert np.array_equal(found.beats, beats) and found.meter.denominator == 4


@pytest.mark.parametrize(("cue_phase", "bars_from"), [(None, {0, 1}), (2, {2}), (3, {3})])
def test_bars_start_where_the_music_starts_unless_a_cue_says_otherwise(cue_phase, bars_from):
    """Equal clicks from 0.5 s (silence before) carry no bar cue: the bars start at the first
    beat or one beat later (an upbeat). Chord changes on every fourth beat outweigh where
    the music starts, two or three beats into it."""
    from musicflamingo.facts.features import spectral
    from musicflamingo.facts.meter import estimate_meter

    beats = np.arange(40) * 0.5 + 0.5
    changes = np.empty(0) if cue_phase is None else beats[cue_phase::4]
    found = estimate_meter(beats, spectral(_clicks(beats)), changes)
    assert found is not None
    first = int(np.searchsorted(beats, found.downbeats[0]))
    assert first in bars_from
    if cue_phase is not None:
        assert found.meter.beats_per_bar == 4 and np.allclose(found.downbeats, beats[first::4])


@pytest.mark.parametrize("name", ["song01_pop_c", "song04_jig_em", "song07_rock_d"])
def test_beats_on_the_off_beat_move_back_to_the_beat(name):
    """A grid on the off-beat eighth (where essentia locks in solo fiddle tunes) carries less
    harmonic change than the beats: it moves back onto them; the true beats stay."""
    import json

    from musicflamingo.facts.features import SR, spectral
    from musicflamingo.facts.scoring import _f_measure

    truth = json.loads((FIXTURES / f"{name}.json").read_text())
    spec = spectral(audio.load(FIXTURES / f"{name}.ogg", SR).samples)
    beats = np.asarray(truth["beats"])
    on = rhythm.Beats(beats, truth["tempo_bpm"], 3.0)
    assert rhythm.resolve_phase(on, spec) is on
    off = rhythm.Beats(beats[:-1] + np.diff(beats) / 2, truth["tempo_bpm"], 3.0)
    assert _f_measure(truth["beats"], off.times.tolist()) == 0.0
    assert _f_measure(truth["beats"], rhythm.resolve_phase(off, spec).times.tolist()) > 0.95


@pytest.mark.parametrize(
    ("first_note", "first_beat"), [(0.75, 0), (0.95, 0), (1.25, 1), (0.45, -1), (1.0, 0)]
)
def test_the_music_starts_on_the_first_beat_at_or_after_its_first_note(first_note, first_beat):
    """Beats every 0.5 s from 1.0 s: a pickup half a beat early (0.75 s) leads into the beat
    at 1.0 s, as does a note 0.1 beat early (on the beat, give or take); a note half a beat
    after it starts on the next beat; one 1.1 beats early starts on the beat before the
    tracked grid (index -1)."""
    from musicflamingo.facts.features import spectral
    from musicflamingo.facts.meter import start_beat

    beats = np.arange(40) * 0.5 + 1.0
    notes = np.concatenate([[first_note], beats[beats > first_note + 0.1]])
    assert start_beat(beats, spectral(_clicks(notes))) == first_beat
