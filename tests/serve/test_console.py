"""The merchant console in real headless Chromium (Debian's, driven by Playwright): sign in
with a token, upload a photo, see the review (contact sheet + checks), create the avatar,
preview a script (the mp4 plays in the page), go live into nginx-rtmp and watch the metrics,
stop. A screenshot of each step is written to the test's directory (and to
``$DHSDK_SCREENSHOTS`` when set) and checked for what a person would look for."""
from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
from serve_helpers import ServeProcess

pytestmark = pytest.mark.slow

VIDEO_STATS = """() => { const v = document.getElementById('preview-video');
  const c = document.createElement('canvas'); c.width = 64; c.height = 64;
  const g = c.getContext('2d'); g.drawImage(v, 0, 0, 64, 64);
  const d = g.getImageData(0, 0, 64, 64).data; let s = 0, s2 = 0;
  for (let i = 0; i < d.length; i += 4) { const y = (d[i] + d[i + 1] + d[i + 2]) / 3; s += y; s2 += y * y; }
  const n = d.length / 4; return { time: v.currentTime, paused: v.paused, width: v.videoWidth,
    mean: s / n, std: Math.sqrt(s2 / n - (s / n) ** 2) }; }"""


@pytest.fixture
def browser():
    exe = shutil.which("chromium") or shutil.which("chromium-browser")
    if exe is None:
        pytest.skip("needs Chromium (Debian chromium): bash scripts/install-system-deps.sh")
    sync_api = pytest.importorskip("playwright.sync_api", reason="needs playwright: pip install 'dhsdk[dev]'")
    with sync_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=exe, args=["--no-sandbox", "--disable-gpu",
                                                          "--autoplay-policy=no-user-gesture-required"])
        yield b
        b.close()


def shot(page, tmp_path: Path, name: str) -> Path:
    path = tmp_path / f"console-{name}.png"
    page.screenshot(path=str(path), full_page=True)
    if os.environ.get("DHSDK_SCREENSHOTS"):
        Path(os.environ["DHSDK_SCREENSHOTS"]).mkdir(parents=True, exist_ok=True)
        shutil.copy(path, Path(os.environ["DHSDK_SCREENSHOTS"]) / path.name)
    return path


def test_console_from_upload_to_a_playing_preview_and_a_live_stream(browser, tmp_path, portrait_png, nginx):
    server = ServeProcess(tmp_path / "data")
    token = server.cli("token", "create", "--tenant", "console-shop").strip()
    server.start()
    try:
        # bypass_csp: Playwright evaluates its wait expressions with eval, which the page's CSP forbids
        page = browser.new_context(bypass_csp=True, viewport={"width": 1280, "height": 1000}).new_page()
        errors: list[str] = []
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.goto(server.url + "/")
        page.fill("#token", token)
        page.click("#signin")
        page.wait_for_function("window.dhsdkConsole.signedIn && document.querySelectorAll('#products input').length > 0")
        assert page.inner_text("#error") == ""

        page.set_input_files("#material", str(portrait_png))
        page.click("#upload")
        page.wait_for_function("window.dhsdkConsole.verdict !== null && document.getElementById('sheet').naturalWidth > 0",
                               timeout=120_000)
        state = page.evaluate("window.dhsdkConsole")
        assert state["avatarState"] == "reviewed" and state["verdict"] in ("pass", "warn")
        assert page.locator("#checks tr").count() > 10                       # every check, with its reason
        assert page.is_enabled("#create")
        shot(page, tmp_path, "1-review")

        page.click("#create")
        page.wait_for_function("window.dhsdkConsole.avatarState === 'ready'", timeout=120_000)
        assert "ready" in page.inner_text("#avatar-state") and page.is_enabled("#preview")
        shot(page, tmp_path, "2-avatar-ready")

        page.fill("#script", "Hello everyone! This silk dress is only nineteen ninety-nine today.")
        page.click("#preview")
        page.wait_for_function("window.dhsdkConsole.previewReady", timeout=120_000)
        page.wait_for_function("document.getElementById('preview-video').currentTime > 0.5", timeout=20_000)
        video = page.evaluate(VIDEO_STATS)
        assert not video["paused"] and video["width"] == 768 and video["time"] > 0.5
        assert 40 < video["mean"] < 220 and video["std"] > 20            # a picture, not a black or flat frame
        shot(page, tmp_path, "3-preview-playing")

        page.fill("#rtmp", nginx.url("console"))
        page.click("#golive")
        page.wait_for_function("window.dhsdkConsole.liveState === 'live'", timeout=60_000)
        page.wait_for_function("window.dhsdkConsole.metrics && window.dhsdkConsole.metrics.frames > 50", timeout=30_000)
        assert page.inner_text("#m-lat50").endswith("ms") and int(page.inner_text("#m-frames")) > 50
        page.wait_for_function("document.getElementById('transcript').textContent.includes('[say]')", timeout=20_000)
        shot(page, tmp_path, "4-live-metrics")

        page.click("#stop")
        page.wait_for_function("window.dhsdkConsole.liveState === 'stopped'", timeout=20_000)
        assert "stopped" in page.inner_text("#live-state")
        assert page.inner_text("#error") == "" and errors == []
    finally:
        server.stop()
