"""Bad input through the real `musicflamingo analyze` command: one line, non-zero exit."""

from __future__ import annotations

import pytest
import soundfile as sf
from media import tone
from typer.testing import CliRunner

from musicflamingo.cli import app


def cli(*args: str):
    """The command in this process (typer's runner): real parsing, real files, real exit."""
    return CliRunner().invoke(app, list(args))


@pytest.mark.parametrize("bad", ["nan", "inf", "-5", "0"])
def test_max_duration_must_be_positive_and_finite(tmp_path, bad):
    """Regression: nan/inf gave a traceback, -5 a negative clock in the error."""
    song = tmp_path / "a.wav"
    sf.write(song, tone(1.0, 16_000).T, 16_000)
    r = cli("analyze", str(song), "--out", str(tmp_path / "out"), "--max-duration", bad)
    assert r.exit_code == 2
    lines = [x for x in r.stderr.splitlines() if x.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: --max-duration"), r.output
    assert "positive number of seconds" in lines[0] and "Traceback" not in r.output
    assert not (tmp_path / "out").exists()


def test_a_loud_blip_reads_too_short_to_measure(tmp_path):
    """Regression: a 0.1 s loud tone was reported as silence."""
    song = tmp_path / "blip.wav"
    sf.write(song, tone(0.1, 44_100, freq=1000).T, 44_100)
    r = cli("analyze", str(song), "--out", str(tmp_path / "out"), "--lyrics-model", "none")
    assert r.exit_code == 0, r.output
    assert "too short to measure" in r.stdout and "silence" not in r.stdout
