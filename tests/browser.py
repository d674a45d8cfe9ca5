"""Headless Chromium for the tests that drive real pages (the docs, the web UI): Debian's `chromium` and
`chromium-driver` through selenium, on an "intranet" where no host resolves but the server's. Without
them the tests skip and say what to install; CI (.ci/run) installs them so the tests always run there."""

from __future__ import annotations

import os
import shutil
from typing import Any

import pytest

__all__ = ["CHROMEDRIVER", "CHROMIUM", "browser"]

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMEDRIVER = shutil.which("chromedriver") or "/usr/bin/chromedriver"


def browser(width: int = 1000, height: int = 800) -> Any:
    if not (os.path.exists(CHROMIUM) and os.path.exists(CHROMEDRIVER)):
        pytest.skip(f"no headless browser: install chromium and chromium-driver ({CHROMIUM}, {CHROMEDRIVER})")
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    opts = webdriver.ChromeOptions()
    opts.binary_location = CHROMIUM
    for arg in (
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--disable-background-networking",
        "--disable-component-update",
        "--no-first-run",
        "--disable-sync",
        "--hide-scrollbars",
        f"--window-size={width},{height}",
        # an intranet: no host resolves but the server's own address
        "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",
    ):
        opts.add_argument(arg)
    # the page's console, so a test can fail on a script error
    opts.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    return webdriver.Chrome(service=Service(CHROMEDRIVER), options=opts)
