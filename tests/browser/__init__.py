"""Browser tests: pages rendered in headless Debian Chromium, driven by selenium."""
