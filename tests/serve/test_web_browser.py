"""The page in a real browser: Debian's Chromium driven by Selenium through chromedriver,
against a real ``musicflamingo serve --model <tiny checkpoint>`` process on loopback.

Uploads a song, waits for its facts, checks the timeline against facts.json, seeks by
clicking a chord and by keyboard on a section, asks a question and reads the streamed
answer, and saves screenshots (laptop and phone width) into the folder it prints.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import soundfile as sf
from media import DEMO
from mfapi import tiny_checkpoint

from musicflamingo import audio
from musicflamingo.serve.app import launch

CHROMIUM = shutil.which("chromium")
CHROMEDRIVER = shutil.which("chromedriver")
ARTIFACTS = Path(os.environ.get("MF_TEST_ARTIFACTS", tempfile.gettempdir())) / "musicflamingo-web"
pytestmark = [
    pytest.mark.skipif(
        not (CHROMIUM and CHROMEDRIVER),
        reason="needs Debian's chromium and chromium-driver (scripts/install.sh, as root)",
    ),
    pytest.mark.timeout(300),
]


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tiny_checkpoint(tmp_path_factory)


@pytest.fixture(scope="module")
def song(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """24 s of the demo song (sung, D major) from 0:04, Ogg/Vorbis."""
    decoded = audio.load(DEMO, 44_100, max_duration=600)
    path = tmp_path_factory.mktemp("song") / "demo song.ogg"
    sf.write(
        path, decoded.samples[4 * 44_100 : 28 * 44_100], 44_100, format="OGG", subtype="VORBIS"
    )
    return path


@pytest.fixture(scope="module")
def server(checkpoint: Path) -> Iterator[str]:
    """``musicflamingo serve --model <tiny checkpoint>`` in a child process, once ready."""
    with launch(str(checkpoint), args=("--device", "cpu")) as served:
        yield served.url


@pytest.fixture(scope="module")
def browser() -> Iterator:
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for arg in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--mute-audio"):
        options.add_argument(arg)
    options.add_argument("--autoplay-policy=no-user-gesture-required")
    options.add_argument("--window-size=1280,900")
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    try:
        yield driver
    finally:
        driver.quit()


def _screenshot(driver, path: Path, width: int) -> None:
    """The whole page at ``width`` CSS pixels (beyond the window's height)."""
    import base64

    driver.set_window_size(width, 900)
    height = driver.execute_script("return document.documentElement.scrollHeight")
    driver.execute_cdp_cmd(
        "Emulation.setDeviceMetricsOverride",
        {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": width < 600},
    )
    shot = driver.execute_cdp_cmd("Page.captureScreenshot", {"format": "png"})
    path.write_bytes(base64.b64decode(shot["data"]))
    driver.execute_cdp_cmd("Emulation.clearDeviceMetricsOverride", {})


def test_upload_timeline_seek_ask_in_chromium(server: str, song: Path, browser, capsys) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys
    from selenium.webdriver.support.ui import WebDriverWait

    driver = browser
    wait = WebDriverWait(driver, 150, poll_frequency=0.2)
    driver.get(server + "/")
    wait.until(lambda d: "Model:" in d.find_element(By.ID, "server").text)

    driver.find_element(By.ID, "file").send_keys(str(song))
    seen: set[str] = set()  # what the song's line and the live region said while it worked

    def analysed(d) -> bool:
        # Look at the song first: the page announces "analysis done" just before it shows
        # the song, so texts read after a shown song include the final announcement.
        shown = d.find_element(By.ID, "song").is_displayed()
        for selector in ("#songs .state", "#progress-live"):
            seen.update(
                e.get_attribute("textContent") for e in d.find_elements(By.CSS_SELECTOR, selector)
            )
        return shown

    wait.until(analysed)
    assert any(t.startswith("measuring: ") for t in seen), seen
    assert any(t.endswith(": analysis done") for t in seen), seen
    item = driver.find_element(By.CSS_SELECTOR, "#songs li")
    assert item.find_element(By.CSS_SELECTOR, ".name").text == song.name
    assert "done in" in item.find_element(By.CSS_SELECTOR, ".state").text
    stages = item.find_elements(By.CSS_SELECTOR, ".stages li.done")
    assert {"decode", "beats", "chords", "report"} <= {s.text.split()[0] for s in stages}

    job = item.get_attribute("data-job")
    facts = httpx.get(f"{server}/v1/audio/jobs/{job}/files/facts.json").json()
    chords = driver.find_elements(By.CSS_SELECTOR, "#lane-chords .seg")
    sections = driver.find_elements(By.CSS_SELECTOR, "#lane-sections .seg")
    assert len(chords) == len(facts["chords"]) >= 4
    assert len(sections) == len(facts["sections"]) >= 2
    assert len(driver.find_elements(By.CSS_SELECTOR, "#lane-grid .tick.bar")) == len(
        facts["downbeats"]
    )
    assert len(driver.find_elements(By.CSS_SELECTOR, "#facts-table tr")) >= 6
    key = facts["key"]
    assert f"{key['tonic']} {key['mode']}" in driver.find_element(By.ID, "facts-strip").text
    assert driver.find_elements(By.CSS_SELECTOR, "#tempo-curve polyline")

    def now() -> float:
        return driver.execute_script("return document.getElementById('player').currentTime")

    # seek: click a chord in the middle of the song; the playhead and highlights follow
    target = len(chords) // 2
    chords[target].click()
    start = facts["chords"][target]["start"]
    wait.until(lambda d: abs(now() - start) < 0.01)
    assert "now" in chords[target].get_attribute("class")
    # by keyboard: focus the last section and press Enter
    sections[-1].send_keys(Keys.ENTER)
    wait.until(lambda d: abs(now() - facts["sections"][-1]["start"]) < 0.01)
    assert "now" in sections[-1].get_attribute("class")
    chords[target].click()

    # playing: the playhead and the highlighted chord follow the audio
    driver.execute_script("document.getElementById('player').play()")
    wait.until(lambda d: now() > start + 1.5)
    driver.execute_script("document.getElementById('player').pause()")
    t = now()
    pps = float(driver.find_element(By.ID, "zoom").get_attribute("value"))

    def playhead() -> float:
        return float(driver.find_element(By.ID, "playhead").value_of_css_property("left")[:-2])

    wait.until(lambda d: abs(playhead() - t * pps) < 1)  # the pause event moves it there
    lit = driver.find_element(By.CSS_SELECTOR, "#lane-chords .seg.now")
    assert float(lit.get_attribute("data-start")) <= t < float(lit.get_attribute("data-end"))

    # ask the tiny checkpoint a multiple-choice question; the answer arrives in chunks
    driver.find_element(By.ID, "question").send_keys("What instrument plays the melody?")
    driver.find_element(By.ID, "choices").send_keys("piano\nguitar\nvoice")
    driver.find_element(By.ID, "ask-button").click()
    answer = wait.until(lambda d: d.find_element(By.CSS_SELECTOR, ".answer[data-done]"))
    assert answer.get_attribute("data-done") == "1", answer.text
    assert "(C) voice" in answer.find_element(By.CSS_SELECTOR, ".q").text
    assert int(answer.get_attribute("data-chunks")) >= 2
    assert answer.find_element(By.CSS_SELECTOR, ".a").text.strip()

    # a thinking checkpoint's raw stream: the reasoning goes into the folded <details>
    folded = driver.execute_script(
        """const t = document.createElement('pre'), d = document.createElement('details'),
                 a = document.createElement('p');
           d.hidden = true;
           showRaw('<think>count the beats</think><answer>(B) guitar</answer>', t, d, a);
           return [t.textContent, a.textContent, d.hidden, d.open];"""
    )
    assert folded == ["count the beats", "(B) guitar", False, False]

    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    with capsys.disabled():  # shown even when pytest captures output
        print(f"\nscreenshots of the page: {ARTIFACTS}")
    _screenshot(driver, ARTIFACTS / "page-laptop.png", 1280)
    _screenshot(driver, ARTIFACTS / "page-phone.png", 390)
    # the fact check as the page shows it, from a describe answer of the shape the server
    # gives (the tiny random model never writes readable key facts): saved on its own
    verdicts = driver.execute_script(
        """renderDescription({caption: 'A waltz for strings.', key_facts: {genre: 'waltz',
             bpm: 208, key: 'G major', meter: '3/4', instruments: ['violin'], vocals: 'none',
             mood: ['calm'], chords: ['G', 'D']}, fact_check: {items: [
             {aspect: 'tempo', model: '208 BPM', measured: '104.0 BPM', verdict: 'half/double'},
             {aspect: 'key', model: 'G major', measured: 'D major', verdict: 'fifth'},
             {aspect: 'meter', model: '3/4', measured: '4/4', verdict: 'contradicts'},
             {aspect: 'chords', model: 'G D', measured: 'Bm G D A', verdict: 'agrees'}]}});
           const badges = document.querySelectorAll('#describe-out .verdict');
           return [...badges].map((v) => v.textContent);"""
    )
    assert verdicts == ["≈ half/double", "≈ fifth", "✗ disagrees", "✓ agrees"]
    driver.set_window_size(1280, 900)
    shot = driver.find_element(By.ID, "model").screenshot_as_png
    (ARTIFACTS / "fact-check-sample.png").write_bytes(shot)

    _screenshot(driver, ARTIFACTS / "fact-check-sample-phone.png", 390)
    driver.set_window_size(390, 900)
    overflow = driver.execute_script(
        "return document.documentElement.scrollWidth - document.documentElement.clientWidth"
    )
    assert overflow <= 1, f"the page is {overflow} px wider than a phone screen"
