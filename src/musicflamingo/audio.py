"""Audio in: decode any format to float32 mono at the rate a consumer needs, and the
model's 30 s windows with the exact per-token timestamps Music Flamingo uses.

Decoding streams through PyAV (FFmpeg), so wav, flac, ogg/vorbis, opus, mp3, m4a/aac and
the audio track of video containers all take one path, and memory stays at the size of
the output array (about 10 MB per minute at 44.1 kHz).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import av
import numpy as np
import soxr
from pydantic import Field

from musicflamingo.util import Record, clock

MODEL_SR = 16_000
ANALYSIS_SR = 44_100
MAX_DURATION = 2 * 3600.0
MAX_AMPLITUDE = 4.0  # +12 dBFS: decoded float samples beyond this are glitches, clipped
# A stereo file whose L + R mix is this many dB below its L - R mix has one channel's
# polarity inverted (a wiring or mastering fault: it plays, but its mono mix cancels; music
# with hard-panned parts has L - R at most as loud as L + R).
CANCEL_DB = 20.0
FLOAT_FORMATS = {"flt", "fltp", "dbl", "dblp"}  # the only sample formats that hold NaN/inf
WINDOW_SECONDS = 30.0
MEL_HOP = 160
TOKEN_SECONDS = 0.04  # one audio token per 4 mel frames (conv stride 2, avg-pool 2)

BLOCK = 65_536  # samples per decoded block handed on

TEXT_DEMUXERS = {"tty", "srt", "ass", "webvtt", "subviewer", "jacosub", "mpl2", "lrc"}
BlockSink = Callable[[np.ndarray], None]


class AudioError(Exception):
    """A file that cannot be used as audio; the message is one line naming file and reason."""

    def __init__(self, path: str | Path, reason: str):
        super().__init__(f"{path}: {reason}")
        self.path = str(path)
        self.reason = reason

    def __reduce__(self):  # picklable, so worker processes can report it
        return (AudioError, (self.path, self.reason))


class SourceInfo(Record):
    """What a decoded file was: container, codec, native rate and channels, size."""

    path: str
    container: str
    codec: str
    sample_rate: int
    channels: int
    size_bytes: int
    inverted_channel: bool = Field(
        default=False,
        description="one channel's polarity is inverted: the mono mix is (L - R) / 2",
    )


@dataclass(frozen=True)
class Audio:
    """Decoded mono audio and where it came from."""

    samples: np.ndarray
    sr: int
    source: SourceInfo

    @property
    def duration(self) -> float:
        return len(self.samples) / self.sr

    def at(self, sr: int) -> Audio:
        """The same audio at another sample rate (soxr, high quality)."""
        if sr == self.sr:
            return self
        out = soxr.resample(self.samples, self.sr, sr, quality="HQ").astype(np.float32, copy=False)
        return Audio(out, sr, self.source)


def check_max_duration(seconds: float) -> float:
    """``seconds`` if it is a usable length limit (finite, > 0), else a one-line ValueError."""
    if not (math.isfinite(seconds) and seconds > 0):
        raise ValueError(
            f"the maximum duration must be a positive number of seconds, not {seconds}"
        )
    return seconds


def _open(path: Path) -> av.container.InputContainer:
    if not path.exists() and not path.is_symlink():
        raise AudioError(path, "no such file")
    if path.is_symlink() and not path.exists():
        raise AudioError(path, "broken symbolic link")
    if path.is_dir():
        raise AudioError(path, "is a directory, not an audio file")
    try:
        size = path.stat().st_size
        with path.open("rb"):
            pass
    except PermissionError:
        raise AudioError(path, "permission denied") from None
    except OSError as e:
        raise AudioError(path, f"cannot read ({e.strerror})") from None
    if size == 0:
        raise AudioError(path, "empty file (0 bytes)")
    try:
        return av.open(str(path), metadata_errors="ignore")
    except av.error.FFmpegError as e:
        raise AudioError(
            path, f"not a readable audio or video file ({_ffmpeg_reason(e)})"
        ) from None


def _ffmpeg_reason(e: av.error.FFmpegError) -> str:
    return (getattr(e, "strerror", None) or str(e)).strip().rstrip(".").lower()


def _source(path: Path, container: av.container.InputContainer) -> tuple[SourceInfo, float | None]:
    if container.format.name in TEXT_DEMUXERS:
        raise AudioError(path, "not a readable audio or video file (it is text)")
    if not container.streams.audio:
        kinds: list[str] = sorted({s.type for s in container.streams}) or ["no streams"]
        raise AudioError(path, f"has no audio stream (found: {', '.join(kinds)})")
    stream = container.streams.audio[0]
    ctx = stream.codec_context
    duration = None
    if stream.duration is not None and stream.time_base is not None:
        duration = float(stream.duration * stream.time_base)
    elif container.duration is not None:
        duration = container.duration / av.time_base
    info = SourceInfo(
        path=str(path),
        container=container.format.name,
        codec=ctx.name,
        sample_rate=int(ctx.sample_rate or 0),
        channels=ctx.layout.nb_channels,
        size_bytes=path.stat().st_size,
    )
    return info, duration


def probe(path: str | Path) -> tuple[SourceInfo, float | None]:
    """Format facts and the container's stated duration (None when it states none)."""
    path = Path(path)
    with _open(path) as container:
        return _source(path, container)


class _Growable:
    """A float32 buffer filled block by block, preallocated from the stated duration."""

    def __init__(self, capacity: int):
        self.data = np.empty(max(capacity, 1), dtype=np.float32)
        self.n = 0

    def push(self, block: np.ndarray) -> None:
        end = self.n + len(block)
        if end > len(self.data):
            grown = np.empty(max(end, int(len(self.data) * 1.5)), dtype=np.float32)
            grown[: self.n] = self.data[: self.n]
            self.data = grown
        self.data[self.n : end] = block
        self.n = end

    def array(self) -> np.ndarray:
        """The filled part; copied only when the slack is large (a copy doubles the peak)."""
        view = self.data[: self.n]
        return view.copy() if len(self.data) > 1.25 * self.n + 1_000_000 else view


def load(
    path: str | Path,
    sr: int = MODEL_SR,
    *,
    max_duration: float = MAX_DURATION,
    on_block: BlockSink | None = None,
) -> Audio:
    """Decode ``path`` to float32 mono at ``sr``.

    ``on_block`` receives each decoded block as a (channels, n) float32 array at ``sr``,
    stereo for multichannel sources, before the mono mix: loudness is measured there.
    NaN/inf samples become 0 and samples beyond ``MAX_AMPLITUDE`` are clipped as each
    frame leaves the decoder, before resampling, ``on_block`` or the mix see it. A stereo
    file whose channels cancel (one's polarity inverted, `CANCEL_DB`) is decoded a second
    time and mixed as (L - R) / 2 (``source.inverted_channel``; ``on_block`` sees the first
    pass only). Raises `AudioError` with a one-line reason for anything that is not usable audio,
    ValueError for a ``max_duration`` that is not a positive number.
    """
    check_max_duration(max_duration)
    path = Path(path)
    samples, info, cancels = _decode(path, sr, max_duration, on_block, invert=False)
    if cancels:  # the music is in the channels' difference: decode again, mixing L - R
        del samples
        samples, info, _ = _decode(path, sr, max_duration, None, invert=True)
        info = info.model_copy(update={"inverted_channel": True})
    return Audio(samples, sr, info)


def _decode(
    path: Path, sr: int, max_duration: float, on_block: BlockSink | None, invert: bool
) -> tuple[np.ndarray, SourceInfo, bool]:
    """One pass of `load`: the mono mix, (L + R) / 2 or with ``invert`` (L - R) / 2, the
    file's facts, and whether the L + R mix cancels (`CANCEL_DB` below the L - R one)."""
    with _open(path) as container:
        info, stated = _source(path, container)
        if stated is not None and stated > max_duration:
            raise AudioError(
                path,
                f"is {clock(stated)} long; the limit is {clock(max_duration)} "
                "(raise it with --max-duration)",
            )
        stream = container.streams.audio[0]
        stream.codec_context.thread_type = "AUTO"
        layout = "stereo" if info.channels >= 2 else "mono"
        # blocks of BLOCK samples, not the codec's frames (~600 for Vorbis): per-block
        # Python work (the loudness meter, the mix) would otherwise cost more than decoding
        resampler = av.AudioResampler(format="fltp", layout=layout, rate=sr, frame_size=BLOCK)
        limit = int(max_duration * sr) + sr
        buf = _Growable(int((stated or 60.0) * sr) + sr)
        bad_packets = 0
        energy = {"sum": 0.0, "difference": 0.0}

        def take(frames: list[av.AudioFrame]) -> None:
            for frame in frames:
                block = frame.to_ndarray()
                if on_block is not None:
                    on_block(block)
                if block.shape[0] == 1:
                    mono = block[0]
                elif invert:
                    mono = (block[0] - block[1]) * 0.5
                else:
                    mono, side = block.mean(axis=0), (block[0] - block[1]) * 0.5
                    energy["sum"] += float(np.dot(mono, mono))
                    energy["difference"] += float(np.dot(side, side))
                buf.push(mono)
                if buf.n > limit:
                    raise AudioError(
                        path,
                        f"is longer than the limit of {clock(max_duration)} "
                        "(raise it with --max-duration)",
                    )

        try:
            for packet in container.demux(stream):
                try:
                    frames = packet.decode()
                except (av.error.InvalidDataError, av.error.ArgumentError):
                    bad_packets += 1
                    continue
                for frame in frames:
                    take(resampler.resample(_clean(frame)))
            take(resampler.resample(None))
        except av.error.FFmpegError as e:
            if buf.n == 0:
                raise AudioError(path, f"cannot decode audio ({_ffmpeg_reason(e)})") from None
    if buf.n == 0:
        reason = (
            "no decodable audio (every packet was corrupt)"
            if bad_packets
            else ("contains no audio samples (zero length)")
        )
        raise AudioError(path, reason)
    cancels = energy["difference"] > energy["sum"] * 10 ** (CANCEL_DB / 10)
    return buf.array(), info, cancels


def _clean(frame: av.AudioFrame) -> av.AudioFrame:
    """The frame with NaN/inf set to 0 and absurd values clipped (float formats only).

    Done before resampling, which would smear one bad sample over its filter length.
    """
    if frame.format.name not in FLOAT_FORMATS:
        return frame
    dtype = np.float32 if frame.format.name.startswith("flt") else np.float64
    per_plane = frame.samples * (1 if frame.format.is_planar else len(frame.layout.channels))
    views = [np.frombuffer(memoryview(plane), dtype, count=per_plane) for plane in frame.planes]
    if all(np.abs(v).max(initial=0.0) <= MAX_AMPLITUDE for v in views):  # False for NaN
        return frame
    data: np.ndarray = np.nan_to_num(frame.to_ndarray(), nan=0.0, posinf=0.0, neginf=0.0)
    np.clip(data, -MAX_AMPLITUDE, MAX_AMPLITUDE, out=data)
    clean = av.AudioFrame.from_ndarray(data, format=frame.format.name, layout=frame.layout.name)
    clean.sample_rate, clean.pts, clean.time_base = frame.sample_rate, frame.pts, frame.time_base
    return clean


@dataclass(frozen=True)
class Window:
    """One 30 s model window: its sample range and the time of its first audio token."""

    index: int
    start_sample: int
    end_sample: int
    sr: int

    @property
    def start(self) -> float:
        return self.start_sample / self.sr

    @property
    def end(self) -> float:
        return self.end_sample / self.sr


def windows(
    n_samples: int, sr: int = MODEL_SR, max_windows: int | None = None
) -> tuple[list[Window], bool]:
    """Non-overlapping 30 s windows as Music Flamingo's processor cuts them.

    Returns the windows and whether audio beyond ``max_windows`` was left out.
    """
    size = int(sr * WINDOW_SECONDS)
    n = max(1, math.ceil(n_samples / size))
    truncated = max_windows is not None and n > max_windows
    if max_windows is not None and truncated:
        n = max_windows
    cap = min(n_samples, n * size)
    return [Window(i, i * size, min((i + 1) * size, cap), sr) for i in range(n)], truncated


def audio_token_count(n_samples: int, sr: int = MODEL_SR, max_windows: int | None = None) -> int:
    """Number of ``<sound>`` tokens the processor emits for ``n_samples`` of audio."""
    wins, _ = windows(n_samples, sr, max_windows)
    mel = sum(math.ceil((w.end_sample - w.start_sample) / MEL_HOP) for w in wins)
    conv = (mel - 1) // 2 + 1
    return (conv - 2) // 2 + 1


def token_times(n_tokens: int, tokens_per_window: int = 750) -> np.ndarray:
    """Absolute time in seconds of each audio token: tau = 30 * window + 0.04 * frame."""
    idx = np.arange(n_tokens)
    return (idx // tokens_per_window) * WINDOW_SECONDS + (idx % tokens_per_window) * TOKEN_SECONDS
