"""The debug page as a browser shows it (headless Chromium), and as a websocket client gets it,
from the app under uvicorn."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from urllib.parse import quote

import pytest
import websockets.sync.client
from integration.servers import IO_TIMEOUT
from websockets.exceptions import InvalidStatus

from .debug_app import HOSTILE

pytestmark = pytest.mark.integration


@pytest.mark.browser
def test_the_debug_page_in_chromium(browser: Any, serve: Callable[..., str]) -> None:
    from selenium.webdriver.common.by import By

    base = serve("browser.debug_app:app")
    # A cookie of our own, to see it redacted; the page must exist first for the cookie's origin.
    browser.get(f"{base}/fail")
    browser.add_cookie({"name": "session", "value": "topsecret-cookie"})
    browser.get(f"{base}/fail?q={quote(HOSTILE)}")

    # No script ran: neither the message's <script> nor its <img onerror> retitled the page.
    assert browser.title == "500 Server Error: RuntimeError"
    assert browser.find_elements(By.TAG_NAME, "img") == []
    assert browser.find_elements(By.TAG_NAME, "script") == []
    error = browser.find_element(By.ID, "error")
    assert error.is_displayed()
    assert error.text == f"RuntimeError: order 7 failed: {HOSTILE}"

    app_frames = browser.find_elements(By.CSS_SELECTOR, "details.frame.app")
    functions = [f.find_element(By.CLASS_NAME, "function").text for f in app_frames]
    assert functions == ["fail", "check_order"]
    innermost = app_frames[-1]
    assert innermost.get_attribute("open") is not None
    assert innermost.find_element(By.CLASS_NAME, "file").text.endswith("debug_app.py")
    marked = innermost.find_element(By.CSS_SELECTOR, "mark.current")
    assert marked.is_displayed()
    assert "raise RuntimeError(" in marked.text
    assert marked.value_of_css_property("background-color") != "rgba(0, 0, 0, 0)"
    context = innermost.find_elements(By.CSS_SELECTOR, "pre.source > span")
    assert any("def check_order" in line.text for line in context)

    # The library's frames (uvicorn, microasgi, anyio ...) are there, collapsed: their summary
    # line shows, their source does not until opened.
    library = browser.find_elements(By.CSS_SELECTOR, "details.frame.library")
    assert library
    for frame in library:
        assert frame.get_attribute("open") is None
        assert frame.find_element(By.TAG_NAME, "summary").is_displayed()
    hidden = library[0].find_element(By.CSS_SELECTOR, "pre.source, p")
    assert not hidden.is_displayed()
    library[0].find_element(By.TAG_NAME, "summary").click()
    assert hidden.is_displayed()

    headers = {
        row.find_element(By.TAG_NAME, "th").text: row.find_element(By.TAG_NAME, "td").text
        for row in browser.find_elements(By.CSS_SELECTOR, "#headers tr")
    }
    assert headers["cookie"] == "[redacted]"
    assert "text/html" in headers["accept"]
    assert "topsecret-cookie" not in browser.find_element(By.TAG_NAME, "body").text
    query = browser.find_element(By.ID, "query").text
    assert HOSTILE in query
    assert browser.title == "500 Server Error: RuntimeError"


def test_a_websocket_error_gets_the_page_as_a_denial(serve: Callable[..., str]) -> None:
    # uvicorn offers websocket.http.response: the handshake is answered with the page.
    base = serve("browser.debug_app:app")
    with pytest.raises(InvalidStatus) as denied:
        websockets.sync.client.connect(
            base.replace("http://", "ws://") + "/ws",
            additional_headers={"Accept": "text/html"},
            open_timeout=IO_TIMEOUT,
        )
    response = denied.value.response
    assert response.status_code == 500
    assert response.headers["content-type"] == "text/html; charset=utf-8"
    page = bytes(response.body or b"").decode()
    assert "RuntimeError: order 8 failed: &lt;script&gt;" in page
    assert '"function">fail_websocket<' in page
