"""The docs pages work on an intranet: Swagger UI and ReDoc load their scripts and styles from the app
(the fastapi-offline package), checked in the HTML and in headless Chromium with every host but the
server unresolvable."""

from __future__ import annotations

import re

import pytest
from browser import browser
from fastapi.testclient import TestClient

_ASSET = re.compile(r"""(?:src|href)\s*=\s*["']([^"']+)["']|url\(\s*['"]?([^'")]+)""")


@pytest.mark.parametrize("page", ["/docs", "/redoc"])
def test_pages_reference_no_external_asset(client: TestClient, page: str) -> None:
    html = client.get(page).text
    refs = [a or b for a, b in _ASSET.findall(html)]
    assert refs, html
    assert all(r.startswith("/docs-assets/") for r in refs), refs
    assert "cdn" not in html.lower() and "fonts.googleapis" not in html
    for ref in refs:
        r = client.get(ref)
        assert r.status_code == 200 and len(r.content) > 1000, ref


def test_assets_are_open_like_health(settings: object, kb: object) -> None:
    from service.api import create_app
    from service.settings import Settings

    assert isinstance(settings, Settings)
    with TestClient(create_app(settings.model_copy(update={"api_keys": ["k"]}), kb)) as c:  # type: ignore[arg-type]
        assert c.get("/docs").status_code == 401  # the page and the schema need the key
        assert c.get("/docs-assets/swagger-ui-bundle.js").status_code == 200  # public library code


def test_swagger_ui_lists_the_operations_offline(server_url: str) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as ec
    from selenium.webdriver.support.ui import WebDriverWait

    driver = browser()
    try:
        driver.get(f"{server_url}/docs")
        WebDriverWait(driver, 30).until(ec.presence_of_element_located((By.CSS_SELECTOR, ".opblock")))
        paths = {
            e.get_attribute("data-path")
            for e in driver.find_elements(By.CSS_SELECTOR, ".opblock-summary-path")
        }
        assert {"/search", "/search/batch", "/ask", "/diagnose", "/documents", "/documents/{doc}"} <= paths
        assert {"/principles", "/tools/call"} <= paths
    finally:
        driver.quit()
