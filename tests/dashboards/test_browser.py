"""Every page of a running app (`streamlit run app.py`, a real server on loopback) in a real headless Chromium.

Each page loads over the demo data, its script finishes, no exception or error element is on the page, and a
screenshot is saved (under $SPENDSCOPE_SCREENSHOTS when set, for looking at; else the test's tmp folder).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from app import PAGES
from tests.common.browser import CHROMIUM, Chromium, streamlit_app
from tests.common.servers import free_port

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def app_url(demo_config: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    log = tmp_path_factory.mktemp("streamlit") / "streamlit.log"
    with streamlit_app(demo_config, free_port(), log) as url:
        yield url


@pytest.fixture(scope="module")
def browser() -> Iterator[Chromium]:
    if not Path(CHROMIUM).exists():
        pytest.fail("chromium is not installed: scripts/test.sh installs it (apt-get install chromium)")
    with Chromium() as b:
        yield b


@pytest.mark.parametrize(("path", "title", "url_path"), PAGES, ids=[p[2] for p in PAGES])
def test_page_renders_in_a_real_browser(
    app_url: str, browser: Chromium, path: str, title: str, url_path: str, tmp_path: Path
) -> None:
    text = browser.open_streamlit(f"{app_url}/{'' if url_path == 'overview' else url_path}")  # the default is "/"
    assert browser.errors() == []
    assert "Page not found" not in text
    heading = browser.evaluate("document.querySelector('[data-testid=\"stMain\"] h1')?.innerText")
    assert heading is not None and title in heading  # this page's body, not the default page's
    assert "No data yet" not in text
    shots = Path(os.environ.get("SPENDSCOPE_SCREENSHOTS") or tmp_path)
    shots.mkdir(parents=True, exist_ok=True)
    png = browser.screenshot(shots / f"{url_path}.png")
    data = png.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 20_000
