"""The notes example (examples/notes/) in headless Chromium: a note saved in one page appears,
live, in another page open on the same app."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from .conftest import WAIT

pytestmark = [pytest.mark.integration, pytest.mark.browser]

# Run before the page's own scripts: records when the page's live feed (an EventSource) has
# subscribed, which the server says with a "ready" event; a note saved before that would not
# be announced to this page.
_WATCH_FEED = """
const Original = window.EventSource;
window.EventSource = function (url, options) {
  const source = new Original(url, options);
  source.addEventListener("ready", () => { document.documentElement.dataset.feed = "ready"; });
  return source;
};
"""


def test_a_note_saved_in_one_page_appears_live_in_another(
    browser: Any, serve: Callable[..., str], tmp_path: Path
) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions
    from selenium.webdriver.support.wait import WebDriverWait

    base = serve(
        "examples.notes.app:app",
        MICROASGI_NOTES_DB=str(tmp_path / "notes.sqlite3"),
        MICROASGI_NOTES_SECRET="browser-test",
    )
    wait = WebDriverWait(browser, WAIT)
    # Two pages of our own, in new windows (the session is shared with the other tests): the
    # watcher, whose live feed is observed, and the writer, which saves a note.
    browser.switch_to.new_window("window")
    watcher = browser.current_window_handle
    browser.execute_cdp_cmd("Page.addScriptToEvaluateOnNewDocument", {"source": _WATCH_FEED})
    browser.switch_to.new_window("window")
    writer = browser.current_window_handle
    try:
        browser.switch_to.window(watcher)
        browser.get(f"{base}/")
        assert browser.title == "Notes"
        assert browser.find_element(By.ID, "notes").text == "No notes yet."
        wait.until(
            lambda driver: (
                driver.execute_script("return document.documentElement.dataset.feed") == "ready"
            ),
            message="the watcher's live feed never said it was ready",
        )

        browser.switch_to.window(writer)
        browser.get(f"{base}/")
        browser.find_element(By.NAME, "title").send_keys("Buy <b>milk</b>")
        browser.find_element(By.NAME, "body").send_keys("Two litres")
        browser.find_element(By.CSS_SELECTOR, "form button").click()
        # The writer comes back to the page with its note (its own feed may reload it once
        # more, which takes the one-time flash message away: not checked here).
        wait.until(
            expected_conditions.text_to_be_present_in_element((By.ID, "notes"), "milk"),
            message="the writer's page did not come back with its note",
        )

        # The watcher reloads itself on the feed's "created" event, and shows the note.
        browser.switch_to.window(watcher)
        wait.until(
            expected_conditions.text_to_be_present_in_element((By.ID, "notes"), "milk"),
            message="the note did not appear in the watcher's page",
        )
        note = browser.find_element(By.CSS_SELECTOR, "#notes li")
        assert note.find_element(By.TAG_NAME, "h2").text == "Buy <b>milk</b>"
        assert note.find_element(By.TAG_NAME, "p").text == "Two litres"
    finally:
        # Both windows closed, so the live feed ends and the server stops at once.
        for window in (writer, watcher):
            browser.switch_to.window(window)
            browser.close()
        browser.switch_to.window(browser.window_handles[0])
