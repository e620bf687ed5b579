"""`musicflamingo serve-llm` as a process: audio refused by its header without the decode
costing memory, and no start on a non-loopback address without an API key."""

from __future__ import annotations

import base64
import io
import os
import subprocess
import sys
import time
from pathlib import Path

import httpx
import numpy as np
import soundfile as sf

from musicflamingo.llm.server import API_KEY_ENV, free_port, launch


def peak_rss_mb(pid: int) -> float:
    status = Path(f"/proc/{pid}/status").read_text()
    line = next(x for x in status.splitlines() if x.startswith("VmHWM:"))
    return int(line.split()[1]) / 1024


def silent_flac(minutes: int, sr: int = 48000) -> bytes:
    """A small FLAC of silence whose decoded float32 samples take ~11.5 MB a minute."""
    buf = io.BytesIO()
    with sf.SoundFile(buf, "w", sr, 1, format="FLAC", subtype="PCM_16") as f:
        block = np.zeros(sr * 60, np.int16)
        for _ in range(minutes):
            f.write(block)
    return buf.getvalue()


def test_long_audio_is_refused_by_its_header_without_decoding():
    flac = silent_flac(20)
    assert len(flac) < 250_000  # decoded as float32 it would take about 230 MB
    part = {"type": "input_audio", "input_audio": {"data": base64.b64encode(flac).decode()}}
    body = {"messages": [{"role": "user", "content": [part]}], "max_tokens": 50}
    with launch("rules", wait_ready=True) as server:
        before = peak_rss_mb(server.process.pid)
        r = httpx.post(server.url + "/v1/chat/completions", json=body, timeout=60)
        grown = peak_rss_mb(server.process.pid) - before
    assert r.status_code == 400
    assert r.json()["error"]["message"] == (
        "input_audio is 20:00 long; this server takes at most 10:00"
    )
    assert grown < 40, f"peak memory grew by {grown:.0f} MB"


def serve_cmd(host: str, port: int) -> list[str]:
    cmd = ["serve-llm", "--llm", "rules", "--host", host, "--port", str(port)]
    return [sys.executable, "-m", "musicflamingo", *cmd]


def test_a_non_loopback_address_needs_an_api_key():
    port = free_port()
    env = {k: v for k, v in os.environ.items() if k != API_KEY_ENV}
    refused = subprocess.run(
        serve_cmd("0.0.0.0", port), env=env, capture_output=True, text=True, timeout=60
    )
    assert refused.returncode == 2
    assert "error: --host 0.0.0.0 is reachable from other machines: set an API key" in (
        " ".join(refused.stderr.split())
    )
    env[API_KEY_ENV] = "s3cret"
    proc = subprocess.Popen(
        serve_cmd("0.0.0.0", port), env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    try:
        url = f"http://127.0.0.1:{port}/v1/models"
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if httpx.get(url, timeout=2).status_code == 401:
                    break
            except httpx.TransportError:
                time.sleep(0.2)
        listed = httpx.get(url, headers={"Authorization": "Bearer s3cret"}, timeout=5)
        assert listed.json()["data"][0]["id"] == "rules-v1"
    finally:
        proc.terminate()
        proc.wait(10)


def test_launch_with_a_key():
    with launch("rules", api_key="k3y") as server:
        assert httpx.get(server.url + "/v1/models").status_code == 401
        ok = httpx.get(server.url + "/v1/models", headers={"Authorization": "Bearer k3y"})
    assert ok.status_code == 200
