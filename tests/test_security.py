"""The browser's protections on every page and asset, and the Host check on every route (issue 28.7):
headers pinned on the app, and the pages still working under their policies in Chromium."""

from __future__ import annotations

import pytest
from browser import browser
from fastapi.testclient import TestClient

from service.api import create_app
from service.api.security import APP_CSP
from service.kb import KnowledgeBase
from service.settings import Settings

PAGES = ["/", "/ui/app.js", "/ui/style.css", "/docs", "/redoc", "/docs-assets/swagger-ui.css", "/health",
         "/openapi.json", "/nowhere"]  # fmt: skip


@pytest.mark.parametrize("path", PAGES)
def test_every_page_and_asset_carries_the_headers(client: TestClient, path: str) -> None:
    r = client.get(path)
    assert r.status_code in (200, 404), r.text
    assert r.headers["x-content-type-options"] == "nosniff"
    assert r.headers["x-frame-options"] == "DENY"
    assert r.headers["referrer-policy"] == "no-referrer"
    csp = r.headers["content-security-policy"]
    assert "frame-ancestors 'none'" in csp and "default-src 'none'" in csp
    if path in ("/docs", "/redoc"):  # their start-up script by its hash, never any inline script
        assert "'unsafe-inline'" not in csp.split("script-src", 1)[1].split(";", 1)[0]
    else:
        assert csp == APP_CSP and "unsafe" not in csp


@pytest.mark.parametrize("path", ["/health", "/", "/search", "/mcp", "/admin/drafts", "/docs"])
def test_a_foreign_host_is_refused_on_every_route(settings: Settings, kb: KnowledgeBase, path: str) -> None:
    loopback = settings.model_copy(update={"allowed_hosts": []})  # the default on a loopback bind
    with TestClient(create_app(loopback, kb), base_url="http://rebound.example") as c:
        r = c.get(path)
        assert r.status_code == 400 and r.json()["error"]["code"] == "bad_host", r.text
        assert r.headers["x-frame-options"] == "DENY"
    for base in ("http://127.0.0.1:8000", "http://[::1]:8000", "http://localhost"):
        with TestClient(create_app(loopback, kb), base_url=base) as c:
            assert c.get("/health").status_code == 200


@pytest.mark.parametrize(
    ("host", "allowed", "names"),
    [
        ("127.0.0.1", [], ["localhost", "127.0.0.1", "[::1]"]),
        ("0.0.0.0", [], ["*"]),
        ("0.0.0.0", ["kb.intranet"], ["kb.intranet"]),
    ],
)
def test_the_allowed_hosts_follow_the_bind_address(host: str, allowed: list[str], names: list[str]) -> None:
    assert Settings(host=host, allowed_hosts=allowed).host_names() == names


@pytest.mark.parametrize(("path", "ready"), [("/redoc", "li[data-item-id]"), ("/docs", ".opblock")])
def test_the_docs_pages_work_under_their_policy(server_url: str, path: str, ready: str) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as ec
    from selenium.webdriver.support.ui import WebDriverWait

    driver = browser()
    try:
        driver.get(f"{server_url}{path}")
        WebDriverWait(driver, 60).until(ec.presence_of_element_located((By.CSS_SELECTOR, ready)))
        # ReDoc's own logo from its CDN is refused, as everything from elsewhere is meant to be
        refused = [
            e
            for e in driver.get_log("browser")
            if "Content Security Policy" in e["message"] and "https://cdn.redoc.ly/" not in e["message"]
        ]
        assert not refused, refused
    finally:
        driver.quit()
